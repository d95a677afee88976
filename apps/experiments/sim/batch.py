"""Many seeds at once: the restock-to-par heuristic vectorised over a leading seed axis.

Each seed keeps its own scenario (its own generator), and the morning and night are the engine's own functions, so a
seed's episode here is the one `run_episode` gives with `RestockToParAgent`, number for number. `_restock_to_par`
takes the decisions `RestockToParAgent.act` takes, on arrays: the same slot order, cheapest trusted supplier (first of
equals), markup rounding, and cash and back-room space running down product by product.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .agents import COVER_DAYS, MARKUP_PERMILLE
from .engine import SERIES_NAMES, ShopState, book_orders, receive_deliveries, row_sums, sell_and_close
from .world import MAX_PRICE_YEN, PRICE_STEP_YEN, Scenarios, World, draw_scenarios

_NO_QUOTE = np.iinfo(np.int64).max // 4  # a price no supplier charges, so min/argmin skip the excluded ones


@dataclass(frozen=True)
class BatchResult:
    seeds: list[int]
    days: int
    series: dict[str, np.ndarray]  # name -> (seeds, days)
    bankrupt_day: np.ndarray  # (seeds,) -1 for shops that never went bankrupt
    elapsed_seconds: float

    @property
    def final_net_worth(self) -> np.ndarray:
        return self.series["net_worth"][:, -1]


def _fill_slots(state: ShopState, world: World) -> tuple[np.ndarray, np.ndarray]:
    """Fill the slots in slot order from the back room: each product's first slots take what they have room for, then
    its next slots from what is left. Returns each product's shelf capacity and units on the shelf, (B, P); nothing for
    a bankrupt shop."""
    layout = state.layout
    trading = state.trading[:, None]
    capacity = world.slot_capacity_units
    for slots, products in layout.ranks:
        moved = np.minimum(state.back_units[:, products], (capacity - state.slot_units[:, slots]) * trading)
        state.back_units[:, products] -= moved
        state.slot_units[:, slots] += moved
    shelf_capacity = capacity * layout.slots_per_product * trading
    shelf_units = layout.per_product(state.slot_units) * trading
    return shelf_capacity, shelf_units


def _supplier_sets(allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct sets of suppliers among the shops' rows of `allowed` (B, S), as (K, S) rows, and each shop's set.
    Every shop sees the same price list, so what depends only on which suppliers a shop may use is worked out once per
    set (a handful a day) and looked up, rather than on (B, S, P) arrays."""
    bits = np.arange(allowed.shape[1])
    code = allowed.view(np.uint8) @ (1 << bits)  # the set as a number, bit s for supplier s; uint8 multiplies faster
    present = np.bincount(code) > 0  # a sort-free np.unique: codes run to 2**S, a few suppliers
    codes = np.flatnonzero(present)
    shop_set = (np.cumsum(present) - 1)[code]
    return (codes[:, None] >> bits) & 1 == 1, shop_set


def _set_prices(state: ShopState, quotes: np.ndarray, trusted: np.ndarray, stocked: np.ndarray) -> None:
    """A fixed markup on the cheapest trusted supplier's cost (any supplier's while none is trusted)."""
    trusted_sets, shop_set = _supplier_sets(trusted)
    priced_from = trusted_sets | ~trusted_sets.any(axis=1, keepdims=True)
    cost = np.where(priced_from[:, :, None], quotes, _NO_QUOTE).min(axis=1)  # (K, P)
    price = np.clip(
        -(-cost * MARKUP_PERMILLE // (1000 * PRICE_STEP_YEN)) * PRICE_STEP_YEN, PRICE_STEP_YEN, MAX_PRICE_YEN
    )
    state.price[:] = np.where(stocked, price[shop_set], state.price)


def _run_down(wanted, unit_price, min_order, cash, room) -> np.ndarray:
    """The quantities, (shops, P), as cash and back-room space (both (shops,), consumed here) run down product by
    product: each product gets what is left of them, or nothing if that is below its supplier's minimum order."""
    quantity = np.zeros_like(wanted)
    for product in range(wanted.shape[1]):
        column = np.minimum(np.minimum(wanted[:, product], cash // unit_price[:, product]), room)
        column *= column >= min_order[:, product]
        quantity[:, product] = column
        cash -= column * unit_price[:, product]
        room -= column
    return quantity


def _order_to_par(
    state: ShopState,
    world: World,
    scenarios: Scenarios,
    day: int,
    *,
    quotes: np.ndarray,
    trusted: np.ndarray,
    stocked: np.ndarray,
    shelf_capacity: np.ndarray,
    shelf_units: np.ndarray,
    sold_last_week: np.ndarray,
) -> None:
    """Orders up to par from the cheapest trusted supplier open today, as far as cash and back-room space go."""
    in_transit = np.einsum("brp->bp", state.transit_ordered)  # summed along the ring; faster than .sum(axis=1)
    need = shelf_capacity + (COVER_DAYS * sold_last_week + 6) // 7 - shelf_units - state.back_units - in_transit
    open_sets, shop_set = _supplier_sets(trusted & scenarios.supplier_available[:, day])
    open_quotes = np.where(open_sets[:, :, None], quotes, _NO_QUOTE)  # (K, S, P)
    # The first of equals, as min() over (price, supplier) picks.
    supplier, unit_price = open_quotes.argmin(axis=1)[shop_set], open_quotes.min(axis=1)[shop_set]
    min_order = world.supplier_terms["min_order_units"][supplier]
    may_order = stocked & open_sets.any(axis=1)[shop_set, None] & (need > 0)
    wanted = np.maximum(need, min_order) * may_order  # 0 where it may not order, so none is placed
    room = world.back_room_capacity_units - row_sums(state.back_units) - row_sums(in_transit)
    # A shop with the cash and the room for all it wants gets it: nothing runs short along the way. Only the others'
    # quantities are worked out product by product; the day's orders are then booked together, (B, P) at once.
    quantity = wanted.copy()
    short = np.flatnonzero((row_sums(wanted * unit_price) > state.cash) | (row_sums(wanted) > room))
    if short.size:
        quantity[short] = _run_down(wanted[short], unit_price[short], min_order[short], state.cash[short], room[short])
    book_orders(
        state,
        world,
        day=day,
        supplier=supplier,
        quantity=quantity,
        unit_price=unit_price,  # a closed supplier's stand-in price only ever meets a quantity of 0
        ship_permille=scenarios.ship_permille[:, day],
    )


def _restock_to_par(state: ShopState, world: World, scenarios: Scenarios, day: int, sold_last_week: np.ndarray) -> None:
    shelf_capacity, shelf_units = _fill_slots(state, world)
    trusted = (state.supplier_received >= state.supplier_due) & (state.supplier_fees == 0)  # (B, S)
    quotes = scenarios.supplier_price[day]  # (S, P): list prices are the same for every shop
    stocked = shelf_capacity > 0
    _set_prices(state, quotes, trusted, stocked)
    _order_to_par(
        state,
        world,
        scenarios,
        day,
        quotes=quotes,
        trusted=trusted,
        stocked=stocked,
        shelf_capacity=shelf_capacity,
        shelf_units=shelf_units,
        sold_last_week=sold_last_week,
    )


def run_restock_to_par_batch(
    *, world: World, seeds: Sequence[int], days: int, on_day: Callable[[int], None] | None = None
) -> BatchResult:
    if world.has_fresh_products:
        raise ValueError("The batch engine does not model spoilage; run episodes (run_episode) for fresh food.")
    started = time.perf_counter()
    seeds = list(seeds)
    scenarios = draw_scenarios(world, seeds, days)
    state = ShopState.opening(world, len(seeds), days)
    price_response = world.price_response_table()
    sold_last_week = np.zeros_like(state.back_units)  # (B, P) over the 7 days before today: a running sum
    for day in range(days):
        receive_deliveries(state, world, day)
        _restock_to_par(state, world, scenarios, day, sold_last_week)
        sell_and_close(state, world, price_response, scenarios, day)
        sold_last_week += state.sold_by_product[:, day]
        if day >= 7:
            sold_last_week -= state.sold_by_product[:, day - 7]
        if on_day:
            on_day(day + 1)
    return BatchResult(
        seeds=seeds,
        days=days,
        series={name: state.series[name] for name in SERIES_NAMES},
        bankrupt_day=state.bankrupt_day,
        elapsed_seconds=time.perf_counter() - started,
    )
