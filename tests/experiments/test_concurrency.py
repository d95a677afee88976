"""Runs of one experiment finishing at the same moment on different workers: the experiment ends exactly once."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.experiments.models import Experiment, Run, Variant
from apps.experiments.services import run_execute

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
RUNS = 6


def test_parallel_runs_all_finish_and_close_the_experiment():
    experiment = Experiment.objects.create(name="parallel", days=40, seed_count=RUNS, status=Experiment.Status.RUNNING)
    variant = Variant.objects.create(experiment=experiment, name="heuristic")
    run_ids = [Run.objects.create(experiment=experiment, variant=variant, seed=seed).pk for seed in experiment.seeds]

    def work(run_id):
        try:
            return run_execute(run_id=run_id).status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=RUNS) as pool:
        statuses = list(pool.map(work, run_ids))

    assert statuses == [Run.Status.FINISHED] * RUNS
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.FINISHED and experiment.finished_at is not None
    assert sorted(Run.objects.values_list("days_done", flat=True)) == [40] * RUNS
    # A run begun again by a redelivered task is not played twice.
    assert run_execute(run_id=run_ids[0]) is None
