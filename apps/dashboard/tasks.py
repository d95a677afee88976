"""Scheduled jobs (rows of django-celery-beat created by migration 0002); each loads what it needs and calls services."""

import datetime
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.agents.services import llm_usage_book
from apps.dashboard import services
from apps.dashboard.models import Alert
from apps.inventory.models import Machine
from apps.inventory.services import restock_plan

logger = logging.getLogger(__name__)
RETRY = {"autoretry_for": (Exception,), "retry_backoff": True, "retry_jitter": True, "max_retries": 3}


@shared_task(name="dashboard.monitor", ignore_result=True, expires=240)
def monitor():
    """Every 5 minutes: restock tasks for every active machine, then the anomaly rules."""
    for machine in Machine.objects.filter(status=Machine.Status.ACTIVE).order_by("code"):
        restock_plan(machine=machine)
    services.alerts_evaluate()


@shared_task(name="dashboard.daily_close", ignore_result=True, **RETRY)
def daily_close():
    """23:55 JST: today's summary, and yesterday's again so its last five minutes are in it too (the schedule's time
    zone is CELERY_TIMEZONE, Asia/Tokyo); and the AI usage of the days before today into the books (today's usage is
    not finished yet; it is booked tomorrow night)."""
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    services.daily_close(day=yesterday)
    services.daily_close(day=today)
    llm_usage_book(through=yesterday)


@shared_task(name="dashboard.retention_cleanup", ignore_result=True, **RETRY)
def retention_cleanup():
    services.retention_cleanup()


@shared_task(name="dashboard.weekly_report", ignore_result=True, **RETRY)
def weekly_report():
    """Monday morning: the report of the week that ended yesterday."""
    today = timezone.localdate()
    last_monday = today - datetime.timedelta(days=today.weekday() + 7)
    services.weekly_report_create(week_start=last_monday)


def _line_sender_class():
    return import_string(settings.ENGAGEMENT_PUSH_SENDER)


def _line_configured() -> bool:
    return bool(settings.LINE_CHANNEL_ACCESS_TOKEN)


@shared_task(name="dashboard.alert_line_push", ignore_result=True)
def alert_line_push(alert_id: int):
    """Queued when an alert fires: the managers' LINE accounts (ALERT_LINE_USER_IDS) hear of it, if configured."""
    line_user_ids = list(settings.ALERT_LINE_USER_IDS)
    if not line_user_ids or not _line_configured():
        return
    with _line_sender_class()() as sender:
        services.alert_line_push(alert=Alert.objects.get(pk=alert_id), line_user_ids=line_user_ids, sender=sender)


@shared_task(name="dashboard.engagement", ignore_result=True)
def engagement():
    """12:00 and 18:00 JST: personalised LINE pushes within the rules of `apps.dashboard.engagement`. Not retried: a
    retry could push twice, and the next run picks up whatever was refused or failed."""
    if not _line_configured():
        logger.info("LINE is not configured (LINE_CHANNEL_ACCESS_TOKEN): no engagement pushes")
        return
    with _line_sender_class()() as sender:
        counts = services.engagement_run(sender=sender)
    logger.info("Engagement pushes: %s", counts)
