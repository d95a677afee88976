"""How fast the shop simulator runs: one episode, and many seeds on every core, each beside its baseline.

    .venv/bin/python bench/sim_speed.py [--days 365] [--seeds 1000] [--repeat 15] [--batch-repeat 3]

- One 365-day heuristic episode (`run_episode`, the plain-Python day of `sim/shop.py`, scenario drawing included),
  timed `--repeat` times after a warm-up; the baseline, timed in the same loop, is the same shop on the NumPy batch
  engine as a batch of one (what an episode ran on before). Target: 0.02 s or less.
- Many seeds (`run_seeds`, the vectorised heuristic in one process per core); the baseline is the same seeds in this
  process alone (`--workers 1`). It prints shop-days per second in total and per core (each worker's own chunk over
  its own time). Target: 250,000 shop-days/s or more in total. The two results are also compared number for number.

Best and median of the runs are printed, with CPU time beside wall time: on a shared machine the wall clock also
counts other people's work.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402 — after the path above, like the imports below

from apps.experiments.sim.agents import RestockToParAgent  # noqa: E402
from apps.experiments.sim.batch import run_restock_to_par_batch  # noqa: E402
from apps.experiments.sim.episode import run_episode  # noqa: E402
from apps.experiments.sim.parallel import available_cores, run_seeds  # noqa: E402
from apps.experiments.sim.world import World  # noqa: E402

EPISODE_TARGET_SECONDS = 0.02
BATCH_TARGET_DAYS_PER_SECOND = 250_000


def _timed(function) -> tuple[float, float]:
    started, cpu_started = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - started, time.process_time() - cpu_started


def _spread(seconds: list[float]) -> str:
    return f"best {min(seconds):.4f} s, median {statistics.median(seconds):.4f} s"


def _episodes(world: World, days: int, repeat: int) -> float:
    run_episode(world=world, seed=0, days=days, agent=RestockToParAgent(world))
    run_restock_to_par_batch(world=world, seeds=[0], days=days)
    episode, episode_cpu, baseline, baseline_cpu = [], [], [], []
    for seed in range(1, repeat + 1):
        wall, cpu = _timed(
            lambda seed=seed: run_episode(world=world, seed=seed, days=days, agent=RestockToParAgent(world))
        )
        episode.append(wall)
        episode_cpu.append(cpu)
        wall, cpu = _timed(lambda seed=seed: run_restock_to_par_batch(world=world, seeds=[seed], days=days))
        baseline.append(wall)
        baseline_cpu.append(cpu)
    median = statistics.median(episode)
    print(
        f"episode, {days} days: wall {_spread(episode)} (CPU {_spread(episode_cpu)}) = {days / median:,.0f} "
        f"shop-days/s; target <= {EPISODE_TARGET_SECONDS} s: {'met' if median <= EPISODE_TARGET_SECONDS else 'MISSED'}"
    )
    print(
        f"  baseline, the same shop on the NumPy batch engine (a batch of one): wall {_spread(baseline)} "
        f"(CPU {_spread(baseline_cpu)}); {statistics.median(baseline) / median:.1f}x the episode's median"
    )
    return median


def _batches(world: World, days: int, seeds: int, repeat: int) -> float:
    cores = available_cores()
    totals, per_core, per_cpu_second, alone = [], [], [], []
    for _ in range(repeat):
        one = run_seeds(world=world, seeds=range(seeds), days=days, agent="heuristic", workers=1)
        many = run_seeds(world=world, seeds=range(seeds), days=days, agent="heuristic", workers=cores)
        if not all(np.array_equal(one.series[name], many.series[name]) for name in one.series):
            raise SystemExit("the parallel run differs from the one-process run")
        alone.append(one.shop_days_per_second)
        totals.append(many.shop_days_per_second)
        per_core.append(many.shop_days_per_second_per_core)
        per_cpu_second.append(many.shop_days_per_cpu_second)
    median = statistics.median(totals)
    print(
        f"batch, {seeds} seeds x {days} days on {cores} processes: best {max(totals):,.0f}, median {median:,.0f} "
        f"shop-days/s in total; per core best {max(per_core):,.0f}, median {statistics.median(per_core):,.0f}; "
        f"target >= {BATCH_TARGET_DAYS_PER_SECOND:,} in total: "
        f"{'met' if median >= BATCH_TARGET_DAYS_PER_SECOND else 'MISSED'}"
    )
    print(
        f"  per CPU-second of a worker (what a core does unshared): median {statistics.median(per_cpu_second):,.0f}, "
        f"x {cores} cores = {cores * statistics.median(per_cpu_second):,.0f} shop-days/s"
    )
    print(
        f"  baseline, one process: median {statistics.median(alone):,.0f} shop-days/s (best {max(alone):,.0f}); "
        f"{median / statistics.median(alone):.2f}x with every core; results identical"
    )
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--batch-repeat", type=int, default=3)
    args = parser.parse_args()
    world = World()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    _episodes(world, args.days, args.repeat)
    _batches(world, args.days, args.seeds, args.batch_repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
