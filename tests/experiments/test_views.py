"""The experiments pages: Managers only; the comparison page carries the chart data and the progress socket."""

import json

import pytest
from django.urls import reverse

from apps.experiments.models import Experiment, Variant
from apps.experiments.services import experiment_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_experiment(manager_user, django_capture_on_commit_callbacks):
    experiment = Experiment.objects.create(name="markups", days=15, seed_count=2)
    Variant.objects.create(experiment=experiment, name="fixed markup", agent_kind=Variant.Kind.HEURISTIC)
    Variant.objects.create(experiment=experiment, name="elasticity", agent_kind=Variant.Kind.ELASTICITY)
    with django_capture_on_commit_callbacks(execute=True):
        experiment_start(experiment=experiment, actor=manager_user)
    return experiment


def test_a_manager_sees_the_comparison_with_chart_data(client, manager_user, finished_experiment):
    client.force_login(manager_user)
    listing = client.get(reverse("experiments:list"))
    assert listing.status_code == 200 and "markups" in listing.content.decode()
    page = client.get(reverse("experiments:detail", args=[finished_experiment.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "vendor/chart.umd.js" in html and f'data-experiment="{finished_experiment.pk}"' in html
    start = html.index('<script id="comparison-data" type="application/json">') + len(
        '<script id="comparison-data" type="application/json">'
    )
    data = json.loads(html[start : html.index("</script>", start)])
    assert [v["name"] for v in data["variants"]] == ["fixed markup", "elasticity"]
    assert all(len(v["mean_series"]["net_worth"]) == 15 for v in data["variants"])


@pytest.mark.parametrize("url_name", ["experiments:list", "experiments:detail"])
def test_staff_and_visitors_are_kept_out(client, staff_user, finished_experiment, url_name):
    args = [finished_experiment.pk] if url_name == "experiments:detail" else []
    url = reverse(url_name, args=args)
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(staff_user)
    assert client.get(url).status_code == 403


def test_a_draft_experiment_page_shows_no_results_yet(client, manager_user):
    experiment = Experiment.objects.create(name="draft", days=30, seed_count=2)
    Variant.objects.create(experiment=experiment, name="heuristic")
    client.force_login(manager_user)
    page = client.get(reverse("experiments:detail", args=[experiment.pk]))
    assert page.status_code == 200 and 'value="0"' in page.content.decode()
