import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounting.postings import PaidFrom, post_capital_contribution, post_supplier_payment
from tests.dashboard.conftest import buy
from tests.factories import (
    AgentFactory,
    AgentTurnFactory,
    HistoricSaleFactory,
    ProductFactory,
    PurchaseOrderFactory,
    SlotFactory,
    stock_slot,
)

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
    today = timezone.localdate()
    assert snapshot["daily_revenue"][-1] == {"date": today.isoformat(), "revenue_yen": 300, "gross_margin_yen": 160}
    assert len(snapshot["daily_revenue"]) == 30 and snapshot["daily_revenue"][0]["revenue_yen"] == 0
    assert snapshot["hourly_sales"]["today"][timezone.localtime().hour] == 300
    assert sum(snapshot["hourly_sales"]["last_week"]) == 0
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
    # The page's budget: about two queries a card or table (sales, stock, AI, care, cash, waste, shrinkage, …).
    with django_assert_max_num_queries(32) as small:
        client.get("/dashboard/")
    add_history(30)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get("/dashboard/")


def test_ai_cards_show_cost_p95_latency_and_error_rate(client, manager_user):
    agent = AgentFactory(name="店番テスト")
    for latency in range(100, 1901, 100):  # 19 turns: 100 ms … 1,900 ms
        AgentTurnFactory(
            agent=agent, latency_ms=latency, input_tokens=50_000, output_tokens=10_000, cost_yen=Decimal("45.25")
        )
    AgentTurnFactory(agent=agent, latency_ms=2000, input_tokens=0, output_tokens=0, fallback_reason="deadline: slow")
    AgentTurnFactory(agent=agent, latency_ms=99_999, created_at=timezone.now() - datetime.timedelta(days=1))

    client.force_login(manager_user)
    ai = client.get("/dashboard/").context["snapshot"]["cards"]["ai"]

    # 19 × ¥45.25 = ¥859.75, shown rounded up.
    assert ai == {
        "turns": 20,
        "tokens": 19 * 60_000,
        "cost_yen": 860,
        "reply_p95_ms": 1900,
        "failures": 1,
        "error_rate": 0.05,
    }


def test_pending_approvals_card_counts_orders_waiting_for_a_person(client, manager_user):
    for status in ("pending_human_approval", "pending_human_approval", "draft", "approved"):
        PurchaseOrderFactory(status=status)
    client.force_login(manager_user)
    assert client.get("/dashboard/").context["snapshot"]["cards"]["pending_approvals"] == 2


def test_cash_cards_show_the_books_cash_and_the_30_day_cash_flow(client, manager_user):
    today = timezone.localdate()
    post_capital_contribution(date=today - datetime.timedelta(days=40), amount=100_000)
    post_supplier_payment(date=today - datetime.timedelta(days=3), amount=2_500, paid_from=PaidFrom.BANK)
    client.force_login(manager_user)
    cards = client.get("/dashboard/").context["snapshot"]["cards"]
    assert cards["cash_on_hand_yen"] == 97_500
    assert cards["net_cash_flow_30d_yen"] == -2_500
