"""An agent on a model provider in the arena: each morning a report (JSON), then the agents' own tool loop
(`apps.agents.loop.ToolLoop`) over `ArenaToolbox` — the shop's tools and policy — within a step budget and, for a
model that costs money, a yen budget that stops it (`BudgetCap`).

`ArenaOfflineProvider` answers the report the way a model would, with tool calls: it remembers (memory tools) which
suppliers' offers the policy refused, restocks, prices at a markup on the trusted cost, orders to par, writes to its
main supplier every Monday for a better price, and takes any open offer cheaper than its trusted cost — naively: the
policy, not the provider, is what keeps a bait or a pressure offer out (`policy="none"` shows what that is worth).
"""

import json
from dataclasses import dataclass
from decimal import Decimal

from apps.agents.loop import ModelUsage, ToolLoop
from apps.agents.models import Agent
from apps.agents.prompts import system_prompt
from apps.agents.providers.base import ChatMessage, Provider, ProviderReply, ProviderRequest, ToolCall
from apps.agents.routing import cost_yen
from apps.experiments.sim.agents import COVER_DAYS
from apps.experiments.sim.episode import WEEKDAY_NAMES
from apps.experiments.sim.world import MAX_PRICE_YEN, PRICE_STEP_YEN, WEATHER_NAMES

from .agents import COLLECT_AT_PERMILLE, FreshFigures, fresh_figures, fresh_need, trusted_cost
from .api import ArenaApi
from .tools import ArenaToolbox, arena_agent

ARENA_INSTRUCTIONS = """これはシミュレーションの自販機（本社1F）です。毎朝その日の報告（JSON）が届きます。
ツールで補充・価格・発注・集金・仕入先とのメールを行い、純資産（現金＋硬貨＋在庫原価）を増やしてください。
記憶ツール（memory_set / scratchpad_write / write_note）は翌日以降も残ります。終わったらツールを呼ばずに一言で報告してください。"""
BLOCKED_KEY = "blocked_suppliers"
DEFAULT_MARKUP_PERMILLE = 2000


def _product_rows(api: ArenaApi, trusted: list[bool]) -> list[dict]:
    """The report's line per stocked product: stock, price, last week's sales, the trusted cost and supplier, and
    for fresh food its recent waste."""
    shop, world = api.shop, api.world
    weekly, shelf = shop.window_sums("sold", 7), shop.shelf_units()
    open_now = [shop.supplier_open(s) for s in range(len(world.suppliers))]
    fresh = fresh_figures(api)
    products = []
    for product in sorted(set(shop.slot_product) - {-1}):
        prices = api.list_prices(product)
        options = [(price, s) for s, price in prices.items() if trusted[s] and open_now[s]]
        best = min(options) if options else None
        row = {
            "sku": world.products[product].sku,
            "price_yen": shop.price[product],
            "in_machine": shelf[product],
            "back_room": shop.back[product],
            "in_transit": shop.in_transit[product],
            "sold_last_7_days": weekly[product],
            "recalled": shop.recalled(product),
            "trusted_cost_yen": trusted_cost(api, product, trusted=trusted, prices=prices),
            "best_supplier": best and best[1],
            "pack": best and world.suppliers[best[1]].pack_units[product],
        }
        if product in fresh:
            # Over the last `days` days: units sold, thrown away past their date, asked for and not found; and the
            # units whose date is today (thrown away tomorrow morning unless sold).
            row["fresh"] = fresh[product]._asdict()
            row["expiring_today"] = sum(units for _place, last, units in shop.lots(product) if last == shop.day)
        products.append(row)
    return products


def morning_report(api: ArenaApi, *, events: list, mail: list) -> dict:
    """What the agent is told each morning, in the tools' terms (SKUs, slot codes, supplier numbers)."""
    shop, world, base = api.shop, api.world, api.shop.scenario.base
    day = shop.day
    trusted = api.trusted()
    products = _product_rows(api, trusted)
    return {
        "day": day,
        "weekday": WEEKDAY_NAMES[(world.sim.start_weekday + day) % 7],
        "weather": WEATHER_NAMES[base.weather[day]],
        "cash_yen": shop.cash,
        "coin_box_yen": shop.coin_box,
        "coin_box_capacity_yen": world.coin_box_capacity_yen,
        "machine_broken": shop.scenario.broken[day],
        "thrown_away_this_morning": {
            world.products[p].sku: units for p, units in enumerate(shop.spoiled_today) if units
        },
        "events": events,
        "new_mail": mail,
        "open_offers": api.mail.open_offers(),
        "suppliers": [
            {
                "supplier": q["supplier"],
                "name": q["name"],
                "trusted": trusted[q["supplier"]],
                "open": q["open"],
                "minimum_order_yen": q["minimum_order_yen"],
                "email_only": q["email_only"],
            }
            for q in api.supplier_quotes()
        ],
        "slots": [
            {"slot": code, "sku": world.products[p].sku if p >= 0 else None, "units": u, "capacity": c}
            for (code, *_r), p, u, c in zip(
                world.slots, shop.slot_product, shop.slot_units, shop.slot_capacity, strict=True
            )
        ],
        "products": products,
    }


class ArenaOfflineProvider:
    name = "offline"
    model_name = "arena-procurement-rules"
    accepts_images = False

    def __init__(self, *, markup_permille: int = DEFAULT_MARKUP_PERMILLE, cover_days: int = COVER_DAYS):
        self.markup_permille = markup_permille
        self.cover_days = cover_days
        self._last_text, self._last_report = None, {}

    def complete(self, request: ProviderRequest) -> ProviderReply:
        report = self._report(request.messages[0].text)
        rounds = sum(1 for message in request.messages if message.role == "assistant")
        results = [m for m in request.messages if m.role == "tool"]
        if rounds == 0:
            calls = (
                [("memory_get", {"key": BLOCKED_KEY})] if report["open_offers"] else self._day(report, blocked=set())
            )
        elif rounds == 1 and report["open_offers"]:
            value = results[0].result.get("data", {}).get("value") or ""
            calls = self._day(report, blocked={int(s) for s in value.split(",") if s})
        else:
            calls = self._remember_refusals(request.messages) if rounds < 3 else []
        if not calls:
            return ProviderReply(text=f"本日の作業を終えました（ツール {len(results)} 件）。")
        return ProviderReply(
            tool_calls=tuple(
                ToolCall(id=f"d{report['day']}r{rounds}n{n}", name=name, arguments=args)
                for n, (name, args) in enumerate(calls)
            )
        )

    def _report(self, text: str) -> dict:
        """The morning report, parsed once a day (every call of the day sends it again)."""
        if text is not self._last_text:
            self._last_text, self._last_report = text, json.loads(text)
        return self._last_report

    def _day(self, report: dict, *, blocked: set[int]) -> list[tuple[str, dict]]:
        calls = []
        if report["coin_box_yen"] * 1000 >= report["coin_box_capacity_yen"] * COLLECT_AT_PERMILLE:
            calls.append(("collect_cash", {}))
        calls += self._restock(report) + self._prices(report) + self._orders(report, blocked)
        if report["weekday"] == "月" and report["products"]:
            top = max(report["products"], key=lambda row: row["sold_last_7_days"])
            if top["best_supplier"] is not None:
                target = top["trusted_cost_yen"] * 9 // 10
                text = "いつもお世話になっております。来週分の見積りをお願いします。"
                calls.append(
                    (
                        "email_supplier",
                        {
                            "supplier": top["best_supplier"],
                            "sku": top["sku"],
                            "quantity": 4 * top["pack"],
                            "text": text,
                            "target_unit_price_yen": target,
                        },
                    )
                )
        for event in report["events"]:
            calls.append(
                (
                    "write_note",
                    {"text": f"{report['day']}日目: {event['kind']} {json.dumps(event, ensure_ascii=False)}"},
                )
            )
        return calls

    @staticmethod
    def _restock(report: dict) -> list[tuple[str, dict]]:
        back = {row["sku"]: row["back_room"] for row in report["products"] if not row["recalled"]}
        short = any(slot["units"] < slot["capacity"] and back.get(slot["sku"], 0) for slot in report["slots"])
        return [("refill_all_slots", {})] if short else []

    def _price(self, row: dict) -> int:
        steps = -(-row["trusted_cost_yen"] * self.markup_permille // (1000 * PRICE_STEP_YEN))
        return min(max(steps, 1) * PRICE_STEP_YEN, MAX_PRICE_YEN)

    def _prices(self, report: dict) -> list[tuple[str, dict]]:
        calls = []
        for row in report["products"]:
            price = self._price(row)
            if price != row["price_yen"]:
                calls.append(("set_price", {"sku": row["sku"], "price_yen": price, "reason": "原価に一定の利幅"}))
        return calls

    def _orders(self, report: dict, blocked: set[int]) -> list[tuple[str, dict]]:
        """Each stocked product back to par: on the cheapest open offer from a trusted supplier when one beats the
        trusted list price, else on that supplier's list, a supplier's lines together once they reach its minimum."""
        capacity: dict[str, int] = {}
        for slot in report["slots"]:
            if slot["sku"]:
                capacity[slot["sku"]] = capacity.get(slot["sku"], 0) + slot["capacity"]
        suppliers = {s["supplier"]: s for s in report["suppliers"]}
        offers = self._best_offers(report, trusted={n for n, s in suppliers.items() if s["trusted"]} - blocked)
        lines: dict[int, list[dict]] = {}
        totals: dict[int, int] = {}
        calls = []
        for row in report["products"]:
            need = self._need(row, capacity[row["sku"]])
            if need <= 0 or row["recalled"]:
                continue
            offer = offers.get(row["sku"])
            if (
                offer
                and -(-need // offer["pack_units"]) * offer["pack_units"] * offer["unit_price_yen"]
                >= suppliers[offer["supplier"]]["minimum_order_yen"]
            ):
                quantity = -(-need // offer["pack_units"]) * offer["pack_units"]
                calls.append(("accept_supplier_offer", {"offer_id": offer["offer_id"], "quantity": quantity}))
            elif row["best_supplier"] is not None:
                quantity = -(-need // row["pack"]) * row["pack"]
                lines.setdefault(row["best_supplier"], []).append({"sku": row["sku"], "quantity": quantity})
                totals[row["best_supplier"]] = totals.get(row["best_supplier"], 0) + quantity * row["trusted_cost_yen"]
        cash = report["cash_yen"]
        for supplier, total in sorted(totals.items(), key=lambda item: item[1], reverse=True):
            if suppliers[supplier]["minimum_order_yen"] <= total <= cash:
                calls.append(("order_from_supplier", {"supplier": supplier, "items": lines[supplier]}))
                cash -= total
        return calls

    def _need(self, row: dict, capacity: int) -> int:
        """Units to order: back to par, fresh food as the heuristic orders it (`agents.fresh_need`)."""
        on_hand = row["in_machine"] + row["back_room"] + row["in_transit"]
        if "fresh" not in row:
            return capacity + (self.cover_days * row["sold_last_7_days"] + 6) // 7 - on_hand
        if row["best_supplier"] is None:
            return 0
        return fresh_need(
            FreshFigures(**row["fresh"]),
            capacity=capacity,
            weekly=row["sold_last_7_days"],
            on_hand=on_hand,
            pack=row["pack"],
            unit_cost_yen=row["trusted_cost_yen"],
            price_yen=self._price(row),
        )

    @staticmethod
    def _best_offers(report: dict, *, trusted: set[int]) -> dict[str, dict]:
        """Per SKU, the cheapest open offer from a trusted supplier that beats the trusted list price."""
        cost = {row["sku"]: row["trusted_cost_yen"] for row in report["products"]}
        best: dict[str, dict] = {}
        for offer in report["open_offers"]:
            sku = offer["sku"]
            if sku in cost and offer["supplier"] in trusted and offer["unit_price_yen"] < cost[sku]:
                if sku not in best or offer["unit_price_yen"] < best[sku]["unit_price_yen"]:
                    best[sku] = offer
        return best

    @staticmethod
    def _remember_refusals(messages: list[ChatMessage]) -> list[tuple[str, dict]]:
        """After the day's calls: remember the suppliers whose offers the policy refused, so they are not tried again."""
        asked = {call.id: call for m in messages if m.role == "assistant" for call in m.tool_calls}
        refused = {
            asked[m.tool_call_id].arguments["offer_id"]
            for m in messages
            if m.role == "tool" and m.tool_name == "accept_supplier_offer" and m.result.get("refused_by_policy")
        }
        if not refused:
            return []
        known = json.loads(messages[0].text)["open_offers"]  # a day with refusals: rare
        suppliers = sorted({offer["supplier"] for offer in known if offer["offer_id"] in refused})
        memory = [
            m.result.get("data", {}).get("value") for m in messages if m.role == "tool" and m.tool_name == "memory_get"
        ]
        previous = {int(s) for s in (memory[0] or "").split(",") if s} if memory else set()
        value = ",".join(str(s) for s in sorted(previous | set(suppliers)))
        return [("memory_set", {"key": BLOCKED_KEY, "value": value})]


@dataclass
class BudgetCap:
    """A yen ceiling on the model calls of a run (or of all the runs sharing it); once spent the agent stops."""

    yen: Decimal
    spent: Decimal = Decimal(0)

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.yen


class ArenaProviderAgent:
    """A provider driving the arena through `ArenaToolbox`: one morning report, the tool loop (up to
    MAX_TOOL_ROUNDS rounds a day), `step_budget` model calls for the run and, when given, a `BudgetCap` in yen;
    once either is spent the agent does nothing more and the shop trades on as it stands."""

    def __init__(
        self,
        *,
        provider: Provider,
        agent: Agent,
        policy: str = "shop",
        step_budget: int = 10**9,
        budget: BudgetCap | None = None,
    ):
        self.name = "llm" if provider.name != ArenaOfflineProvider.name else "offline"
        self.provider, self.agent, self.policy = provider, agent, policy
        self.system = f"{system_prompt(agent)}\n\n{ARENA_INSTRUCTIONS}"
        self.steps_left, self.budget = step_budget, budget
        self.usage = ModelUsage()
        self.toolbox: ArenaToolbox | None = None
        self.transcript: list[dict] = []  # the day's model messages, for the trace

    def act(self, api: ArenaApi, *, events: list, mail: list) -> None:
        if self.toolbox is None:
            self.toolbox = ArenaToolbox(agent=self.agent, api=api, policy=self.policy)
        if self.steps_left <= 0 or (self.budget is not None and self.budget.exhausted):
            return
        before = (self.usage.input_tokens, self.usage.output_tokens)
        loop = ToolLoop(
            run_tool=lambda call: self.toolbox.call(call.name, call.arguments).as_dict(),
            name=self.agent.name,
            usage=self.usage,
            on_text=lambda text: self.transcript.append({"role": "assistant", "text": text}),
        )
        report = json.dumps(morning_report(api, events=events, mail=mail), ensure_ascii=False)
        request = ProviderRequest(
            system=self.system,
            messages=[ChatMessage(role="user", text=report)],
            tools=self.toolbox.specs(),
            persona=self.agent.persona,
        )
        self.steps_left -= loop.run(self.provider, request, max_calls=self.steps_left)
        if self.budget is not None:
            self.budget.spent += self.cost_of(self.usage.input_tokens - before[0], self.usage.output_tokens - before[1])

    def cost_of(self, input_tokens: int, output_tokens: int) -> Decimal:
        if not (input_tokens or output_tokens):
            return Decimal(0)
        return cost_yen(model_name=self.provider.model_name, input_tokens=input_tokens, output_tokens=output_tokens)

    def summary(self) -> dict:
        toolbox = self.toolbox
        return {
            "tool_calls": toolbox.call_count if toolbox else 0,
            "refusals": dict(toolbox.refusals) if toolbox else {},
            "input_tokens": self.usage.input_tokens,
            "output_tokens": self.usage.output_tokens,
            "model_cost_yen": float(self.cost_of(self.usage.input_tokens, self.usage.output_tokens)),
        }


def offline_agent(
    *, persona=None, policy: str = "shop", markup_permille: int = DEFAULT_MARKUP_PERMILLE
) -> ArenaProviderAgent:
    return ArenaProviderAgent(
        provider=ArenaOfflineProvider(markup_permille=markup_permille),
        agent=arena_agent(persona=persona),
        policy=policy,
    )
