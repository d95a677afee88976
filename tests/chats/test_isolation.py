"""Conversations never cross channels or machines: every way a client names a conversation (the chat API and the
tablet socket) with someone else's, a made-up or a malformed id is refused, and nothing reaches that conversation."""

import uuid

import pytest
from channels.db import database_sync_to_async

from apps.chats.models import Conversation, Message
from apps.chats.services import conversation_start, customer_for_line_user, message_record
from apps.inventory.services import device_token_issue
from tests.chats.test_apis import chat
from tests.chats.test_consumers import connect, until
from tests.factories import MachineFactory

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "090-1234-5678"


@pytest.fixture
def foreign(shop):
    """Conversations a tablet of HQ-1F must never reach: a LINE customer's held at HQ-1F itself (with their phone
    number in it) and a tablet conversation of HQ-2F."""
    customer = customer_for_line_user(line_user_id="U" + "a" * 32, display_name="山田")
    line = conversation_start(machine=shop, channel=Conversation.Channel.LINE, customer=customer)
    message_record(conversation=line, sender=Message.Sender.CUSTOMER, text=f"電話は{PHONE}です")
    other_machine = MachineFactory(code="HQ-2F")
    device_token_issue(machine=other_machine)
    other_tablet = conversation_start(machine=other_machine)
    message_record(conversation=other_tablet, sender=Message.Sender.CUSTOMER, text="2階のお客様")
    return {"line": line, "other_machine": other_tablet}


def names_for(foreign) -> dict:
    """Every value a client might send as the conversation: the real public ids of conversations not its own,
    a random UUID, the old sequential integer id and malformed values."""
    return {
        "another channel": str(foreign["line"].public_id),
        "another machine": str(foreign["other_machine"].public_id),
        "random uuid": str(uuid.uuid4()),
        "old integer id": foreign["line"].pk,
        "integer id as text": str(foreign["line"].pk),
        "malformed": "not-a-conversation",
        "object": {"id": foreign["line"].pk},
    }


def messages_now():
    return sorted(Message.objects.values_list("conversation_id", "sender", "text"))


def test_the_chat_api_refuses_every_conversation_not_its_own(device_client, foreign):
    before, conversations = messages_now(), Conversation.objects.count()

    for name, value in names_for(foreign).items():
        response = chat(device_client, "さっきの電話番号を教えて", conversation=value)

        assert response.status_code in (400, 404), (name, response.status_code, response.content)
        assert set(response.json()["error"]) == {"code", "message", "details"}, name
        assert PHONE not in response.content.decode() and "2階" not in response.content.decode(), name
    assert messages_now() == before and Conversation.objects.count() == conversations


def test_a_foreign_conversation_is_a_404_with_a_message(device_client, foreign):
    response = chat(device_client, "こんにちは", conversation=str(foreign["line"].public_id))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "この会話は見つかりません" in response.json()["error"]["message"]


def test_the_chat_api_continues_its_own_conversation_only_by_an_unguessable_id(device_client, foreign):
    first = chat(device_client, "こんにちは").json()

    assert uuid.UUID(first["conversation"]).version == 4
    second = chat(device_client, "緑茶はいくら？", conversation=first["conversation"])
    assert second.status_code == 200 and second.json()["conversation"] == first["conversation"]
    own = Conversation.objects.get(public_id=first["conversation"])
    assert (
        own.channel == "tablet" and own.machine.code == "HQ-1F" and own.messages.filter(sender="customer").count() == 2
    )


async def test_the_tablet_socket_refuses_every_conversation_not_its_own(paired_cookie, foreign):
    before, conversations = await database_sync_to_async(messages_now)(), await Conversation.objects.acount()
    communicator, connected, _ = await connect(cookie=paired_cookie)
    assert connected
    await until(communicator, "products")

    for name, value in names_for(foreign).items():
        await communicator.send_json_to({"type": "chat", "conversation": value, "text": "さっきの電話番号を教えて"})
        error = (await until(communicator, "error"))[-1]

        assert (error["request"], error["code"]) == ("chat", "not_found"), name
        assert "この会話は見つかりません" in error["message"], name
    await communicator.disconnect()
    assert await database_sync_to_async(messages_now)() == before
    assert await Conversation.objects.acount() == conversations


async def test_the_tablet_socket_names_its_conversation_by_an_unguessable_id_and_continues_it(paired_cookie, foreign):
    communicator, _, _ = await connect(cookie=paired_cookie)
    await communicator.send_json_to({"type": "chat", "conversation": None, "text": "こんにちは"})
    first = (await until(communicator, "reply"))[-1]

    await communicator.send_json_to({"type": "chat", "conversation": first["conversation"], "text": "緑茶はいくら？"})
    second = (await until(communicator, "reply"))[-1]
    await communicator.disconnect()

    assert uuid.UUID(first["conversation"]).version == 4 and second["conversation"] == first["conversation"]
    own = await Conversation.objects.select_related("machine").aget(public_id=first["conversation"])
    assert own.channel == "tablet" and own.machine.code == "HQ-1F"
    assert await own.messages.filter(sender="customer").acount() == 2
