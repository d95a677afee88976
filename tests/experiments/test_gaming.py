"""Demand follows price and belongs to the product, so the two known ways to game simple clones do not pay."""

from dataclasses import replace

import numpy as np
import pytest

from apps.experiments.sim.agents import make_agent
from apps.experiments.sim.episode import Episode, ShopApi, run_episode
from apps.experiments.sim.world import World
from tests.experiments.scripted import ScriptedAgent, world_with_suppliers

SEEDS = [1, 2, 3, 4, 5]


def _final_net_worth(agent: str, seed: int, world: World | None = None) -> int:
    world = world or World()
    return run_episode(world=world, seed=seed, days=365, agent=make_agent(agent, world)).final_net_worth


@pytest.mark.parametrize("gaming_agent", ["tenfold", "one_product"])
@pytest.mark.parametrize("seed", SEEDS)
def test_gaming_policies_end_poorer_than_the_heuristic(gaming_agent, seed):
    assert _final_net_worth(gaming_agent, seed) < _final_net_worth("heuristic", seed)


def test_the_elasticity_pricer_beats_the_fixed_markup_on_average():
    gains = [_final_net_worth("elasticity", seed) - _final_net_worth("heuristic", seed) for seed in SEEDS]
    assert np.mean(gains) > 0


def _units_of_first_product_sold(*, slots_holding_it: int, price_yen: int, days: int = 60) -> np.ndarray:
    """Product 0 in the first `slots_holding_it` slots of a machine with slots too big to run out."""
    world = replace(
        world_with_suppliers(outages_per_year=0),
        slot_capacity_units=5_000,
        back_room_capacity_units=20_000,
        starting_cash_yen=5_000_000,
    )

    def script(shop: ShopApi) -> None:
        view = shop.observe()
        if view.day == 0:
            for slot in range(slots_holding_it):
                shop.assign_slot(slot=slot, product=0)
            shop.set_price(product=0, price_yen=price_yen)
            shop.order(supplier=1, product=0, quantity=slots_holding_it * 1_000)
        if view.day == 1:
            for slot in range(slots_holding_it):
                shop.restock_slot(slot=slot, quantity=1_000)

    episode = Episode(world, 7, days)
    agent = ScriptedAgent(script)
    for _ in range(days):
        episode.run_day(agent)
    return episode.state.sold_by_product[0, :, 0]


def test_a_product_in_many_slots_sells_no_more_than_in_one():
    one_slot = _units_of_first_product_sold(slots_holding_it=1, price_yen=160)
    twelve_slots = _units_of_first_product_sold(slots_holding_it=12, price_yen=160)
    assert one_slot.sum() > 0
    assert np.array_equal(one_slot, twelve_slots)


def test_demand_falls_as_the_price_rises():
    sold = [_units_of_first_product_sold(slots_holding_it=1, price_yen=price).sum() for price in (80, 160, 320, 1600)]
    assert sold[0] > sold[1] > sold[2] > sold[3]
    assert sold[3] * 20 < sold[1]
