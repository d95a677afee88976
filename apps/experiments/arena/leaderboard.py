"""The leaderboard: agents × personas × policies over N seeds, each entrant on the same seeds (the same years).

Per entrant: mean final net worth with its 95% confidence interval (t distribution, `apps.experiments.stats`), the
bankruptcy rate, policy refusals per run, tool calls per run, fresh food thrown away per run (at cost) and the cost
of its model calls. The heuristic and the
offline agent are always entered; a model agent is entered only when asked for and a key is set, after its estimated
cost is shown, within a yen budget that stops it (`BudgetCap`), and runs in this process one seed after another
(the baselines spread over every core: `run_entries`).
"""

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from apps.agents.models import Persona
from apps.agents.routing import cost_yen
from apps.experiments.sim.parallel import _pool_context, available_cores
from apps.experiments.stats import mean_interval

from .agents import BASELINES
from .provider_agent import ArenaProviderAgent, BudgetCap, offline_agent
from .run import ArenaResult, run_arena
from .tools import arena_agent
from .world import ArenaWorld

ALWAYS = ("heuristic", "offline")
# What a model agent spends a day, from the loopback-tested loop: about three calls on a ~5,000-token report with
# its tool results, ~400 tokens of tool calls each. The estimate shown before a model run is days × seeds × these.
ESTIMATED_INPUT_TOKENS_PER_DAY = 15_000
ESTIMATED_OUTPUT_TOKENS_PER_DAY = 1_200


@dataclass(frozen=True)
class Entrant:
    agent: str  # heuristic, tenfold, one_product, offline or llm
    policy: str = "shop"  # shop (the live policy) or none (the ablation); the baselines call no tools
    persona: Persona | None = None

    @property
    def label(self) -> str:
        persona = self.persona.name if self.persona else "—"
        policy = self.policy if self.agent not in BASELINES else "—"
        return f"{self.agent} / {persona} / {policy}"


def entrants(*, agents: Sequence[str], personas: Sequence[Persona | None], policies: Sequence[str]) -> list[Entrant]:
    """The grid, with the baselines once each (no persona, no tools to police) and the always-included ones first."""
    names = list(dict.fromkeys([*ALWAYS, *agents]))
    grid = []
    for name in names:
        if name in BASELINES:
            grid.append(Entrant(name, policy="shop"))
        else:
            grid.extend(Entrant(name, policy, persona) for persona in personas or [None] for policy in policies)
    return grid


def make_agent(entrant: Entrant, *, provider=None, budget: BudgetCap | None = None):
    if entrant.agent in BASELINES:
        return BASELINES[entrant.agent]()
    if entrant.agent == "offline":
        return offline_agent(persona=entrant.persona, policy=entrant.policy)
    agent = arena_agent(persona=entrant.persona, provider="anthropic", model_name=provider.model_name)
    return ArenaProviderAgent(provider=provider, agent=agent, policy=entrant.policy, budget=budget)


def estimated_model_cost_yen(*, model_name: str, days: int, runs: int) -> Decimal:
    return cost_yen(
        model_name=model_name,
        input_tokens=ESTIMATED_INPUT_TOKENS_PER_DAY * days * runs,
        output_tokens=ESTIMATED_OUTPUT_TOKENS_PER_DAY * days * runs,
    )


def _run_chunk(world: ArenaWorld, jobs: list[tuple[int, Entrant, int]], days: int, trace: bool) -> list:
    return [
        (
            index,
            run_arena(
                world=world, seed=seed, days=days, agent=make_agent(entrant), policy=entrant.policy, trace=trace
            ).pack(),
        )
        for index, entrant, seed in jobs
    ]


def run_entries(
    *,
    world: ArenaWorld,
    grid: list[Entrant],
    seeds: Sequence[int],
    days: int,
    workers: int | None = None,
    trace: bool = True,
    model_run: Callable[[Entrant, int], ArenaResult] | None = None,
) -> list[tuple[Entrant, ArenaResult]]:
    """Every entrant on every seed. Runs without a model go to `workers` processes (every core by default) in
    interleaved chunks, so each gets a fair share of slow and fast entrants; model runs go through `model_run` here."""
    local = [(index, entrant, seed) for index, (entrant, seed) in enumerate((e, s) for e in grid for s in seeds)]
    model_jobs = [job for job in local if job[1].agent == "llm"]
    jobs = [job for job in local if job[1].agent != "llm"]
    workers = max(1, min(workers or available_cores(), len(jobs) or 1))
    done: list[tuple[int, ArenaResult]] = []
    if workers == 1:
        done = _run_chunk(world, jobs, days, trace)
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
            futures = [pool.submit(_run_chunk, world, jobs[n::workers], days, trace) for n in range(workers)]
            for future in futures:
                done.extend(future.result())
    done.extend((index, model_run(entrant, seed)) for index, entrant, seed in model_jobs)
    by_index = dict(done)
    return [(entrant, by_index[index]) for index, entrant, _seed in local]


def leaderboard_rows(results: list[tuple[Entrant, ArenaResult]]) -> list[dict]:
    """One row per entrant, best mean first."""
    grouped: dict[Entrant, list[ArenaResult]] = {}
    for entrant, result in results:
        grouped.setdefault(entrant, []).append(result)
    rows = []
    for entrant, runs in grouped.items():
        finals = [run.final_net_worth for run in runs]
        interval = mean_interval(finals)
        rows.append(
            {
                "entrant": entrant.label,
                "agent": entrant.agent,
                "persona": entrant.persona.name if entrant.persona else "",
                "policy": entrant.policy if entrant.agent not in BASELINES else "",
                "runs": len(runs),
                "mean_net_worth_yen": round(interval.mean),
                "ci_low_yen": None if np.isnan(interval.low) else round(interval.low),
                "ci_high_yen": None if np.isnan(interval.high) else round(interval.high),
                "bankruptcy_rate": sum(run.bankrupt_day is not None for run in runs) / len(runs),
                "refusals_per_run": sum(sum(run.agent_summary["refusals"].values()) for run in runs) / len(runs),
                "tool_calls_per_run": sum(run.agent_summary["tool_calls"] for run in runs) / len(runs),
                "waste_yen_per_run": round(sum(sum(run.series["waste"]) for run in runs) / len(runs)),
                "model_cost_yen": round(sum(run.agent_summary["model_cost_yen"] for run in runs), 2),
            }
        )
    rows.sort(key=lambda row: row["mean_net_worth_yen"], reverse=True)
    return rows
