import datetime

import pytest
from django.utils import timezone

from tests.dashboard.conftest import buy
from tests.factories import AgentTurnFactory, HistoricSaleFactory, ProductFactory, SlotFactory, stock_slot

pytestmark = pytest.mark.django_db


def test_manager_sees_the_dashboard_in_japanese(client, manager_user):
    client.force_login(manager_user)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "本日の売上" in page and "承認待ちの発注" in page and "vendor/chart.umd.js" in page


def test_staff_get_403(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/dashboard/").status_code == 403


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_page_shows_todays_sales_from_the_api(client, manager_user, device_client, tea_slot):
    assert buy(device_client, quantity=2).status_code == 201
    client.force_login(manager_user)
    snapshot = client.get("/dashboard/").context["snapshot"]
    assert snapshot["cards"]["revenue_yen"] == 300
    assert snapshot["cards"]["transactions"] == 1
    assert snapshot["cards"]["gross_margin_yen"] == 300 - 140
    assert snapshot["recent_sales"][0]["total_yen"] == 300
    assert snapshot["slot_stock"] == [
        {"slot": "HQ-1F/A1", "product": "緑茶", "quantity": 3, "capacity": 10, "par_level": 5}
    ]


def test_the_snapshot_costs_the_same_queries_for_ten_times_the_data(
    client, manager_user, machine, django_assert_max_num_queries
):
    def add_history(count):
        now = timezone.now()
        for index in range(count):
            HistoricSaleFactory(machine=machine, created_at=now - datetime.timedelta(hours=index))
            AgentTurnFactory(created_at=now - datetime.timedelta(hours=index), latency_ms=100 * index)
            stock_slot(SlotFactory(machine=machine, product=ProductFactory()), 1)

    client.force_login(manager_user)
    add_history(3)
    with django_assert_max_num_queries(25) as small:
        client.get("/dashboard/")
    add_history(30)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get("/dashboard/")
