"""Baseline agents for the simulator, and the two gaming policies that must not pay.

All of them restock the same way (`RestockToParAgent`); they differ in how they price and, for one, in how they fill
the machine. `batch.run_restock_to_par_batch` is the vectorised twin of `RestockToParAgent` and must decide exactly
as it does: change one, change the other, and `tests/experiments/test_batch.py` checks they agree.
"""

from .episode import ShopApi, ShopView
from .world import MAX_PRICE_YEN, PRICE_STEP_YEN, World

MARKUP_PERMILLE = 2000  # sell at twice the unit cost
COVER_DAYS = 6  # beyond full slots, keep a week's sales (less a day) on hand or on the way


def trusted_suppliers(view: ShopView) -> list[bool]:
    """A supplier is dropped the first time it brings less than was ordered or charges more than it quoted."""
    return [q.units_received >= q.units_due and not q.extra_fees_yen for q in view.suppliers]


def markup_price(unit_cost_yen: int) -> int:
    """Cost x markup, rounded up to the coin step."""
    steps = -(-unit_cost_yen * MARKUP_PERMILLE // (1000 * PRICE_STEP_YEN))
    return min(max(steps * PRICE_STEP_YEN, PRICE_STEP_YEN), MAX_PRICE_YEN)


class RestockToParAgent:
    """(a) Fill the slots from the back room, keep slots full plus COVER_DAYS of recent sales on hand or ordered from
    the cheapest supplier that has not cheated yet, and price at a fixed markup on that supplier's cost."""

    name = "heuristic"

    def __init__(self, world: World):
        self.world = world

    def price_for(self, product: int, unit_cost_yen: int) -> int:
        return markup_price(unit_cost_yen)

    def arrange(self, shop: ShopApi, view: ShopView) -> ShopView:
        """Change which product sits in which slot; this agent keeps the opening layout."""
        return view

    def act(self, shop: ShopApi) -> None:
        view = self.arrange(shop, shop.observe())
        stock = view.stock
        capacity = stock.slot_capacity_units
        back = list(stock.back_room_units)
        n_products = len(back)
        shelf_capacity = [0] * n_products
        shelf_units = [0] * n_products
        for slot, product in enumerate(stock.slot_products):
            if product < 0:
                continue
            shelf_capacity[product] += capacity
            moved = min(capacity - stock.slot_units[slot], back[product])
            if moved > 0:
                shop.restock_slot(slot=slot, quantity=moved)
                back[product] -= moved
            shelf_units[product] += stock.slot_units[slot] + moved

        trusted = trusted_suppliers(view)
        weekly = shop.sales_summary(days=7).units
        cash = view.cash_yen
        room = self.world.back_room_capacity_units - sum(back) - sum(stock.in_transit_units)
        for product in range(n_products):
            if not shelf_capacity[product]:
                continue
            quotes = [(q.unit_prices_yen[product], q.supplier) for q in view.suppliers if trusted[q.supplier]]
            cost = min(quotes or [(q.unit_prices_yen[product], q.supplier) for q in view.suppliers])[0]
            price = self.price_for(product, cost)
            if price != view.prices_yen[product]:
                shop.set_price(product=product, price_yen=price)

            par = shelf_capacity[product] + (COVER_DAYS * weekly[product] + 6) // 7
            need = par - shelf_units[product] - back[product] - stock.in_transit_units[product]
            open_quotes = [(quote, s) for quote, s in quotes if view.suppliers[s].available]
            if need <= 0 or not open_quotes:
                continue
            unit_price, supplier = min(open_quotes)
            min_order = view.suppliers[supplier].min_order_units
            quantity = min(max(need, min_order), cash // unit_price, room)
            if quantity < min_order:
                continue
            shop.order(supplier=supplier, product=product, quantity=quantity)
            cash -= quantity * unit_price
            room -= quantity


class ElasticityPricerAgent(RestockToParAgent):
    """(b) Restocks like the heuristic, but prices each product where margin x demand peaks.

    With demand ∝ exp(-e (p / p_ref - 1)) the profit (p - c) · demand is highest at p = c + p_ref / e; the
    reference prices and elasticities are the shop's market research (the world's product list).
    """

    name = "elasticity"

    def price_for(self, product: int, unit_cost_yen: int) -> int:
        terms = self.world.products[product]
        best = unit_cost_yen + terms.reference_price_yen / terms.elasticity
        return min(max(round(best / PRICE_STEP_YEN) * PRICE_STEP_YEN, PRICE_STEP_YEN), MAX_PRICE_YEN)


class TenfoldPricerAgent(RestockToParAgent):
    """Gaming policy: everything at ten times the reference price. Must end poorer than the heuristic."""

    name = "tenfold"

    def price_for(self, product: int, unit_cost_yen: int) -> int:
        return min(10 * self.world.products[product].reference_price_yen, MAX_PRICE_YEN)


class OneProductEverywhereAgent(RestockToParAgent):
    """Gaming policy: the best-selling product in every slot. Must end poorer than the heuristic."""

    name = "one_product"

    def arrange(self, shop: ShopApi, view: ShopView) -> ShopView:
        best = max(range(len(self.world.products)), key=lambda p: self.world.products[p].base_demand)
        changed = False
        for slot, product in enumerate(view.stock.slot_products):
            if product != best and not view.stock.slot_units[slot]:
                shop.assign_slot(slot=slot, product=best)
                changed = True
        return shop.observe() if changed else view


AGENTS = {
    agent.name: agent
    for agent in (RestockToParAgent, ElasticityPricerAgent, TenfoldPricerAgent, OneProductEverywhereAgent)
}


def make_agent(name: str, world: World) -> RestockToParAgent:
    try:
        return AGENTS[name](world)
    except KeyError:
        raise ValueError(f"Unknown agent {name!r}; choose one of {', '.join(AGENTS)}.") from None
