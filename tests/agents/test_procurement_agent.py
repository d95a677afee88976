"""The procurement agent: the planning service proposes, the model explains in words, a person approves."""

import datetime

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.agents.models import AgentNote
from apps.agents.procurement import procurement_run
from apps.agents.tasks import explain_purchase_orders
from apps.inventory.models import PurchaseOrder, Slot
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
    procurement_agent, cola, fake_anthropic
):
    slot = Slot.objects.get(product=cola)
    sold_on(slot=slot, at=timezone.now() - datetime.timedelta(days=3), quantity=100, unit_price_yen=150)
    SupplierOfferFactory(supplier=SupplierFactory(name="信頼商事"), product=cola, unit_cost_yen=70)
    fake_anthropic.then(Reply([text(EXPLANATION)], input_tokens=900, output_tokens=80))

    [note] = procurement_run(agent=on_the_model(procurement_agent))

    order = PurchaseOrder.objects.get()
    assert order.status == PurchaseOrder.Status.PENDING_HUMAN_APPROVAL and order.approved_by is None
    assert note.kind == AgentNote.Kind.PURCHASE_ORDER_PROPOSAL and note.text == EXPLANATION
    assert note.data["purchase_order_id"] == order.pk and note.data["model"] == "claude-sonnet-4-6"
    brief = fake_anthropic.requests[0]["messages"][0]["content"][0]["text"]
    assert "信頼商事" in brief and str(order.total_yen) in brief and order.reasoning.splitlines()[0] in brief
    assert "承認することはできません" in fake_anthropic.requests[0]["system"]


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
