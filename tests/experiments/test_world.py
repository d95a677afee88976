"""The world's demand follows the calendar, the weather and events; customers ask for what the machine lacks. A world
refuses figures its engines cannot run: demand is looked up per coin step of price, and the per-product lists must
cover every product."""

import dataclasses

import numpy as np
import pytest

from apps.experiments.sim.agents import make_agent
from apps.experiments.sim.episode import run_episode
from apps.experiments.sim.world import PRICE_STEP_YEN, World, draw_scenarios

SEEDS = list(range(1, 21))


def _scenarios(world: World | None = None, days: int = 365):
    return draw_scenarios(world or World(), SEEDS, days)


def test_the_office_district_machine_is_quieter_at_weekends():
    world = World()
    scenarios = _scenarios(world)
    weekday = (world.start_weekday + np.arange(365)) % 7
    open_days = ~scenarios.machine_offline
    daily = scenarios.demand_rate.sum(axis=2)
    weekend = daily[open_days & (weekday >= 5)].mean()
    working = daily[open_days & (weekday < 5)].mean()
    assert weekend < 0.8 * working


def test_hot_days_sell_cold_drinks_and_cold_days_sell_cocoa():
    world = World()
    scenarios = _scenarios(world)
    water = [p.name for p in world.products].index("ミネラルウォーター")
    cocoa = [p.name for p in world.products].index("ホットココア")
    hot = (scenarios.temperature > 25) & ~scenarios.machine_offline
    cold = (scenarios.temperature < 8) & ~scenarios.machine_offline
    assert scenarios.demand_rate[..., water][hot].mean() > 1.5 * scenarios.demand_rate[..., water][cold].mean()
    assert scenarios.demand_rate[..., cocoa][cold].mean() > 1.5 * scenarios.demand_rate[..., cocoa][hot].mean()


def test_summer_is_warmer_than_winter_and_rain_comes_most_in_june():
    scenarios = _scenarios()  # day 0 is 1 April
    august, january = slice(122, 153), slice(275, 306)
    june = slice(61, 91)
    assert scenarios.temperature[:, august].mean() > scenarios.temperature[:, january].mean() + 12
    rain = scenarios.weather == 2
    assert rain[:, june].mean() > rain[:, january].mean()


def test_rain_keeps_customers_away():
    scenarios = _scenarios(World(demand_noise_sigma=0.0, demand_shocks_per_year=0.0))
    rate, weather = scenarios.demand_rate, scenarios.weather
    without_rain = draw_scenarios(
        World(demand_noise_sigma=0.0, demand_shocks_per_year=0.0, rain_footfall_factor=1.0), SEEDS, 365
    ).demand_rate
    rainy = (weather == 2) & ~scenarios.machine_offline
    assert np.allclose(rate[rainy], 0.8 * without_rain[rainy])
    assert np.array_equal(rate[weather != 2], without_rain[weather != 2])


def test_random_events_happen_and_the_machine_sells_nothing_while_offline():
    scenarios = _scenarios()
    assert scenarios.machine_offline.any(axis=1).mean() > 0.5
    assert (~scenarios.supplier_available).any(axis=(1, 2)).mean() > 0.5
    assert (scenarios.demand_rate[scenarios.machine_offline] == 0).all()
    calm = draw_scenarios(World(demand_shocks_per_year=0.0), SEEDS, 365).demand_rate
    open_days = ~scenarios.machine_offline
    assert not np.array_equal(scenarios.demand_rate[open_days], calm[open_days])  # some shock moved demand


def test_customers_ask_for_the_products_the_machine_does_not_carry():
    world = World()
    result = run_episode(world=world, seed=1, days=60, agent=make_agent("heuristic", world))
    requests = result.requests_by_product.sum(axis=0)
    missing = [p for p in range(len(world.products)) if p not in world.initial_slot_products]
    assert missing and all(requests[p] > 0 for p in missing)


def test_a_reference_price_off_the_coin_step_is_refused():
    products = World().products
    odd = (dataclasses.replace(products[0], reference_price_yen=products[0].reference_price_yen + PRICE_STEP_YEN // 2),)
    with pytest.raises(ValueError, match=f"multiples of {PRICE_STEP_YEN} yen"):
        World(products=odd + products[1:])


def test_per_product_and_per_slot_lists_must_cover_them_all():
    world = World()
    with pytest.raises(ValueError, match="one product per slot"):
        World(initial_slot_products=world.initial_slot_products[:-1])
    with pytest.raises(ValueError, match="one number per product"):
        World(shelf_life_days=(3,) * (len(world.products) - 1))
