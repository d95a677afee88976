"""The first hour: after `seed_demo`, every user finds their job waiting (issue 18's "Done when").

One run of the whole demo, as on a Thursday afternoon (the time is fixed so the day's trading so far is in it), in a
transactional test so that what runs after a commit (the low-slot planning, the tasks) runs as it does for real."""

import datetime
import re
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count
from django.db.models.functions import ExtractHour
from django.utils import timezone

from apps.accounting import chart
from apps.accounting.selectors import trial_balance
from apps.agents.models import AgentTurn
from apps.chats.models import Conversation
from apps.dashboard.selectors import daily_ai_usage, daily_revenue, dashboard_snapshot
from apps.experiments.models import ABTest, Experiment
from apps.experiments.selectors import experiment_comparison
from apps.inventory.models import MachineFeeCharge, Product, PurchaseOrder, Sale, StockLot, StockMovement, Stocktake
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services.procurement import purchase_order_needs_manager

pytestmark = pytest.mark.django_db(transaction=True)

THURSDAY_AFTERNOON = datetime.datetime(2026, 12, 3, 15, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
Status = PurchaseOrder.Status


def test_after_seed_demo_every_user_finds_their_job_and_a_rerun_adds_nothing():
    with time_machine.travel(THURSDAY_AFTERNOON, tick=True):
        call_command("seed_demo", stdout=(out := StringIO()))
        today = timezone.localdate()

        _managers_see_two_months_of_trading(today)
        _the_books_and_the_stock_agree(today)
        _staff_have_orders_to_approve_and_one_open_delivery()
        _researchers_and_line_have_content()
        _fresh_food_has_dates_an_expiry_tomorrow_and_a_count_with_a_small_loss(today)
        assert re.search(r"Demo data ready in \d+\.\d s\.", out.getvalue())

        counts = _counts()
        call_command("seed_demo", stdout=StringIO())
        assert _counts() == counts


def _managers_see_two_months_of_trading(today: datetime.date) -> None:
    month = daily_revenue(last_day=today, days=30)
    assert all(day["revenue_yen"] > 0 and day["gross_margin_yen"] > 0 for day in month)
    weekdays = [day["revenue_yen"] for day in month if datetime.date.fromisoformat(day["date"]).weekday() < 5]
    weekends = [day["revenue_yen"] for day in month if datetime.date.fromisoformat(day["date"]).weekday() >= 5]
    assert sum(weekdays) / len(weekdays) > 2 * sum(weekends) / len(weekends)  # an office: quiet weekends
    hours = dashboard_snapshot()["hourly_sales"]
    assert sum(hours["today"][7:15]) > 0 and sum(hours["today"][16:]) == 0  # today's trading, up to 15:00
    by_hour = dict(
        Sale.objects.annotate(hour=ExtractHour("created_at")).values_list("hour").annotate(sales=Count("id"))
    )
    assert by_hour[12] > 2 * by_hour[7] and by_hour[12] > by_hour[16]  # the lunch peak
    assert set(by_hour) <= set(range(7, 21))  # an office floor, open 07:00-21:00
    ai = daily_ai_usage(last_day=today, days=14)
    assert all(day["turns"] > 0 and day["cost_yen"] > 0 for day in ai[:-1])
    assert AgentTurn.objects.filter(provider="anthropic", cost_yen__gt=0).count() > 100
    assert Sale.objects.filter(status=Sale.Status.REFUNDED).count() >= 3
    assert Sale.objects.filter(note__contains="詰まり").exists()  # the jam, refunded by the machine
    assert Conversation.objects.filter(channel=Conversation.Channel.TABLET).count() > 100
    assert not Product.objects.filter(image="").exists()  # every card has its picture


def _the_books_and_the_stock_agree(today: datetime.date) -> None:
    balance = trial_balance(as_of=today)
    assert balance.totals["debit_total"] == balance.totals["credit_total"] > 0
    rows = {row["code"]: row for row in balance.rows}
    for code in (chart.SALES, chart.COST_OF_GOODS_SOLD, chart.MACHINE_FEES, chart.AI_USAGE, chart.ACCOUNTS_PAYABLE):
        assert rows[code]["debit_total"] + rows[code]["credit_total"] > 0, code
    assert MachineFeeCharge.objects.filter(fee__kind="location_rent").count() == 2  # October and November
    assert stock_integrity_problems() == []


def _staff_have_orders_to_approve_and_one_open_delivery() -> None:
    waiting = list(PurchaseOrder.objects.filter(status=Status.PENDING_HUMAN_APPROVAL))
    assert len(waiting) >= 2
    for order in waiting:
        assert order.created_by_label == "procurement-agent"
        assert "過去14日で" in order.reasoning and order.offer_comparison
    for_manager = [order for order in waiting if purchase_order_needs_manager(order)]
    assert len(for_manager) == 1 and for_manager[0].supplier.name == "株式会社丸山食品"  # the new price list's catch-up
    assert len(for_manager[0].offer_comparison) >= 5
    partial = PurchaseOrder.objects.get(status=Status.PARTIALLY_RECEIVED)
    assert any(0 < line.received_quantity < line.quantity for line in partial.lines.all())
    assert PurchaseOrder.objects.filter(status=Status.RECEIVED, paid_yen__gt=0).count() > 10


def _fresh_food_has_dates_an_expiry_tomorrow_and_a_count_with_a_small_loss(today: datetime.date) -> None:
    fresh_lots = StockLot.objects.filter(product__sku__in=["F001", "F002", "F005"], quantity__gt=0)
    assert fresh_lots.exists() and not fresh_lots.filter(expires_on__isnull=True).exists()
    assert not StockLot.objects.filter(quantity__gt=0, expires_on__lt=today).exists()  # written off at 00:05
    assert StockLot.objects.filter(quantity__gt=0, expires_on=today + datetime.timedelta(days=1)).exists()
    assert StockMovement.objects.filter(kind=StockMovement.Kind.WASTE).exists()
    (stocktake,) = Stocktake.objects.filter(status=Stocktake.Status.APPROVED)
    assert [line.difference for line in stocktake.lines.all() if line.difference] == [-1]
    assert Product.objects.filter(allergens_checked=True).count() >= 5


def _researchers_and_line_have_content() -> None:
    experiment = Experiment.objects.get()
    assert experiment.status == Experiment.Status.FINISHED
    variants = experiment_comparison(experiment=experiment)["variants"]
    assert all(v["ci95_low_yen"] <= v["mean_net_worth_yen"] <= v["ci95_high_yen"] for v in variants)
    test = ABTest.objects.get(status=ABTest.Status.RUNNING)
    assert test.exposures.count() == 6
    line = Conversation.objects.filter(channel=Conversation.Channel.LINE, customer__consent_given=True)
    assert line.count() == 6 and all(c.messages.filter(sender="assistant").exists() for c in line)


def _counts() -> tuple:
    return (
        Sale.attempts.count(),
        StockMovement.objects.count(),
        PurchaseOrder.objects.count(),
        Conversation.objects.count(),
        AgentTurn.objects.count(),
        MachineFeeCharge.objects.count(),
    )
