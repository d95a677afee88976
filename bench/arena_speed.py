"""How fast the agent arena runs a year: the heuristic and the offline agent (on the shop's policy and on the
ablation without it) on the demo shop's world, 100 seeds × 365 days on every core, traces kept as they are stored.

    .venv/bin/python bench/arena_speed.py [--days 365] [--seeds 100] [--workers N]

Prints the leaderboard (mean final net worth with its 95% interval, bankruptcy rate, refusals and tool calls per
run), the wall time of the whole grid and its CPU time per run. Target: the grid in under a minute on this 2-core
machine. No database: the leaderboard `manage.py arena` stores is the same computation plus the writes.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendbot.settings.test")

import django  # noqa: E402 — after the path and settings above

django.setup()

from apps.experiments.arena.leaderboard import entrants, leaderboard_rows, run_entries  # noqa: E402
from apps.experiments.arena.world import demo_world  # noqa: E402

TARGET_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--workers", type=int, default=None)
    options = parser.parse_args()
    world = demo_world()
    grid = entrants(agents=[], personas=[None], policies=["shop", "none"])
    started, cpu_started = time.perf_counter(), time.process_time()
    results = run_entries(
        world=world, grid=grid, seeds=range(1, options.seeds + 1), days=options.days, workers=options.workers
    )
    elapsed = time.perf_counter() - started
    cpu_per_run = {}
    for entrant, result in results:
        cpu_per_run.setdefault(entrant.label, []).append(result.elapsed_seconds)
    for row in leaderboard_rows(results):
        seconds = cpu_per_run[row["entrant"]]
        print(
            f"{row['entrant']:<24} mean ¥{row['mean_net_worth_yen']:,} (95% ¥{row['ci_low_yen']:,}–¥{row['ci_high_yen']:,})"
            f" bankrupt {row['bankruptcy_rate']:.0%} refused/run {row['refusals_per_run']:.2f}"
            f" calls/run {row['tool_calls_per_run']:.0f} waste/run ¥{row['waste_yen_per_run']:,}"
            f" run {sum(seconds) / len(seconds):.3f} s"
        )
    verdict = "met" if elapsed < TARGET_SECONDS else "MISSED"
    print(
        f"{len(results)} runs ({len(grid)} entrants × {options.seeds} seeds × {options.days} days) in {elapsed:.1f} s "
        f"wall (target {TARGET_SECONDS} s: {verdict}); main process CPU {time.process_time() - cpu_started:.1f} s; "
        f"load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
