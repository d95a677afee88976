"""Real threads, each with its own PostgreSQL connection, racing through the purchase API."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.inventory.models import Payment, Sale, Slot
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services import device_token_issue
from tests.factories import MachineFactory, ProductFactory, SlotFactory, stock_slot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BUYERS = 50


def race(token: str, keys: list[str]) -> list[tuple[int, dict]]:
    """POST one purchase of A1 per key, all threads released at once; returns (status, body) per thread."""
    start = threading.Barrier(len(keys))

    def buy(key):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
            start.wait()
            response = client.post(
                "/api/machines/HQ-1F/purchases/",
                {"items": [{"slot": "A1", "quantity": 1}], "payment_method": "ic"},
                format="json",
                HTTP_IDEMPOTENCY_KEY=key,
            )
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        return list(pool.map(buy, keys))


@pytest.fixture
def last_three():
    machine = MachineFactory(code="HQ-1F")
    slot = stock_slot(SlotFactory(machine=machine, code="A1", product=ProductFactory(sku="D001")), 3)
    return slot, device_token_issue(machine=machine)


def test_fifty_buyers_for_three_items(last_three, fresh_terminal):
    slot, token = last_three

    results = race(token, [f"buyer-{n}" for n in range(BUYERS)])

    statuses = [status for status, _body in results]
    assert statuses.count(201) == 3
    assert statuses.count(409) == BUYERS - 3
    assert {body["error"]["code"] for status, body in results if status == 409} == {"sold_out"}
    assert Slot.objects.get(pk=slot.pk).quantity == 0
    assert Sale.objects.count() == 3
    assert Payment.objects.filter(status="captured").count() == 3
    assert fresh_terminal.totals()[0] == 3
    assert stock_integrity_problems() == []


def test_one_request_retried_concurrently_charges_once(last_three, fresh_terminal):
    slot, token = last_three

    results = race(token, ["same-key"] * 10)

    assert {status for status, _body in results} == {201}
    assert len({body["sale_id"] for _status, body in results}) == 1
    assert Sale.objects.count() == 1
    assert Payment.objects.count() == 1
    assert fresh_terminal.totals()[0] == 1
    assert Slot.objects.get(pk=slot.pk).quantity == 2
    assert stock_integrity_problems() == []
