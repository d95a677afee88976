import time
from io import StringIO

import pytest
import requests
from django.contrib.auth.models import Group
from django.core.management import call_command

from apps.core.roles import MANAGER, STAFF
from apps.inventory.services import device_token_issue
from tests.factories import MachineFactory, ProductFactory, SlotFactory, UserFactory, stock_slot

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-1234"


def log_in(page, server, username):
    page.goto(f"{server}/admin/login/?next=/dashboard/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def test_a_purchase_appears_on_the_managers_dashboard_without_reload(asgi_live_server, browser_page):
    UserFactory(username="manager", is_staff=True, password=PASSWORD).groups.add(Group.objects.get(name=MANAGER))
    machine = MachineFactory(code="HQ-1F")
    tea = ProductFactory(sku="D001", name_ja="緑茶", price_yen=150, unit_cost_yen=70)
    stock_slot(SlotFactory(machine=machine, code="A1", product=tea, capacity=10), 5)
    token = device_token_issue(machine=machine)
    page = browser_page

    log_in(page, asgi_live_server, "manager")
    page.wait_for_url(f"{asgi_live_server}/dashboard/")
    page.wait_for_selector("#live-status[data-state=live]")
    assert page.locator("#card-revenue").inner_text() == "¥0"

    response = requests.post(
        f"{asgi_live_server}/api/machines/HQ-1F/purchases/",
        json={"items": [{"slot": "A1", "quantity": 2}], "payment_method": "card"},
        headers={"Authorization": f"Device {token}", "Idempotency-Key": "browser-1"},
        timeout=10,
    )
    sold_at = time.monotonic()
    assert response.status_code == 201
    sale_id = response.json()["sale_id"]

    page.wait_for_selector(f'#recent-sales [data-sale-id="{sale_id}"]', timeout=2000)
    assert time.monotonic() - sold_at < 2
    assert "¥300" in page.locator(f'[data-sale-id="{sale_id}"]').inner_text()
    page.wait_for_function("document.getElementById('card-revenue').textContent === '¥300'", timeout=2000)


def test_after_the_demo_the_managers_charts_show_a_month_of_trading(
    asgi_live_server, browser_page, screenshots_dir, monkeypatch
):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", history_days=30, stdout=StringIO())
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})

    log_in(page, asgi_live_server, "manager")
    page.wait_for_url(f"{asgi_live_server}/dashboard/")
    page.wait_for_selector("#live-status[data-state=live]")

    daily = page.evaluate("Chart.getChart('chart-daily').data.datasets[0].data")
    assert len(daily) == 30 and all(revenue > 0 for revenue in daily[:-1])  # today's may not have begun
    assert sum(page.evaluate("Chart.getChart('chart-ai').data.datasets[0].data")) > 0
    assert int(page.locator("#card-approvals").inner_text()) >= 2
    page.screenshot(path=str(screenshots_dir / "dashboard.png"), full_page=True)


def test_a_staff_login_gets_no_dashboard(asgi_live_server, browser_page):
    UserFactory(username="staff", is_staff=True, password=PASSWORD).groups.add(Group.objects.get(name=STAFF))
    page = browser_page
    responses = []
    page.on("response", lambda response: responses.append(response) if "/dashboard/" in response.url else None)

    log_in(page, asgi_live_server, "staff")
    page.wait_for_load_state()

    assert responses[-1].status == 403
    assert page.locator("#card-revenue").count() == 0
