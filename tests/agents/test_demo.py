from io import StringIO

from django.core.management import call_command
from rest_framework.test import APIClient

from apps.agents.demo import answering_model_line
from apps.agents.models import Agent, AgentTurn, Persona
from apps.inventory.models import Machine
from apps.inventory.services import device_token_issue
from tests.agents.fake_anthropic import Reply, text


def test_seed_demo_adds_japanese_shopkeepers_once_and_the_shop_answers_with_no_key(db):
    call_command("seed_demo", history_days=0, stdout=StringIO())
    call_command("seed_demo", history_days=0, stdout=StringIO())

    assert Persona.objects.count() == 3
    shopkeeper = Agent.objects.get(kind=Agent.Kind.SHOPKEEPER)
    assert shopkeeper.persona.name == "ハル" and shopkeeper.provider == "anthropic"
    assert "issue_coupon" in shopkeeper.enabled_tools and "set_price" not in shopkeeper.enabled_tools
    assert "set_price" in Agent.objects.get(kind=Agent.Kind.PROCUREMENT).enabled_tools

    assert _chat("こんにちは") == "いらっしゃいませ！ハルです。今日は何になさいますか？"
    assert AgentTurn.objects.get(agent=shopkeeper).fallback_reason == "no_api_key"
    assert answering_model_line() == "model: offline rule-based (no ANTHROPIC_API_KEY)"


def test_with_a_key_the_demo_shopkeeper_answers_through_the_model(db, fake_anthropic):
    call_command("seed_demo", history_days=0, stdout=(out := StringIO()))
    fake_anthropic.then(Reply([text("ハルです。緑茶はいかがですか？")]))

    assert _chat("おすすめは？") == "ハルです。緑茶はいかがですか？"
    assert AgentTurn.objects.get().fallback_reason == ""
    assert "model: Anthropic (claude-haiku-4-5)" in out.getvalue()


def test_the_model_line_says_when_the_shopkeeper_was_set_to_offline(db, settings):
    call_command("seed_demo", history_days=0, stdout=StringIO())
    Agent.objects.filter(kind=Agent.Kind.SHOPKEEPER).update(provider=Agent.Provider.OFFLINE)
    settings.ANTHROPIC_API_KEY = "test-key-made-here"

    call_command("seed_demo", history_days=0, stdout=(out := StringIO()))

    assert Agent.objects.get(kind=Agent.Kind.SHOPKEEPER).provider == "offline"  # a rerun keeps what a person chose
    assert "model: offline rule-based (the shopkeeper is set to the offline provider)" in out.getvalue()


def _chat(message: str) -> str:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=Machine.objects.get(code='HQ-1F'))}")
    return client.post("/api/machines/HQ-1F/chat/", {"message": message}, format="json").json()["reply"]
