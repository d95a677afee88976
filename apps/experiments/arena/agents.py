"""The arena's baselines: `ArenaHeuristic` (restock to par from the cheapest trusted listed supplier, price at twice
that cost, empty the coin box when it is half full; no e-mail) and the gaming policies that must not pay
(`tenfold` prices, `one_product` in every slot). They act on `ArenaApi` directly, as the simulator's baselines act on
its `ShopApi`; an agent on a model provider acts through the tools and the policy (`provider_agent.py`).
"""

from apps.core.errors import ApplicationError
from apps.experiments.sim.agents import COVER_DAYS, markup_price
from apps.experiments.sim.world import MAX_PRICE_YEN

from .api import ArenaApi

COLLECT_AT_PERMILLE = 500  # empty the coin box once it is this full


def order_plan(api: ArenaApi, *, cover_days: int = COVER_DAYS) -> dict[int, list[list]]:
    """Supplier -> order lines [sku, quantity] that bring every stocked, unrecalled product back to par (full slots
    plus `cover_days` of the last week's sales), each from the cheapest trusted listed supplier open today, in whole
    packs; a supplier's lines are kept only when together they reach its minimum order and the bank can pay."""
    shop, world = api.shop, api.world
    trusted = api.trusted()
    capacity = [0] * len(world.products)
    for product, slot_capacity in zip(shop.slot_product, shop.slot_capacity, strict=True):
        if product >= 0:
            capacity[product] += slot_capacity
    weekly = shop.window_sums("sold", 7)
    shelf = shop.shelf_units()
    lines: dict[int, list[list]] = {}
    totals: dict[int, int] = {}
    for product, room in enumerate(capacity):
        if not room or shop.recalled(product):
            continue
        need = (
            room
            + (cover_days * weekly[product] + 6) // 7
            - shelf[product]
            - shop.back[product]
            - shop.in_transit[product]
        )
        options = [(price, s) for s, price in api.list_prices(product).items() if trusted[s] and shop.supplier_open(s)]
        if need <= 0 or not options:
            continue
        price, supplier = min(options)
        pack = world.suppliers[supplier].pack_units[product]
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


def trusted_cost(api: ArenaApi, product: int, *, trusted: list[bool] | None = None) -> int:
    """The lowest price a trusted listed supplier asks today (the fair cost when none does)."""
    trusted = api.trusted() if trusted is None else trusted
    return min(
        (price for s, price in api.list_prices(product).items() if trusted[s]), default=api.shop.fair_cost(product)
    )


class ArenaHeuristic:
    name = "heuristic"

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
        for supplier, lines in order_plan(api).items():
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


BASELINES = {agent.name: agent for agent in (ArenaHeuristic, ArenaTenfold, ArenaOneProduct)}
