"""Many seeds on every core: the seeds are cut into one contiguous chunk per worker process, each chunk runs the
vectorised batch (`batch.run_restock_to_par_batch`, for the heuristic) or one episode per seed (for the agents
without a batch twin), and the chunks are put back together in seed order.

A seed's numbers do not depend on its neighbours, its chunk or its process (each draws from its own generator, and
nothing in the day is shared between shops), so the result is the one-process result, number for number
(`tests/experiments/test_parallel.py`). Workers are forked where the platform can (Linux): they start with the modules
already imported, in milliseconds; elsewhere they are spawned and import the simulator first.
"""

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np

from .agents import RestockToParAgent, make_agent
from .batch import run_restock_to_par_batch
from .engine import SERIES_NAMES
from .episode import run_episode
from .world import World


@dataclass(frozen=True)
class ChunkResult:
    seeds: list[int]
    series: dict[str, np.ndarray]  # name -> (seeds, days)
    bankrupt_day: np.ndarray  # (seeds,) -1 for shops that never went bankrupt
    seconds: float  # the worker's own time for the chunk, scenarios included
    cpu_seconds: float  # the worker's CPU time for it: what the chunk cost whatever else the machine ran


@dataclass(frozen=True)
class SeedsResult:
    seeds: list[int]
    days: int
    agent: str
    series: dict[str, np.ndarray]  # name -> (seeds, days), rows in the order of `seeds`
    bankrupt_day: np.ndarray
    workers: int
    chunk_seconds: list[float]  # each worker's time for its chunk
    chunk_cpu_seconds: list[float]
    chunk_sizes: list[int]
    elapsed_seconds: float  # the whole run's wall time: starting the workers and gathering the results included

    @property
    def final_net_worth(self) -> np.ndarray:
        return self.series["net_worth"][:, -1]

    @property
    def shop_days(self) -> int:
        return len(self.seeds) * self.days

    @property
    def shop_days_per_second(self) -> float:
        return self.shop_days / self.elapsed_seconds

    @property
    def shop_days_per_second_per_core(self) -> float:
        """What one worker does on its own: the mean of each chunk's shop-days over that chunk's own time."""
        rates = [size * self.days / seconds for size, seconds in zip(self.chunk_sizes, self.chunk_seconds, strict=True)]
        return sum(rates) / len(rates)

    @property
    def shop_days_per_cpu_second(self) -> float:
        """The same per worker, over its CPU time: how fast one core runs when it is not shared."""
        return self.shop_days / sum(self.chunk_cpu_seconds)


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_chunk(*, world: World, seeds: Sequence[int], days: int, agent: str) -> ChunkResult:
    """One worker's share, in this process."""
    started, cpu_started = time.perf_counter(), time.process_time()
    seeds = [int(seed) for seed in seeds]
    if agent == RestockToParAgent.name and not world.has_fresh_products:
        batch = run_restock_to_par_batch(world=world, seeds=seeds, days=days)
        series, bankrupt_day = batch.series, batch.bankrupt_day
    else:
        results = [run_episode(world=world, seed=seed, days=days, agent=make_agent(agent, world)) for seed in seeds]
        series = {name: np.stack([result.series[name] for result in results]) for name in SERIES_NAMES}
        bankrupt_day = np.array([-1 if r.bankrupt_day is None else r.bankrupt_day for r in results], dtype=np.int64)
    return ChunkResult(seeds, series, bankrupt_day, time.perf_counter() - started, time.process_time() - cpu_started)


def _pool_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def run_seeds(
    *,
    world: World,
    seeds: Sequence[int],
    days: int,
    agent: str,
    workers: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> SeedsResult:
    """Every seed's episode, spread over `workers` processes (all cores by default; 1 runs in this process).
    `on_chunk(n)` is called as each chunk of n seeds finishes."""
    make_agent(agent, world)  # an unknown agent fails here, before any process starts
    started = time.perf_counter()
    seeds = [int(seed) for seed in seeds]
    workers = max(1, min(workers or available_cores(), len(seeds)))
    chunks = [list(chunk) for chunk in np.array_split(np.array(seeds, dtype=np.int64), workers)]
    if workers == 1:
        results = [run_chunk(world=world, seeds=seeds, days=days, agent=agent)]
        if on_chunk:
            on_chunk(len(seeds))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
            futures = [pool.submit(run_chunk, world=world, seeds=chunk, days=days, agent=agent) for chunk in chunks]
            for future in as_completed(futures):
                if on_chunk:
                    on_chunk(len(future.result().seeds))
            results = [future.result() for future in futures]  # in seed order, whatever finished first
    return SeedsResult(
        seeds=seeds,
        days=days,
        agent=agent,
        series={name: np.concatenate([r.series[name] for r in results]) for name in SERIES_NAMES},
        bankrupt_day=np.concatenate([r.bankrupt_day for r in results]),
        workers=workers,
        chunk_seconds=[r.seconds for r in results],
        chunk_cpu_seconds=[r.cpu_seconds for r in results],
        chunk_sizes=[len(r.seeds) for r in results],
        elapsed_seconds=time.perf_counter() - started,
    )
