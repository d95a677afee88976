"""Baseline agents for the simulator, and the two gaming policies that must not pay.

All of them restock the same way (`RestockToParAgent`); they differ in how they price and, for one, in how they fill
the machine. `batch.run_restock_to_par_batch` is the vectorised twin of `RestockToParAgent` and must decide exactly
as it does: change one, change the other, and `tests/experiments/test_batch.py` checks they agree.
"""

import math
from itertools import compress
from operator import attrgetter

from .episode import ShopApi, StockReport, SupplierQuote
from .world import MAX_PRICE_YEN, PRICE_STEP_YEN, World

MARKUP_PERMILLE = 2000  # sell at twice the unit cost
COVER_DAYS = 6  # beyond full slots, keep a week's sales (less a day) on hand or on the way

# The daily steps below use loops, `map` and `filter` rather than list comprehensions: in Python 3.11 each run of a
# comprehension makes a new function object (and a cell for each outer name it reads), about a thousand instructions.
_is_open = attrgetter("available")
_unit_prices = attrgetter("unit_prices_yen")


def trusted_suppliers(quotes: list[SupplierQuote]) -> list[bool]:
    """A supplier is dropped the first time it brings less than was ordered or charges more than it quoted."""
    trusted = []
    for q in quotes:
        trusted.append(q.units_received >= q.units_due and not q.extra_fees_yen)
    return trusted


def fresh_par(*, capacity: int, weekly: int, shelf_life_days: int, sold: int, spoiled: int) -> int:
    """A fresh product's par: what sells within its shelf life at last week's pace, less the share thrown away of
    what went (`sold` and `spoiled` over the same recent window); one unit while nothing sells."""
    kept_share = sold / (sold + spoiled) if sold + spoiled else 1.0
    return min(capacity, math.ceil(weekly * shelf_life_days * kept_share / 7)) if weekly else 1


def markup_price(unit_cost_yen: int) -> int:
    """Cost x markup, rounded up to the coin step."""
    price = -(-unit_cost_yen * MARKUP_PERMILLE // (1000 * PRICE_STEP_YEN)) * PRICE_STEP_YEN
    return PRICE_STEP_YEN if price < PRICE_STEP_YEN else MAX_PRICE_YEN if price > MAX_PRICE_YEN else price


class RestockToParAgent:
    """(a) Fill the slots from the back room, keep slots full plus COVER_DAYS of recent sales on hand or ordered from
    the cheapest supplier that has not cheated yet, and price at a fixed markup on that supplier's cost."""

    name = "heuristic"

    def __init__(self, world: World):
        self.world = world
        # The price per product on its cheapest unit cost, and the price lists it was worked out from: list prices
        # change weekly at most, so the day's `min` and `price_for` per product (`min` a costly call in Python 3.11)
        # are mostly one comparison of lists.
        self._cost_lists: list[list[int]] = []
        self._prices: list[int] = []
        # Which product each slot holds, and per product the units its slots hold: the layout seldom changes.
        self._layout: list[int] = []
        self._capacity_by_product: list[int] = []

    def price_for(self, product: int, unit_cost_yen: int) -> int:
        """The price of `product` on its unit cost: a function of the two alone, as in every agent here (the prices
        are worked out again only when the list prices change)."""
        return markup_price(unit_cost_yen)

    def arrange(self, shop: ShopApi) -> None:
        """Change which product sits in which slot before the slots are filled; this agent keeps the opening layout."""

    def par_for(self, shop: ShopApi, product: int, capacity: int, weekly: int) -> int:
        """Units to have on hand or on the way: full slots plus COVER_DAYS of last week's sales."""
        return capacity + (COVER_DAYS * weekly + 6) // 7

    def supplier_for(self, product: int, need: int, open_trusted: list, suppliers: list) -> tuple[int, int]:
        """(unit price, supplier) to order from: the cheapest trusted one open today, the first of equals."""
        cheapest = None
        for quote in open_trusted:
            offer = (quote.unit_prices_yen[product], quote.supplier)
            if cheapest is None or offer < cheapest:
                cheapest = offer
        return cheapest

    def act(self, shop: ShopApi) -> None:
        # The reads it uses rather than `observe()`, which also names the day and the weather, rounds the temperature
        # and copies yesterday's sales: about 6 M instructions an episode (5 %) that nothing here read. The shop fills
        # the slots in one call: working out and checking each slot's units here cost about 9 M.
        self.arrange(shop)
        shelf_units = shop.refill_all_slots()
        stock = shop.check_stock()
        self._price_and_order(
            shop,
            stock.in_transit_units,
            shelf_capacity=self._shelf_capacity(stock),
            shelf_units=shelf_units,
            back=stock.back_room_units,
        )

    def _shelf_capacity(self, stock: StockReport) -> list[int]:
        """Per product, the units its slots hold when full: worked out again only when the layout has changed."""
        if stock.slot_products != self._layout:
            self._layout = stock.slot_products
            self._capacity_by_product = [0] * len(stock.back_room_units)
            for product in stock.slot_products:
                if product >= 0:
                    self._capacity_by_product[product] += stock.slot_capacity_units
        return self._capacity_by_product

    def _price_and_order(
        self,
        shop: ShopApi,
        in_transit: list[int],
        *,
        shelf_capacity: list[int],
        shelf_units: list[int],
        back: list[int],
    ) -> None:
        """Price every stocked product on its cheapest trusted cost (any supplier's while none is trusted) and order
        it up to par from the cheapest trusted supplier open today (the first of equals); cash and back-room space
        run down product by product."""
        suppliers = shop.supplier_quotes()
        trusted = list(compress(suppliers, trusted_suppliers(suppliers)))
        open_trusted = list(filter(_is_open, trusted))
        cost_lists = list(map(_unit_prices, trusted or suppliers))
        if cost_lists != self._cost_lists:
            costs = [min(prices) for prices in zip(*cost_lists, strict=True)]
            self._cost_lists, self._prices = cost_lists, [self.price_for(p, cost) for p, cost in enumerate(costs)]
        prices, prices_now = self._prices, shop.prices_yen()
        weekly = shop.units_sold(days=7)
        cash = shop.cash_yen()
        room = self.world.back_room_capacity_units - sum(back) - sum(in_transit)
        for product, capacity in enumerate(shelf_capacity):
            if not capacity:
                continue
            price = prices[product]
            if price != prices_now[product]:
                shop.set_price(product=product, price_yen=price)
            par = self.par_for(shop, product, capacity, weekly[product])
            need = par - shelf_units[product] - back[product] - in_transit[product]
            if need <= 0 or not open_trusted:
                continue
            unit_price, supplier = self.supplier_for(product, need, open_trusted, suppliers)
            min_order = suppliers[supplier].min_order_units
            # min(max(need, min_order), cash // unit_price, room), spelt out: in Python 3.11 min and max parse keyword
            # arguments on every call, and this runs for every product short of par
            quantity = need if need > min_order else min_order
            affordable = cash // unit_price
            quantity = quantity if quantity < affordable else affordable
            quantity = quantity if quantity < room else room
            if quantity < min_order:
                continue
            shop.order(supplier=supplier, product=product, quantity=quantity)
            cash -= quantity * unit_price
            room -= quantity


class WasteAwareAgent(RestockToParAgent):
    """The heuristic with waste-aware procurement for fresh food (what the live planner does, docs/procurement.md):
    a fresh product's par is what sells within its shelf life, less the share thrown away over the last two weeks,
    and it is ordered from the cheapest supplier whose minimum order does not exceed the need (or the smallest
    minimum order there is). Other products as the heuristic."""

    name = "heuristic_waste_aware"

    def par_for(self, shop: ShopApi, product: int, capacity: int, weekly: int) -> int:
        life = self.world.shelf_life_days[product] if self.world.shelf_life_days else 0
        if not life:
            return super().par_for(shop, product, capacity, weekly)
        spoiled = shop.waste_summary(days=14)[product]
        sold = shop.units_sold(days=14)[product]
        return fresh_par(capacity=capacity, weekly=weekly, shelf_life_days=life, sold=sold, spoiled=spoiled)

    def supplier_for(self, product: int, need: int, open_trusted: list, suppliers: list) -> tuple[int, int]:
        if not (self.world.shelf_life_days and self.world.shelf_life_days[product]):
            return super().supplier_for(product, need, open_trusted, suppliers)
        smallest = min(suppliers[quote.supplier].min_order_units for quote in open_trusted)
        fitting = [quote for quote in open_trusted if suppliers[quote.supplier].min_order_units <= max(need, smallest)]
        return min([(quote.unit_prices_yen[product], quote.supplier) for quote in fitting])


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

    def arrange(self, shop: ShopApi) -> None:
        best = max(range(len(self.world.products)), key=lambda p: self.world.products[p].base_demand)
        stock = shop.check_stock()
        for slot, product in enumerate(stock.slot_products):
            if product != best and not stock.slot_units[slot]:
                shop.assign_slot(slot=slot, product=best)


AGENTS = {
    agent.name: agent
    for agent in (
        RestockToParAgent,
        WasteAwareAgent,
        ElasticityPricerAgent,
        TenfoldPricerAgent,
        OneProductEverywhereAgent,
    )
}


def make_agent(name: str, world: World) -> RestockToParAgent:
    try:
        return AGENTS[name](world)
    except KeyError:
        raise ValueError(f"Unknown agent {name!r}; choose one of {', '.join(AGENTS)}.") from None
