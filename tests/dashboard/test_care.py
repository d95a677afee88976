"""The dashboard's customer-care cards: cases waiting for staff (and past their SLA) and the time to a first answer."""

import datetime

from django.utils import timezone

from apps.agents.services import case_answer, case_open
from apps.chats.models import Conversation, Message
from apps.chats.services import rating_record
from apps.dashboard.selectors import dashboard_snapshot
from tests.factories import PersonaFactory


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
    opened("今来ました", conversation_id=5)

    care = dashboard_snapshot()["cards"]["care"]

    assert care == {"open_cases": 2, "overdue_cases": 1, "first_answer_minutes": 30}


def test_no_answers_yet_shows_no_time(db):
    opened("困っています", conversation_id=1)

    assert dashboard_snapshot()["cards"]["care"] == {"open_cases": 1, "overdue_cases": 0, "first_answer_minutes": None}


def test_satisfaction_by_day_and_persona_and_the_worst_answers(db, machine, time_machine):
    hal, sota = PersonaFactory(name="ハル"), PersonaFactory(name="ソウタ")
    now = timezone.now()

    def rated(persona, score, text, *, days_ago=0, comment=""):
        time_machine.move_to(now - datetime.timedelta(days=days_ago))
        conversation = Conversation.objects.create(machine=machine, persona=persona)
        answer = Message.objects.create(conversation=conversation, sender="assistant", text=text)
        return rating_record(conversation=conversation, score=score, message_id=answer.pk, comment=comment)

    rated(hal, 1, "緑茶は130円です", days_ago=1)
    rated(hal, -1, "分かりません", days_ago=1, comment="答えになっていない")
    rated(sota, 1, "コーラがおすすめ")
    worst = rated(sota, -1, "知らないよ", comment="失礼")
    time_machine.move_to(now)

    data = dashboard_snapshot()["satisfaction"]

    assert [(d["ratings"], d["good_pct"]) for d in data["by_day"][-2:]] == [(2, 50), (2, 50)]
    assert data["by_day"][0] == {"label": data["by_day"][0]["label"], "ratings": 0, "good_pct": None}
    assert [(p["label"], p["ratings"], p["good_pct"]) for p in data["by_persona"]] == [
        ("ソウタ", 2, 50),
        ("ハル", 2, 50),
    ]
    assert [(w["id"], w["answer"], w["comment"], w["persona"]) for w in data["worst_answers"]][0] == (
        worst.pk,
        "知らないよ",
        "失礼",
        "ソウタ",
    )
    assert len(data["worst_answers"]) == 2
