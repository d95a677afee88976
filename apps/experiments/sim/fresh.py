"""Fresh food in the simulator: the heuristic's ordering with and without waste-aware procurement, on the world
whose onigiri and sandwiches keep three days (`world.fresh_food_world`). The figure is in docs/experiments.md
(`bench/sim_spoilage.py` prints it)."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .agents import RestockToParAgent, WasteAwareAgent, make_agent
from .episode import run_episode
from .world import World, fresh_food_world


@dataclass(frozen=True)
class SpoilageFigures:
    agent: str
    net_worth_mean_yen: float
    net_worth_sd_yen: float
    net_worth_min_yen: int
    fresh_sold_mean: float
    fresh_spoiled_mean: float
    fresh_requests_mean: float  # customers who wanted a fresh product and found none

    @property
    def spoiled_share(self) -> float:
        gone = self.fresh_sold_mean + self.fresh_spoiled_mean
        return self.fresh_spoiled_mean / gone if gone else 0.0


def spoilage_comparison(*, seeds: Sequence[int], days: int, world: World | None = None) -> list[SpoilageFigures]:
    """The same seeds run by the heuristic and by its waste-aware twin, summed over the fresh products."""
    world = world or fresh_food_world()
    fresh = [product for product, life in enumerate(world.shelf_life_days) if life]
    figures = []
    for name in (RestockToParAgent.name, WasteAwareAgent.name):
        results = [run_episode(world=world, seed=seed, days=days, agent=make_agent(name, world)) for seed in seeds]
        worth = np.array([result.final_net_worth for result in results])
        figures.append(
            SpoilageFigures(
                agent=name,
                net_worth_mean_yen=float(worth.mean()),
                net_worth_sd_yen=float(worth.std(ddof=1)) if len(worth) > 1 else 0.0,
                net_worth_min_yen=int(worth.min()),
                fresh_sold_mean=float(np.mean([r.sold_by_product[:, fresh].sum() for r in results])),
                fresh_spoiled_mean=float(np.mean([r.spoiled_by_product[:, fresh].sum() for r in results])),
                fresh_requests_mean=float(np.mean([r.requests_by_product[:, fresh].sum() for r in results])),
            )
        )
    return figures
