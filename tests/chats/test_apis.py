import pytest
from rest_framework.test import APIClient

from apps.agents.models import Agent
from apps.agents.services import agent_pause
from apps.chats.models import Conversation, Message
from apps.inventory.services import device_token_issue
from tests.factories import MachineFactory


def chat(client, message, conversation=None, code="HQ-1F"):
    return client.post(f"/api/machines/{code}/chat/", {"conversation": conversation, "message": message}, format="json")


def test_a_greeting_starts_a_conversation_answered_by_the_persona(device_client, shopkeeper):
    response = chat(device_client, "こんにちは")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reply"] == shopkeeper.persona.greeting
    conversation = Conversation.objects.get(public_id=body["conversation"])
    assert conversation.agent == shopkeeper and conversation.persona == shopkeeper.persona
    assert list(conversation.messages.values_list("sender", flat=True)) == ["customer", "assistant"]


def test_a_purchase_request_returns_a_purchase_to_confirm_and_charges_nothing(device_client):
    response = chat(device_client, "コーラを2本ください")

    body = response.json()
    confirm = [action for action in body["actions"] if action["type"] == "confirm_purchase"]
    assert confirm and confirm[0]["purchase"]["items"][0] == {
        "sku": "COLA",
        "name": "コーラ",
        "slot": "A1",
        "quantity": 2,
        "unit_price_yen": 150,
    }
    assert confirm[0]["purchase"]["subtotal_yen"] == 300
    assert "300円" in body["reply"]


def test_the_conversation_continues_with_its_id(device_client):
    first = chat(device_client, "こんにちは").json()
    second = chat(device_client, "緑茶はいくら？", conversation=first["conversation"]).json()

    assert second["conversation"] == first["conversation"]
    assert "130円" in second["reply"]


@pytest.mark.parametrize("message", ["", "   "])
def test_an_empty_message_is_a_400(device_client, message):
    response = chat(device_client, message)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "メッセージを入力してください" in response.json()["error"]["message"]
    assert not Message.objects.exists()


def test_a_message_over_2000_characters_is_a_400(device_client):
    response = chat(device_client, "あ" * 2001)

    assert response.status_code == 400
    assert "2000文字以内" in response.json()["error"]["message"]
    assert chat(device_client, "あ" * 2000).status_code == 200


def test_without_a_device_token_the_chat_is_refused(shop):
    response = chat(APIClient(), "こんにちは")

    assert response.status_code in (401, 403)
    assert "error" in response.json()
    assert not Conversation.objects.exists()


def test_another_machines_token_cannot_talk_for_this_machine(shop):
    other = MachineFactory(code="HQ-2F")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=other)}")

    assert chat(client, "こんにちは").status_code == 403


def test_a_conversation_of_another_machine_is_not_found(device_client):
    other = MachineFactory(code="HQ-2F")
    foreign = Conversation.objects.create(machine=other)

    response = chat(device_client, "こんにちは", conversation=foreign.pk)

    assert response.status_code == 404
    assert not foreign.messages.exists()


def test_an_unknown_machine_is_a_404_for_staff(staff_user, shop):
    client = APIClient()
    client.force_login(staff_user)

    assert chat(client, "こんにちは", code="NOPE").status_code == 404


def test_a_paused_agent_is_not_called_and_the_customer_gets_a_polite_notice(device_client, shopkeeper, manager_user):
    agent_pause(agent=shopkeeper, actor=manager_user)

    body = chat(device_client, "コーラを1本ください").json()

    assert body["agent_available"] is False
    assert "お休み中" in body["reply"]
    assert not shopkeeper.turns.exists()
    shopkeeper.refresh_from_db()
    assert shopkeeper.status == Agent.Status.MAINTENANCE
