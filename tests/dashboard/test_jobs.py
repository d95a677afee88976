"""The scheduled jobs: what each leaves behind, and where their boundaries lie."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.agents.models import AgentTurn
from apps.chats.models import Conversation
from apps.core.errors import ValidationError
from apps.dashboard import tasks
from apps.dashboard.models import Alert, DailySummary, WeeklyReport
from apps.dashboard.services import daily_close, retention_cleanup, weekly_report_create
from apps.inventory.models import Coupon, PurchaseRequest, RestockTask
from tests.dashboard.conftest import buy
from tests.factories import AgentFactory, AgentTurnFactory, CouponFactory, HistoricSaleFactory, SlotFactory, stock_slot

pytestmark = pytest.mark.django_db


def test_a_new_install_has_every_job_scheduled_in_tokyo_time():
    jobs = {task.task: task for task in PeriodicTask.objects.select_related("interval", "crontab")}
    assert (jobs["dashboard.monitor"].interval.every, jobs["dashboard.monitor"].interval.period) == (5, "minutes")
    close = jobs["dashboard.daily_close"].crontab
    assert (close.hour, close.minute, str(close.timezone)) == ("23", "55", "Asia/Tokyo")
    assert jobs["dashboard.weekly_report"].crontab.day_of_week == "1"
    assert jobs["dashboard.retention_cleanup"].enabled
    assert jobs["dashboard.engagement"].crontab.hour == "12,18"


def test_the_five_minute_job_plans_restocking_and_runs_the_anomaly_rules(machine, settings):
    settings.ALERT_HOLD_MINUTES = {**settings.ALERT_HOLD_MINUTES, "machine_silent": 0}
    low = stock_slot(SlotFactory(machine=machine, code="A1", capacity=10), 1, spare=20)
    machine.last_heartbeat_at = timezone.now() - datetime.timedelta(hours=1)
    machine.save(update_fields=["last_heartbeat_at"])

    tasks.monitor.delay()

    task = RestockTask.objects.get()
    assert (task.slot, task.quantity, task.priority) == (low, 9, RestockTask.Priority.HIGH)
    assert Alert.objects.get().kind == Alert.Kind.MACHINE_SILENT


def test_the_daily_close_summarises_the_day_and_can_run_again(machine, device_client, tea_slot):
    buy(device_client, quantity=2, key="a")
    AgentTurnFactory(input_tokens=1_000_000, output_tokens=0, cost_yen=Decimal("450"))
    today = timezone.localdate()
    HistoricSaleFactory(machine=machine, created_at=timezone.now() - datetime.timedelta(days=1))

    summary = daily_close(day=today)
    assert (summary.revenue_yen, summary.transactions, summary.gross_margin_yen) == (300, 1, 160)
    assert (summary.ai_turns, summary.ai_tokens, summary.ai_cost_yen) == (1, 1_000_000, 450)

    buy(device_client, quantity=1, key="b")
    tasks.daily_close.delay()
    assert DailySummary.objects.get(date=today).revenue_yen == 450
    # The job closes yesterday again: a sale after yesterday's 23:55 run is in it.
    assert DailySummary.objects.get(date=today - datetime.timedelta(days=1)).revenue_yen == 1000


def test_cleanup_keeps_what_is_inside_each_retention_period(machine, settings):
    settings.CHAT_RETENTION_DAYS = 180
    now = timezone.now()
    day = datetime.timedelta(days=1)
    minute = datetime.timedelta(minutes=1)

    def conversation(idle):
        chat = Conversation.objects.create(machine=machine)
        Conversation.objects.filter(pk=chat.pk).update(last_activity_at=now - idle)
        chat.messages.create(sender="customer", text="こんにちは")
        return chat.pk

    old_chat, recent_chat = conversation(180 * day + minute), conversation(180 * day - minute)
    long_expired = CouponFactory(code="OLD", valid_until=now - 30 * day - minute)
    just_expired = CouponFactory(code="NEW", valid_until=now - 30 * day + minute)
    used = CouponFactory(code="USED", valid_until=now - 90 * day)
    HistoricSaleFactory(machine=machine, coupon=used)
    for key, age in (("old", 30 * day + minute), ("recent", 30 * day - minute)):
        request = PurchaseRequest.objects.create(machine=machine, idempotency_key=key, request_hash="x")
        PurchaseRequest.objects.filter(pk=request.pk).update(created_at=now - age)

    counts = retention_cleanup(now=now)

    assert counts == {
        "conversations": 1,
        "customers": 0,
        "product_requests_anonymised": 0,
        "coupons": 1,
        "idempotency_keys": 1,
        "member_codes": 0,
    }
    assert list(Conversation.objects.values_list("pk", flat=True)) == [recent_chat]
    assert not Conversation.objects.filter(pk=old_chat).exists()
    assert set(Coupon.objects.values_list("code", flat=True)) == {just_expired.code, used.code}
    assert long_expired.code not in set(Coupon.objects.values_list("code", flat=True))
    assert list(PurchaseRequest.objects.values_list("idempotency_key", flat=True)) == ["recent"]


def test_the_weekly_report_is_written_in_japanese_stored_and_mailed_to_managers(
    machine, manager_user, staff_user, django_capture_on_commit_callbacks
):
    AgentFactory(name="分析係", kind="analytics")
    monday = timezone.localdate() - datetime.timedelta(days=timezone.localdate().weekday() + 7)
    start = timezone.make_aware(datetime.datetime.combine(monday, datetime.time(12)))
    HistoricSaleFactory(machine=machine, subtotal_yen=12_000, created_at=start)
    HistoricSaleFactory(machine=machine, subtotal_yen=8_000, created_at=start - datetime.timedelta(days=7))

    with pytest.raises(ValidationError):
        weekly_report_create(week_start=monday + datetime.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.weekly_report.delay()

    report = WeeklyReport.objects.get()
    assert report.week_start == monday and report.agent_name == "分析係"
    assert AgentTurn.objects.get(agent__name="分析係").provider == "template"
    assert "売上は¥12,000（1件、前週比+50%）、粗利は¥6,000でした。" in report.text
    assert "AIの応答は" in report.text
    assert [message.to for message in mail.outbox] == [[manager_user.email]]
    assert mail.outbox[0].body == report.text
