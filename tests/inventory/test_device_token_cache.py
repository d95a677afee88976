"""A web process remembers which machine a device token belongs to (DEVICE_TOKEN_CACHE_SECONDS): what this process
changes is seen at once, what changes behind its back (another process; here a queryset update, which sends no
signal) only after that time; and a purchase never trusts the remembered machine's status."""

import pytest
from rest_framework.test import APIClient

from apps.inventory.models import Machine, Payment, PurchaseRequest, Sale, StockLot, StockMovement
from apps.inventory.services import device_token_issue
from apps.inventory.services.machines import device_token_hash
from tests.inventory.test_apis import buy

PRODUCTS = "/api/machines/HQ-1F/products/"
LONG_CACHE_SECONDS = 3600


def tablet(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client


@pytest.mark.django_db
def test_a_machine_taken_out_of_service_behind_the_cache_refuses_the_next_purchase(
    settings, machine, device_client, tea_slot
):
    settings.DEVICE_TOKEN_CACHE_SECONDS = LONG_CACHE_SECONDS
    assert device_client.get(PRODUCTS).status_code == 200  # the token's machine is remembered, in service
    Machine.objects.filter(pk=machine.pk).update(status=Machine.Status.MAINTENANCE)
    lots = list(StockLot.objects.values_list("id", "quantity"))

    response = buy(device_client, [{"slot": "A1", "quantity": 1}], key="after-maintenance-began")

    assert response.status_code == 409, response.json()
    assert response.json()["error"]["code"] == "machine_unavailable"
    tea_slot.refresh_from_db()
    assert tea_slot.quantity == 3
    assert list(StockLot.objects.values_list("id", "quantity")) == lots
    assert not Sale.attempts.exists()
    assert not Payment.objects.exists()
    assert not PurchaseRequest.objects.exists()  # the key is free for when the machine is back
    assert not StockMovement.objects.filter(kind=StockMovement.Kind.SALE).exists()


@pytest.mark.django_db
def test_a_replaced_token_stops_working_at_once_and_the_new_one_sells(settings, machine, device_client, tea_slot):
    settings.DEVICE_TOKEN_CACHE_SECONDS = LONG_CACHE_SECONDS
    assert device_client.get(PRODUCTS).status_code == 200

    new_token = device_token_issue(machine=machine)

    assert device_client.get(PRODUCTS).status_code == 401
    assert buy(device_client, [{"slot": "A1", "quantity": 1}], key="old-token").status_code == 401
    assert tablet(new_token).get(PRODUCTS).status_code == 200
    assert buy(tablet(new_token), [{"slot": "A1", "quantity": 1}], key="new-token").status_code == 201


@pytest.mark.django_db
class TestTokenReplacedInAnotherProcess:
    def replace_behind_the_cache(self, machine):
        Machine.objects.filter(pk=machine.pk).update(device_token_hash=device_token_hash("issued-elsewhere"))

    def test_without_a_cache_the_old_token_is_refused_at_once(self, settings, machine, device_client, tea_slot):
        settings.DEVICE_TOKEN_CACHE_SECONDS = 0
        assert device_client.get(PRODUCTS).status_code == 200

        self.replace_behind_the_cache(machine)

        assert device_client.get(PRODUCTS).status_code == 401
        assert tablet("issued-elsewhere").get(PRODUCTS).status_code == 200

    def test_within_the_cache_time_the_old_token_still_reads(self, settings, machine, device_client, tea_slot):
        # The documented trade-off (settings.DEVICE_TOKEN_CACHE_SECONDS): one query less per tablet request.
        settings.DEVICE_TOKEN_CACHE_SECONDS = LONG_CACHE_SECONDS
        assert device_client.get(PRODUCTS).status_code == 200

        self.replace_behind_the_cache(machine)

        assert device_client.get(PRODUCTS).status_code == 200

    def test_within_the_cache_time_the_old_token_buys_nothing(self, settings, machine, device_client, tea_slot):
        # A purchase reads the machine's token again with its slots: the remembered machine is not enough to buy.
        settings.DEVICE_TOKEN_CACHE_SECONDS = LONG_CACHE_SECONDS
        assert device_client.get(PRODUCTS).status_code == 200

        self.replace_behind_the_cache(machine)
        response = buy(device_client, [{"slot": "A1", "quantity": 1}], key="old-token-elsewhere")

        assert response.status_code == 401, response.json()
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 3
        assert not Sale.attempts.exists()
        assert not PurchaseRequest.objects.exists()
        assert buy(tablet("issued-elsewhere"), [{"slot": "A1", "quantity": 1}], key="new").status_code == 201
