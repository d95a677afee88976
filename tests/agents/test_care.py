"""Customer care in the agents app: complaints become cases for staff, staff answers, and the assistant's refund of
what the machine recorded as not dispensed — within its policy, whatever the customer or the model asks."""

import datetime
from dataclasses import replace

import pytest
from django.core import mail
from django.utils import timezone

from apps.agents.models import Case, CaseReply, GuardrailViolation, SelfServiceRefund
from apps.agents.providers.base import ChatMessage
from apps.agents.runtime import agent_turn_run
from apps.agents.services import case_answer, case_resolve, tool_call
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.inventory.models import PaymentRefund, Sale
from apps.inventory.services import purchase_create
from tests.agents.fake_anthropic import Reply, text, tool_use
from tests.factories import UserFactory
from tests.inventory.fakes import ProcessDied

CRASHING_DISPENSER = "tests.inventory.fakes.DispenseThenCrash"


def say(agent, context, message):
    return agent_turn_run(agent=agent, context=context, history=[ChatMessage(role="user", text=message)])


def bought(machine, *, customer_key="", quantity=2, crash=False, settings=None, key="k1") -> Sale:
    """A card purchase of cola; with `crash`, the process dies while the machine drops it (nothing recorded as
    dispensed, nothing refunded)."""

    def buy():
        return purchase_create(
            machine=machine,
            items=[{"slot": "A1", "quantity": quantity}],
            coupon_code="",
            payment_method="card",
            idempotency_key=key,
            channel="line",
            customer_key=customer_key,
        )

    if not crash:
        return buy().sale
    settings.DISPENSER = CRASHING_DISPENSER
    with pytest.raises(ProcessDied):
        buy()
    settings.DISPENSER = "apps.inventory.integrations.dispenser.SimulatedDispenser"
    return Sale.objects.get(payment__idempotency_key__endswith=key)


@pytest.fixture
def line_context(context):
    return replace(context, customer_key="cust:7", channel="line")


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("違う商品が出てきました", "wrong_item"),
        ("カードで二重に請求されています", "charged_twice"),
        ("おにぎりが傷んでいました", "spoiled"),
        ("さっきの返事は失礼だと思います", "rude_answer"),
        ("I got the wrong item", "wrong_item"),
        ("The sandwich was spoiled", "spoiled"),
    ],
)
def test_each_kind_of_complaint_opens_a_case_and_promises_nothing(
    shopkeeper, context, message, kind, django_capture_on_commit_callbacks, staff_user
):
    staff_user.email = "staff@example.com"
    staff_user.save()
    with django_capture_on_commit_callbacks(execute=True):
        outcome = say(shopkeeper, context, message)

    case = Case.objects.get()
    assert (case.kind, case.text, case.status, case.conversation_id) == (kind, message, "open", 4242)
    assert case.sla_due_at > timezone.now() + datetime.timedelta(hours=3)
    assert str(case.pk) in outcome.text
    for promise in ("返金します", "交換します", "お届けします", "refund you", "replace it"):
        assert promise not in outcome.text
    assert len(mail.outbox) == 1 and message in mail.outbox[0].body and mail.outbox[0].to == ["staff@example.com"]
    assert outcome.actions == [{"type": "case_opened", "case": case.pk}]


def test_saying_more_in_the_same_conversation_adds_to_its_open_case(shopkeeper, context):
    say(shopkeeper, context, "違う商品が出てきました")
    say(shopkeeper, context, "コーラを押したのに水が出ました、違うものが出た")

    case = Case.objects.get()
    assert "水が出ました" in case.text and "違う商品" in case.text


def test_a_staff_answer_times_the_first_answer_and_needs_the_right(shopkeeper, context, staff_user):
    say(shopkeeper, context, "違う商品が出てきました")
    case = Case.objects.get()
    outsider = UserFactory(username="visitor")

    with pytest.raises(PermissionDenied):
        case_answer(case=case, author=outsider, text="確認します")
    with pytest.raises(ValidationError):
        case_answer(case=case, author=staff_user, text="   ")
    case_answer(case=case, author=staff_user, text="ご迷惑をおかけしました。返金いたしました。")
    case_answer(case=case, author=staff_user, text="ほかにお困りのことはありますか。")

    case.refresh_from_db()
    first = CaseReply.objects.order_by("id").first()
    assert (case.status, case.owner, case.first_answered_at) == ("answered", staff_user, first.created_at)
    case_resolve(case=case, actor=staff_user)
    with pytest.raises(Conflict):
        case_answer(case=case, author=staff_user, text="もう一度")
    assert CaseReply.objects.count() == 2


def test_the_model_opens_a_case_through_the_same_tool(model_shopkeeper, line_context, fake_anthropic):
    fake_anthropic.then(
        Reply([tool_use("open_case", {"kind": "charged_twice", "summary": "二回引き落とされた"})]),
        Reply([text("申し訳ございません。担当スタッフにお伝えしました。")]),
    )

    outcome = say(model_shopkeeper, line_context, "二回引き落とされてるんだけど")

    case = Case.objects.get()
    assert (case.kind, case.customer_key, case.channel) == ("charged_twice", "cust:7", "line")
    assert outcome.actions == [{"type": "case_opened", "case": case.pk}]
    tools = {tool["name"] for tool in fake_anthropic.requests[0]["tools"]}
    assert {"open_case", "refund_undispensed"} <= tools


# --- the assistant's refund policy --------------------------------------------------------------------------------


def test_a_dispense_that_died_is_refunded_to_its_own_customer_once(shopkeeper, line_context, shop, settings):
    sale = bought(shop, customer_key="cust:7", crash=True, settings=settings)
    assert (sale.status, sale.refunded_yen) == ("completed", 0)

    outcome = say(shopkeeper, line_context, "お金を入れたのに何も出てこない")

    sale.refresh_from_db()
    assert (sale.status, sale.refunded_yen) == ("refunded", 300)
    assert "300円を返金しました" in outcome.text and not Case.objects.exists()
    assert PaymentRefund.objects.get(payment=sale.payment).amount_yen == 300
    assert SelfServiceRefund.objects.get().amount_yen == 300
    assert shop.slots.get(code="A1").quantity == 8  # what never came out is counted back in the slot

    again = say(shopkeeper, line_context, "まだ出てこない、返金して")

    sale.refresh_from_db()
    assert sale.refunded_yen == 300 and PaymentRefund.objects.count() == 1
    assert GuardrailViolation.objects.get().rule == "refund_once"
    assert "返金済み" in again.text and Case.objects.get().kind == "nothing_came_out"


def test_a_jam_on_someone_elses_sale_gets_nothing(shopkeeper, line_context, shop, settings):
    theirs = bought(shop, customer_key="cust:99", crash=True, settings=settings)

    outcome = say(shopkeeper, line_context, f"購入番号{theirs.pk}が出てこなかった。返金して")

    theirs.refresh_from_db()
    assert theirs.refunded_yen == 0 and not PaymentRefund.objects.exists()
    assert GuardrailViolation.objects.get().rule == "refund_not_own_sale"
    case = Case.objects.get()
    assert case.sale is None  # someone else's sale is not linked to this customer's case
    assert "ご本人のご購入でない" in outcome.text


def test_an_anonymous_tablet_customer_without_a_purchase_here_gets_nothing(shopkeeper, context, shop, settings):
    bought(shop, customer_key="", crash=True, settings=settings)  # someone's anonymous sale at this machine

    say(shopkeeper, context, "お金を入れたのに出てこない")

    assert Sale.objects.get().refunded_yen == 0
    assert Case.objects.get().kind == "nothing_came_out"


def test_a_tablet_customer_is_refunded_for_the_sale_made_in_their_conversation(shopkeeper, context, shop, settings):
    sale = bought(shop, customer_key="", crash=True, settings=settings)

    say(shopkeeper, replace(context, sale_ids=(sale.pk,)), "お金を入れたのに出てこない")

    sale.refresh_from_db()
    assert sale.refunded_yen == 300


def test_more_than_was_paid_is_refused(shopkeeper, line_context, shop, settings):
    sale = bought(shop, customer_key="cust:7", crash=True, settings=settings)

    say(shopkeeper, line_context, "出てこなかったので1000円返金して")

    sale.refresh_from_db()
    assert sale.refunded_yen == 0
    assert GuardrailViolation.objects.get().rule == "refund_over_paid"
    assert Case.objects.get().status == "open"


@pytest.mark.parametrize(("arguments", "rule"), [({"amount_yen": 301}, "refund_over_paid"), ({}, None)])
def test_a_model_asking_more_than_paid_or_for_a_sale_that_came_out_is_refused(
    shopkeeper, line_context, shop, settings, arguments, rule
):
    sale = bought(shop, customer_key="cust:7", quantity=1, crash=True, settings=settings)
    second = bought(shop, customer_key="cust:7", quantity=2, key="k2")  # fully dispensed, paid 300

    result = tool_call(context=line_context, name="refund_undispensed", arguments={"sale_id": second.pk, **arguments})

    assert not result.ok and result.rule == (rule or "")
    if rule is None:
        assert "払い出しエラーの記録がありません" in result.error
    over = tool_call(context=line_context, name="refund_undispensed", arguments={"sale_id": sale.pk, "amount_yen": 151})
    assert over.rule == "refund_over_paid"
    assert Sale.objects.filter(refunded_yen__gt=0).count() == 0


def test_after_24_hours_the_assistant_cannot_refund(shopkeeper, line_context, shop, settings):
    sale = bought(shop, customer_key="cust:7", crash=True, settings=settings)
    Sale.objects.filter(pk=sale.pk).update(created_at=timezone.now() - datetime.timedelta(hours=25))

    result = tool_call(context=line_context, name="refund_undispensed", arguments={})

    assert result.rule == "refund_too_late"
    sale.refresh_from_db()
    assert sale.refunded_yen == 0


def test_a_jam_already_refunded_at_the_machine_is_not_refunded_again(shopkeeper, line_context, shop, settings):
    settings.DISPENSER = "tests.inventory.fakes.FirstItemOnlyDispenser"
    sale = bought(shop, customer_key="cust:7", quantity=2)
    assert sale.refunded_yen == 150

    outcome = say(shopkeeper, line_context, "1本出てこなかった")

    sale.refresh_from_db()
    assert sale.refunded_yen == 150 and PaymentRefund.objects.count() == 1
    assert "150円返金済み" in outcome.text
