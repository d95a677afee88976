"""The usage ledger's daily cost in the books: AI利用料 / 未払金 once per finished day."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from apps.accounting import chart
from apps.accounting.models import EntryKind, JournalEntry, JournalLine
from apps.accounting.services import period_close
from apps.agents.models import LlmUsage
from apps.agents.services import llm_usage_book
from apps.dashboard.tasks import daily_close
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

APRIL_10 = datetime.date(2026, 4, 10)
APRIL_11 = datetime.date(2026, 4, 11)


def ai_usage_booked() -> dict[datetime.date, int]:
    lines = JournalLine.objects.filter(account__code=chart.AI_USAGE).values("date").annotate(yen=Sum("debit"))
    return {row["date"]: row["yen"] for row in lines}


def usage(day, cost, *, agent=None, model_name="model-a"):
    # Past days' rows as the usage ledger left them (`llm_usage_record` only ever writes today's).
    return LlmUsage.objects.create(
        agent=agent or AgentFactory(), model_name=model_name, day=day, cost_yen=Decimal(cost), calls=1
    )


def test_each_finished_day_is_booked_once_rounded_to_the_yen():
    usage(APRIL_10, "1.2345")
    usage(APRIL_10, "0.3000", model_name="model-b")
    usage(APRIL_11, "0.4000")  # rounds to ¥0: nothing to book

    llm_usage_book(through=APRIL_11)
    llm_usage_book(through=APRIL_11)

    assert ai_usage_booked() == {APRIL_10: 2}
    assert JournalLine.objects.filter(account__code=chart.ACCRUED_EXPENSES).aggregate(c=Sum("credit"))["c"] == 2


def test_days_after_through_and_closed_days_are_left_alone(manager_user):
    usage(APRIL_10, "150")
    usage(APRIL_11, "80")
    period_close(through_date=APRIL_10, actor=manager_user)

    llm_usage_book(through=APRIL_10)
    assert not JournalEntry.objects.filter(kind=EntryKind.AI_USAGE).exists()

    llm_usage_book(through=APRIL_11)
    assert ai_usage_booked() == {APRIL_11: 80}


def test_the_nightly_close_books_yesterday_but_not_today():
    today = timezone.localdate()
    agent = AgentFactory()
    usage(today - datetime.timedelta(days=1), "321.5", agent=agent)
    usage(today, "99", agent=agent)

    daily_close()

    assert ai_usage_booked() == {today - datetime.timedelta(days=1): 322}
