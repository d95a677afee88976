"""Anomaly rules on made-up histories, and the pending → firing → cleared life of an alert."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.dashboard.models import Alert
from apps.dashboard.monitoring import Condition, is_far_from_usual
from apps.dashboard.services import alerts_apply, alerts_evaluate
from apps.inventory.services import machine_heartbeat_record
from tests.factories import (
    AgentFactory,
    AgentTurnFactory,
    HistoricSaleFactory,
    MachineFactory,
    ProductFactory,
    PurchaseOrderFactory,
    SlotFactory,
    SupplierFactory,
    SupplierOfferFactory,
    stock_slot,
)

pytestmark = pytest.mark.django_db

# A Tuesday, 15:10 in Tokyo: the last complete hour is 14:00–15:00.
NOW = timezone.make_aware(datetime.datetime(2026, 11, 17, 15, 10))


def at(days_ago: int, hour: int = 14, minute: int = 20) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(2026, 11, 17, hour, minute)) - datetime.timedelta(days=days_ago)


def open_alerts():
    return {(alert.kind, alert.subject): alert.state for alert in Alert.objects.exclude(state=Alert.State.CLEARED)}


# --- sales far from the same hour's usual level ------------------------------------------------------------------


def test_an_hour_with_no_sales_when_it_usually_sells_is_an_anomaly():
    assert is_far_from_usual(0, [3000, 3200, 2900, 3100, 3000])


def test_ordinary_variation_is_not_an_anomaly():
    assert not is_far_from_usual(2600, [3000, 2400, 3600, 2500, 3500])


def test_a_quiet_hour_is_never_an_anomaly():
    assert not is_far_from_usual(0, [200, 150, 300, 250])


def test_a_sudden_rush_is_an_anomaly():
    assert is_far_from_usual(15000, [3000, 3200, 2900, 3100, 3000])


def test_sales_history_in_the_database_raises_a_sales_anomaly(machine):
    for days_ago in range(1, 15):
        HistoricSaleFactory(machine=machine, subtotal_yen=3000, created_at=at(days_ago))
        # Other hours of the same days must not count toward 14:00.
        HistoricSaleFactory(machine=machine, subtotal_yen=9000, created_at=at(days_ago, hour=12))
    HistoricSaleFactory(machine=machine, subtotal_yen=300, created_at=at(0))

    alerts_evaluate(now=NOW)

    alert = Alert.objects.get(kind=Alert.Kind.SALES_ANOMALY)
    assert alert.state == Alert.State.PENDING
    assert "14時台の売上が¥300" in alert.message and "¥3,000" in alert.message


def test_a_usual_hour_raises_nothing(machine):
    for days_ago in range(0, 15):
        HistoricSaleFactory(machine=machine, subtotal_yen=3000, created_at=at(days_ago))
    alerts_evaluate(now=NOW)
    assert not Alert.objects.filter(kind=Alert.Kind.SALES_ANOMALY).exists()


# --- silent machine ------------------------------------------------------------------------------------------------


def test_a_machine_that_stopped_reporting_fires_after_its_hold_time(settings):
    settings.ALERT_HOLD_MINUTES = {**settings.ALERT_HOLD_MINUTES, "machine_silent": 5}
    silent = MachineFactory(code="B2-3F")
    machine_heartbeat_record(machine=silent)
    MachineFactory(code="NEW-1F")  # never switched on: not silent
    later = timezone.now() + datetime.timedelta(minutes=11)

    alerts_evaluate(now=later)
    assert open_alerts() == {("machine_silent", "B2-3F"): "pending"}

    alerts_evaluate(now=later + datetime.timedelta(minutes=5))
    alert = Alert.objects.get(subject="B2-3F")
    assert alert.state == Alert.State.FIRING and alert.severity == Alert.Severity.CRITICAL
    assert alert.fired_at == later + datetime.timedelta(minutes=5)


def test_a_machine_reporting_again_clears_its_alert():
    machine = MachineFactory(code="B2-3F")
    machine_heartbeat_record(machine=machine)
    alerts_evaluate(now=timezone.now() + datetime.timedelta(minutes=30))
    machine_heartbeat_record(machine=machine)

    alerts_evaluate(now=timezone.now())

    alert = Alert.objects.get(subject="B2-3F")
    assert alert.state == Alert.State.CLEARED and alert.cleared_at is not None


# --- AI error rate and spend ---------------------------------------------------------------------------------------


def test_failing_ai_turns_over_the_limit_raise_an_error_rate_alert(settings):
    settings.ALERT_HOLD_MINUTES = {**settings.ALERT_HOLD_MINUTES, "error_rate": 0}
    agent = AgentFactory()
    for _ in range(8):
        AgentTurnFactory(agent=agent)
    AgentTurnFactory(agent=agent, fallback_reason="deadline: no words before the deadline")
    AgentTurnFactory(agent=agent, fallback_reason="provider_error: 529 overloaded")
    # The shop's own choice to answer offline is not an error.
    AgentTurnFactory(agent=agent, fallback_reason="budget: 100% of the day budget")

    alerts_evaluate(now=timezone.now())

    alert = Alert.objects.get(kind=Alert.Kind.ERROR_RATE)
    assert alert.state == Alert.State.FIRING
    assert "11件のうち2件" in alert.message


def test_one_failure_in_ten_turns_is_within_the_limit():
    agent = AgentFactory()
    for _ in range(9):
        AgentTurnFactory(agent=agent)
    AgentTurnFactory(agent=agent, fallback_reason="breaker_open: the model's circuit breaker is open")
    for reason in ("no_api_key", "customer_rate_limit", "customer_token_limit"):
        AgentTurnFactory(agent=agent, fallback_reason=reason)
    alerts_evaluate(now=timezone.now())
    assert not Alert.objects.filter(kind=Alert.Kind.ERROR_RATE).exists()


def test_an_agent_over_its_daily_yen_budget_fires_at_once():
    thrifty = AgentFactory(name="節約店員", daily_yen_budget=1)
    AgentFactory(name="余裕店員", daily_yen_budget=500)
    # ¥0.9 is rounded up to ¥1: within budget.
    AgentTurnFactory(agent=thrifty, cost_yen=Decimal("0.9"))
    alerts_evaluate(now=timezone.now())
    assert not Alert.objects.filter(kind=Alert.Kind.AI_SPEND).exists()

    AgentTurnFactory(agent=thrifty, cost_yen=Decimal("0.9"))
    alerts_evaluate(now=timezone.now())
    assert open_alerts() == {("ai_spend", "節約店員"): "firing"}


# --- stock-out within the supplier lead time -----------------------------------------------------------------------


def test_a_product_selling_faster_than_a_delivery_can_arrive_is_flagged(machine, settings):
    settings.SUPPLIER_LEAD_TIME_DAYS = 3
    fast = stock_slot(SlotFactory(machine=machine, code="A1", product=ProductFactory(sku="FAST")), 4)
    slow = stock_slot(SlotFactory(machine=machine, code="A2", product=ProductFactory(sku="SLOW")), 10, spare=10)
    now = timezone.now()
    # 28 of FAST sold in 14 days = 2 a day: 4 on hand last 2 days. 14 of SLOW = 1 a day: 20 on hand last 20 days.
    for slot, units in ((fast, 28), (slow, 14)):
        sale = HistoricSaleFactory(machine=machine, created_at=now - datetime.timedelta(days=2))
        sale.lines.create(
            slot=slot,
            product=slot.product,
            quantity=units,
            unit_price_yen=100,
            tax_rate=8,
            total_yen=100 * units,
            unit_cost_yen=50,
        )

    alerts_evaluate(now=now)

    assert open_alerts() == {("stockout_expected", "FAST"): "firing"}
    assert "約2.0日で尽きます（仕入れ3日）" in Alert.objects.get(subject="FAST").message

    # SLOW lasts 20 days, but its only supplier needs 21; FAST has 24 more on order: 14 days.
    SupplierOfferFactory(product=slow.product, supplier=SupplierFactory(lead_time_days=21))
    PurchaseOrderFactory(status="ordered", line__product=fast.product, line__quantity=24)
    alerts_evaluate(now=now)

    assert open_alerts() == {("stockout_expected", "SLOW"): "firing"}
    assert "（仕入れ21日）" in Alert.objects.get(subject="SLOW", state="firing").message


# --- the alert's life ----------------------------------------------------------------------------------------------


def test_a_condition_that_ends_before_its_hold_time_never_fires(settings):
    settings.ALERT_HOLD_MINUTES = {**settings.ALERT_HOLD_MINUTES, "sales_anomaly": 10}
    condition = Condition(kind=Alert.Kind.SALES_ANOMALY, subject="全店", message="売上が少ない")
    alerts_apply(conditions=[condition], now=NOW)
    alerts_apply(conditions=[condition], now=NOW + datetime.timedelta(minutes=5))
    alerts_apply(conditions=[], now=NOW + datetime.timedelta(minutes=10))

    alert = Alert.objects.get()
    assert alert.state == Alert.State.CLEARED and alert.fired_at is None


def test_a_condition_that_holds_updates_one_alert_and_a_new_episode_opens_another(settings):
    settings.ALERT_HOLD_MINUTES = {**settings.ALERT_HOLD_MINUTES, "sales_anomaly": 10}
    first = Condition(kind=Alert.Kind.SALES_ANOMALY, subject="全店", message="14時台の売上が少ない")
    later = Condition(kind=Alert.Kind.SALES_ANOMALY, subject="全店", message="15時台の売上が少ない")
    alerts_apply(conditions=[first], now=NOW)
    alerts_apply(conditions=[later], now=NOW + datetime.timedelta(minutes=10))
    assert Alert.objects.get().message == "15時台の売上が少ない"
    assert Alert.objects.get().state == Alert.State.FIRING

    alerts_apply(conditions=[], now=NOW + datetime.timedelta(minutes=15))
    alerts_apply(conditions=[first], now=NOW + datetime.timedelta(minutes=20))
    assert list(Alert.objects.order_by("id").values_list("state", flat=True)) == ["cleared", "pending"]
