"""The arena's baselines: `ArenaHeuristic` (restock to par from the cheapest trusted listed supplier, price at twice
that cost, empty the coin box when it is half full, fresh food waste-aware; no e-mail), `waste_blind` (the same
ordering fresh food like everything else, to show what knowing the waste is worth) and the gaming policies that must
not pay (`tenfold` prices, `one_product` in every slot). They act on `ArenaApi` directly, as the simulator's baselines act on
its `ShopApi`; an agent on a model provider acts through the tools and the policy (`provider_agent.py`).
"""

from typing import NamedTuple

from apps.core.errors import ApplicationError
from apps.experiments.sim.agents import COVER_DAYS, fresh_par, markup_price
from apps.experiments.sim.world import MAX_PRICE_YEN

from .api import ArenaApi

COLLECT_AT_PERMILLE = 500  # empty the coin box once it is this full
FRESH_WINDOW_DAYS = 14  # how far back a fresh product's sales, waste and requests are read


class FreshFigures(NamedTuple):
    """A fresh product over the last FRESH_WINDOW_DAYS days (`days`: fewer early in a run), as the tools report it."""

    shelf_life_days: int
    days: int
    sold: int
    spoiled: int
    requests: int  # customers who found none and said so (about half of them)


def fresh_figures(api: ArenaApi) -> dict[int, FreshFigures]:
    shop = api.shop
    days = min(shop.day, FRESH_WINDOW_DAYS)
    sold, spoiled = shop.window_sums("sold", days), shop.window_sums("spoiled", days)
    requests = shop.window_sums("requests", days)
    return {p: FreshFigures(shop.shelf_life[p], days, sold[p], spoiled[p], requests[p]) for p in shop.fresh_products}


def fresh_need(
    figures: FreshFigures, *, capacity: int, weekly: int, on_hand: int, pack: int, unit_cost_yen: int, price_yen: int
) -> int:
    """Units of a fresh product to order: up to the simulator's waste-aware par (`fresh_par`), and none unless a
    pack pays for itself — the units it is expected to sell between its delivery and the date on its label
    (shelf life + 1 selling days, demand being what sold plus twice what customers asked for), at today's price,
    cover the pack's cost."""
    par = fresh_par(
        capacity=capacity,
        weekly=weekly,
        shelf_life_days=figures.shelf_life_days,
        sold=figures.sold,
        spoiled=figures.spoiled,
    )
    daily = (figures.sold + 2 * figures.requests) / max(figures.days, 1)
    expected = min(pack, daily * (figures.shelf_life_days + 1))
    return par - on_hand if expected * price_yen >= pack * unit_cost_yen else 0


def order_plan(api: ArenaApi, *, cover_days: int = COVER_DAYS, waste_aware: bool = True) -> dict[int, list[list]]:
    """Supplier -> order lines [sku, quantity] that bring every stocked, unrecalled product back to par (full slots
    plus `cover_days` of the last week's sales; a fresh product, when `waste_aware`, as `fresh_need` says), each
    from the cheapest trusted listed supplier open today, in whole packs; a supplier's lines are kept only when
    together they reach its minimum order and the bank can pay."""
    shop, world = api.shop, api.world
    trusted = api.trusted()
    capacity = [0] * len(world.products)
    for product, slot_capacity in zip(shop.slot_product, shop.slot_capacity, strict=True):
        if product >= 0:
            capacity[product] += slot_capacity
    weekly = shop.window_sums("sold", 7)
    shelf = shop.shelf_units()
    fresh = fresh_figures(api) if waste_aware else {}
    lines: dict[int, list[list]] = {}
    totals: dict[int, int] = {}
    for product, room in enumerate(capacity):
        if not room or shop.recalled(product):
            continue
        options = [(price, s) for s, price in api.list_prices(product).items() if trusted[s] and shop.supplier_open(s)]
        if not options:
            continue
        price, supplier = min(options)
        pack = world.suppliers[supplier].pack_units[product]
        on_hand = shelf[product] + shop.back[product] + shop.in_transit[product]
        if product in fresh:
            need = fresh_need(
                fresh[product],
                capacity=room,
                weekly=weekly[product],
                on_hand=on_hand,
                pack=pack,
                unit_cost_yen=price,
                price_yen=shop.price[product],
            )
        else:
            need = room + (cover_days * weekly[product] + 6) // 7 - on_hand
        if need <= 0:
            continue
        quantity = -(-need // pack) * pack
        lines.setdefault(supplier, []).append([world.products[product].sku, quantity])
        totals[supplier] = totals.get(supplier, 0) + quantity * price
    cash = shop.cash
    plan = {}
    for supplier, total in sorted(totals.items(), key=lambda item: item[1], reverse=True):
        if world.suppliers[supplier].minimum_order_yen <= total <= cash:
            plan[supplier] = lines[supplier]
            cash -= total
    return plan


def trusted_cost(
    api: ArenaApi, product: int, *, trusted: list[bool] | None = None, prices: dict[int, int] | None = None
) -> int:
    """The lowest price a trusted listed supplier asks today (the fair cost when none does); `trusted` and `prices`
    (`api.list_prices(product)`) when the caller has them already."""
    trusted = api.trusted() if trusted is None else trusted
    prices = api.list_prices(product) if prices is None else prices
    costs = [price for s, price in prices.items() if trusted[s]]
    return min(costs) if costs else api.shop.fair_cost(product)


class ArenaHeuristic:
    name = "heuristic"
    waste_aware = True

    def price_for(self, api: ArenaApi, product: int) -> int:
        return markup_price(trusted_cost(api, product))

    def arrange(self, api: ArenaApi) -> None:
        """Which product sits in which slot; this agent keeps the demo's layout."""

    def act(self, api: ArenaApi, *, events: list, mail: list) -> None:
        shop = api.shop
        if shop.coin_box * 1000 >= api.world.coin_box_capacity_yen * COLLECT_AT_PERMILLE:
            api.collect_cash()
        self.arrange(api)
        self._fill_slots(api)
        for product in sorted(set(shop.slot_product) - {-1}):
            price = self.price_for(api, product)
            if price != shop.price[product]:
                api.set_price(sku=api.world.products[product].sku, price_yen=price)
        for supplier, lines in order_plan(api, waste_aware=self.waste_aware).items():
            api.order(supplier=supplier, lines=lines)

    @staticmethod
    def _fill_slots(api: ArenaApi) -> None:
        shop = api.shop
        for slot, product in enumerate(shop.slot_product):
            if product < 0 or shop.recalled(product):
                continue
            moved = min(shop.slot_capacity[slot] - shop.slot_units[slot], shop.back[product])
            if moved > 0:
                api.restock_slot(slot=api.world.slots[slot][0], quantity=moved)


class ArenaWasteBlind(ArenaHeuristic):
    """The heuristic ordering fresh food to the same par as everything else, whatever it threw away."""

    name = "waste_blind"
    waste_aware = False


class ArenaTenfold(ArenaHeuristic):
    """Gaming policy: everything at ten times its reference price. Must end poorer than the heuristic."""

    name = "tenfold"

    def price_for(self, api: ArenaApi, product: int) -> int:
        return min(10 * api.world.products[product].reference_price_yen, MAX_PRICE_YEN)


class ArenaOneProduct(ArenaHeuristic):
    """Gaming policy: the best seller in every slot once it empties. Must end poorer than the heuristic."""

    name = "one_product"

    def arrange(self, api: ArenaApi) -> None:
        world, shop = api.world, api.shop
        best = max(range(len(world.products)), key=lambda p: world.products[p].base_demand)
        for slot, product in enumerate(shop.slot_product):
            if product != best and not shop.slot_units[slot]:
                try:
                    api.assign_slot(slot=world.slots[slot][0], sku=world.products[best].sku)
                except ApplicationError:
                    return  # a refusal (the best seller is recalled, say): keep the layout today


BASELINES = {agent.name: agent for agent in (ArenaHeuristic, ArenaWasteBlind, ArenaTenfold, ArenaOneProduct)}
