from io import StringIO

import pytest
from django.core.management import call_command

from apps.experiments.models import Experiment, Run
from apps.experiments.selectors import experiment_comparison

pytestmark = pytest.mark.django_db


def test_seed_demo_shows_a_finished_experiment_with_intervals_for_both_variants_once():
    call_command("seed_demo", stdout=(out := StringIO()))

    experiment = Experiment.objects.get()
    assert experiment.status == Experiment.Status.FINISHED and experiment.seed_count == 20
    variants = experiment_comparison(experiment=experiment)["variants"]
    assert [v["agent_kind"] for v in variants] == ["heuristic", "llm"]
    for variant in variants:
        assert variant["runs"] == 20
        assert variant["ci95_low_yen"] <= variant["mean_net_worth_yen"] <= variant["ci95_high_yen"]
    assert "p_value" in variants[1]["versus_control"]
    assert "40 runs" in out.getvalue()

    call_command("seed_demo", stdout=StringIO())
    assert (Experiment.objects.count(), Run.objects.count()) == (1, 40)
