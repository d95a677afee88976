"""The arena's tools: the shop's own registry entries (names, descriptions, schemas, kinds) with handlers that act
on the arena instead of the database, plus the arena's supplier, slot and cash tools, all checked by the live
`apps.agents.policy.policy_check` before they run.

Live tools kept as they are (`check_stock` adds a fresh product's dated lots, `sales_summary` each product's units
thrown away past their date and their cost): `check_stock`, `sales_summary`, `set_price`, `propose_purchase_order` (no person
approves in the arena: it orders at once from the cheapest trusted supplier that lists the product, in whole packs),
`write_note`, and the memory tools `memory_set`, `memory_get`, `scratchpad_write`, `scratchpad_read`,
`search_notes` (each run has its own memory, `RunMemory`). The policy reads the arena's costs and offers through
`ToolContext.simulation` (`ArenaFacts`), so the price floor and the supplier-offer rule are the shop's own.

`policy="none"` is an ablation for the leaderboard: the same calls without the policy, to show what it is worth.
"""

import datetime
from dataclasses import dataclass, field, replace

from apps.agents.models import Agent, Persona
from apps.agents.policy import PolicyRefusal, policy_check
from apps.agents.tools.handlers import NOTES_FOUND_MAX, SCRATCHPAD_MAX_CHARS
from apps.agents.tools.registry import TOOLS, Tool, ToolContext, ToolResult
from apps.core.errors import ApplicationError, NotFound
from apps.experiments.adapter import sim_agent

from .api import ArenaApi
from .world import START_DATE

POLICIES = ("shop", "none")
LIVE_TOOL_NAMES = (
    "check_stock",
    "sales_summary",
    "set_price",
    "propose_purchase_order",
    "write_note",
    "memory_set",
    "memory_get",
    "scratchpad_write",
    "scratchpad_read",
    "search_notes",
)
_SKU = {"type": "string", "minLength": 1, "maxLength": 32}
_WHOLE = {"type": "integer", "minimum": 0}
_QUANTITY = {"type": "integer", "minimum": 1, "maximum": 1000}
_SLOT_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"slot": {"type": "string", "maxLength": 4}, "quantity": _QUANTITY},
    "required": ["slot", "quantity"],
}


@dataclass
class RunMemory:
    """One agent's memory for one run: what the production memory tools keep in `agents.AgentMemory`/`AgentNote`."""

    values: dict[str, str] = field(default_factory=dict)
    scratchpad: str = ""
    notes: list[dict] = field(default_factory=list)


@dataclass
class ArenaFacts:
    """What the policy asks a simulated shop (`ToolContext.simulation`)."""

    api: ArenaApi

    def unit_cost_yen(self, sku) -> int | None:
        product = self.api.world.sku_index(sku)
        return None if product is None else self.api.shop.fair_cost(product)

    def supplier_offer(self, offer_id) -> dict | None:
        offer = self.api.mail.offers.get(offer_id) if isinstance(offer_id, str) else None
        if offer is None:
            return None
        return offer.terms() | {"fair_cost_yen": self.api.shop.fair_cost(offer.product)}


# Handlers: (api, memory, arguments) -> data; they raise ApplicationError when the shop refuses.


def _check_stock(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    product = api.product(arguments["sku"])
    shop = api.shop
    slots = [api.world.slots[slot][0] for slot, held in enumerate(shop.slot_product) if held == product]
    return {
        "sku": arguments["sku"],
        "slots": slots,
        "in_machine": shop.shelf_units()[product],
        "back_room": shop.back[product],
        "in_transit": shop.in_transit[product],
        "recalled": shop.recalled(product),
    } | _dated_lots(api, product)


def _dated_lots(api: ArenaApi, product: int) -> dict:
    """A fresh product's lots, earliest first, each with the date on its label (the last day it may be sold)."""
    if not api.shop.shelf_life[product]:
        return {}
    return {
        "date_kind": api.world.products[product].date_kind,
        "lots": [
            {"place": place, "expires_on": (START_DATE + datetime.timedelta(days=last)).isoformat(), "units": units}
            for place, last, units in api.shop.lots(product)
        ],
    }


def _sales_summary(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    shop = api.shop
    units, revenue = shop.window_sums("sold", arguments["days"]), shop.window_sums("revenue", arguments["days"])
    requests = shop.window_sums("requests", arguments["days"])
    spoiled, waste = shop.window_sums("spoiled", arguments["days"]), shop.window_sums("waste", arguments["days"])
    return {
        "days": arguments["days"],
        "products": [
            {"sku": p.sku, "units": units[n], "revenue_yen": revenue[n], "requests": requests[n]}
            | ({"spoiled_units": spoiled[n], "waste_yen": waste[n]} if spoiled[n] else {})
            for n, p in enumerate(api.world.products)
            if units[n] or requests[n] or spoiled[n]
        ],
    }


def _set_price(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    return api.set_price(sku=arguments["sku"], price_yen=arguments["price_yen"])


def _propose_purchase_order(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    product = api.product(arguments["sku"])
    trusted = api.trusted()
    options = sorted(
        (price, supplier)
        for supplier, price in api.list_prices(product).items()
        if trusted[supplier] and api.shop.supplier_open(supplier)
    )
    if not options:
        raise NotFound("今日この商品を発注できる信頼できる仕入先がありません。明日か、仕入先へのメールで。")
    supplier = options[0][1]
    pack = api.world.suppliers[supplier].pack_units[product]
    quantity = -(-arguments["quantity"] // pack) * pack
    return {"status": "ordered"} | api.order(supplier=supplier, lines=[[arguments["sku"], quantity]])


def _write_note(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    memory.notes.append(
        {"note_id": len(memory.notes) + 1, "day": api.shop.day, "kind": "note", "text": arguments["text"]}
    )
    return {"note_id": len(memory.notes)}


def _memory_set(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    if arguments["value"]:
        memory.values[arguments["key"]] = arguments["value"]
    else:
        memory.values.pop(arguments["key"], None)
    return {"key": arguments["key"], "stored": bool(arguments["value"])}


def _memory_get(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    if "key" not in arguments:
        return {"keys": sorted(memory.values)}
    return {"key": arguments["key"], "value": memory.values.get(arguments["key"])}


def _scratchpad_write(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    current = memory.scratchpad if arguments.get("append", True) else ""
    memory.scratchpad = (f"{current}\n{arguments['text']}" if current else arguments["text"])[-SCRATCHPAD_MAX_CHARS:]
    return {"chars": len(memory.scratchpad)}


def _scratchpad_read(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    return {"text": memory.scratchpad}


def _search_notes(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    query = arguments["query"].casefold()
    found = [note for note in reversed(memory.notes) if query in note["text"].casefold()]
    return {"notes": found[:NOTES_FOUND_MAX]}


def _supplier_quotes(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    quotes = api.supplier_quotes()
    if "sku" in arguments:
        prices = api.list_prices(api.product(arguments["sku"]))
        for quote in quotes:
            quote["unit_price_yen"] = prices.get(quote["supplier"])
    return {"suppliers": quotes}


def _order_from_supplier(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    lines = [[item["sku"], item["quantity"]] for item in arguments["items"]]
    return api.order(supplier=arguments["supplier"], lines=lines)


def _restock_slots(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    """Each slot in turn; a slot the shop refuses is reported and the others still go ahead."""
    moved, refused = [], []
    for item in arguments["slots"]:
        try:
            moved.append(api.restock_slot(slot=item["slot"], quantity=item["quantity"]))
        except ApplicationError as exc:
            refused.append({"slot": item["slot"], "error": exc.message})
    return {"moved": moved, "refused": refused}


def _assign_slot(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    return api.assign_slot(slot=arguments["slot"], sku=arguments["sku"])


def _collect_cash(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    return api.collect_cash()


def _email_supplier(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    return api.email_supplier(
        supplier=arguments["supplier"],
        sku=arguments["sku"],
        quantity=arguments["quantity"],
        text=arguments["text"],
        target_unit_price_yen=arguments.get("target_unit_price_yen"),
    )


def _read_inbox(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    return {"messages": api.mail.inbox[-arguments.get("last", 10) :], "open_offers": api.mail.open_offers()}


def _accept_supplier_offer(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    return api.accept_offer(offer_id=arguments["offer_id"], quantity=arguments["quantity"])


def _refill_all_slots(api: ArenaApi, memory: RunMemory, arguments: dict) -> dict:
    """Every slot topped up from the back room, in slot order (recalled products stay off the shelf)."""
    shop = api.shop
    moved = []
    for slot, product in enumerate(shop.slot_product):
        units = min(shop.slot_capacity[slot] - shop.slot_units[slot], shop.back[product]) if product >= 0 else 0
        if units > 0 and not shop.recalled(product):
            moved.append(api.restock_slot(slot=api.world.slots[slot][0], quantity=units))
    return {"moved": moved}


_LIVE_HANDLERS = {
    "check_stock": _check_stock,
    "sales_summary": _sales_summary,
    "set_price": _set_price,
    "propose_purchase_order": _propose_purchase_order,
    "write_note": _write_note,
    "memory_set": _memory_set,
    "memory_get": _memory_get,
    "scratchpad_write": _scratchpad_write,
    "scratchpad_read": _scratchpad_read,
    "search_notes": _search_notes,
}


def _arena_tool(name: str, description: str, properties: dict, required: list[str], handler) -> Tool:
    return Tool(
        name=name,
        description=description,
        schema={"type": "object", "additionalProperties": False, "properties": properties, "required": required},
        handler=handler,
        allowed_kinds=frozenset({Agent.Kind.PROCUREMENT}),
    )


def _ordering_tools() -> list[Tool]:
    item = {"type": "object", "additionalProperties": False, "properties": {"sku": _SKU, "quantity": _QUANTITY}}
    item["required"] = ["sku", "quantity"]
    return [
        _arena_tool(
            "supplier_quotes",
            "The suppliers: open today or not, lead time, minimum order in yen, e-mail only or not, and how each "
            "delivered so far (units due vs received, extra fees, closed); with a SKU, each one's list price for it.",
            {"sku": _SKU},
            [],
            _supplier_quotes,
        ),
        _arena_tool(
            "order_from_supplier",
            "Order from a supplier's price list, several products at once, in whole packs; paid now from the bank.",
            {"supplier": _WHOLE, "items": {"type": "array", "minItems": 1, "maxItems": 40, "items": item}},
            ["supplier", "items"],
            _order_from_supplier,
        ),
        _arena_tool(
            "restock_slots",
            "Move units from the back room into slots (slot codes such as A1), several slots at once.",
            {"slots": {"type": "array", "minItems": 1, "maxItems": 40, "items": _SLOT_ITEM}},
            ["slots"],
            _restock_slots,
        ),
    ]


def _machine_and_mail_tools() -> list[Tool]:
    return [
        _arena_tool(
            "refill_all_slots",
            "Top every slot up from the back room (a staff visit); recalled products stay off the shelf.",
            {},
            [],
            _refill_all_slots,
        ),
        _arena_tool(
            "assign_slot",
            "Put another product in an empty slot.",
            {"slot": {"type": "string", "maxLength": 4}, "sku": _SKU},
            ["slot", "sku"],
            _assign_slot,
        ),
        _arena_tool(
            "collect_cash", "Empty the machine's coin box into the bank (a ¥300 staff visit).", {}, [], _collect_cash
        ),
        _arena_tool(
            "email_supplier",
            "Write to a supplier about a product and quantity (optionally a target unit price); the answer, with "
            "an offer, arrives tomorrow morning.",
            {
                "supplier": _WHOLE,
                "sku": _SKU,
                "quantity": _QUANTITY,
                "text": {"type": "string", "minLength": 1, "maxLength": 1000},
                "target_unit_price_yen": {"type": "integer", "minimum": 1},
            },
            ["supplier", "sku", "quantity", "text"],
            _email_supplier,
        ),
        _arena_tool(
            "read_inbox",
            "The latest supplier e-mails and the offers still open.",
            {"last": {"type": "integer", "minimum": 1, "maximum": 50}},
            [],
            _read_inbox,
        ),
        _arena_tool(
            "accept_supplier_offer",
            "Order on a supplier's offer (whole packs), paid now.",
            {"offer_id": {"type": "string", "maxLength": 16}, "quantity": _QUANTITY},
            ["offer_id", "quantity"],
            _accept_supplier_offer,
        ),
    ]


def arena_tools() -> dict[str, Tool]:
    tools = {name: replace(TOOLS[name], handler=_LIVE_HANDLERS[name]) for name in LIVE_TOOL_NAMES}
    tools.update((tool.name, tool) for tool in [*_ordering_tools(), *_machine_and_mail_tools()])
    return tools


def arena_agent(
    *, persona: Persona | None = None, provider: str = Agent.Provider.OFFLINE, model_name: str = ""
) -> Agent:
    """The simulator's unsaved procurement agent with every arena tool enabled: what the policy checks calls
    against."""
    agent = sim_agent(persona=persona, provider=provider, model_name=model_name)
    agent.name, agent.enabled_tools = "arena procurement", list(arena_tools())
    return agent


@dataclass
class ArenaToolbox:
    """Runs one agent's tool calls on one arena run, the policy first (unless the ablation turns it off), and writes
    each call, its arguments and the policy's decision into `calls` for the trace."""

    agent: Agent
    api: ArenaApi
    policy: str = "shop"
    tools: dict[str, Tool] = field(default_factory=arena_tools)
    memory: RunMemory = field(default_factory=RunMemory)
    refusals: dict[str, int] = field(default_factory=dict)
    calls: list[dict] = field(default_factory=list)
    call_count: int = 0

    def __post_init__(self):
        self.context = ToolContext(agent=self.agent, simulation=ArenaFacts(self.api))

    def specs(self) -> list[dict]:
        return [tool.spec() for tool in self.tools.values() if tool.name in self.agent.enabled_tools]

    def call(self, name: str, arguments) -> ToolResult:
        self.call_count += 1
        tool = self.tools.get(name)
        try:
            if self.policy == "shop":
                policy_check(context=self.context, tool=tool, name=name, arguments=arguments)
            elif tool is None or not isinstance(arguments, dict):
                raise PolicyRefusal("unknown_tool", f"no tool {name}")
        except PolicyRefusal as refusal:
            self.refusals[refusal.rule] = self.refusals.get(refusal.rule, 0) + 1
            result = ToolResult(ok=False, error=refusal.reason, rule=refusal.rule)
        else:
            try:
                result = ToolResult(ok=True, data=tool.handler(self.api, self.memory, arguments))
            except (ApplicationError, KeyError, TypeError) as exc:  # the ablation lets malformed arguments through
                result = ToolResult(ok=False, error=getattr(exc, "message", str(exc)))
        self.calls.append(
            {
                "tool": name,
                "arguments": arguments,
                "policy": result.rule or "allowed",
                "ok": result.ok,
                "error": result.error,
            }
        )
        return result
