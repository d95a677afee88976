from io import StringIO

from django.core.management import call_command
from rest_framework.test import APIClient

from apps.agents.models import Agent, Persona
from apps.inventory.models import Machine
from apps.inventory.services import device_token_issue


def test_seed_demo_adds_japanese_shopkeepers_once_and_the_shop_answers_with_no_key(db):
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    assert Persona.objects.count() == 3
    shopkeeper = Agent.objects.get(kind=Agent.Kind.SHOPKEEPER)
    assert shopkeeper.persona.name == "ハル" and shopkeeper.provider == "offline"
    assert "issue_coupon" in shopkeeper.enabled_tools and "set_price" not in shopkeeper.enabled_tools
    assert "set_price" in Agent.objects.get(kind=Agent.Kind.PROCUREMENT).enabled_tools

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=Machine.objects.get(code='HQ-1F'))}")
    reply = client.post("/api/machines/HQ-1F/chat/", {"message": "こんにちは"}, format="json").json()["reply"]
    assert reply == "いらっしゃいませ！ハルです。今日は何になさいますか？"
