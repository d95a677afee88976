"""How fast the shop simulator runs: simulated shop-days per second, single episode and a batch of seeds.

    .venv/bin/python bench/sim_speed.py [--days 365] [--seeds 1000] [--repeat 5]

Targets: one 365-day heuristic episode under 0.05 s; the batch at 100,000 shop-days/s or more. Times are
wall-clock and include drawing each seed's scenario; the process CPU time is printed beside them, because on a shared
machine the wall clock also counts other people's work. The single episode is timed `--repeat` times after one warm-up
run and the median is reported; the batch runs once (it takes seconds).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.experiments.sim.agents import RestockToParAgent  # noqa: E402 — needs the path above
from apps.experiments.sim.batch import run_restock_to_par_batch  # noqa: E402
from apps.experiments.sim.episode import run_episode  # noqa: E402
from apps.experiments.sim.world import World  # noqa: E402

EPISODE_TARGET_SECONDS = 0.05
BATCH_TARGET_DAYS_PER_SECOND = 100_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    world = World()

    run_episode(world=world, seed=0, days=args.days, agent=RestockToParAgent(world))
    timings, cpu_timings = [], []
    for seed in range(1, args.repeat + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        run_episode(world=world, seed=seed, days=args.days, agent=RestockToParAgent(world))
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - cpu_started)
    episode_seconds = statistics.median(timings)
    print(
        f"single episode: {args.days} days in {episode_seconds:.4f} s (median of {args.repeat}; "
        f"min {min(timings):.4f}, max {max(timings):.4f}; CPU {statistics.median(cpu_timings):.4f} s) "
        f"= {args.days / episode_seconds:,.0f} shop-days/s; "
        f"target < {EPISODE_TARGET_SECONDS} s: {'met' if episode_seconds < EPISODE_TARGET_SECONDS else 'MISSED'}"
    )

    started, cpu_started = time.perf_counter(), time.process_time()
    run_restock_to_par_batch(world=world, seeds=range(args.seeds), days=args.days)
    batch_seconds, batch_cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    rate = args.seeds * args.days / batch_seconds
    print(
        f"batch: {args.seeds} seeds x {args.days} days in {batch_seconds:.2f} s (CPU {batch_cpu_seconds:.2f} s) "
        f"= {rate:,.0f} shop-days/s; "
        f"target >= {BATCH_TARGET_DAYS_PER_SECOND:,}: {'met' if rate >= BATCH_TARGET_DAYS_PER_SECOND else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
