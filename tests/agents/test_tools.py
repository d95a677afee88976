"""Each tool: its schema refuses malformed arguments before the handler runs, and a well-formed call does its job."""

import datetime

import pytest
from django.utils import timezone

from apps.agents.models import AgentNote, GuardrailViolation
from apps.agents.services import tool_call
from apps.agents.tools.registry import TOOLS, ToolContext
from apps.inventory.models import ProductRequest, PurchaseOrder, Slot
from apps.inventory.services import purchase_create
from tests.factories import AgentFactory, SupplierFactory, SupplierOfferFactory, sold_on

# (tool, kind of agent that may call it, arguments the schema must refuse)
MALFORMED = [
    ("list_products", "shopkeeper", {"category": "weapons"}),
    ("list_products", "shopkeeper", {"query": "x" * 101}),
    ("check_stock", "shopkeeper", {}),
    ("check_stock", "shopkeeper", {"sku": 7}),
    ("recommend", "shopkeeper", {"limit": 6}),
    ("recommend", "shopkeeper", {"max_price_yen": 0}),
    ("start_purchase", "shopkeeper", {"items": [], "payment_method": "card"}),
    ("start_purchase", "shopkeeper", {"items": [{"sku": "COLA"}], "payment_method": "card"}),
    ("start_purchase", "shopkeeper", {"items": [{"sku": "COLA", "quantity": 1.5}], "payment_method": "card"}),
    ("start_purchase", "shopkeeper", {"items": [{"sku": "COLA", "quantity": 1}]}),
    ("issue_coupon", "shopkeeper", {"percent": 10}),
    ("issue_coupon", "shopkeeper", {"percent": "10", "reason": "x"}),
    ("issue_coupon", "shopkeeper", {"percent": 0, "reason": "x"}),
    ("record_product_request", "shopkeeper", {"name": ""}),
    ("record_product_request", "shopkeeper", {"name": "x", "priority": "high"}),
    ("propose_purchase_order", "procurement", {"sku": "COLA", "quantity": 0, "reason": "x"}),
    ("propose_purchase_order", "procurement", {"sku": "COLA", "quantity": 10}),
    ("set_price", "procurement", {"sku": "COLA", "price_yen": "100", "reason": "x"}),
    ("set_price", "procurement", {"sku": "COLA", "reason": "x"}),
    ("sales_summary", "analytics", {"days": 0}),
    ("sales_summary", "analytics", {"days": 91}),
    ("product_allergens", "shopkeeper", {}),
    ("product_allergens", "shopkeeper", {"sku": "COLA", "allergen": ""}),
    ("write_note", "shopkeeper", {"text": ""}),
    ("write_note", "shopkeeper", {"text": "x" * 1001}),
    ("open_case", "shopkeeper", {"kind": "lost_umbrella", "summary": "x"}),
    ("open_case", "shopkeeper", {"kind": "other"}),
    ("open_case", "shopkeeper", {"kind": "other", "summary": "x" * 1001}),
    ("refund_undispensed", "shopkeeper", {"sale_id": 0}),
    ("refund_undispensed", "shopkeeper", {"amount_yen": "100"}),
    ("refund_undispensed", "shopkeeper", {"sale_id": 1, "to": "me"}),
]


def test_every_tool_of_the_issue_is_registered():
    assert set(TOOLS) == {
        "list_products",
        "product_allergens",
        "check_stock",
        "recommend",
        "start_purchase",
        "issue_coupon",
        "record_product_request",
        "propose_purchase_order",
        "set_price",
        "sales_summary",
        "write_note",
        "open_case",
        "refund_undispensed",
        "memory_set",
        "memory_get",
        "scratchpad_write",
        "scratchpad_read",
        "search_notes",
    }
    for tool in TOOLS.values():
        assert tool.schema["additionalProperties"] is False
        assert tool.spec()["input_schema"] is tool.schema


@pytest.mark.parametrize(("tool", "kind", "arguments"), MALFORMED, ids=lambda v: v if isinstance(v, str) else None)
def test_the_schema_refuses_malformed_arguments_before_the_handler(shop, tool, kind, arguments):
    agent = AgentFactory(name=f"{kind}-schema", kind=kind)

    result = tool_call(
        context=ToolContext(agent=agent, machine=shop, conversation_id=5), name=tool, arguments=arguments
    )

    assert (result.ok, result.rule) == (False, "invalid_arguments")
    assert "引数が正しくありません" in result.error
    assert GuardrailViolation.objects.get().rule == "invalid_arguments"
    assert not AgentNote.objects.exists() and not ProductRequest.objects.exists()


def test_list_products_shows_price_and_units_left(context):
    result = tool_call(context=context, name="list_products", arguments={})

    assert result.data["products"] == [
        {"sku": "TEA", "name": "緑茶", "name_en": "Green tea", "category": "drink", "price_yen": 130, "in_stock": 6},
        {"sku": "COLA", "name": "コーラ", "name_en": "Cola", "category": "drink", "price_yen": 150, "in_stock": 8},
    ]
    assert [
        p["sku"] for p in tool_call(context=context, name="list_products", arguments={"query": "cola"}).data["products"]
    ] == ["COLA"]


def test_check_stock_counts_the_machine_and_the_back_room(context):
    result = tool_call(context=context, name="check_stock", arguments={"sku": "COLA"})

    assert result.data == {"sku": "COLA", "name": "コーラ", "in_machine": 8, "in_storage": 20}
    missing = tool_call(context=context, name="check_stock", arguments={"sku": "NOPE"})
    assert not missing.ok and missing.rule == "" and "NOPE" in missing.error


def test_recommend_prefers_what_the_machine_has_most_of_within_the_budget(context):
    assert [p["sku"] for p in tool_call(context=context, name="recommend", arguments={}).data["products"]] == [
        "COLA",
        "TEA",
    ]
    cheap = tool_call(context=context, name="recommend", arguments={"max_price_yen": 140})
    assert [p["sku"] for p in cheap.data["products"]] == ["TEA"]


def test_start_purchase_is_a_proposal_that_moves_no_stock(context):
    result = tool_call(
        context=context,
        name="start_purchase",
        arguments={"items": [{"sku": "TEA", "quantity": 5}], "payment_method": "card"},
    )
    too_many = tool_call(
        context=context,
        name="start_purchase",
        arguments={"items": [{"sku": "TEA", "quantity": 5}, {"sku": "TEA", "quantity": 0}], "payment_method": "card"},
    )

    assert result.data["purchase"]["requires_confirmation"] is True
    assert result.data["purchase"]["items"][0]["slot"] == "A2"
    assert Slot.objects.get(code="A2").quantity == 6
    assert too_many.rule == "invalid_arguments"


def test_start_purchase_says_when_the_slot_has_too_few(context, shopkeeper):
    purchase_create(
        machine=context.machine,
        items=[{"slot": "A1", "quantity": 6}],
        coupon_code=None,
        payment_method="card",
        idempotency_key="busy-day",
        channel="tablet",
    )

    result = tool_call(
        context=context,
        name="start_purchase",
        arguments={"items": [{"sku": "COLA", "quantity": 3}], "payment_method": "card"},
    )

    assert (result.ok, result.rule) == (False, "")
    assert "在庫が足りません" in result.error
    assert not GuardrailViolation.objects.exists()


def test_record_product_request_creates_a_product_request(context):
    result = tool_call(context=context, name="record_product_request", arguments={"name": "ドクターペッパー"})

    request = ProductRequest.objects.get(pk=result.data["request_id"])
    assert (request.name, request.channel) == ("ドクターペッパー", "tablet")


def test_propose_purchase_order_creates_an_order_waiting_for_staff_and_never_approves(shop, procurement_agent, cola):
    # Cola sells 70 a fortnight (5 a day): 8 in the slot + 20 in the back room cover less than lead time + 10 days.
    sold_on(
        slot=Slot.objects.get(machine=shop, code="A1"),
        at=timezone.now() - datetime.timedelta(days=2),
        quantity=70,
        unit_price_yen=150,
    )
    offer = SupplierOfferFactory(supplier=SupplierFactory(name="丸山食品", reliability_score=90), product=cola)
    context = ToolContext(agent=procurement_agent, machine=shop)

    result = tool_call(
        context=context, name="propose_purchase_order", arguments={"sku": "COLA", "quantity": 24, "reason": "売れ筋"}
    )

    assert result.ok and result.data["status"] == "pending_human_approval"
    [proposed] = result.data["purchase_orders"]
    order = PurchaseOrder.objects.get(pk=proposed["id"])
    assert order.status == proposed["status"] == PurchaseOrder.Status.PENDING_HUMAN_APPROVAL
    assert order.supplier == offer.supplier and order.created_by_label == procurement_agent.name
    assert order.approved_at is None and order.approved_by is None
    assert proposed["quantity"] == order.lines.get(product=cola).quantity > 0
    note = AgentNote.objects.get(pk=result.data["proposal_note_id"])
    assert note.kind == AgentNote.Kind.PURCHASE_ORDER_PROPOSAL
    assert note.data["quantity"] == 24 and note.data["purchase_order_ids"] == [order.pk]

    # Asking again finds the open order instead of a second one.
    again = tool_call(
        context=context, name="propose_purchase_order", arguments={"sku": "COLA", "quantity": 24, "reason": "念のため"}
    )
    assert again.data["status"] == "already_on_order"
    assert [o["id"] for o in again.data["purchase_orders"]] == [order.pk] and PurchaseOrder.objects.count() == 1


def test_propose_purchase_order_without_a_need_orders_nothing_and_says_so(shop, procurement_agent, cola):
    SupplierOfferFactory(supplier=SupplierFactory(name="丸山食品", reliability_score=90), product=cola)

    result = tool_call(
        context=ToolContext(agent=procurement_agent, machine=shop),
        name="propose_purchase_order",
        arguments={"sku": "COLA", "quantity": 24, "reason": "売れ筋"},
    )

    assert result.data["status"] == "nothing_to_order" and result.data["purchase_orders"] == []
    assert not PurchaseOrder.objects.exists()


def test_sales_summary_counts_sales_without_naming_customers(shop):
    purchase_create(
        machine=shop,
        items=[{"slot": "A1", "quantity": 2}],
        coupon_code=None,
        payment_method="card",
        idempotency_key="k1",
        channel="tablet",
        customer_key="line:U-secret",
    )
    analyst = AgentFactory(name="分析AI", kind="analytics", persona=None)

    summary = tool_call(context=ToolContext(agent=analyst, machine=shop), name="sales_summary", arguments={"days": 7})

    assert summary.data == {
        "days": 7,
        "sales": 1,
        "revenue_yen": 300,
        "gross_margin_yen": 160,
        "top_products": [{"sku": "COLA", "name": "コーラ", "units": 2, "revenue_yen": 300}],
    }
    assert "U-secret" not in str(summary.data)


def test_write_note_leaves_a_note_for_staff(context):
    note = tool_call(context=context, name="write_note", arguments={"text": "自販機のボタンが固いそうです"})

    assert AgentNote.objects.get(pk=note.data["note_id"]).conversation_id == 4242
