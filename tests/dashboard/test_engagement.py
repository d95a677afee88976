"""The rules every LINE engagement push obeys: consent, quiet hours, the weekly cap per customer, the monthly quota."""

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from apps.core.errors import Conflict
from apps.dashboard.models import LinePush
from apps.dashboard.services import line_push_send

pytestmark = pytest.mark.django_db

# Wednesday 18 November 2026, Tokyo.
DAY = datetime.date(2026, 11, 18)


def tokyo(hour: int, minute: int = 0, *, days: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(DAY, datetime.time(hour, minute))) + datetime.timedelta(
        days=days
    )


@dataclass
class Customer:
    customer_key: str = "line:U1"
    consented: bool = True
    opted_out: bool = False


class FakeLine:
    """Stands in for the LINE Messaging API (an outside peer)."""

    def __init__(self, failing: bool = False):
        self.failing = failing
        self.pushed: list[tuple[str, str]] = []

    def push(self, *, customer_key: str, text: str) -> None:
        if self.failing:
            raise ConnectionError("LINE is down")
        self.pushed.append((customer_key, text))


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    def send(customer=None, *, at, line=None, kind="new_product"):
        line = line or FakeLine()
        with django_capture_on_commit_callbacks(execute=True):
            push = line_push_send(
                recipient=customer or Customer(), kind=kind, text="新しいお茶が入りました！", sender=line, now=at
            )
        push.refresh_from_db()
        return push

    return send


def refusal(send, customer=None, *, at) -> str:
    with pytest.raises(Conflict) as refused:
        send(customer, at=at)
    return refused.value.code


def test_a_consented_customer_gets_the_push_and_it_is_recorded(send):
    line = FakeLine()
    push = send(at=tokyo(12), line=line)
    assert line.pushed == [("line:U1", "新しいお茶が入りました！")]
    assert (push.status, push.customer_key, push.kind) == (LinePush.Status.SENT, "line:U1", "new_product")


def test_no_push_without_consent_or_after_opting_out(send):
    assert refusal(send, Customer(consented=False), at=tokyo(12)) == "no_consent"
    assert refusal(send, Customer(opted_out=True), at=tokyo(12)) == "opted_out"
    assert not LinePush.objects.exists()


@pytest.mark.parametrize(
    ("hour", "minute", "allowed"),
    [(8, 59, False), (9, 0, True), (20, 59, True), (21, 0, False), (23, 30, False), (0, 0, False)],
)
def test_never_between_21_and_9_in_tokyo(send, hour, minute, allowed):
    if allowed:
        assert send(at=tokyo(hour, minute)).status == LinePush.Status.SENT
    else:
        assert refusal(send, at=tokyo(hour, minute)) == "quiet_hours"


def test_at_most_two_pushes_in_any_seven_days_per_customer(send):
    send(at=tokyo(10))
    send(at=tokyo(15, days=2))
    assert refusal(send, at=tokyo(10, days=6)) == "weekly_cap"
    # Someone else is not held back by this customer's pushes.
    assert send(Customer(customer_key="line:U2"), at=tokyo(10, days=6)).status == LinePush.Status.SENT
    # Seven days after the first, one slot is free again.
    assert send(at=tokyo(10, 1, days=7)).status == LinePush.Status.SENT


def test_never_past_the_monthly_quota_of_the_line_plan(send, settings):
    settings.LINE_MONTHLY_PUSH_QUOTA = 3
    for number in range(3):
        send(Customer(customer_key=f"line:U{number}"), at=tokyo(12))
    assert refusal(send, Customer(customer_key="line:U9"), at=tokyo(12, days=12)) == "monthly_quota"
    # 1 December: a new month, a new quota.
    assert send(Customer(customer_key="line:U9"), at=tokyo(12, days=13)).status == LinePush.Status.SENT


def test_a_push_that_fails_at_line_is_recorded_and_does_not_count(send, settings):
    settings.LINE_MONTHLY_PUSH_QUOTA = 1
    failed = send(at=tokyo(12), line=FakeLine(failing=True))
    assert failed.status == LinePush.Status.FAILED and "LINE is down" in failed.error
    assert send(at=tokyo(13)).status == LinePush.Status.SENT
