import pytest
from rest_framework.test import APIClient

from apps.inventory.integrations import payments
from apps.inventory.services import device_token_issue
from tests.factories import MachineFactory, ProductFactory, SlotFactory, stock_slot


@pytest.fixture(autouse=True)
def fresh_terminal():
    """A new simulated terminal per test, so no idempotency memory crosses tests."""
    payments._gateway.cache_clear()
    yield
    payments._gateway.cache_clear()


@pytest.fixture
def machine(db):
    return MachineFactory(code="HQ-1F")


@pytest.fixture
def tea_slot(machine):
    """A1: green tea ¥150 (cost ¥70), five in the slot, five in the back room."""
    tea = ProductFactory(sku="D001", name_ja="緑茶", price_yen=150, unit_cost_yen=70)
    return stock_slot(SlotFactory(machine=machine, code="A1", product=tea, capacity=10), 5, spare=5)


@pytest.fixture
def device_client(machine):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=machine)}")
    return client


def buy(client, *, slot="A1", quantity=1, key="k1", code="HQ-1F"):
    return client.post(
        f"/api/machines/{code}/purchases/",
        {"items": [{"slot": slot, "quantity": quantity}], "payment_method": "card"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
