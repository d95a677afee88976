"""Spoilage in the simulator: the heuristic's ordering with and without waste-aware procurement.

    .venv/bin/python bench/sim_spoilage.py [--days 365] [--seeds 20]

The world is the default one with two fresh products (onigiri ¥160, sandwiches ¥300) whose deliveries keep 3 days
(`world.fresh_food_world`); seeds 1..N, each run by `heuristic` and `heuristic_waste_aware`. Prints per agent the
final net worth (mean, sd, min), and summed over the fresh products the units sold, thrown away past their date
(and their share of what left the shop) and customers who found none. The figure in docs/experiments.md.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.experiments.sim.fresh import spoilage_comparison  # noqa: E402 — after the path above


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seeds", type=int, default=20)
    options = parser.parse_args()
    started = time.perf_counter()
    figures = spoilage_comparison(seeds=range(1, options.seeds + 1), days=options.days)
    print(f"fresh-food world, seeds 1-{options.seeds}, {options.days} days")
    print("agent                  net worth mean (sd)     min        fresh sold  spoiled (share)  wanted, none left")
    for row in figures:
        print(
            f"{row.agent:<22} ¥{row.net_worth_mean_yen:>9,.0f} (¥{row.net_worth_sd_yen:>6,.0f})  ¥{row.net_worth_min_yen:>9,}"
            f"  {row.fresh_sold_mean:>10,.0f}  {row.fresh_spoiled_mean:>7,.0f} ({row.spoiled_share:>4.0%})"
            f"  {row.fresh_requests_mean:>17,.0f}"
        )
    print(f"time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
