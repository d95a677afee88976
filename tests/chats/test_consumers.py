"""The tablet socket, driven with Channels' communicator through the project's ASGI application."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from apps.chats.models import Conversation, Message
from apps.inventory.models import Sale
from apps.inventory.tablet_pairing import PAIRING_COOKIE
from tests.agents.fake_anthropic import Reply, text

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(code="HQ-1F", cookie=None):
    from vendbot.asgi import application

    headers = [(b"origin", b"http://testserver")]
    if cookie:
        headers.append((b"cookie", f"{PAIRING_COOKIE}={cookie}".encode()))
    communicator = WebsocketCommunicator(application, f"/ws/tablet/{code}/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def until(communicator, kind):
    """Messages received up to and including the first of type `kind`."""
    received = []
    while True:
        message = await communicator.receive_json_from(timeout=10)
        received.append(message)
        if message["type"] == kind:
            return received


async def test_an_unpaired_socket_is_refused(shop):
    communicator, connected, code = await connect(cookie=None)
    assert not connected and code == 4403

    forged, connected, _ = await connect(cookie="forged-value")
    assert not connected


async def test_a_cookie_of_one_machine_does_not_open_another_machines_socket(paired_cookie):
    from tests.factories import MachineFactory

    await database_sync_to_async(MachineFactory)(code="HQ-2F")

    communicator, connected, _ = await connect(code="HQ-2F", cookie=paired_cookie)
    assert not connected


async def test_the_reply_streams_then_arrives_whole_and_is_recorded(paired_cookie):
    communicator, connected, _ = await connect(cookie=paired_cookie)
    assert connected
    products = await communicator.receive_json_from()
    assert products["type"] == "products" and products["products"][0]["name"] == "コーラ"

    await communicator.send_json_to({"type": "chat", "conversation": None, "text": "コーラを2本ください"})
    received = await until(communicator, "reply")

    kinds = [message["type"] for message in received]
    assert kinds[0] == "reply_start" and "delta" in kinds
    reply = received[-1]
    assert "".join(m["text"] for m in received if m["type"] == "delta") == reply["text"]
    assert any(action["type"] == "confirm_purchase" for action in reply["actions"])
    senders = await database_sync_to_async(
        lambda: list(
            Message.objects.filter(conversation__public_id=reply["conversation"]).values_list("sender", flat=True)
        )
    )()
    assert senders[0] == "customer" and senders[-1] == "assistant"
    await communicator.disconnect()


async def test_a_models_one_sentence_reply_reaches_the_tablet_word_by_word(
    paired_cookie, model_shopkeeper, fake_anthropic
):
    sentence = "コーラは150円で、今日はよく冷えていておすすめです。"
    fake_anthropic.then(Reply([text(sentence)], chunk_chars=4))
    communicator, _, _ = await connect(cookie=paired_cookie)
    await communicator.receive_json_from()

    await communicator.send_json_to({"type": "chat", "conversation": None, "text": "おすすめは？"})
    received = await until(communicator, "reply")

    deltas = [message["text"] for message in received if message["type"] == "delta"]
    assert len(deltas) > 3 and "".join(deltas) == received[-1]["text"] == sentence
    await communicator.disconnect()


async def test_a_purchase_over_the_socket_returns_the_receipt_once_per_key(paired_cookie):
    communicator, _, _ = await connect(cookie=paired_cookie)
    await communicator.receive_json_from()
    purchase = {
        "type": "purchase",
        "items": [{"slot": "A2", "quantity": 2}],
        "payment_method": "card",
        "idempotency_key": "attempt-1",
    }

    await communicator.send_json_to(purchase)
    first = (await until(communicator, "receipt"))[-1]
    updated = await communicator.receive_json_from()
    await communicator.send_json_to(purchase)  # the same attempt sent again after a drop
    again = (await until(communicator, "receipt"))[-1]

    assert first["receipt"]["total_yen"] == 260 and not first["replayed"]
    assert again["replayed"] and again["receipt"]["sale_id"] == first["receipt"]["sale_id"]
    assert updated["type"] == "products" and updated["products"][1]["quantity"] == 4
    assert await database_sync_to_async(Sale.objects.count)() == 1
    await communicator.disconnect()


async def test_bad_requests_get_a_japanese_error_and_the_socket_stays_open(paired_cookie):
    communicator, _, _ = await connect(cookie=paired_cookie)
    await communicator.receive_json_from()

    await communicator.send_json_to(
        {
            "type": "purchase",
            "items": [{"slot": "A1", "quantity": 99}],
            "payment_method": "card",
            "idempotency_key": "k",
        }
    )
    error = await communicator.receive_json_from()
    await communicator.send_json_to({"type": "chat", "text": "  "})
    empty = await communicator.receive_json_from()

    assert error["type"] == "error" and "20個まで" in error["message"]
    assert empty["type"] == "error" and "メッセージを入力してください" in empty["message"]
    assert not await database_sync_to_async(Conversation.objects.exists)()
    await communicator.disconnect()
