"""Spoilage of fresh food in the simulator, and the heuristic with and without waste-aware procurement."""

import pytest

from apps.experiments.sim.agents import RestockToParAgent, make_agent
from apps.experiments.sim.batch import run_restock_to_par_batch
from apps.experiments.sim.episode import Episode, run_episode
from apps.experiments.sim.fresh import spoilage_comparison
from apps.experiments.sim.world import World, fresh_food_world

ONIGIRI = 6


class _OrderOnceAndNeverSell:
    """Orders 12 onigiri on day 0 from the next-day supplier and prices everything out of reach."""

    name = "order_once"

    def act(self, shop):
        if shop.observe().day == 0:
            shop.order(supplier=1, product=ONIGIRI, quantity=12)
        for product in range(10):
            shop.set_price(product=product, price_yen=10_000)


def test_unsold_fresh_units_are_thrown_away_after_their_last_day_with_their_value():
    world = fresh_food_world()
    episode = Episode(world, seed=1, days=6)
    agent = _OrderOnceAndNeverSell()
    worth = []
    for _ in range(6):
        episode.run_day(agent)
        worth.append(episode.shop.stock_value[ONIGIRI])

    spoiled = [day[ONIGIRI] for day in episode.shop.spoiled]
    # Delivered on the morning of day 1, sold on days 1-3, thrown away on the night of day 3.
    assert spoiled == [0, 0, 0, 12, 0, 0]
    assert worth[2] > 0 and worth[3] == 0
    assert episode.shop.back_units[ONIGIRI] == 0 and episode.shop.series["units_wasted"][3] == 12


def test_the_default_world_spoils_nothing_and_keeps_its_batch_engine():
    world = World()
    result = run_episode(world=world, seed=3, days=60, agent=RestockToParAgent(world))

    assert result.spoiled_by_product is None
    batch = run_restock_to_par_batch(world=world, seeds=[3], days=60)
    assert (batch.series["net_worth"][0] == result.series["net_worth"]).all()


def test_the_batch_engine_refuses_a_world_with_fresh_food():
    with pytest.raises(ValueError, match="spoilage"):
        run_restock_to_par_batch(world=fresh_food_world(), seeds=[1], days=10)


def test_waste_aware_ordering_throws_away_less_and_ends_richer():
    heuristic, waste_aware = spoilage_comparison(seeds=range(1, 6), days=180)

    assert (heuristic.agent, waste_aware.agent) == ("heuristic", "heuristic_waste_aware")
    assert waste_aware.fresh_spoiled_mean < heuristic.fresh_spoiled_mean / 2
    assert waste_aware.spoiled_share < heuristic.spoiled_share
    assert waste_aware.net_worth_min_yen > heuristic.net_worth_mean_yen


def test_the_waste_aware_agent_is_the_heuristic_where_nothing_spoils():
    world = World()
    plain = run_episode(world=world, seed=2, days=90, agent=make_agent("heuristic", world))
    aware = run_episode(world=world, seed=2, days=90, agent=make_agent("heuristic_waste_aware", world))

    assert (plain.series["net_worth"] == aware.series["net_worth"]).all()
