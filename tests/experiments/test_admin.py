"""Managers start experiments and A/B tests from the admin; a refused start shows its reason."""

import pytest
from django.urls import reverse

from apps.experiments.models import ABTest, ABVariant, Experiment, Run, Variant
from tests.factories import PersonaFactory

pytestmark = pytest.mark.django_db


def test_a_manager_starts_an_experiment_with_the_admin_action(client, manager_user, django_capture_on_commit_callbacks):
    experiment = Experiment.objects.create(name="admin start", days=10, seed_count=3)
    Variant.objects.create(experiment=experiment, name="heuristic")
    client.force_login(manager_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:experiments_experiment_changelist"),
            {"action": "start", "_selected_action": [experiment.pk]},
            follow=True,
        )
    assert "開始しました" in response.content.decode()
    assert Run.objects.filter(experiment=experiment, status=Run.Status.FINISHED).count() == 3
    changelist = client.get(reverse("admin:experiments_experiment_changelist")).content.decode()
    assert "100.0%" in changelist


def test_starting_an_ab_test_with_one_persona_is_refused_with_a_message(client, manager_user):
    test = ABTest.objects.create(name="one persona")
    ABVariant.objects.create(test=test, persona=PersonaFactory(name="ひとり"))
    client.force_login(manager_user)
    response = client.post(
        reverse("admin:experiments_abtest_changelist"), {"action": "start", "_selected_action": [test.pk]}, follow=True
    )
    assert "2つ以上" in response.content.decode()
    test.refresh_from_db()
    assert test.status == ABTest.Status.DRAFT
