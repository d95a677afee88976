"""An experiment end to end: variants × seeds as Celery runs (eager here), results per day, and the comparison."""

import pytest

from apps.core.errors import Conflict, ValidationError
from apps.experiments.models import Experiment, Run, Variant
from apps.experiments.selectors import experiment_comparison, experiment_progress
from apps.experiments.services import experiment_start
from apps.experiments.sim.agents import make_agent
from apps.experiments.sim.episode import run_episode
from apps.experiments.sim.world import World

pytestmark = pytest.mark.django_db


def _experiment(**fields) -> Experiment:
    experiment = Experiment.objects.create(name="heuristic vs LLM", days=30, seed_count=2, first_seed=5, **fields)
    Variant.objects.create(experiment=experiment, name="heuristic", agent_kind=Variant.Kind.HEURISTIC)
    Variant.objects.create(
        experiment=experiment,
        name="offline LLM",
        agent_kind=Variant.Kind.LLM,
        step_budget=500,
        parameters={"markup_permille": 1800},
    )
    return experiment


def test_two_variants_by_two_seeds_run_on_the_workers_and_are_compared(
    manager_user, django_capture_on_commit_callbacks
):
    experiment = _experiment()
    with django_capture_on_commit_callbacks(execute=True):
        experiment_start(experiment=experiment, actor=manager_user)

    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.FINISHED
    runs = list(Run.objects.filter(experiment=experiment))
    assert len(runs) == 4 and {r.status for r in runs} == {Run.Status.FINISHED}
    assert {(r.variant.name, r.seed) for r in runs} == {(v, s) for v in ("heuristic", "offline LLM") for s in (5, 6)}
    for run in runs:
        assert len(run.series["net_worth"]) == 30 and run.series["net_worth"][-1] == run.final_net_worth_yen
    # The worker's run is the simulator's own episode for that seed, bit for bit.
    heuristic_seed_5 = next(r for r in runs if r.variant.name == "heuristic" and r.seed == 5)
    world = World()
    direct = run_episode(world=world, seed=5, days=30, agent=make_agent("heuristic", world))
    assert heuristic_seed_5.series["net_worth"] == direct.series["net_worth"].tolist()

    progress = experiment_progress(experiment=experiment)
    assert progress["percent"] == 100.0
    control, llm = experiment_comparison(experiment=experiment)["variants"]
    worth = sorted(r.final_net_worth_yen for r in runs if r.variant.name == "heuristic")
    assert control["mean_net_worth_yen"] == round(sum(worth) / 2)
    assert control["ci95_low_yen"] < control["mean_net_worth_yen"] < control["ci95_high_yen"]
    assert len(control["mean_series"]["net_worth"]) == 30
    assert llm["versus_control"]["control"] == "heuristic" and 0 <= llm["versus_control"]["p_value"] <= 1
    llm_run = next(r for r in runs if r.variant.name == "offline LLM")
    assert llm_run.summary["agent"]["tool_calls"] > 30 and llm_run.summary["agent"]["refusals"] == {}


def test_an_experiment_starts_once(manager_user, django_capture_on_commit_callbacks):
    experiment = _experiment()
    with django_capture_on_commit_callbacks(execute=True):
        experiment_start(experiment=experiment, actor=manager_user)
    with pytest.raises(Conflict):
        experiment_start(experiment=experiment, actor=manager_user)
    assert Run.objects.filter(experiment=experiment).count() == 4


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"provider": "anthropic"}, "cannot run on this server now \\(no_api_key\\)"),
        ({"parameters": {"markup": 3}}, "Unknown parameters"),
    ],
)
def test_a_variant_that_cannot_run_is_refused_before_any_run_exists(manager_user, fields, message, settings):
    settings.ANTHROPIC_API_KEY = ""
    experiment = Experiment.objects.create(name="bad", days=10, seed_count=1)
    Variant.objects.create(experiment=experiment, name="llm", agent_kind=Variant.Kind.LLM, **fields)
    with pytest.raises(ValidationError, match=message):
        experiment_start(experiment=experiment, actor=manager_user)
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.DRAFT and not Run.objects.exists()


def test_a_run_that_fails_on_the_worker_marks_the_experiment(manager_user, django_capture_on_commit_callbacks):
    experiment = _experiment()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        experiment_start(experiment=experiment, actor=manager_user)
    # The variant changed under the queued runs (say an admin edited the database): the run fails with a reason.
    Variant.objects.filter(experiment=experiment, name="offline LLM").update(parameters={"markup": 3})
    for callback in callbacks:
        callback()
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.FAILED
    failed = Run.objects.filter(experiment=experiment, status=Run.Status.FAILED)
    assert failed.count() == 2 and "Unknown parameters" in failed.first().error
    assert Run.objects.filter(experiment=experiment, status=Run.Status.FINISHED).count() == 2
