"""The procurement agent: the planning service proposes, the model explains in words, a person approves."""

import datetime

from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.agents.models import AgentNote
from apps.agents.procurement import purchase_orders_explain
from apps.agents.selectors import purchase_orders_unexplained
from apps.agents.tasks import explain_purchase_orders
from apps.core.models import AuditEntry
from apps.inventory.models import PurchaseOrder, Slot
from apps.inventory.services import procurement_plan, purchase_order_reject
from tests.agents.fake_anthropic import Reply, text
from tests.factories import PurchaseOrderFactory, SupplierFactory, SupplierOfferFactory, sold_on

EXPLANATION = (
    "コーラは1日に約7本売れており、納期と10日分を考えると在庫が足りません。信頼度の高い仕入先の見積が最安です。"
)


def on_the_model(agent):
    agent.provider = agent.Provider.ANTHROPIC
    agent.save(update_fields=["provider"])
    return agent


def test_the_model_writes_the_reasoning_from_the_planners_numbers_and_nothing_is_approved(
    procurement_agent, cola, fake_anthropic, client, staff_user
):
    slot = Slot.objects.get(product=cola)
    sold_on(slot=slot, at=timezone.now() - datetime.timedelta(days=3), quantity=100, unit_price_yen=150)
    SupplierOfferFactory(supplier=SupplierFactory(name="信頼商事"), product=cola, unit_cost_yen=70)
    fake_anthropic.then(Reply([text(EXPLANATION)], input_tokens=900, output_tokens=80))

    procurement_plan()  # the morning planning job, then the agent's explaining job
    [note] = purchase_orders_explain(agent=on_the_model(procurement_agent), orders=purchase_orders_unexplained())

    order = PurchaseOrder.objects.get()
    assert order.status == PurchaseOrder.Status.PENDING_HUMAN_APPROVAL and order.approved_by is None
    assert note.kind == AgentNote.Kind.PURCHASE_ORDER_PROPOSAL and note.text == EXPLANATION
    assert note.data["purchase_order_id"] == order.pk and note.data["model"] == "claude-sonnet-4-6"
    planner_reasoning = AuditEntry.objects.get(action="purchase_order.reasoning_set").data["previous_reasoning"]
    brief = fake_anthropic.requests[0]["messages"][0]["content"][0]["text"]
    assert "信頼商事" in brief and str(order.total_yen) in brief and planner_reasoning.splitlines()[0] in brief
    assert "承認することはできません" in fake_anthropic.requests[0]["system"]
    # The order now carries the model's explanation first, the planner's numbers after it ...
    assert order.reasoning.startswith(EXPLANATION) and planner_reasoning in order.reasoning

    # ... and that is what staff read on the approval page.
    client.force_login(staff_user)
    page = client.get(reverse("admin:inventory_purchaseorder_change", args=[order.pk])).content.decode()
    assert EXPLANATION in page and planner_reasoning.splitlines()[0] in page and 'value="approve"' in page


def test_an_order_decided_while_the_model_wrote_keeps_what_the_person_read(
    procurement_agent, fake_anthropic, manager_user
):
    order = PurchaseOrderFactory(reasoning="計画の理由")
    purchase_order_reject(order=order, actor=manager_user, reason="今月は見送り")
    fake_anthropic.then(Reply([text("理由です。")]))

    [note] = purchase_orders_explain(agent=on_the_model(procurement_agent), orders=[order])

    order.refresh_from_db()
    assert order.reasoning == "計画の理由" and order.status == PurchaseOrder.Status.REJECTED
    assert note.data["purchase_order_id"] == order.pk


def test_without_a_model_the_planners_reasoning_stands_alone(procurement_agent, fake_anthropic, settings):
    settings.ANTHROPIC_API_KEY = ""
    on_the_model(procurement_agent)
    PurchaseOrderFactory()

    explain_purchase_orders()  # no key: no canned text poses as the model's

    assert not AgentNote.objects.exists() and not fake_anthropic.requests
    assert PurchaseOrder.objects.get().status == PurchaseOrder.Status.PENDING_HUMAN_APPROVAL


def test_the_morning_job_explains_each_waiting_proposal_once(procurement_agent, fake_anthropic):
    on_the_model(procurement_agent)
    PurchaseOrderFactory()
    fake_anthropic.then(Reply([text("理由です。")]))

    explain_purchase_orders()
    explain_purchase_orders()

    assert AgentNote.objects.count() == 1 and len(fake_anthropic.requests) == 1
    assert PeriodicTask.objects.get(task="agents.purchase_orders_explain").crontab.hour == "6"
