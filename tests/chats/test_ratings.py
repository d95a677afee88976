"""Feedback: a customer rates an answer or a purchase (tablet buttons over the socket or HTTP, LINE quick replies
through the loopback LINE server); the rating names the agent turn and the persona that answered."""

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from apps.agents.models import AgentTurn
from apps.chats.models import Conversation, Message, Rating
from apps.inventory.services import device_token_issue
from tests.chats.test_consumers import connect, until
from tests.chats.test_line import post_webhook, postback_event, text_event


@pytest.fixture
def tablet(shop):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=shop)}")
    return client


def chat(client, message, conversation=None):
    body = {"message": message, **({"conversation": conversation} if conversation else {})}
    return client.post("/api/machines/HQ-1F/chat/", body, format="json").json()


def rate(client, **body):
    return client.post("/api/machines/HQ-1F/ratings/", body, format="json")


def test_a_tablet_rating_names_the_turn_and_persona_and_a_second_tap_changes_it(tablet, shopkeeper):
    answer = chat(tablet, "コーラはいくら？")

    first = rate(tablet, conversation=answer["conversation"], message=answer["message"], score=1)
    second = rate(tablet, conversation=answer["conversation"], message=answer["message"], score=-1, comment="高い")

    assert (first.status_code, second.status_code) == (201, 201)
    rating = Rating.objects.get()
    assert (rating.score, rating.comment, rating.subject) == (-1, "高い", "answer")
    assert rating.turn == AgentTurn.objects.get() and rating.persona == shopkeeper.persona
    assert rating.message.text == answer["reply"]


def test_nobody_rates_another_conversations_answer_or_their_own_words(tablet, shop):
    mine = chat(tablet, "こんにちは")
    theirs = chat(tablet, "コーラはいくら？")
    own_words = Message.objects.get(conversation__public_id=mine["conversation"], sender="customer")

    other = rate(tablet, conversation=mine["conversation"], message=theirs["message"], score=-1)
    words = rate(tablet, conversation=mine["conversation"], message=own_words.pk, score=1)
    bad_score = rate(tablet, conversation=mine["conversation"], message=mine["message"], score=5)
    someone_elses_sale = rate(tablet, conversation=mine["conversation"], sale=1, score=1)

    assert (other.status_code, words.status_code, someone_elses_sale.status_code) == (404, 404, 404)
    assert bad_score.status_code == 400 and bad_score.json()["error"]["code"] == "invalid"
    assert not Rating.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_the_tablet_rates_an_answer_and_its_purchase_over_the_socket(paired_cookie):
    communicator, _, _ = await connect(cookie=paired_cookie)
    await communicator.receive_json_from()
    await communicator.send_json_to({"type": "chat", "conversation": None, "text": "こんにちは"})
    reply = (await until(communicator, "reply"))[-1]
    await communicator.send_json_to(
        {"type": "rate", "conversation": reply["conversation"], "message": reply["message"], "score": 1}
    )
    rated = (await until(communicator, "rated"))[-1]
    await communicator.send_json_to(
        {
            "type": "purchase",
            "items": [{"slot": "A2", "quantity": 1}],
            "payment_method": "card",
            "idempotency_key": "rate-1",
            "conversation": reply["conversation"],
        }
    )
    receipt = (await until(communicator, "receipt"))[-1]["receipt"]
    await communicator.send_json_to(
        {"type": "rate", "conversation": reply["conversation"], "sale": receipt["sale_id"], "score": -1}
    )
    await until(communicator, "rated")

    ratings = await database_sync_to_async(lambda: list(Rating.objects.order_by("id").values("subject", "score")))()
    assert rated["score"] == 1
    assert ratings == [{"subject": "answer", "score": 1}, {"subject": "purchase", "score": -1}]
    await communicator.disconnect()


def quick_replies(fake_line):
    last = fake_line.sent("/v2/bot/message/reply")[-1]["body"]["messages"][-1]
    return [item["action"] for item in last["quickReply"]["items"]]


def test_a_line_answer_carries_rating_quick_replies_and_a_comment_follows_a_thumbs_down(fake_line, consenting):
    post_webhook(text_event(fake_line, "コーラはいくら？"))
    answer = Message.objects.filter(sender="assistant").latest("id")
    actions = quick_replies(fake_line)
    bad = next(action for action in actions if action["label"].startswith("👎"))
    assert any(action["label"].startswith("👍") for action in actions)

    post_webhook(postback_event(fake_line, bad["data"]))
    post_webhook(text_event(fake_line, "意見: 値段しか教えてくれなかった"))

    rating = Rating.objects.get()
    assert (rating.message, rating.score, rating.comment) == (answer, -1, "値段しか教えてくれなかった")
    assert rating.conversation.customer == consenting
    assert "理由を送ってください" in fake_line.texts()[-2]


def test_a_line_customer_cannot_rate_someone_elses_answer(fake_line, consenting, shop):
    stranger = Conversation.objects.create(machine=shop, channel="tablet")
    theirs = Message.objects.create(conversation=stranger, sender="assistant", text="いらっしゃいませ")

    post_webhook(postback_event(fake_line, f"action=rate&m={theirs.pk}&s=1"))

    assert not Rating.objects.exists()
    assert "見つかりません" in fake_line.texts()[-1]
