"""Many seeds at once: the restock-to-par heuristic vectorised over a leading seed axis.

Each seed keeps its own scenario (its own generator), and the morning and night are the engine's own functions, so a
seed's episode here is the one `run_episode` gives with `RestockToParAgent`, number for number. The agent's decisions
below mirror `RestockToParAgent.act` line by line, on arrays.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .agents import COVER_DAYS, MARKUP_PERMILLE, TRUST_RATIO_PERMILLE
from .engine import SERIES_NAMES, DayDraws, ScenarioStack, ShopState, book_order, receive_deliveries, sell_and_close
from .world import MAX_PRICE_YEN, PRICE_STEP_YEN, World, draw_scenario

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


def _restock_to_par(state: ShopState, world: World, scenarios: ScenarioStack, day: int) -> None:
    trading = state.trading
    batch, n_products = state.back_units.shape
    rows = np.arange(batch)
    capacity = world.slot_capacity_units
    back = state.back_units
    shelf_capacity = np.zeros((batch, n_products), dtype=np.int64)
    shelf_units = np.zeros((batch, n_products), dtype=np.int64)
    for slot in range(world.slot_count):
        product = state.slot_product[:, slot]
        holds = (product >= 0) & trading
        product = np.maximum(product, 0)
        moved = np.maximum(np.minimum(capacity - state.slot_units[:, slot], back[rows, product]), 0) * holds
        back[rows, product] -= moved
        state.slot_units[:, slot] += moved
        shelf_capacity[rows, product] += capacity * holds
        shelf_units[rows, product] += state.slot_units[:, slot] * holds

    trusted = (state.supplier_received * 1000 >= state.supplier_due * TRUST_RATIO_PERMILLE) & (state.supplier_fees == 0)
    anyone_trusted = trusted.any(axis=1)
    weekly = state.sold_by_product[:, max(day - 7, 0):day].sum(axis=1, dtype=np.int64)
    in_transit = state.transit_ordered.sum(axis=1)
    cash = state.cash.copy()
    room = world.back_room_capacity_units - back.sum(axis=1) - in_transit.sum(axis=1)
    quotes_today = scenarios.supplier_price[:, day]  # (B, S, P)
    open_today = trusted & scenarios.supplier_available[:, day]
    min_orders = world.supplier_terms["min_order_units"]
    for product in range(n_products):
        stocked = shelf_capacity[:, product] > 0
        quotes = quotes_today[:, :, product]
        cost = np.where(anyone_trusted, np.where(trusted, quotes, _NO_QUOTE).min(axis=1), quotes.min(axis=1))
        price = np.clip(-(-cost * MARKUP_PERMILLE // (1000 * PRICE_STEP_YEN)) * PRICE_STEP_YEN,
                        PRICE_STEP_YEN, MAX_PRICE_YEN)
        state.price[:, product] = np.where(stocked, price, state.price[:, product])

        par = shelf_capacity[:, product] + (COVER_DAYS * weekly[:, product] + 6) // 7
        need = par - shelf_units[:, product] - back[:, product] - in_transit[:, product]
        open_quotes = np.where(open_today, quotes, _NO_QUOTE)
        supplier = open_quotes.argmin(axis=1)  # the first of equals, as min() over (price, supplier) picks
        unit_price = open_quotes[rows, supplier]
        min_order = min_orders[supplier]
        quantity = np.minimum(np.minimum(np.maximum(need, min_order), cash // unit_price), room)
        orders = stocked & open_today.any(axis=1) & (need > 0) & (quantity >= min_order)
        if not orders.any():
            continue
        who, supplier, quantity, unit_price = rows[orders], supplier[orders], quantity[orders], unit_price[orders]
        book_order(
            state, world, rows=who, day=day, supplier=supplier, product=product, quantity=quantity,
            unit_price=unit_price, ship_permille=scenarios.ship_permille[who, day, supplier],
        )
        cash[who] -= quantity * unit_price
        room[who] -= quantity


def run_restock_to_par_batch(
    *, world: World, seeds: Sequence[int], days: int, on_day: Callable[[int], None] | None = None
) -> BatchResult:
    started = time.perf_counter()
    seeds = list(seeds)
    scenarios = ScenarioStack.of([draw_scenario(world, seed, days) for seed in seeds])
    state = ShopState.opening(world, len(seeds), days)
    price_response = world.price_response_table()
    for day in range(days):
        receive_deliveries(state, world, day)
        _restock_to_par(state, world, scenarios, day)
        sell_and_close(state, world, price_response, DayDraws.of(scenarios, day), day)
        if on_day:
            on_day(day + 1)
    return BatchResult(
        seeds=seeds,
        days=days,
        series={name: state.series[name] for name in SERIES_NAMES},
        bankrupt_day=state.bankrupt_day,
        elapsed_seconds=time.perf_counter() - started,
    )
