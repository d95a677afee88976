"""The rules every engagement push obeys, whoever picks its customer and words it.

A push goes only to a customer who consented and did not opt out, never between 21:00 and 09:00 in Tokyo, at most
ENGAGEMENT_WEEKLY_CAP (2) times in any 7 days per customer, and never past the LINE plan's monthly quota
(LINE_MONTHLY_PUSH_QUOTA, 200 by default; the month is the calendar month in Tokyo, as LINE counts it).
"""

import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet, TextChoices
from django.utils.translation import gettext_lazy as _

from apps.dashboard.models import LinePush

TOKYO = ZoneInfo("Asia/Tokyo")
QUIET_FROM = datetime.time(21, 0)
QUIET_UNTIL = datetime.time(9, 0)
DEFAULT_WEEKLY_CAP = 2
DEFAULT_MONTHLY_QUOTA = 200


class Recipient(Protocol):
    """What the rules need to know about a customer (the LINE Customer model of issue 9 provides it)."""

    customer_key: str
    consented: bool
    opted_out: bool


class PushSender(Protocol):
    """The LINE Messaging API client (issue 9): raises on failure."""

    def push(self, *, customer_key: str, text: str) -> None: ...


class Refusal(TextChoices):
    NO_CONSENT = "no_consent", _("配信に同意していないお客様です。")
    OPTED_OUT = "opted_out", _("配信停止を希望したお客様です。")
    QUIET_HOURS = "quiet_hours", _("21時から9時までは配信しません。")
    WEEKLY_CAP = "weekly_cap", _("このお客様への配信は7日間で上限に達しています。")
    MONTHLY_QUOTA = "monthly_quota", _("今月のLINE配信数が上限に達しています。")


def in_quiet_hours(now: datetime.datetime) -> bool:
    local = now.astimezone(TOKYO).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def month_start(now: datetime.datetime) -> datetime.datetime:
    return now.astimezone(TOKYO).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def pushes_counted() -> QuerySet[LinePush]:
    """Pushes that count toward the cap and the quota: every one not known to have failed."""
    return LinePush.objects.exclude(status=LinePush.Status.FAILED)


def push_refusal(*, recipient: Recipient, now: datetime.datetime) -> Refusal | None:
    """Why this customer may not get a push at `now`, or None when it may go."""
    if not recipient.consented:
        return Refusal.NO_CONSENT
    if recipient.opted_out:
        return Refusal.OPTED_OUT
    if in_quiet_hours(now):
        return Refusal.QUIET_HOURS
    weekly_cap = getattr(settings, "ENGAGEMENT_WEEKLY_CAP", DEFAULT_WEEKLY_CAP)
    recent = pushes_counted().filter(
        customer_key=recipient.customer_key, created_at__gt=now - datetime.timedelta(days=7)
    )
    if recent.count() >= weekly_cap:
        return Refusal.WEEKLY_CAP
    quota = getattr(settings, "LINE_MONTHLY_PUSH_QUOTA", DEFAULT_MONTHLY_QUOTA)
    if pushes_counted().filter(created_at__gte=month_start(now)).count() >= quota:
        return Refusal.MONTHLY_QUOTA
    return None
