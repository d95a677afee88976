"""Many conversations asking for a coupon at once cannot spend more than the day's coupon budget."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models import Sum

from apps.agents.models import CouponGrant, GuardrailViolation
from apps.agents.services import tool_call
from apps.agents.tools.registry import ToolContext
from apps.inventory.models import Coupon
from tests.factories import AgentFactory, MachineFactory, ProductFactory, SlotFactory, stock_slot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CONVERSATIONS = 12


def test_concurrent_coupons_stay_within_the_daily_budget():
    machine = MachineFactory(code="HQ-1F")
    stock_slot(SlotFactory(machine=machine, code="A1", product=ProductFactory(sku="COLA", price_yen=150)), 5)
    # Each 15% coupon may cost up to 113 yen: the budget has room for three.
    agent = AgentFactory(name="店番AI", kind="shopkeeper", daily_coupon_budget_yen=350)
    start = threading.Barrier(CONVERSATIONS)

    def ask(conversation_id):
        try:
            start.wait()
            context = ToolContext(agent=agent, machine=machine, conversation_id=conversation_id)
            return tool_call(context=context, name="issue_coupon", arguments={"percent": 15, "reason": "race"})
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=CONVERSATIONS) as pool:
        results = list(pool.map(ask, range(1, CONVERSATIONS + 1)))

    assert sum(result.ok for result in results) == 3
    assert {result.rule for result in results if not result.ok} == {"coupon_budget"}
    assert Coupon.objects.count() == 3
    assert CouponGrant.objects.aggregate(total=Sum("worst_case_yen"))["total"] == 339
    assert GuardrailViolation.objects.filter(rule="coupon_budget").count() == CONVERSATIONS - 3
