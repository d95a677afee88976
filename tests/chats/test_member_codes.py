"""Tablet customers who identify: a LINE customer who consented sends 「会員コード」, types the number on the
machine's tablet, and that conversation knows them — their recommendations, their purchases under their key — until
the tablet resets for the next customer. A code works once, for ten minutes, and guessing is cut short."""

import datetime
import re
import time

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from apps.chats.export import customer_data_export
from apps.chats.models import Conversation, Customer, MemberCode, Message
from apps.chats.services import (
    customer_consent_set,
    customer_for_line_user,
    member_code_issue,
    tablet_customer_identify,
)
from apps.inventory.models import Machine, Sale
from apps.inventory.services import device_token_issue
from tests.chats.test_consumers import connect, until
from tests.chats.test_line import USER, post_webhook, text_event
from tests.chats.test_recommendations import history


@pytest.fixture(autouse=True)
def no_earlier_guesses():
    cache.clear()  # the mistyped-code counts of an earlier test's machine (the same pk) live in Redis


@pytest.fixture
def tablet(shop):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=shop)}")
    return client


def code_from_line(fake_line) -> str:
    post_webhook(text_event(fake_line, "会員コード"))
    return re.search(r"会員コード：(\d{6})", fake_line.texts()[-1]).group(1)


def identify(tablet, code, conversation=None):
    return tablet.post("/api/machines/HQ-1F/member/", {"code": code, "conversation": conversation}, format="json")


def test_a_member_code_from_line_makes_the_tablet_recommend_their_usual(fake_line, consenting, tablet, shopkeeper):
    history(consenting)
    code = code_from_line(fake_line)

    identified = identify(tablet, code)
    answer = tablet.post(
        "/api/machines/HQ-1F/chat/",
        {"message": "おすすめは？", "conversation": identified.json()["conversation"]},
        format="json",
    ).json()
    anonymous = tablet.post("/api/machines/HQ-1F/chat/", {"message": "おすすめは？"}, format="json").json()

    assert identified.status_code == 200
    assert identified.json()["text"] == "おかえりなさい！\nいつもの緑茶があります"
    assert answer["reply"].startswith("いつもの緑茶があります")
    assert "いつもの" not in anonymous["reply"]  # the next customer, a new conversation, is nobody in particular
    conversation = Conversation.objects.get(public_id=identified.json()["conversation"])
    assert (conversation.channel, conversation.customer_key) == ("tablet", consenting.key)
    assert not MemberCode.objects.exists()  # used up


def test_the_customers_export_holds_their_tablet_conversation_and_live_code(fake_line, consenting, tablet, shopkeeper):
    conversation = identify(tablet, code_from_line(fake_line)).json()["conversation"]
    tablet.post("/api/machines/HQ-1F/chat/", {"message": "こんにちは", "conversation": conversation}, format="json")
    code_from_line(fake_line)

    exported = customer_data_export(customer=consenting)

    at_tablet = [c for c in exported["conversations"] if c["channel"] == "tablet"]
    assert [c["id"] for c in at_tablet] == [conversation]
    assert "こんにちは" in [m["text"] for m in at_tablet[0]["messages"]]
    assert len(exported["member_codes"]) == 1


def test_a_code_works_once_and_not_after_ten_minutes(fake_line, consenting, tablet, shopkeeper):
    first = code_from_line(fake_line)
    assert identify(tablet, first).status_code == 200
    again = identify(tablet, first)

    late = code_from_line(fake_line)
    MemberCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    expired = identify(tablet, late)

    assert (again.status_code, expired.status_code) == (400, 400)
    assert expired.json()["error"]["message"] == "会員コードが正しくないか、有効期限が切れています。"


def test_a_new_code_replaces_the_last_one(fake_line, consenting, tablet, shopkeeper):
    old = code_from_line(fake_line)
    new = code_from_line(fake_line)

    assert identify(tablet, old).status_code == 400 or old == new
    assert identify(tablet, new).status_code == 200


def test_guessing_is_cut_short_even_before_the_right_code(fake_line, consenting, tablet, shopkeeper, settings):
    settings.MEMBER_CODE_FAILURES_PER_10_MINUTES = 5
    # The failures count per clock ten minutes: the guesses and the right code must fall in one of them.
    if time.time() % 600 > 570:
        time.sleep(601 - time.time() % 600)
    code = code_from_line(fake_line)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    guesses = [identify(tablet, wrong).status_code for _ in range(5)]
    right = identify(tablet, code)

    assert guesses == [400] * 5
    assert right.status_code == 429 and right.json()["error"]["code"] == "rate_limited"
    assert not Conversation.objects.filter(channel="tablet").exclude(customer_key="").exists()


def test_no_code_without_consent_and_nothing_for_a_customer_who_withdrew(fake_line, shop, tablet, shopkeeper):
    post_webhook(text_event(fake_line, "会員コード"))  # not consented yet: asked for consent, no code
    assert not MemberCode.objects.exists() and not re.search(r"\d{6}", fake_line.texts()[-1])

    customer = Customer.objects.get()
    customer_consent_set(customer=customer, given=True)
    code = code_from_line(fake_line)
    customer_consent_set(customer=customer, given=False)

    assert identify(tablet, code).status_code == 400


def test_bad_input_is_a_clear_400(tablet, shop):
    blank = identify(tablet, "")
    letters = identify(tablet, "abcdef")
    not_a_conversation = identify(tablet, "123456", conversation="not-a-uuid")

    assert (blank.status_code, letters.status_code, not_a_conversation.status_code) == (400, 400, 400)
    assert blank.json()["error"]["message"]


@pytest.mark.django_db(transaction=True)
async def test_a_tablet_purchase_after_the_code_is_theirs(paired_cookie, fake_line):
    def identified_conversation():
        customer = customer_consent_set(customer=customer_for_line_user(line_user_id=USER), given=True)
        code, _expires = member_code_issue(customer=customer)
        machine = Machine.objects.get(code="HQ-1F")
        conversation, _welcome = tablet_customer_identify(machine=machine, conversation_public_id=None, code=code)
        return customer, str(conversation.public_id)

    customer, conversation = await database_sync_to_async(identified_conversation)()
    communicator, _, _ = await connect(cookie=paired_cookie)
    await communicator.receive_json_from()
    await communicator.send_json_to(
        {
            "type": "purchase",
            "items": [{"slot": "A2", "quantity": 1}],
            "payment_method": "card",
            "idempotency_key": "member-1",
            "conversation": conversation,
        }
    )
    receipt = (await until(communicator, "receipt"))[-1]["receipt"]
    await communicator.disconnect()

    sale = await database_sync_to_async(Sale.objects.get)(pk=receipt["sale_id"])
    welcome = await database_sync_to_async(
        lambda: Message.objects.filter(conversation__public_id=conversation, sender="assistant").first().text
    )()
    assert sale.customer_key == customer.key
    assert welcome.startswith("おかえりなさい！")


def test_over_the_http_fallback_too_a_purchase_after_the_code_is_theirs_and_recorded_once(
    fake_line, consenting, tablet, shopkeeper
):
    conversation = identify(tablet, code_from_line(fake_line)).json()["conversation"]
    body = {"items": [{"slot": "A2", "quantity": 1}], "payment_method": "card", "conversation": conversation}

    def buy():
        return tablet.post("/api/machines/HQ-1F/tablet-purchases/", body, format="json", HTTP_IDEMPOTENCY_KEY="h-1")

    bought, again = buy(), buy()
    anonymous = tablet.post(
        "/api/machines/HQ-1F/tablet-purchases/",
        {"items": [{"slot": "A2", "quantity": 1}], "payment_method": "card"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="h-2",
    )

    assert (bought.status_code, again.status_code, anonymous.status_code) == (201, 201, 201)
    sale = Sale.objects.get(pk=bought.json()["sale_id"])
    assert again.json()["sale_id"] == sale.pk and sale.customer_key == consenting.key
    assert Sale.objects.get(pk=anonymous.json()["sale_id"]).customer_key == ""
    recorded = Message.objects.filter(conversation__public_id=conversation, sender="system", data__sale_id=sale.pk)
    assert recorded.count() == 1
    assert APIClient().post("/api/machines/HQ-1F/tablet-purchases/", body, format="json").status_code in (401, 403)
