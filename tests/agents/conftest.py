import pytest
from rest_framework.test import APIClient

from apps.agents.tools.registry import ToolContext
from apps.inventory.services import device_token_issue
from tests.agents import fake_anthropic as vendor
from tests.factories import AgentFactory, MachineFactory, ProductFactory, SlotFactory, stock_slot

# The model vendor's loopback stand-in and its fixtures live with it (tests/experiments uses the very same ones).
fake_anthropic = vendor.fake_anthropic
redis_prefix = vendor.redis_prefix


@pytest.fixture
def machine(db):
    return MachineFactory(code="HQ-1F")


@pytest.fixture
def cola(machine):
    product = ProductFactory(sku="COLA", name_ja="コーラ", name_en="Cola", price_yen=150, unit_cost_yen=70)
    stock_slot(SlotFactory(machine=machine, code="A1", product=product, capacity=10), 8, spare=20)
    return product


@pytest.fixture
def tea(machine):
    product = ProductFactory(sku="TEA", name_ja="緑茶", name_en="Green tea", price_yen=130, unit_cost_yen=60)
    stock_slot(SlotFactory(machine=machine, code="A2", product=product, capacity=10), 6)
    return product


@pytest.fixture
def shopkeeper(db):
    return AgentFactory(name="店番AI", kind="shopkeeper")


@pytest.fixture
def procurement_agent(db):
    return AgentFactory(name="仕入れAI", kind="procurement", persona=None)


@pytest.fixture
def shop(machine, cola, tea, shopkeeper):
    """A machine with cola and tea in stock and a working shopkeeper."""
    return machine


@pytest.fixture
def context(shop, shopkeeper):
    """What the runtime gives a shopkeeper's tool calls in conversation 4242 at the machine."""
    return ToolContext(agent=shopkeeper, machine=shop, conversation_id=4242, customer_key="", channel="tablet")


@pytest.fixture
def device_client(shop):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=shop)}")
    return client


@pytest.fixture
def model_shopkeeper(shopkeeper, fake_anthropic):
    """The shopkeeper on the Anthropic provider, talking to the fake server."""
    shopkeeper.provider = shopkeeper.Provider.ANTHROPIC
    shopkeeper.save(update_fields=["provider"])
    return shopkeeper
