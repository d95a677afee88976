"""A live agent in the simulated shop: the same tool names, argument schemas and guardrail policy as in the real one.

The agent is an `agents.Agent` (kind procurement, its persona, provider and enabled tools; never saved) and talks to a
model provider through the shop's own tool loop (`apps.agents.loop`; `ProviderAgent` says what a shop turn adds around
it that the simulator does not). Its tool calls reach the `ShopApi` through `SimToolbox.call`,
which first runs the live `apps.agents.policy.policy_check` (tool known, allowed for the kind, enabled, argument
schema, no people / payees / secrets in the arguments). The live price rule looks the product's cost up in the
database; a simulated product is not there (its SKU is `SIM-nn`), so the same pure check — `apps.agents.policy.
price_floor_check`, cost × 11/10 — is run here against the simulated cost: the lowest unit price any supplier quotes
today.

Tools the live shop also has keep their names and schemas: `check_stock`, `sales_summary`, `set_price` and
`propose_purchase_order` (in the simulator no person approves it: it is ordered at once from the cheapest open
supplier that has not cheated yet). The simulator adds `supplier_quotes`, `order_from_supplier` and `restock_slot`.
"""

import json
from dataclasses import dataclass, field, replace

from apps.agents.loop import ModelUsage, ToolLoop
from apps.agents.models import Agent, Persona
from apps.agents.policy import PolicyRefusal, policy_check, price_floor_check
from apps.agents.prompts import system_prompt
from apps.agents.providers.base import ChatMessage, Provider, ProviderRequest
from apps.agents.tools.registry import TOOLS, Tool, ToolContext, ToolResult
from apps.core.errors import ApplicationError, NotFound
from apps.experiments.sim.agents import trusted_suppliers
from apps.experiments.sim.episode import ShopApi
from apps.experiments.sim.world import World

SKU_PREFIX = "SIM-"
LIVE_TOOL_NAMES = ("check_stock", "sales_summary", "set_price", "propose_purchase_order")
_SKU = {"type": "string", "minLength": 1, "maxLength": 32}
_WHOLE = {"type": "integer", "minimum": 0}
SIM_INSTRUCTIONS = """これはシミュレーションの自販機です。毎朝その日の報告（JSON）が届きます。
ツールで補充・価格・発注を行い、純資産（現金＋在庫原価）を増やしてください。終わったらツールを呼ばずに一言で報告してください。"""


def sim_sku(product: int) -> str:
    return f"{SKU_PREFIX}{product:02d}"


def _product_or_none(world: World, sku) -> int | None:
    if isinstance(sku, str) and sku.startswith(SKU_PREFIX) and sku[len(SKU_PREFIX) :].isdigit():
        product = int(sku[len(SKU_PREFIX) :])
        if product < len(world.products):
            return product
    return None


def _product_of(world: World, sku) -> int:
    product = _product_or_none(world, sku)
    if product is None:
        raise NotFound(f"商品 {sku} は扱っていません。", details={"sku": sku})
    return product


def lowest_quote_yen(shop: ShopApi, product: int) -> int:
    return min(quote.unit_prices_yen[product] for quote in shop.supplier_quotes())


# Handlers: (shop, world, arguments) -> data. They run after the policy and raise ApplicationError when the shop
# refuses (a full slot, no cash); the toolbox turns either into the agent's ToolResult.


def _check_stock(shop: ShopApi, world: World, arguments: dict) -> dict:
    product = _product_of(world, arguments["sku"])
    stock = shop.check_stock()
    slots = [slot for slot, held in enumerate(stock.slot_products) if held == product]
    return {
        "sku": arguments["sku"],
        "slots": slots,
        "in_machine": sum(stock.slot_units[slot] for slot in slots),
        "back_room": stock.back_room_units[product],
        "in_transit": stock.in_transit_units[product],
    }


def _sales_summary(shop: ShopApi, world: World, arguments: dict) -> dict:
    summary = shop.sales_summary(days=arguments["days"])
    return {
        "days": summary.days,
        "products": [
            {
                "sku": sim_sku(p),
                "units": summary.units[p],
                "revenue_yen": summary.revenue_yen[p],
                "requests": summary.requests[p],
            }
            for p in range(len(world.products))
        ],
    }


def _set_price(shop: ShopApi, world: World, arguments: dict) -> dict:
    product = _product_of(world, arguments["sku"])
    old = shop.observe().prices_yen[product]
    shop.set_price(product=product, price_yen=arguments["price_yen"])
    return {"sku": arguments["sku"], "old_price_yen": old, "new_price_yen": arguments["price_yen"]}


def _order(shop: ShopApi, supplier: int, product: int, quantity: int) -> dict:
    confirmation = shop.order(supplier=supplier, product=product, quantity=quantity)
    return {
        "supplier": confirmation.supplier,
        "sku": sim_sku(confirmation.product),
        "quantity": confirmation.quantity,
        "total_yen": confirmation.total_yen,
        "arrival_day": confirmation.arrival_day,
    }


def _propose_purchase_order(shop: ShopApi, world: World, arguments: dict) -> dict:
    product = _product_of(world, arguments["sku"])
    quantity = arguments["quantity"]
    view = shop.observe()
    trusted = trusted_suppliers(view.suppliers)
    candidates = [
        (quote.unit_prices_yen[product], quote.supplier)
        for quote in view.suppliers
        if quote.available and trusted[quote.supplier] and quote.min_order_units <= quantity
    ]
    if not candidates:
        raise NotFound("今日この数量で発注できる信頼できる仕入先がありません。数量を増やすか明日にしてください。")
    return _order(shop, min(candidates)[1], product, quantity)


def _order_from_supplier(shop: ShopApi, world: World, arguments: dict) -> dict:
    return _order(shop, arguments["supplier"], _product_of(world, arguments["sku"]), arguments["quantity"])


def _supplier_quotes(shop: ShopApi, world: World, arguments: dict) -> dict:
    return {
        "suppliers": [
            {
                "supplier": q.supplier,
                "name": q.name,
                "available": q.available,
                "lead_days": q.lead_days,
                "min_order_units": q.min_order_units,
                "unit_prices_yen": q.unit_prices_yen,
                "units_due": q.units_due,
                "units_received": q.units_received,
                "extra_fees_yen": q.extra_fees_yen,
            }
            for q in shop.supplier_quotes()
        ]
    }


def _restock_slot(shop: ShopApi, world: World, arguments: dict) -> dict:
    shop.restock_slot(slot=arguments["slot"], quantity=arguments["quantity"])
    return {"slot": arguments["slot"], "moved": arguments["quantity"]}


_LIVE_HANDLERS = {
    "check_stock": _check_stock,
    "sales_summary": _sales_summary,
    "set_price": _set_price,
    "propose_purchase_order": _propose_purchase_order,
}


def _sim_tool(name: str, description: str, schema: dict, handler) -> Tool:
    return Tool(
        name=name,
        description=description,
        schema={"type": "object", "additionalProperties": False, **schema},
        handler=handler,
        allowed_kinds=frozenset({Agent.Kind.PROCUREMENT}),
    )


def sim_tools() -> dict[str, Tool]:
    """The live tools with the simulator's handlers, plus the simulator's own."""
    tools = {name: replace(TOOLS[name], handler=_LIVE_HANDLERS[name]) for name in LIVE_TOOL_NAMES}
    tools["supplier_quotes"] = _sim_tool(
        "supplier_quotes",
        "Today's suppliers: open or not, lead time, minimum order, unit price per product, and "
        "how each delivered so far (units due vs received, extra fees).",
        {"properties": {}},
        _supplier_quotes,
    )
    tools["order_from_supplier"] = _sim_tool(
        "order_from_supplier",
        "Order from one supplier, paid now; it arrives after its lead time (if it is honest).",
        {
            "properties": {
                "supplier": _WHOLE,
                "sku": _SKU,
                "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
            },
            "required": ["supplier", "sku", "quantity"],
        },
        _order_from_supplier,
    )
    tools["restock_slot"] = _sim_tool(
        "restock_slot",
        "Move units of the slot's product from the back room into the slot.",
        {
            "properties": {"slot": _WHOLE, "quantity": {"type": "integer", "minimum": 1}},
            "required": ["slot", "quantity"],
        },
        _restock_slot,
    )
    return tools


def sim_agent(*, persona: Persona | None = None, provider: str = Agent.Provider.OFFLINE, model_name: str = "") -> Agent:
    """An unsaved procurement agent with every simulator tool enabled: what the policy checks calls against."""
    return Agent(
        name="simulated procurement",
        kind=Agent.Kind.PROCUREMENT,
        persona=persona,
        provider=provider,
        model_name=model_name,
        enabled_tools=list(sim_tools()),
    )


def _price_floor(shop: ShopApi, world: World, arguments: dict) -> None:
    """The live below-cost rule (`apps.agents.policy.price_floor_check`), against the simulated cost."""
    product = _product_or_none(world, arguments["sku"])
    if product is None:
        return  # as live: the handler answers "no such product"; nothing to guard
    price_floor_check(price_yen=arguments["price_yen"], cost_yen=lowest_quote_yen(shop, product))


_SIM_RULES = {"set_price": _price_floor}


@dataclass
class SimToolbox:
    """Runs one agent's tool calls on one simulated shop, policy first; counts what was refused and why."""

    agent: Agent
    world: World
    tools: dict[str, Tool] = field(default_factory=sim_tools)
    refusals: dict[str, int] = field(default_factory=dict)
    calls: int = 0

    def specs(self) -> list[dict]:
        return [tool.spec() for tool in self.tools.values() if tool.name in self.agent.enabled_tools]

    def call(self, shop: ShopApi, name: str, arguments) -> ToolResult:
        self.calls += 1
        tool = self.tools.get(name)
        try:
            policy_check(context=ToolContext(agent=self.agent), tool=tool, name=name, arguments=arguments)
            rule = _SIM_RULES.get(name)
            if rule:
                rule(shop, self.world, arguments)
        except PolicyRefusal as refusal:
            self.refusals[refusal.rule] = self.refusals.get(refusal.rule, 0) + 1
            return ToolResult(ok=False, error=refusal.reason, rule=refusal.rule)
        try:
            return ToolResult(ok=True, data=tool.handler(shop, self.world, arguments))
        except ApplicationError as exc:
            return ToolResult(ok=False, error=exc.message)


def morning_report(shop: ShopApi) -> dict:
    """What the agent is told each morning, in the tools' terms (SKUs, not indices)."""
    view = shop.observe()
    stock = view.stock
    week = shop.sales_summary(days=7)
    trusted = trusted_suppliers(view.suppliers)
    in_machine = [0] * len(view.prices_yen)
    for slot, product in enumerate(stock.slot_products):
        if product >= 0:
            in_machine[product] += stock.slot_units[slot]
    return {
        "day": view.day,
        "weekday": view.weekday,
        "weather": view.weather,
        "temperature_c": view.temperature_c,
        "machine_offline": view.machine_offline,
        "cash_yen": view.cash_yen,
        "slots": [
            {"slot": slot, "sku": sim_sku(product) if product >= 0 else None, "units": stock.slot_units[slot]}
            for slot, product in enumerate(stock.slot_products)
        ],
        "slot_capacity_units": stock.slot_capacity_units,
        "back_room_free_units": stock.back_room_free_units,
        "products": [
            {
                "sku": sim_sku(p),
                "price_yen": view.prices_yen[p],
                "in_machine": in_machine[p],
                "back_room": stock.back_room_units[p],
                "in_transit": stock.in_transit_units[p],
                "sold_yesterday": view.yesterday.units[p],
                "sold_last_7_days": week.units[p],
                "requests_yesterday": view.yesterday.requests[p],
                # The price floor is checked against the lowest quote; purchase orders go to trusted suppliers only.
                "lowest_quote_yen": min(q.unit_prices_yen[p] for q in view.suppliers),
                "trusted_quote_yen": min(
                    (q.unit_prices_yen[p] for q in view.suppliers if trusted[q.supplier]),
                    default=min(q.unit_prices_yen[p] for q in view.suppliers),
                ),
            }
            for p in range(len(view.prices_yen))
        ],
    }


class ProviderAgent:
    """A model provider driving the shop through `SimToolbox`: a morning report, then the agents' tool loop
    (`apps.agents.loop.ToolLoop`, as in a shop turn: up to MAX_TOOL_ROUNDS rounds of tools a day), and `step_budget`
    model calls for the whole run; once the budget is spent the agent does nothing more and the shop trades on as it
    stands.

    What a shop turn does around the loop and this does not, on purpose: no first-words deadline (no customer is
    waiting for the words; the step budget bounds the run), no reply filter (the text reaches no one: the agent acts
    only through its tools), and no usage ledger (the tokens go to the run's summary, `usage()`; the live budget is
    checked before a model run starts, in `runner`)."""

    name = "llm"

    def __init__(self, *, world: World, provider: Provider, agent: Agent, step_budget: int):
        self.world = world
        self.provider = provider
        self.agent = agent
        self.toolbox = SimToolbox(agent=agent, world=world)
        self.system = f"{system_prompt(agent)}\n\n{SIM_INSTRUCTIONS}"
        self.steps_left = step_budget
        self.model_usage = ModelUsage()

    def act(self, shop: ShopApi) -> None:
        if self.steps_left <= 0:
            return
        loop = ToolLoop(
            run_tool=lambda call: self.toolbox.call(shop, call.name, call.arguments).as_dict(),
            name=self.agent.name,
            usage=self.model_usage,
        )
        request = ProviderRequest(
            system=self.system,
            messages=[ChatMessage(role="user", text=json.dumps(morning_report(shop), ensure_ascii=False))],
            tools=self.toolbox.specs(),
            persona=self.agent.persona,
        )
        self.steps_left -= loop.run(self.provider, request, max_calls=self.steps_left)

    def usage(self) -> dict:
        return {
            "tool_calls": self.toolbox.calls,
            "refusals": dict(self.toolbox.refusals),
            "input_tokens": self.model_usage.input_tokens,
            "output_tokens": self.model_usage.output_tokens,
        }
