"""A rule-based procurement provider for the simulator, so an "LLM" variant runs without a model vendor.

The live `OfflineProvider` answers customers; this one answers the simulator's morning report the way a model would:
with tool calls (restock, prices at a markup on the trusted suppliers' lowest quote, purchase orders up to a par), then a one-line text
once the results are back. It sees only the report and the tool results, and everything it asks for goes through
`SimToolbox` and the guardrail policy — a markup under 110% of cost is refused there, not here.
"""

import json

from apps.agents.providers.base import ProviderReply, ProviderRequest, ToolCall
from apps.experiments.sim.world import MAX_PRICE_YEN, PRICE_STEP_YEN

DEFAULT_MARKUP_PERMILLE = 2000
DEFAULT_COVER_DAYS = 6
SMALLEST_ORDER_UNITS = 24  # the honest wholesaler's minimum: smaller orders go to a dearer supplier


class OfflineProcurementProvider:
    name = "offline"
    model_name = "sim-procurement-rules"
    accepts_images = False

    def __init__(self, *, markup_permille: int = DEFAULT_MARKUP_PERMILLE, cover_days: int = DEFAULT_COVER_DAYS):
        self.markup_permille = markup_permille
        self.cover_days = cover_days

    def complete(self, request: ProviderRequest) -> ProviderReply:
        if request.messages[-1].role == "tool":
            refused = sum(1 for m in request.messages if m.role == "tool" and not m.result.get("ok"))
            return ProviderReply(text=f"本日の作業を終えました（断られた操作 {refused} 件）。")
        report = json.loads(request.messages[-1].text)
        calls = [*self._restock(report), *self._prices(report), *self._orders(report)]
        ids = (f"day{report['day']}-{n}" for n in range(len(calls)))
        return ProviderReply(
            tool_calls=tuple(ToolCall(id=next(ids), name=name, arguments=args) for name, args in calls)
        )

    def _price(self, unit_cost_yen: int) -> int:
        steps = -(-unit_cost_yen * self.markup_permille // (1000 * PRICE_STEP_YEN))
        return min(max(steps, 1) * PRICE_STEP_YEN, MAX_PRICE_YEN)

    @staticmethod
    def _restock(report: dict) -> list[tuple[str, dict]]:
        back = {row["sku"]: row["back_room"] for row in report["products"]}
        calls = []
        for slot in report["slots"]:
            sku = slot["sku"]
            moved = min(report["slot_capacity_units"] - slot["units"], back.get(sku, 0))
            if sku and moved > 0:
                calls.append(("restock_slot", {"slot": slot["slot"], "quantity": moved}))
                back[sku] -= moved
        return calls

    def _prices(self, report: dict) -> list[tuple[str, dict]]:
        return [
            ("set_price", {"sku": row["sku"], "price_yen": price, "reason": "原価に一定の利幅"})
            for row in report["products"]
            if (price := self._price(row["trusted_quote_yen"])) != row["price_yen"]
        ]

    def _orders(self, report: dict) -> list[tuple[str, dict]]:
        slots_per_sku: dict[str, int] = {}
        for slot in report["slots"]:
            if slot["sku"]:
                slots_per_sku[slot["sku"]] = slots_per_sku.get(slot["sku"], 0) + 1
        cash = report["cash_yen"]
        room = report["back_room_free_units"]
        calls = []
        for row in report["products"]:
            slots = slots_per_sku.get(row["sku"], 0)
            if not slots:
                continue
            par = slots * report["slot_capacity_units"] + (self.cover_days * row["sold_last_7_days"] + 6) // 7
            need = par - row["in_machine"] - row["back_room"] - row["in_transit"]
            quantity = min(max(need, SMALLEST_ORDER_UNITS), cash // row["trusted_quote_yen"], room)
            if need <= 0 or quantity < SMALLEST_ORDER_UNITS:
                continue
            calls.append(("propose_purchase_order", {"sku": row["sku"], "quantity": quantity, "reason": "在庫補充"}))
            cash -= quantity * row["trusted_quote_yen"]
            room -= quantity
        return calls
