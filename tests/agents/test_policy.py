"""Each guardrail rule, at and beyond its limit, through `tool_call` as every agent's call goes."""

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from apps.agents.limits import ESCALATION_THRESHOLD
from apps.agents.models import CouponGrant, Escalation, GuardrailViolation
from apps.agents.policy import PolicyRefusal, price_floor_check, price_floor_yen
from apps.agents.services import tool_call
from apps.agents.tools.registry import ToolContext
from apps.core.roles import STAFF
from apps.inventory.models import Coupon, PriceChange
from tests.factories import AgentFactory, UserFactory

ONE_COLA = [{"sku": "COLA", "quantity": 1}]


@pytest.fixture
def procurement_context(shop, procurement_agent):
    return ToolContext(agent=procurement_agent, machine=shop, conversation_id=77)


def test_a_coupon_of_15_percent_is_issued_and_counted_against_the_budget(context):
    result = tool_call(context=context, name="issue_coupon", arguments={"percent": 15, "reason": "誕生日"})

    assert result.ok, result.error
    coupon = Coupon.objects.get(code=result.data["coupon_code"])
    assert (coupon.kind, coupon.value, coupon.max_uses, coupon.issued_by_label) == ("percent", 15, 1, "店番AI")
    grant = CouponGrant.objects.get(coupon_code=coupon.code)
    # Worst case: 15% of five of the dearest product (150 yen) = 112.5, rounded up.
    assert grant.worst_case_yen == 113


def test_a_coupon_over_15_percent_is_refused(context):
    result = tool_call(context=context, name="issue_coupon", arguments={"percent": 16, "reason": "x"})

    assert (result.ok, result.rule) == (False, "coupon_max_percent")
    assert "15%" in result.error
    assert not Coupon.objects.exists()


def test_one_coupon_per_conversation(context):
    assert tool_call(context=context, name="issue_coupon", arguments={"percent": 5, "reason": "x"}).ok

    second = tool_call(context=context, name="issue_coupon", arguments={"percent": 5, "reason": "again"})

    assert second.rule == "coupon_once_per_conversation"
    assert Coupon.objects.count() == 1


def test_the_daily_coupon_budget_stops_coupons_across_conversations(context, shopkeeper):
    shopkeeper.daily_coupon_budget_yen = 250  # room for two 15% coupons at 113 yen each, not three
    shopkeeper.save()
    results = [
        tool_call(
            context=ToolContext(agent=shopkeeper, machine=context.machine, conversation_id=n),
            name="issue_coupon",
            arguments={"percent": 15, "reason": "x"},
        )
        for n in (1, 2, 3)
    ]

    assert [r.ok for r in results] == [True, True, False]
    assert results[2].rule == "coupon_budget"
    assert "250円" in results[2].error


def test_a_price_at_cost_times_1_1_is_accepted_and_one_yen_less_refused(procurement_context, cola):
    # cola costs 70: the floor is 77.
    refused = tool_call(
        context=procurement_context, name="set_price", arguments={"sku": "COLA", "price_yen": 76, "reason": "x"}
    )
    accepted = tool_call(
        context=procurement_context, name="set_price", arguments={"sku": "COLA", "price_yen": 140, "reason": "x"}
    )

    assert refused.rule == "below_cost" and "77円" in refused.error
    assert accepted.ok, accepted.error
    cola.refresh_from_db()
    assert cola.price_yen == 140
    assert PriceChange.objects.get().actor_label == "仕入れAI"


@pytest.mark.parametrize("price", [0, -1])
def test_nothing_is_free(procurement_context, cola, price):
    result = tool_call(
        context=procurement_context, name="set_price", arguments={"sku": "COLA", "price_yen": price, "reason": "x"}
    )

    assert result.rule == "nothing_free"
    cola.refresh_from_db()
    assert cola.price_yen == 150


def test_five_units_is_an_order_and_six_is_refused(context):
    five = tool_call(
        context=context,
        name="start_purchase",
        arguments={"items": [{"sku": "COLA", "quantity": 5}], "payment_method": "ic"},
    )
    six = tool_call(
        context=context,
        name="start_purchase",
        arguments={"items": [{"sku": "COLA", "quantity": 5}, {"sku": "TEA", "quantity": 1}], "payment_method": "ic"},
    )

    assert five.ok and five.data["purchase"]["subtotal_yen"] == 750
    assert six.rule == "order_quantity"


@pytest.mark.parametrize("method", ["card", "ic", "cash", "line_pay", "qr"])
def test_the_shops_own_payment_methods_are_accepted(context, method):
    assert tool_call(context=context, name="start_purchase", arguments={"items": ONE_COLA, "payment_method": method}).ok


@pytest.mark.parametrize(
    "arguments",
    [
        {"items": ONE_COLA, "payment_method": "bank_transfer"},
        {"items": ONE_COLA, "payment_method": "card", "payee": "Taro"},
        {"items": ONE_COLA, "payment_method": "card", "wallet": "0xabc"},
    ],
)
def test_payment_only_through_the_shops_gateway(context, arguments):
    assert tool_call(context=context, name="start_purchase", arguments=arguments).rule == "payment_gateway"


@pytest.mark.parametrize(
    ("tool", "kind"),
    [
        ("set_price", "shopkeeper"),
        ("sales_summary", "shopkeeper"),
        ("issue_coupon", "analytics"),
        ("start_purchase", "procurement"),
    ],
)
def test_tools_are_allowed_per_agent_kind(shop, tool, kind):
    agent = AgentFactory(name=f"{kind}-x", kind=kind, enabled_tools=[tool])

    result = tool_call(context=ToolContext(agent=agent, machine=shop), name=tool, arguments={})

    assert result.rule == "tool_not_allowed"


def test_a_tool_must_be_enabled_on_the_agent(context, shopkeeper):
    shopkeeper.enabled_tools = ["list_products"]
    shopkeeper.save()

    assert tool_call(context=context, name="recommend", arguments={}).rule == "tool_not_enabled"
    assert tool_call(context=context, name="list_products", arguments={}).ok


@pytest.mark.parametrize("name", ["refund_sale", "delete_user", "agent_resume", "update_policy"])
def test_no_admin_actions(context, name):
    assert tool_call(context=context, name=name, arguments={}).rule == "unknown_tool"


@pytest.mark.parametrize(
    ("arguments", "rule"),
    [
        ({"text": "x", "customer_key": "line:U1"}, "other_customer_data"),
        ({"text": "x", "user_id": 3}, "other_customer_data"),
        ({"text": "連絡先 090-1234-5678"}, "other_customer_data"),
        ({"text": "x", "password": "hunter2"}, "secrets"),
        ({"text": "Bearer abcdefghijklmnop"}, "secrets"),
    ],
)
def test_no_other_customers_data_and_no_secrets(context, arguments, rule):
    assert tool_call(context=context, name="write_note", arguments=arguments).rule == rule


def test_a_refusal_is_stored_with_redacted_arguments(context):
    tool_call(context=context, name="write_note", arguments={"text": "x", "password": "hunter2"})

    violation = GuardrailViolation.objects.get()
    assert violation.arguments["password"] == "[REDACTED]"
    assert violation.conversation_id == 4242 and violation.tool_name == "write_note"


def test_repeated_abuse_in_one_conversation_escalates_to_staff_once(context, django_capture_on_commit_callbacks):
    staff = UserFactory(username="clerk", email="clerk@example.invalid")
    staff.groups.add(Group.objects.get(name=STAFF))

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(ESCALATION_THRESHOLD + 2):
            tool_call(context=context, name="issue_coupon", arguments={"percent": 90, "reason": "please"})

    escalation = Escalation.objects.get()
    assert (escalation.conversation_id, escalation.violation_count) == (4242, ESCALATION_THRESHOLD)
    assert GuardrailViolation.objects.filter(escalated=True).count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["clerk@example.invalid"]
    assert "4242" in mail.outbox[0].subject and "coupon_max_percent" in mail.outbox[0].body


def test_violations_below_the_threshold_do_not_escalate(context):
    for _ in range(ESCALATION_THRESHOLD - 1):
        tool_call(context=context, name="issue_coupon", arguments={"percent": 90, "reason": "please"})

    assert not Escalation.objects.exists()
    assert not mail.outbox


@pytest.mark.parametrize(("cost", "floor"), [(70, 77), (71, 79), (100, 110), (0, 0), (1, 2)])
def test_the_price_floor_is_cost_times_1_1_rounded_up_to_the_yen(cost, floor):
    assert price_floor_yen(cost_yen=cost) == floor
    price_floor_check(price_yen=floor, cost_yen=cost)  # the floor itself is allowed
    if floor:
        with pytest.raises(PolicyRefusal) as refused:
            price_floor_check(price_yen=floor - 1, cost_yen=cost)
        assert refused.value.rule == "below_cost" and f"{floor}円以上" in refused.value.reason
