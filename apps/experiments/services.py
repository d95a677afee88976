"""Writes of the experiments app: calibrations, experiments and their runs, A/B tests and exposures."""

import logging
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.utils import timezone

from apps.agents.models import Persona
from apps.agents.routing import provider_choice
from apps.agents.selectors import shopkeeper_for_chat
from apps.agents.services import agent_persona_set
from apps.core.errors import Conflict, ValidationError
from apps.core.services import audit_record
from apps.experiments import assignment, selectors
from apps.experiments.arena import leaderboard
from apps.experiments.arena.provider_agent import BudgetCap
from apps.experiments.arena.run import run_arena
from apps.experiments.arena.tools import POLICIES, arena_agent
from apps.experiments.arena.world import demo_world
from apps.experiments.calibration import fit_demand
from apps.experiments.live import broadcast_on_commit
from apps.experiments.models import (
    ABTest,
    ABVariant,
    ArenaLeaderboard,
    ArenaRun,
    Calibration,
    Experiment,
    Exposure,
    Run,
)
from apps.experiments.runner import agent_for_variant, world_for_variant
from apps.experiments.sim.episode import run_episode

logger = logging.getLogger(__name__)

STORED_SERIES = ("net_worth", "cash", "revenue", "purchases", "units_sold", "stock_units")
PROGRESS_STEPS = 20  # progress is written (and broadcast) about this many times a run


# --- calibration ------------------------------------------------------------------------------------------------


@transaction.atomic
def calibration_create(*, name: str) -> Calibration:
    first_day, products = selectors.daily_product_sales()
    if not products:
        raise ValidationError("There are no sales to calibrate from yet.")
    parameters = fit_demand(products=products, first_weekday=first_day.weekday())
    return Calibration.objects.create(
        name=name,
        parameters=parameters,
        days_observed=parameters["days"],
        units_observed=int(sum(int(p.units.sum()) for p in products)),
    )


# --- experiments ------------------------------------------------------------------------------------------------


@transaction.atomic
def experiment_start(*, experiment: Experiment, actor) -> Experiment:
    """Create a run per variant × seed and send each to the workers once this commits."""
    experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
    if experiment.status != Experiment.Status.DRAFT:
        raise Conflict(f"「{experiment.name}」は開始済みです。複製して新しい実験にしてください。")
    variants = list(experiment.variants.select_related("calibration"))
    if not variants:
        raise ValidationError("実験にはバリアントが1つ以上必要です。")
    for variant in variants:
        # Refuse a variant that cannot run now rather than failing its runs one by one on the workers.
        agent_for_variant(variant, world_for_variant(variant))
    runs = Run.objects.bulk_create(
        [Run(experiment=experiment, variant=variant, seed=seed) for variant in variants for seed in experiment.seeds]
    )
    experiment.status = Experiment.Status.RUNNING
    experiment.started_at = timezone.now()
    experiment.save(update_fields=["status", "started_at"])
    audit_record(target=experiment, action="experiment_start", actor=actor, from_state="draft", to_state="running")
    from apps.experiments.tasks import run_execute  # tasks import this module

    run_ids = [run.pk for run in runs]
    transaction.on_commit(lambda: [run_execute.delay(run_id) for run_id in run_ids])
    return experiment


@transaction.atomic
def run_begin(*, run_id: int) -> Run | None:
    """Mark a run as running (from the start again if a worker died in it); None when it is already done."""
    run = (
        Run.objects.select_for_update(of=("self",))
        .select_related("experiment", "variant__calibration", "variant__persona")
        .get(pk=run_id)
    )
    if run.status == Run.Status.FINISHED:
        return None
    run.status, run.days_done, run.error, run.started_at = Run.Status.RUNNING, 0, "", timezone.now()
    run.save(update_fields=["status", "days_done", "error", "started_at"])
    return run


def _event(run: Run, **extra) -> dict:
    return {"type": "run", "run": run.pk, "variant": run.variant.name, "seed": run.seed, **extra}


@transaction.atomic
def run_progress_record(*, run: Run, days_done: int) -> None:
    Run.objects.filter(pk=run.pk).update(days_done=days_done)
    broadcast_on_commit(run.experiment_id, _event(run, status=Run.Status.RUNNING, days_done=days_done))


@transaction.atomic
def run_finish(*, run: Run, result, agent_usage: dict | None = None) -> Run:
    run.status = Run.Status.FINISHED
    run.days_done = result.days
    run.final_net_worth_yen = result.final_net_worth
    run.bankrupt_day = result.bankrupt_day
    run.series = {name: np.asarray(result.series[name]).tolist() for name in STORED_SERIES}
    run.summary = result.summary() | ({"agent": agent_usage} if agent_usage else {})
    run.finished_at = timezone.now()
    run.save()
    broadcast_on_commit(
        run.experiment_id,
        _event(run, status=run.status, days_done=run.days_done, final_net_worth_yen=run.final_net_worth_yen),
    )
    _experiment_close_if_done(experiment_id=run.experiment_id)
    return run


@transaction.atomic
def run_fail(*, run: Run, error: str) -> None:
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED, error=error[:2000], finished_at=timezone.now())
    broadcast_on_commit(run.experiment_id, _event(run, status=Run.Status.FAILED, error=error[:200]))
    _experiment_close_if_done(experiment_id=run.experiment_id)


def _experiment_close_if_done(*, experiment_id: int) -> None:
    experiment = Experiment.objects.select_for_update().get(pk=experiment_id)
    statuses = set(experiment.runs.values_list("status", flat=True))
    if statuses & {Run.Status.QUEUED, Run.Status.RUNNING}:
        return
    experiment.status = Experiment.Status.FAILED if Run.Status.FAILED in statuses else Experiment.Status.FINISHED
    experiment.finished_at = timezone.now()
    experiment.save(update_fields=["status", "finished_at"])
    broadcast_on_commit(experiment.pk, {"type": "experiment", "status": experiment.status})


def run_execute(*, run_id: int) -> Run | None:
    """Play one run. Not one transaction: progress is committed as the episode goes, so pages can show it."""
    run = run_begin(run_id=run_id)
    if run is None:
        return None
    days = run.experiment.days
    every = max(1, days // PROGRESS_STEPS)

    def progress(day: int) -> None:
        if day % every == 0 and day < days:
            run_progress_record(run=run, days_done=day)

    try:
        world = world_for_variant(run.variant)
        agent = agent_for_variant(run.variant, world)
        result = run_episode(world=world, seed=run.seed, days=days, agent=agent, on_day=progress)
    except Exception as exc:
        logger.exception("Experiment run %s failed", run.pk)
        run_fail(run=run, error=f"{type(exc).__name__}: {exc}")
        return None
    # Provider agents report their tool calls, refusals by rule and tokens; the baselines have nothing to add.
    usage = agent.usage() if hasattr(agent, "usage") else None
    return run_finish(run=run, result=result, agent_usage=usage)


# --- A/B tests --------------------------------------------------------------------------------------------------


@transaction.atomic
def ab_test_start(*, test: ABTest, actor) -> ABTest:
    test = ABTest.objects.select_for_update().get(pk=test.pk)
    if test.status != ABTest.Status.DRAFT:
        raise Conflict(f"「{test.name}」は開始済みです。")
    if test.variants.count() < 2:
        raise ValidationError("A/Bテストにはペルソナが2つ以上必要です。")
    if ABTest.objects.filter(status=ABTest.Status.RUNNING).exists():
        raise Conflict("実施中のA/Bテストがあります。先に終了してください。")
    test.status, test.started_at = ABTest.Status.RUNNING, timezone.now()
    test.save(update_fields=["status", "started_at"])
    audit_record(target=test, action="ab_test_start", actor=actor, from_state="draft", to_state="running")
    return test


@transaction.atomic
def exposure_record(*, conversation, customer_key: str, channel: str, machine) -> Persona | None:
    """Put a new conversation into the running test that covers its channel and machine; its persona, or None."""
    test = selectors.running_ab_test(channel=channel, machine=machine)
    if test is None:
        return None
    variants = list(test.variants.all())
    key = assignment.assignment_key(customer_key=customer_key, conversation_id=conversation.pk)
    variant = variants[assignment.choose(test_id=test.pk, key=key, weights=[v.weight for v in variants])]
    Exposure.objects.create(test=test, variant=variant, conversation=conversation, assignment_key=key)
    return variant.persona


def _best_variant(test: ABTest) -> ABVariant:
    rows = selectors.ab_test_results(test=test)["variants"]
    best = max(rows, key=lambda row: (row["revenue_per_conversation_yen"] or 0, row["conversion_rate"] or 0))
    return test.variants.get(pk=best["id"])


@transaction.atomic
def ab_test_stop(*, test: ABTest, actor, winner: ABVariant | None = None) -> ABTest:
    """End the test and make the winner (given, or the most revenue per conversation) the shopkeeper's persona."""
    test = ABTest.objects.select_for_update().get(pk=test.pk)
    if test.status != ABTest.Status.RUNNING:
        raise Conflict(f"「{test.name}」は実施中ではありません。")
    winner = winner or _best_variant(test)
    if winner.test_id != test.pk:
        raise ValidationError("勝者はこのテストのペルソナから選んでください。")
    agent = test.agent or shopkeeper_for_chat()
    test.status, test.stopped_at, test.winner = ABTest.Status.STOPPED, timezone.now(), winner
    test.save(update_fields=["status", "stopped_at", "winner"])
    audit_record(
        target=test,
        action="ab_test_stop",
        actor=actor,
        from_state="running",
        to_state="stopped",
        reason=f"winner: {winner.persona.name}",
    )
    if agent is not None:
        agent_persona_set(
            agent=agent, persona=winner.persona, actor=actor, reason=f"A/B test {test.pk}「{test.name}」の勝者"
        )
    return test


# --- the agent arena --------------------------------------------------------------------------------------------

ARENA_STORED_SERIES = ("net_worth", "cash", "coin_box", "revenue", "purchases", "units_sold", "waste")


def _arena_model_provider():
    """The live model choice for a procurement agent on Anthropic; refused when live would answer offline."""
    choice = provider_choice(agent=arena_agent(provider="anthropic"), customer_key="")
    if choice.fallback_reason or choice.provider.name != "anthropic":
        raise ValidationError(
            f"The model agent cannot run on this server now ({choice.fallback_reason or 'no model'})."
        )
    return choice.provider


def arena_leaderboard_run(
    *,
    name: str,
    days: int,
    first_seed: int,
    seed_count: int,
    agents: list[str],
    personas: list[Persona | None],
    policies: list[str],
    workers: int | None = None,
    model_budget_yen: int | None = None,
) -> ArenaLeaderboard:
    """Run the arena's grid on `seed_count` seeds and store the leaderboard with every run and its trace. A model
    agent ("llm") needs a key and `model_budget_yen`: its runs stop calling the model once the budget is spent."""
    known = {*leaderboard.BASELINES, "offline", "llm"}
    if days < 1 or seed_count < 1:
        raise ValidationError("A leaderboard needs at least one day and one seed.")
    if unknown := set(agents) - known or set(policies) - set(POLICIES):
        raise ValidationError(f"Unknown agents or policies: {', '.join(sorted(unknown))}.")
    grid = leaderboard.entrants(agents=agents, personas=personas, policies=policies or ["shop"])
    provider = budget = estimate = None
    if "llm" in agents:
        if not model_budget_yen:
            raise ValidationError("A model agent runs only within a budget: give model_budget_yen.")
        provider = _arena_model_provider()
        model_runs = sum(entrant.agent == "llm" for entrant in grid) * seed_count
        estimate = leaderboard.estimated_model_cost_yen(model_name=provider.model_name, days=days, runs=model_runs)
        budget = BudgetCap(Decimal(model_budget_yen))
    world = demo_world()

    def model_run(entrant, seed):
        agent = leaderboard.make_agent(entrant, provider=provider, budget=budget)
        return run_arena(world=world, seed=seed, days=days, agent=agent, policy=entrant.policy)

    started = timezone.now()
    seeds = list(range(first_seed, first_seed + seed_count))
    results = leaderboard.run_entries(
        world=world, grid=grid, seeds=seeds, days=days, workers=workers, model_run=model_run
    )
    elapsed = (timezone.now() - started).total_seconds()
    return arena_leaderboard_store(
        name=name,
        days=days,
        seeds=seeds,
        results=results,
        elapsed_seconds=elapsed,
        estimated_model_cost_yen=estimate,
        model_budget_yen=model_budget_yen,
    )


@transaction.atomic
def arena_leaderboard_store(
    *,
    name: str,
    days: int,
    seeds: list[int],
    results: list,
    elapsed_seconds: float,
    estimated_model_cost_yen=None,
    model_budget_yen: int | None = None,
) -> ArenaLeaderboard:
    """The leaderboard's rows and every run (series, events, gzip'd trace) in one transaction."""
    board = ArenaLeaderboard.objects.create(
        name=name,
        days=days,
        first_seed=seeds[0],
        seed_count=len(seeds),
        rows=leaderboard.leaderboard_rows(results),
        elapsed_seconds=elapsed_seconds,
        estimated_model_cost_yen=estimated_model_cost_yen,
        model_budget_yen=model_budget_yen,
    )
    ArenaRun.objects.bulk_create(
        ArenaRun(
            leaderboard=board,
            entrant=entrant.label,
            agent=entrant.agent,
            persona=entrant.persona,
            policy=entrant.policy,
            seed=result.seed,
            days=days,
            final_net_worth_yen=result.final_net_worth,
            bankrupt_day=result.bankrupt_day,
            summary=result.agent_summary,
            series={key: result.series[key] for key in ARENA_STORED_SERIES},
            events=result.events,
            trace=result.packed_trace(),
        )
        for entrant, result in results
    )
    return board
