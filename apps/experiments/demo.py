"""Demo experiment for `seed_demo`: the heuristic baseline against the offline agent over 20 seeds, run here through
the runner's services (synchronously, inside one transaction, so the workers find every run finished), so the
experiments page shows a finished comparison with its confidence intervals from the first minute.

Idempotent: an experiment of this name is created and run the first time only."""

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.agents.models import Agent
from apps.experiments.models import Experiment, Variant
from apps.experiments.services import experiment_start, run_execute

EXPERIMENT_NAME = "デモ: ヒューリスティック vs オフラインエージェント"
DAYS = 30  # short enough that 40 runs take a few seconds
SEEDS = 20


def seed(*, stdout, options: dict) -> None:
    if Experiment.objects.filter(name=EXPERIMENT_NAME).exists():
        return
    with transaction.atomic():
        experiment = Experiment.objects.create(
            name=EXPERIMENT_NAME,
            description="定率マークアップのベースラインと、ツール経由で店を運営するオフラインエージェントの比較。",
            days=DAYS,
            seed_count=SEEDS,
        )
        Variant.objects.create(experiment=experiment, name="ヒューリスティック", agent_kind=Variant.Kind.HEURISTIC)
        Variant.objects.create(
            experiment=experiment,
            name="オフラインエージェント",
            agent_kind=Variant.Kind.LLM,
            provider=Agent.Provider.OFFLINE,
        )
        experiment = experiment_start(
            experiment=experiment, actor=get_user_model().objects.filter(username="manager").first()
        )
        for run in experiment.runs.order_by("pk"):
            run_execute(run_id=run.pk)
    experiment.refresh_from_db()
    stdout.write(
        f"  experiments: 「{experiment.name}」 {experiment.runs.count()} runs, {experiment.get_status_display()}"
    )
