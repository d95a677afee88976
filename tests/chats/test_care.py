"""Customer care on the customer's channel: a complaint on LINE or at the tablet becomes a case staff hear of at once
(LINE push to their accounts through the loopback LINE server, and e-mail); the answer staff write in the admin
reaches the customer where they talked."""

import pytest
from channels.db import database_sync_to_async
from django.core import mail
from django.urls import reverse

from apps.agents.models import Case, CaseReply
from apps.agents.services import case_answer
from apps.chats.models import Conversation, Message
from apps.chats.selectors import conversation_sale_ids
from apps.inventory.models import Sale
from tests.chats.test_consumers import connect, until
from tests.chats.test_line import USER, post_webhook, text_event

STAFF_LINE_ID = "U" + "fedcba9876543210" * 2


@pytest.fixture
def staff_on_line(settings, staff_user):
    settings.CASE_STAFF_LINE_USER_IDS = [STAFF_LINE_ID]
    staff_user.email = "care@example.com"
    staff_user.save()
    return staff_user


def pushes_to(fake_line, line_user_id):
    return [r["body"] for r in fake_line.sent("/v2/bot/message/push") if r["body"]["to"] == line_user_id]


def answer_in_admin(client, user, case, text):
    client.force_login(user)
    url = reverse("admin:agents_case_change", args=[case.pk])
    return client.post(url, {"answer": text, "replies-TOTAL_FORMS": "0", "replies-INITIAL_FORMS": "0"})


def test_a_line_complaint_reaches_staff_and_their_admin_answer_reaches_the_customer(
    fake_line, consenting, staff_on_line, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(text_event(fake_line, "コーラを押したのに違う商品が出てきました"))

    case = Case.objects.get()
    assert (case.kind, case.channel, case.customer_key) == ("wrong_item", "line", consenting.key)
    staff_notice = pushes_to(fake_line, STAFF_LINE_ID)
    assert len(staff_notice) == 1 and "違う商品が出てきました" in staff_notice[0]["messages"][0]["text"]
    assert mail.outbox[0].to == ["care@example.com"] and f"#{case.pk}" in mail.outbox[0].subject
    assert any(f"受付番号 {case.pk}" in text for text in fake_line.texts())  # the customer's reply

    with django_capture_on_commit_callbacks(execute=True):
        response = answer_in_admin(
            client, staff_on_line, case, "ご迷惑をおかけしました。正しい商品をお届けする手配をしました。"
        )

    assert response.status_code == 302
    to_customer = pushes_to(fake_line, USER)
    assert "正しい商品をお届けする手配をしました" in to_customer[-1]["messages"][0]["text"]
    reply = CaseReply.objects.get()
    assert (reply.delivered_via, reply.delivery_error) == ("line", "") and reply.delivered_at is not None
    case.refresh_from_db()
    assert case.status == "answered" and case.owner == staff_on_line and case.first_answered_at is not None
    # The conversation keeps the answer, so the assistant knows what staff said.
    assert Message.objects.filter(conversation__customer=consenting, data__case_reply_id=reply.pk).exists()


def test_an_empty_admin_answer_sends_nothing(fake_line, consenting, staff_on_line, client):
    post_webhook(text_event(fake_line, "おにぎりが傷んでいました"))
    case = Case.objects.get()
    before = len(fake_line.requests)

    answer_in_admin(client, staff_on_line, case, "   ")

    assert not CaseReply.objects.exists() and len(fake_line.requests) == before
    case.refresh_from_db()
    assert case.status == "open"


def test_a_customer_who_blocked_the_account_is_not_pushed_and_staff_see_why(
    fake_line, consenting, staff_on_line, client, django_capture_on_commit_callbacks
):
    post_webhook(text_event(fake_line, "二重に請求されています"))
    case = Case.objects.get()
    consenting.push_opt_out = True
    consenting.save()

    with django_capture_on_commit_callbacks(execute=True):
        answer_in_admin(client, staff_on_line, case, "確認しました。")

    assert pushes_to(fake_line, USER) == []
    assert CaseReply.objects.get().delivery_error == "push_opt_out"


@pytest.mark.django_db(transaction=True)
async def test_a_tablet_complaint_gets_the_staff_answer_on_the_tablet(paired_cookie, staff_user):
    communicator, _, _ = await connect(cookie=paired_cookie)
    await communicator.receive_json_from()
    await communicator.send_json_to({"type": "chat", "conversation": None, "text": "違う商品が出てきました"})
    reply = (await until(communicator, "reply"))[-1]
    case = await database_sync_to_async(Case.objects.get)()
    assert {"type": "case_opened", "case": case.pk} in reply["actions"]

    await communicator.send_json_to({"type": "staff_answers", "conversation": reply["conversation"]})
    nothing_yet = (await until(communicator, "staff_answers"))[-1]
    await database_sync_to_async(case_answer)(case=case, author=staff_user, text="すぐに確認に伺います。")
    await communicator.send_json_to({"type": "staff_answers", "conversation": reply["conversation"]})
    answered = (await until(communicator, "staff_answers"))[-1]
    await communicator.send_json_to({"type": "staff_answers", "conversation": reply["conversation"]})
    shown_once = (await until(communicator, "staff_answers"))[-1]

    assert nothing_yet["answers"] == [] and shown_once["answers"] == []
    assert len(answered["answers"]) == 1 and "すぐに確認に伺います。" in answered["answers"][0]["text"]
    delivered = await database_sync_to_async(CaseReply.objects.get)()
    assert delivered.delivered_via == "tablet" and delivered.delivered_at is not None
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_another_conversations_staff_answers_are_not_found(paired_cookie):
    communicator, _, _ = await connect(cookie=paired_cookie)
    await communicator.receive_json_from()
    await communicator.send_json_to({"type": "staff_answers", "conversation": "not-a-conversation"})

    error = (await until(communicator, "error"))[-1]

    assert error["code"] == "not_found"
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_tablet_purchase_in_a_conversation_is_that_customers_own(paired_cookie):
    communicator, _, _ = await connect(cookie=paired_cookie)
    await communicator.receive_json_from()
    await communicator.send_json_to({"type": "chat", "conversation": None, "text": "こんにちは"})
    reply = (await until(communicator, "reply"))[-1]
    await communicator.send_json_to(
        {
            "type": "purchase",
            "items": [{"slot": "A2", "quantity": 1}],
            "payment_method": "card",
            "idempotency_key": "attempt-care",
            "conversation": reply["conversation"],
        }
    )
    receipt = (await until(communicator, "receipt"))[-1]

    conversation = await database_sync_to_async(Conversation.objects.get)(public_id=reply["conversation"])
    ids = await database_sync_to_async(conversation_sale_ids)(conversation=conversation)
    assert ids == (receipt["receipt"]["sale_id"],)
    assert await database_sync_to_async(Sale.objects.count)() == 1
    await communicator.disconnect()
