from io import StringIO

import pytest
from django.core.management import call_command

from apps.chats.models import Conversation
from apps.experiments.models import ABTest, Experiment, Exposure, Run
from apps.experiments.selectors import ab_test_results, experiment_comparison

pytestmark = pytest.mark.django_db


def test_seed_demo_shows_a_finished_experiment_with_intervals_for_both_variants_once():
    call_command("seed_demo", history_days=0, stdout=(out := StringIO()))

    experiment = Experiment.objects.get()
    assert experiment.status == Experiment.Status.FINISHED and experiment.seed_count == 20
    variants = experiment_comparison(experiment=experiment)["variants"]
    assert [v["agent_kind"] for v in variants] == ["heuristic", "llm"]
    for variant in variants:
        assert variant["runs"] == 20
        assert variant["ci95_low_yen"] <= variant["mean_net_worth_yen"] <= variant["ci95_high_yen"]
    assert "p_value" in variants[1]["versus_control"]
    assert "40 runs" in out.getvalue()

    call_command("seed_demo", history_days=0, stdout=StringIO())
    assert (Experiment.objects.count(), Run.objects.count()) == (1, 40)


def test_seed_demo_runs_a_persona_ab_test_on_line_with_consenting_customers_exposed_once():
    call_command("seed_demo", history_days=0, stdout=(out := StringIO()))

    test = ABTest.objects.get()
    assert test.status == ABTest.Status.RUNNING and test.channel == "line"
    exposures = Exposure.objects.filter(test=test).select_related("conversation__customer", "variant__persona")
    assert exposures.count() == 6
    assert {e.variant.persona.name for e in exposures} == {"ハル", "ソウタ"}
    for exposure in exposures:
        conversation = exposure.conversation
        assert conversation.customer.consent_given and conversation.persona == exposure.variant.persona
        assert conversation.messages.filter(sender="customer").exists()
    results = ab_test_results(test=test)
    assert sum(row["conversations"] for row in results["variants"]) == 6
    assert "6 exposures" in out.getvalue()

    call_command("seed_demo", history_days=0, stdout=StringIO())
    assert (ABTest.objects.count(), Exposure.objects.count(), Conversation.objects.count()) == (1, 6, 6)
