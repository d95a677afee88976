"""The tools' handlers. Each reads through selectors and writes through services; none checks the guardrails itself —
`apps.agents.services.tool_call` has already run the policy and the schema when a handler is called."""

from django.utils.translation import gettext as _

from apps.agents import selectors
from apps.agents.limits import MAX_COUPON_PERCENT, MAX_UNITS_PER_ORDER
from apps.agents.models import AgentMemory, AgentNote, Case
from apps.agents.services import (
    agent_memory_set,
    agent_scratchpad_write,
    case_open,
    coupon_grant_record,
    note_write,
    self_service_refund_record,
)
from apps.agents.tools.registry import Kind, ToolContext, register
from apps.core.errors import NotFound, ValidationError
from apps.inventory import allergens
from apps.inventory.models import Coupon, Payment, Product, Sale
from apps.inventory.services import coupon_issue, price_change, procurement_plan, product_request_record

ALL_KINDS = {Kind.SHOPKEEPER, Kind.PROCUREMENT, Kind.ANALYTICS}
_SKU = {"type": "string", "minLength": 1, "maxLength": 32}
_REASON = {"type": "string", "minLength": 1, "maxLength": 300}
_CATEGORY = {"type": "string", "enum": Product.Category.values}


def _machine_required(context: ToolContext):
    if context.machine is None:
        raise ValidationError(_("この会話には自販機がありません。"))
    return context.machine


def _not_sold(sku: str) -> NotFound:
    return NotFound(_("商品 %(sku)s は扱っていません。") % {"sku": sku})


def _product(sku: str) -> Product:
    product = selectors.product_by_sku(sku=sku)
    if product is None or not product.active:
        raise _not_sold(sku)
    return product


@register(
    name="list_products",
    description="List the products in this machine with price and units left; optional search text and category.",
    schema={"properties": {"query": {"type": "string", "maxLength": 100}, "category": _CATEGORY}},
    allowed_kinds=ALL_KINDS,
)
def list_products(context: ToolContext, arguments: dict) -> dict:
    rows = selectors.machine_catalogue(
        machine=_machine_required(context), query=arguments.get("query", ""), category=arguments.get("category", "")
    )
    return {"products": rows}


@register(
    name="check_stock",
    description="Units of one product (by SKU) left in this machine and in the back room.",
    schema={"properties": {"sku": _SKU}, "required": ["sku"]},
    allowed_kinds=ALL_KINDS,
)
def check_stock(context: ToolContext, arguments: dict) -> dict:
    stock = selectors.product_stock(sku=arguments["sku"], machine=context.machine)
    if stock is None:
        raise _not_sold(arguments["sku"])
    return stock


@register(
    name="product_allergens",
    description=(
        "The food label data of one product (by SKU): allergens (the 8 mandatory and 20 recommended ones), calories "
        "and ingredients; with `allergen`, whether it contains that one. Answer allergen and ingredient questions "
        "ONLY from this result. `labelled` false means nobody has checked the label: say that the data is missing "
        "and never guess."
    ),
    schema={
        "properties": {"sku": _SKU, "allergen": {"type": "string", "minLength": 1, "maxLength": 30}},
        "required": ["sku"],
    },
    allowed_kinds=ALL_KINDS,
)
def product_allergens(context: ToolContext, arguments: dict) -> dict:
    asked = arguments.get("allergen", "")
    code = allergens.allergen_code(asked) if asked else ""
    if asked and code is None:
        raise ValidationError(
            _("「%(word)s」は表示対象のアレルゲン（特定原材料8品目・準ずる20品目）ではありません。") % {"word": asked}
        )
    return selectors.product_label(product=_product(arguments["sku"]), allergen=code or "")


@register(
    name="recommend",
    description=(
        "Suggest up to `limit` products in stock in this machine, optionally in a category or under a price; what "
        "this customer usually buys comes first, with `reasons` to tell them."
    ),
    schema={
        "properties": {
            "category": _CATEGORY,
            "max_price_yen": {"type": "integer", "minimum": 1},
            "limit": {"type": "integer", "minimum": 1, "maximum": 5},
        }
    },
    allowed_kinds={Kind.SHOPKEEPER},
)
def recommend(context: ToolContext, arguments: dict) -> dict:
    rows = selectors.machine_catalogue(machine=_machine_required(context), category=arguments.get("category", ""))
    max_price = arguments.get("max_price_yen")
    in_stock = [row for row in rows if row["in_stock"] > 0 and (max_price is None or row["price_yen"] <= max_price)]
    # What this customer likes first (with their consent), then the best stocked: what we can promise.
    personal = {pick["sku"]: index for index, pick in enumerate(context.recommendations)}
    in_stock.sort(key=lambda row: (personal.get(row["sku"], len(personal)), -row["in_stock"], row["price_yen"]))
    chosen = in_stock[: arguments.get("limit", 3)]
    reasons = [pick["reason"] for pick in context.recommendations if pick["sku"] in {row["sku"] for row in chosen}]
    return {"products": chosen, "reasons": reasons}


@register(
    name="start_purchase",
    description=(
        f"Prepare a purchase for the customer to confirm and pay here ({MAX_UNITS_PER_ORDER} units at most). "
        f"payment_method is one of {', '.join(Payment.Method.values)}. Nothing is charged until the customer confirms."
    ),
    schema={
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_UNITS_PER_ORDER,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"sku": _SKU, "quantity": {"type": "integer", "minimum": 1}},
                    "required": ["sku", "quantity"],
                },
            },
            "payment_method": {"type": "string", "minLength": 1, "maxLength": 60},
            "coupon_code": {"type": "string", "maxLength": 32},
        },
        "required": ["items", "payment_method"],
    },
    allowed_kinds={Kind.SHOPKEEPER},
)
def start_purchase(context: ToolContext, arguments: dict) -> dict:
    """A proposal, not a sale: the tablet shows it and the customer pays through the machine's purchase endpoint."""
    machine = _machine_required(context)
    lines, subtotal = [], 0
    for item in arguments["items"]:
        product = _product(item["sku"])
        slot = selectors.slot_holding(machine=machine, product=product, quantity=item["quantity"])
        if slot is None:
            raise ValidationError(_("%(name)sは在庫が足りません。") % {"name": product.name_ja})
        lines.append(
            {
                "sku": product.sku,
                "name": product.name_ja,
                "slot": slot.code,
                "quantity": item["quantity"],
                "unit_price_yen": product.price_yen,
            }
        )
        subtotal += product.price_yen * item["quantity"]
    coupon_code = arguments.get("coupon_code", "")
    if coupon_code and not selectors.coupon_is_active(code=coupon_code):
        raise ValidationError(_("クーポン「%(code)s」は使えません。") % {"code": coupon_code})
    return {
        "purchase": {
            "machine": machine.code,
            "items": lines,
            "subtotal_yen": subtotal,
            "coupon_code": coupon_code.upper(),
            "payment_method": arguments["payment_method"],
            "requires_confirmation": True,
        }
    }


@register(
    name="issue_coupon",
    description=(
        f"Give this customer a single-use percent-off coupon (at most {MAX_COUPON_PERCENT}%, one per conversation, "
        "within the agent's daily coupon budget). Give a reason."
    ),
    schema={
        "properties": {"percent": {"type": "integer", "minimum": 1, "maximum": 100}, "reason": _REASON},
        "required": ["percent", "reason"],
    },
    allowed_kinds={Kind.SHOPKEEPER},
)
def issue_coupon(context: ToolContext, arguments: dict) -> dict:
    percent = arguments["percent"]
    coupon = coupon_issue(
        kind=Coupon.Kind.PERCENT,
        value=percent,
        valid_days=7,
        max_uses=1,
        actor_label=context.agent.name,
        note=arguments["reason"],
    )
    coupon_grant_record(
        agent=context.agent,
        conversation_id=context.conversation_id,
        customer_key=context.customer_key,
        coupon_code=coupon.code,
        percent=percent,
        worst_case_yen=selectors.coupon_worst_case_yen(percent=percent),
    )
    return {"coupon_code": coupon.code, "percent": percent, "valid_until": coupon.valid_until.isoformat()}


@register(
    name="record_product_request",
    description="Record that the customer would like the shop to stock a product it does not sell.",
    schema={
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": {"type": "string", "maxLength": 500},
        },
        "required": ["name"],
    },
    allowed_kinds={Kind.SHOPKEEPER},
)
def record_product_request(context: ToolContext, arguments: dict) -> dict:
    channel = context.channel if context.channel in Sale.Channel.values else Sale.Channel.TABLET
    request = product_request_record(
        name=arguments["name"],
        description=arguments.get("description", ""),
        customer_key=context.customer_key,
        channel=channel,
        note=_("エージェント%(agent)sが記録") % {"agent": context.agent.name},
    )
    return {"request_id": request.pk, "name": request.name, "times_requested": request.times_requested}


@register(
    name="propose_purchase_order",
    description=(
        "Propose restocking a product: the planner drafts a purchase order from sales, stock and supplier offers; "
        "a person approves it before anything is ordered."
    ),
    schema={
        "properties": {"sku": _SKU, "quantity": {"type": "integer", "minimum": 1, "maximum": 1000}, "reason": _REASON},
        "required": ["sku", "quantity", "reason"],
    },
    allowed_kinds={Kind.PROCUREMENT},
)
def propose_purchase_order(context: ToolContext, arguments: dict) -> dict:
    """Ask inventory's planner for this product: it creates orders waiting for a person's approval (never approves)
    with its own quantity from sales and stock. The agent's quantity and reason stay on a note for staff."""
    product = _product(arguments["sku"])
    plan = procurement_plan(product_ids=[product.pk], actor_label=context.agent.name)
    if plan.orders:
        orders, status = plan.orders, "pending_human_approval"
    else:
        orders = selectors.purchase_orders_open_for_product(product=product)
        status = "already_on_order" if orders else "nothing_to_order"
    note = note_write(
        agent=context.agent,
        conversation_id=context.conversation_id,
        kind=AgentNote.Kind.PURCHASE_ORDER_PROPOSAL,
        text=_("発注提案: %(name)s × %(quantity)d（%(reason)s）")
        % {"name": product.name_ja, "quantity": arguments["quantity"], "reason": arguments["reason"]},
        data={
            "sku": product.sku,
            "quantity": arguments["quantity"],
            "purchase_order_ids": [order.pk for order in orders],
            "status": status,
        },
    )
    return {
        "status": status,
        "purchase_orders": [
            {
                "id": order.pk,
                "status": order.status,
                "supplier": order.supplier.name,
                "total_yen": order.total_yen,
                "quantity": sum(line.quantity for line in order.lines.all() if line.product_id == product.pk),
            }
            for order in orders
        ],
        "proposal_note_id": note.pk,
    }


@register(
    name="set_price",
    description="Change a product's tax-inclusive price (never below cost × 1.1, never free). Give a reason.",
    schema={
        "properties": {"sku": _SKU, "price_yen": {"type": "integer"}, "reason": _REASON},
        "required": ["sku", "price_yen", "reason"],
    },
    allowed_kinds={Kind.PROCUREMENT},
)
def set_price(context: ToolContext, arguments: dict) -> dict:
    change = price_change(
        product=_product(arguments["sku"]),
        new_price_yen=arguments["price_yen"],
        actor_label=context.agent.name,
        reason=arguments["reason"],
    )
    return {"sku": change.product.sku, "old_price_yen": change.old_price_yen, "new_price_yen": change.new_price_yen}


@register(
    name="sales_summary",
    description="Sales count, revenue, gross margin and best sellers of the last `days` days (no customer data).",
    schema={"properties": {"days": {"type": "integer", "minimum": 1, "maximum": 90}}, "required": ["days"]},
    allowed_kinds={Kind.PROCUREMENT, Kind.ANALYTICS},
)
def sales_summary(context: ToolContext, arguments: dict) -> dict:
    return selectors.sales_summary(days=arguments["days"], machine=context.machine)


@register(
    name="write_note",
    description="Leave a short note for the shop's staff.",
    schema={"properties": {"text": {"type": "string", "minLength": 1, "maxLength": 1000}}, "required": ["text"]},
    allowed_kinds=ALL_KINDS,
)
def write_note(context: ToolContext, arguments: dict) -> dict:
    note = note_write(agent=context.agent, conversation_id=context.conversation_id, text=arguments["text"])
    return {"note_id": note.pk}


@register(
    name="open_case",
    description=(
        "Hand the customer's complaint or problem (wrong item, nothing came out, charged twice, spoiled food, a rude "
        "answer, a refund you may not give) to the shop's staff, who answer the customer on this channel. Apologise, "
        "and never promise what staff will decide. `summary`: the problem in the customer's words."
    ),
    schema={
        "properties": {
            "kind": {"type": "string", "enum": Case.Kind.values},
            "summary": {"type": "string", "minLength": 1, "maxLength": 1000},
            "sale_id": {"type": "integer", "minimum": 1},
        },
        "required": ["kind", "summary"],
    },
    allowed_kinds={Kind.SHOPKEEPER},
)
def open_case(context: ToolContext, arguments: dict) -> dict:
    sale = None
    if "sale_id" in arguments:
        candidate = selectors.sale_for_self_refund(
            sale_ids=context.sale_ids, customer_key=context.customer_key, sale_id=arguments["sale_id"]
        )
        # Only the customer's own purchase is linked; staff see the number in the words anyway.
        if candidate is not None and selectors.sale_is_customers(
            sale=candidate, sale_ids=context.sale_ids, customer_key=context.customer_key
        ):
            sale = candidate
    case = case_open(
        agent=context.agent,
        conversation_id=context.conversation_id,
        customer_key=context.customer_key,
        channel=context.channel,
        kind=arguments["kind"],
        text=arguments["summary"],
        sale=sale,
    )
    return {"case_id": case.pk, "status": case.status, "answer_expected_by": case.sla_due_at.isoformat()}


@register(
    name="refund_undispensed",
    description=(
        "Refund the items the machine recorded as NOT dispensed (a jam, a failed dispense) on the customer's own "
        "purchase within 24 hours, once. Without `sale_id`, their newest purchase. Anything else: open_case."
    ),
    schema={
        "properties": {
            "sale_id": {"type": "integer", "minimum": 1},
            "amount_yen": {"type": "integer", "minimum": 1},
        }
    },
    allowed_kinds={Kind.SHOPKEEPER},
)
def refund_undispensed(context: ToolContext, arguments: dict) -> dict:
    sale = selectors.sale_for_self_refund(
        sale_ids=context.sale_ids, customer_key=context.customer_key, sale_id=arguments.get("sale_id")
    )
    if sale is None:
        raise NotFound(_("返金の対象になるご購入が見つかりません。"))
    refund = self_service_refund_record(context=context, sale=sale)
    return {"sale_id": sale.pk, "refunded_yen": refund.amount_yen}


# Memory: what an agent keeps between turns and days (docs/agents.md, *Memory*). The arena gives the same tools, names
# and schemas a memory of the run's own (apps/experiments/arena/tools.py).
MEMORY_KEY = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.:-]{0,63}$"}
MEMORY_VALUE_MAX_CHARS = 2000
SCRATCHPAD_MAX_CHARS = 4000
NOTES_FOUND_MAX = 10


@register(
    name="memory_set",
    description="Remember a short value under a key (lower-case letters, digits, _ . : -), replacing the old one; "
    "an empty value forgets the key.",
    schema={
        "properties": {"key": MEMORY_KEY, "value": {"type": "string", "maxLength": MEMORY_VALUE_MAX_CHARS}},
        "required": ["key", "value"],
    },
    allowed_kinds=ALL_KINDS,
)
def memory_set(context: ToolContext, arguments: dict) -> dict:
    agent_memory_set(agent=context.agent, key=arguments["key"], value=arguments["value"])
    return {"key": arguments["key"], "stored": bool(arguments["value"])}


@register(
    name="memory_get",
    description="Read what you remembered under a key; without a key, the list of your keys.",
    schema={"properties": {"key": MEMORY_KEY}},
    allowed_kinds=ALL_KINDS,
)
def memory_get(context: ToolContext, arguments: dict) -> dict:
    if "key" not in arguments:
        return {"keys": selectors.agent_memory_keys(agent=context.agent)}
    return {"key": arguments["key"], "value": selectors.agent_memory_value(agent=context.agent, key=arguments["key"])}


@register(
    name="scratchpad_write",
    description=f"Write your scratchpad (kept between days, its last {SCRATCHPAD_MAX_CHARS} characters): "
    "replace it, or append a line.",
    schema={
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": MEMORY_VALUE_MAX_CHARS},
            "append": {"type": "boolean"},
        },
        "required": ["text"],
    },
    allowed_kinds=ALL_KINDS,
)
def scratchpad_write(context: ToolContext, arguments: dict) -> dict:
    memory = agent_scratchpad_write(
        agent=context.agent,
        text=arguments["text"],
        append=arguments.get("append", True),
        max_chars=SCRATCHPAD_MAX_CHARS,
    )
    return {"chars": len(memory.value)}


@register(
    name="scratchpad_read",
    description="Read your scratchpad.",
    schema={"properties": {}},
    allowed_kinds=ALL_KINDS,
)
def scratchpad_read(context: ToolContext, arguments: dict) -> dict:
    text = selectors.agent_memory_value(agent=context.agent, key=AgentMemory.SCRATCHPAD_KEY)
    return {"text": text or ""}


@register(
    name="search_notes",
    description=f"Search your own notes (write_note, purchase-order proposals) for a word; newest first, at most "
    f"{NOTES_FOUND_MAX}.",
    schema={"properties": {"query": {"type": "string", "minLength": 1, "maxLength": 100}}, "required": ["query"]},
    allowed_kinds=ALL_KINDS,
)
def search_notes(context: ToolContext, arguments: dict) -> dict:
    return {"notes": selectors.agent_notes_search(agent=context.agent, query=arguments["query"], limit=NOTES_FOUND_MAX)}
