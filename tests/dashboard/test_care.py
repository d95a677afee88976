"""The dashboard's customer-care cards: cases waiting for staff (and past their SLA) and the time to a first answer."""

import datetime

from django.utils import timezone

from apps.agents.services import case_answer, case_open
from apps.dashboard.selectors import dashboard_snapshot


def opened(text, *, conversation_id):
    return case_open(
        agent=None, conversation_id=conversation_id, customer_key="", channel="tablet", kind="other", text=text
    )


def test_open_and_overdue_cases_and_the_median_time_to_a_first_answer(db, staff_user, time_machine, settings):
    settings.CASE_SLA_MINUTES = 60
    start = timezone.now().replace(microsecond=0)
    time_machine.move_to(start)
    fast, slow, late, waiting = (opened(f"困っています {n}", conversation_id=n) for n in range(1, 5))
    time_machine.move_to(start + datetime.timedelta(minutes=10))
    case_answer(case=fast, author=staff_user, text="確認します")
    time_machine.move_to(start + datetime.timedelta(minutes=30))
    case_answer(case=slow, author=staff_user, text="確認します")
    time_machine.move_to(start + datetime.timedelta(minutes=90))
    case_answer(case=late, author=staff_user, text="遅くなりました")
    fresh = opened("今来ました", conversation_id=5)

    care = dashboard_snapshot()["cards"]["care"]

    assert care == {"open_cases": 2, "overdue_cases": 1, "first_answer_minutes": 30}


def test_no_answers_yet_shows_no_time(db):
    opened("困っています", conversation_id=1)

    assert dashboard_snapshot()["cards"]["care"] == {"open_cases": 1, "overdue_cases": 0, "first_answer_minutes": None}
