import pytest
from rest_framework.test import APIClient

from apps.inventory.integrations import payments
from apps.inventory.services import device_token_issue, purchase_create
from tests.factories import MachineFactory, ProductFactory, SlotFactory, stock_slot


@pytest.fixture(autouse=True)
def fresh_terminal(settings, tmp_path):
    """A new simulated terminal per test: its idempotency memory must not carry keys from one test to the next."""
    settings.PAYMENT_TERMINAL_DB = str(tmp_path / "terminal.sqlite3")
    payments._gateway.cache_clear()
    yield payments.payment_gateway()
    payments._gateway.cache_clear()


@pytest.fixture
def machine(db):
    return MachineFactory(code="HQ-1F")


@pytest.fixture
def tea_slot(machine):
    """A1: green tea, 8%, ¥150, cost ¥70, three in the slot and five in the back room."""
    tea = ProductFactory(sku="D001", name_ja="緑茶", price_yen=150, unit_cost_yen=70, tax_rate=8)
    return stock_slot(SlotFactory(machine=machine, code="A1", product=tea, capacity=10), 3, spare=5)


@pytest.fixture
def mask_slot(machine):
    """G1: face masks, 10%, ¥300, cost ¥150, four in the slot."""
    masks = ProductFactory(
        sku="G001", name_ja="マスク", category="goods", price_yen=300, unit_cost_yen=150, tax_rate=10
    )
    return stock_slot(SlotFactory(machine=machine, code="G1", product=masks, capacity=10), 4)


@pytest.fixture
def device_client(machine):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=machine)}")
    return client


@pytest.fixture
def sell(machine):
    """`sell(key=..., quantity=..., coupon=..., customer_key=...)`: buy from A1 through `purchase_create`."""

    def buy(*, key: str, quantity: int = 1, coupon: str | None = None, customer_key: str = "", method: str = "card"):
        return purchase_create(
            machine=machine,
            items=[{"slot": "A1", "quantity": quantity}],
            coupon_code=coupon,
            payment_method=method,
            idempotency_key=key,
            channel="line" if customer_key else "tablet",
            customer_key=customer_key,
        )

    return buy
