import pytest

from apps.chats.models import Customer
from apps.chats.services import conversation_start
from apps.experiments.models import ABTest, ABVariant, Experiment, Exposure, Variant
from apps.experiments.services import ab_test_start, experiment_start
from apps.inventory.integrations import payments
from apps.inventory.services import purchase_create
from tests.agents import fake_anthropic as vendor
from tests.factories import AgentFactory, MachineFactory, PersonaFactory, ProductFactory, SlotFactory, stock_slot

# The model vendor's loopback stand-in and its fixtures, shared with tests/agents (one copy, in fake_anthropic.py).
fake_anthropic = vendor.fake_anthropic
redis_prefix = vendor.redis_prefix


@pytest.fixture
def finished_experiment(manager_user, django_capture_on_commit_callbacks):
    """Two variants × two seeds × 15 days, run to the end by the real runner (tasks run eagerly in tests)."""
    experiment = Experiment.objects.create(name="markups", days=15, seed_count=2)
    Variant.objects.create(experiment=experiment, name="fixed markup", agent_kind=Variant.Kind.HEURISTIC)
    Variant.objects.create(experiment=experiment, name="elasticity", agent_kind=Variant.Kind.ELASTICITY)
    with django_capture_on_commit_callbacks(execute=True):
        experiment_start(experiment=experiment, actor=manager_user)
    return experiment


@pytest.fixture
def ab_test_with_exposures(manager_user):
    """A running persona test with LINE conversations started through chats (each one exposed by the real
    receiver) until each variant has three; two customers of the first variant then buy a green tea."""
    payments._gateway.cache_clear()
    AgentFactory(name="店番", persona=PersonaFactory(name="いつもの店員"))
    test = ABTest.objects.create(name="明るい vs 落ち着いた")
    ABVariant.objects.create(test=test, persona=PersonaFactory(name="明るい店員"))
    ABVariant.objects.create(test=test, persona=PersonaFactory(name="落ち着いた店員"))
    test = ab_test_start(test=test, actor=manager_user)
    machine = MachineFactory(code="HQ-1F")
    tea = ProductFactory(sku="D001", name_ja="緑茶", price_yen=150, unit_cost_yen=70)
    stock_slot(SlotFactory(machine=machine, code="A1", product=tea, capacity=10), 5)
    number = 0
    while min(Exposure.objects.filter(test=test, variant=v).count() for v in test.variants.all()) < 3:
        number += 1
        conversation_start(machine=machine, channel="line", customer=Customer.objects.create(line_user_id=f"U{number}"))
    first = test.variants.order_by("pk").first()
    for exposure in Exposure.objects.filter(variant=first).select_related("conversation")[:2]:
        purchase_create(
            machine=machine,
            items=[{"slot": "A1", "quantity": 1}],
            coupon_code=None,
            payment_method="card",
            idempotency_key=f"ab-{exposure.pk}",
            channel="line",
            customer_key=exposure.conversation.customer_key,
        )
    yield test
    payments._gateway.cache_clear()
