"""The experiments pages in a real browser: the charts are drawn with the datasets a Manager reads them by."""

import re
import time

import pytest
from django.contrib.auth.models import Group

from apps.core.roles import MANAGER
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-1234"

DATASET_LABELS = "(id) => Chart.getChart(document.getElementById(id)).data.datasets.map((d) => d.label)"


@pytest.fixture
def logged_in(asgi_live_server, browser_page):
    UserFactory(username="researcher", is_staff=True, password=PASSWORD).groups.add(Group.objects.get(name=MANAGER))
    page = browser_page
    page.goto(f"{asgi_live_server}/admin/login/?next=/experiments/")
    page.fill("#id_username", "researcher")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{asgi_live_server}/experiments/")
    return page


# The data comes first: made while Playwright's event loop runs in this thread, the runner's progress broadcasts fail.
def test_an_experiment_shows_net_worth_with_a_band_per_variant(finished_experiment, logged_in):
    page = logged_in
    page.click("text=markups")
    page.wait_for_function("window.Chart && Chart.getChart(document.getElementById('chart-net-worth'))")
    assert page.evaluate(DATASET_LABELS, "chart-net-worth") == [
        "fixed markup 95%下限",
        "fixed markup 95%上限",
        "fixed markup 平均",
        "elasticity 95%下限",
        "elasticity 95%上限",
        "elasticity 平均",
    ]
    days = page.evaluate("Chart.getChart(document.getElementById('chart-net-worth')).data.labels")
    assert days[0] == "1日目" and len(days) == 15
    box = page.locator("#chart-net-worth").bounding_box()
    assert box["width"] > 300 and box["height"] > 150
    assert page.evaluate(DATASET_LABELS, "chart-final") == ["平均", "95%下限", "95%上限"]


def test_an_ab_test_shows_conversion_per_variant_and_its_p_value(ab_test_with_exposures, logged_in):
    page = logged_in
    page.click("text=明るい vs 落ち着いた")
    page.wait_for_function("window.Chart && Chart.getChart(document.getElementById('chart-conversion'))")
    chart = page.evaluate(
        "(() => { const c = Chart.getChart(document.getElementById('chart-conversion'));"
        " return {labels: c.data.labels, data: c.data.datasets.map((d) => [d.label, d.data])}; })()"
    )
    assert chart["labels"][0] == ["明るい店員", "対照"]
    assert chart["labels"][1][0] == "落ち着いた店員" and chart["labels"][1][1].startswith("p = 0.")
    [(label, rates)] = chart["data"]
    assert label == "コンバージョン率（%）" and rates[1] == 0 and rates[0] > 0
    assert "コンバージョン p = 0." in page.locator("#significance").inner_text()


def test_the_page_reconnects_within_a_second_when_a_restarting_server_closes_its_socket(finished_experiment, logged_in):
    """A deploy: the server stopping closes the socket with 1012 (vendbot/server.py); the page opens a new one, which
    the load balancer gives to another process, and its progress comes back without a reload."""
    page = logged_in
    sockets = []

    def route(socket):
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket(re.compile(r"/ws/experiments/"), route)
    page.click("text=markups")
    page.wait_for_function("window.Chart && Chart.getChart(document.getElementById('chart-net-worth'))")
    page.wait_for_timeout(300)
    assert len(sockets) == 1

    sockets[0].close(code=1012, reason="server restarting")
    closed_at = time.monotonic()
    deadline = closed_at + 3
    while len(sockets) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert len(sockets) == 2 and time.monotonic() - closed_at < 1.5
    assert page.url.endswith(f"/experiments/{finished_experiment.pk}/")  # no reload


def test_an_arena_run_shows_net_worth_with_its_events_marked_and_replays_a_day(db, logged_in, asgi_live_server):
    from apps.experiments.models import ArenaRun
    from apps.experiments.services import arena_leaderboard_run

    board = arena_leaderboard_run(
        name="arena in a browser",
        days=30,
        first_seed=1,
        seed_count=1,
        agents=[],
        personas=[None],
        policies=["shop"],
        workers=1,
    )
    run = ArenaRun.objects.get(leaderboard=board, agent="offline")
    page = logged_in
    page.goto(f"{asgi_live_server}/experiments/")
    page.click("text=arena in a browser")
    page.click(f"a[href='/experiments/arena/runs/{run.pk}/']")
    page.wait_for_function("window.Chart && Chart.getChart(document.getElementById('chart-arena-run'))")
    assert page.evaluate(DATASET_LABELS, "chart-arena-run") == ["出来事", "純資産", "銀行", "硬貨", "廃棄（原価）"]
    markers = page.evaluate("Chart.getChart(document.getElementById('chart-arena-run')).data.datasets[0].data.length")
    assert markers == len(run.events) > 0  # seed 1 has a recall on day 6 and a breakdown on day 23
    page.click("text=この日を再生 >> nth=0")
    page.wait_for_selector("text=記録どおりに再現しました")
    assert "refill_all_slots" in page.content()
