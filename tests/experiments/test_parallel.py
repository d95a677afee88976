"""Many seeds on every core give each seed the episode it gets alone, in one process, in any chunk."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from apps.experiments.sim.agents import make_agent
from apps.experiments.sim.batch import run_restock_to_par_batch
from apps.experiments.sim.episode import run_episode
from apps.experiments.sim.parallel import run_seeds
from apps.experiments.sim.world import World


def _assert_same(parallel, series: dict[str, np.ndarray], bankrupt_day: np.ndarray) -> None:
    assert parallel.series.keys() == series.keys()
    for name, values in series.items():
        assert np.array_equal(parallel.series[name], values), name
    assert np.array_equal(parallel.bankrupt_day, bankrupt_day)


@pytest.mark.parametrize(
    "world",
    [World(), World(daily_fee_yen=3_200)],  # the ruinous fee bankrupts some shops mid-run, in some chunks
    ids=["default", "ruinous_fee"],
)
def test_the_heuristic_on_three_processes_equals_the_one_process_batch(world):
    seeds = [7, 3, 11, 40, 2, 19, 5]
    parallel = run_seeds(world=world, seeds=seeds, days=150, agent="heuristic", workers=3)
    alone = run_restock_to_par_batch(world=world, seeds=seeds, days=150)

    assert parallel.workers == 3 and sorted(parallel.chunk_sizes) == [2, 2, 3]
    assert parallel.seeds == seeds
    _assert_same(parallel, alone.series, alone.bankrupt_day)
    if world.daily_fee_yen > 1_500:
        assert (parallel.bankrupt_day >= 0).any() and (parallel.bankrupt_day < 0).any()


def test_an_agent_without_a_batch_twin_runs_one_episode_per_seed_in_the_workers():
    world = World()
    seeds = [4, 9, 13]
    parallel = run_seeds(world=world, seeds=seeds, days=60, agent="elasticity", workers=2)
    episodes = [run_episode(world=world, seed=seed, days=60, agent=make_agent("elasticity", world)) for seed in seeds]

    series = {name: np.stack([e.series[name] for e in episodes]) for name in episodes[0].series}
    _assert_same(parallel, series, np.full(len(seeds), -1))


def test_the_same_seeds_give_the_same_numbers_whatever_the_number_of_processes():
    world = World()
    one = run_seeds(world=world, seeds=range(20, 30), days=90, agent="heuristic", workers=1)
    two = run_seeds(world=world, seeds=range(20, 30), days=90, agent="heuristic", workers=2)
    assert one.workers == 1 and two.workers == 2
    _assert_same(two, one.series, one.bankrupt_day)
    assert one.shop_days == 900 and two.shop_days_per_second > 0 and two.shop_days_per_second_per_core > 0


def test_simulate_with_many_seeds_prints_each_seeds_final_net_worth_and_the_speed():
    out = StringIO()
    call_command("simulate", "--seed", "3", "--seeds", "4", "--days", "40", "--workers", "2", "--json", stdout=out)
    result = json.loads(out.getvalue())
    world = World()
    expected = [
        run_episode(world=world, seed=seed, days=40, agent=make_agent("heuristic", world)).final_net_worth
        for seed in (3, 4, 5, 6)
    ]
    assert result["seeds"] == [3, 4, 5, 6] and result["final_net_worth_yen"] == expected
    assert result["workers"] == 2 and result["bankrupt"] == 0
    assert result["shop_days_per_second"] > 0 and result["shop_days_per_second_per_core"] > 0


def test_simulate_with_many_seeds_prints_a_summary_a_person_can_read():
    out = StringIO()
    call_command("simulate", "--seeds", "3", "--days", "30", "--workers", "2", stdout=out)
    text = out.getvalue()
    assert "seeds 1–3, 30 days" in text and "final net worth: mean ¥" in text
    assert "90 shop-days" in text and "on 2 processes" in text and "per core" in text


@pytest.mark.parametrize("flag", ["--seeds", "--workers"])
def test_simulate_refuses_a_nonsense_number_of_seeds_or_workers(flag):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="at least 1"):
        call_command("simulate", flag, "0", stdout=StringIO())
