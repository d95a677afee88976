import numpy as np
import pytest

from apps.experiments.sim.agents import RestockToParAgent
from apps.experiments.sim.batch import run_restock_to_par_batch
from apps.experiments.sim.episode import run_episode
from apps.experiments.sim.world import World


@pytest.mark.parametrize(
    "world",
    [
        World(),
        # A fee this high bankrupts some shops mid-run, so the batch must freeze them exactly as one episode does.
        World(daily_fee_yen=3_200),
    ],
    ids=["default", "ruinous_fee"],
)
def test_the_batch_gives_each_seed_the_episode_it_gets_alone(world):
    seeds = [3, 1, 4, 15, 92]
    batch = run_restock_to_par_batch(world=world, seeds=seeds, days=200)
    for row, seed in enumerate(seeds):
        alone = run_episode(world=world, seed=seed, days=200, agent=RestockToParAgent(world))
        for name, values in alone.series.items():
            assert np.array_equal(batch.series[name][row], values), (seed, name)
        assert batch.bankrupt_day[row] == (-1 if alone.bankrupt_day is None else alone.bankrupt_day)


def test_a_seeds_result_does_not_depend_on_its_neighbours_in_the_batch():
    world = World()
    together = run_restock_to_par_batch(world=world, seeds=[8, 9, 10], days=90)
    alone = run_restock_to_par_batch(world=world, seeds=[9], days=90)
    assert np.array_equal(together.series["net_worth"][1], alone.series["net_worth"][0])


def test_seeds_deep_inside_a_large_batch_match_their_single_runs():
    """Rows far into a big batch sit at other offsets in memory (other SIMD lanes); their numbers must not move."""
    world = World()
    seeds = list(range(100, 164))
    batch = run_restock_to_par_batch(world=world, seeds=seeds, days=45)
    for row in (0, 37, 63):
        alone = run_episode(world=world, seed=seeds[row], days=45, agent=RestockToParAgent(world))
        assert np.array_equal(batch.series["net_worth"][row], alone.series["net_worth"])
        assert np.array_equal(batch.series["units_sold"][row], alone.series["units_sold"])
