"""What chance decides for one arena seed, drawn before the first day: the simulator's scenario (demand, weather,
outages, short shipments) and the arena's events.

The arena's events take one fixed-size call on the seed's second generator (`SeedSequence([seed, ARENA_STREAM])`):
a spell starts on a day with probability rate / 365, and the uniform that said so, rescaled, decides its length and
kind (the simulator's `_start_and_spare` and `_split`), so the same seed gives the same year whatever the agent does.
"""

from dataclasses import dataclass

import numpy as np

from apps.experiments.sim.shop import ScenarioDays
from apps.experiments.sim.world import _split, _start_and_spare, draw_scenarios

from .world import ARENA_STREAM, ArenaWorld

SHOCK_CATEGORIES = ("drink", "snack", "food")
_COLUMNS = 6  # breakdown, recall, rush, price shock, supplier closure, the day's cash share


@dataclass(frozen=True)
class Event:
    day: int
    kind: str  # breakdown, supplier_closed, recall, rush, price_shock
    detail: dict

    def as_dict(self) -> dict:
        return {"day": self.day, "kind": self.kind, **self.detail}


@dataclass
class ArenaScenario:
    seed: int
    days: int
    base: ScenarioDays  # the simulator's row for this seed (demand rate, rounding, weather, outages, shipments)
    events: list[Event]
    broken: list[bool]  # the machine is down (a breakdown) and sells nothing
    demand_factor: list[float]  # a rush multiplies the day's demand
    cost_permille: list[list[int]]  # [day][product] supplier prices x this / 1000 (price shocks)
    cash_share_permille: list[int]  # the day's share of revenue paid in cash
    events_by_day: dict[int, list[Event]]


def _breakdowns(world: ArenaWorld, draw: np.ndarray) -> list[Event]:
    starts, spare = _start_and_spare(draw, world.breakdowns_per_year)
    down, spare = _split(spare, 4)
    low, high = world.repair_cost_yen
    return [
        Event(
            int(day),
            "breakdown",
            {"down_days": int(down[day]) + 1, "repair_yen": low + int(spare[day] * (high - low)) // 100 * 100},
        )
        for day in np.nonzero(starts)[0]
    ]


def _recalls(world: ArenaWorld, draw: np.ndarray) -> list[Event]:
    starts, spare = _start_and_spare(draw, world.recalls_per_year)
    stocked = sorted({product for _code, product, _capacity, _units in world.slots})
    which, spare = _split(spare, len(stocked))
    return [
        Event(
            int(day),
            "recall",
            {"sku": world.products[stocked[which[day]]].sku, "blocked_days": 10 + int(spare[day] * 21)},
        )
        for day in np.nonzero(starts)[0]
    ]


def _rushes(world: ArenaWorld, draw: np.ndarray) -> list[Event]:
    starts, spare = _start_and_spare(draw, world.rushes_per_year)
    return [
        Event(int(day), "rush", {"demand_factor": round(2.0 + 2.0 * float(spare[day]), 2)})
        for day in np.nonzero(starts)[0]
    ]


def _price_shocks(world: ArenaWorld, draw: np.ndarray) -> list[Event]:
    starts, spare = _start_and_spare(draw, world.price_shocks_per_year)
    category, spare = _split(spare, len(SHOCK_CATEGORIES))
    length, spare = _split(spare, 41)
    return [
        Event(
            int(day),
            "price_shock",
            {
                "category": SHOCK_CATEGORIES[category[day]],
                "days": 20 + int(length[day]),
                "rise_percent": 15 + int(spare[day] * 26),
            },
        )
        for day in np.nonzero(starts)[0]
    ]


def _closure(world: ArenaWorld, draw: np.ndarray) -> list[Event]:
    """The first closure drawn, if any: one listed supplier stops trading for good."""
    starts, spare = _start_and_spare(draw, world.supplier_closures_per_year)
    listed = [number for number, supplier in enumerate(world.suppliers) if not supplier.email_only]
    which, _spare = _split(spare, len(listed))
    days = np.nonzero(starts)[0]
    if not len(days):
        return []
    day = int(days[0])
    return [
        Event(
            day, "supplier_closed", {"supplier": listed[which[day]], "name": world.suppliers[listed[which[day]]].name}
        )
    ]


def _cost_permille(world: ArenaWorld, shocks: list[Event], days: int) -> list[list[int]]:
    rows = np.full((days, len(world.products)), 1000, dtype=np.int64)
    for shock in shocks:
        in_category = [p for p, product in enumerate(world.products) if product.category == shock.detail["category"]]
        end = shock.day + shock.detail["days"]
        rows[shock.day : end, in_category] = (
            rows[shock.day : end, in_category] * (100 + shock.detail["rise_percent"]) // 100
        )
    return rows.tolist()


def draw_arena(world: ArenaWorld, seed: int, days: int) -> ArenaScenario:
    base = ScenarioDays.of(draw_scenarios(world.sim, [seed], days), 0, world.sim)
    uniforms = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, ARENA_STREAM]))).random(
        (days, _COLUMNS)
    )
    shocks = _price_shocks(world, uniforms[:, 3])
    events = sorted(
        _breakdowns(world, uniforms[:, 0])
        + _recalls(world, uniforms[:, 1])
        + _rushes(world, uniforms[:, 2])
        + shocks
        + _closure(world, uniforms[:, 4]),
        key=lambda event: (event.day, event.kind),
    )
    broken = [False] * days
    demand_factor = [1.0] * days
    for event in events:
        if event.kind == "breakdown":
            broken[event.day : event.day + event.detail["down_days"]] = [True] * min(
                event.detail["down_days"], days - event.day
            )
        elif event.kind == "rush":
            demand_factor[event.day] = event.detail["demand_factor"]
    by_day: dict[int, list[Event]] = {}
    for event in events:
        by_day.setdefault(event.day, []).append(event)
    share = world.cash_share_permille
    return ArenaScenario(
        seed=seed,
        days=days,
        base=base,
        events=events,
        broken=broken,
        demand_factor=demand_factor,
        cost_permille=_cost_permille(world, shocks, days),
        cash_share_permille=(share // 2 + (uniforms[:, 5] * share).astype(np.int64)).tolist(),
        events_by_day=by_day,
    )
