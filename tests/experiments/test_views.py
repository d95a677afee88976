"""The experiments pages: Managers only; the comparison page carries the chart data and the progress socket."""

import json

import pytest
from django.urls import reverse

from apps.experiments.models import Experiment, Variant

pytestmark = pytest.mark.django_db


def json_script(html: str, element_id: str):
    start = html.index(f'<script id="{element_id}" type="application/json">') + len(
        f'<script id="{element_id}" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_a_manager_sees_the_comparison_with_chart_data(client, manager_user, finished_experiment):
    client.force_login(manager_user)
    listing = client.get(reverse("experiments:list"))
    assert listing.status_code == 200 and "markups" in listing.content.decode()
    page = client.get(reverse("experiments:detail", args=[finished_experiment.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "vendor/chart.umd.js" in html and f'data-experiment="{finished_experiment.pk}"' in html
    data = json_script(html, "comparison-data")
    assert [v["name"] for v in data["variants"]] == ["fixed markup", "elasticity"]
    assert all(len(v["mean_series"]["net_worth"]) == 15 for v in data["variants"])


def test_the_net_worth_chart_gets_a_daily_95_percent_band_around_each_mean(client, manager_user, finished_experiment):
    client.force_login(manager_user)
    html = client.get(reverse("experiments:detail", args=[finished_experiment.pk])).content.decode()
    for variant in json_script(html, "comparison-data")["variants"]:
        band, mean = variant["net_worth_band"], variant["mean_series"]["net_worth"]
        assert len(band["low"]) == len(band["high"]) == 15
        assert all(low <= worth <= high for low, worth, high in zip(band["low"], mean, band["high"], strict=True))
        assert band["high"][-1] - band["low"][-1] > 0  # two seeds end apart, so the last day has a real interval
    assert json_script(html, "experiment-labels")["band"] == "95%信頼区間"


def test_the_pages_wear_the_dashboards_style(client, manager_user, finished_experiment):
    client.force_login(manager_user)
    for url in (reverse("experiments:list"), reverse("experiments:detail", args=[finished_experiment.pk])):
        html = client.get(url).content.decode()
        assert "dashboard/dashboard.css" in html and 'class="panel"' in html


def test_the_ab_test_page_charts_conversion_and_shows_the_p_value(client, manager_user, ab_test_with_exposures):
    client.force_login(manager_user)
    page = client.get(reverse("experiments:ab_test_detail", args=[ab_test_with_exposures.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert '<canvas id="chart-conversion">' in html and "experiments/ab_test.js" in html
    first, second = json_script(html, "ab-results")["variants"]
    assert first["conversions"] == 2 and second["conversions"] == 0
    p_value = second["versus_control"]["conversion_p_value"]
    assert p_value is not None and f"コンバージョン p = {p_value}" in html


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
