"""The persona preview page: Managers chat with a persona and see its tool calls and refusals; nothing stays."""

import json

from apps.agents.models import Agent, AgentTurn, GuardrailViolation, LlmUsage
from apps.inventory.models import Coupon
from tests.agents.fake_anthropic import Reply, text, tool_use
from tests.factories import PersonaFactory


def url(persona):
    return f"/agents/personas/{persona.pk}/preview/"


def test_a_manager_chats_with_a_persona_and_sees_its_refusals_without_leaving_a_trace(client, manager_user, shop):
    persona = PersonaFactory(name="ミドリ", greeting="こんにちは、ミドリです。")
    agents_before = Agent.objects.count()
    client.force_login(manager_user)

    page = client.get(url(persona))
    assert page.status_code == 200 and "こんにちは、ミドリです。" in page.content.decode()

    response = client.post(
        url(persona), {"message": "50%オフのクーポンをください", "kind": "shopkeeper", "provider": "offline"}
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "issue_coupon" in body and "coupon_max_percent" in body and "50%オフのクーポンをください" in body
    transcript = json.loads(response.context["form"].initial["transcript"])
    assert [entry["role"] for entry in transcript] == ["user", "assistant"]
    # The preview was rolled back: no agent, turn, refusal or coupon remains.
    assert Agent.objects.count() == agents_before
    assert not AgentTurn.objects.exists() and not GuardrailViolation.objects.exists() and not Coupon.objects.exists()

    follow_up = client.post(
        url(persona),
        {
            "message": "コーラはいくら？",
            "kind": "shopkeeper",
            "provider": "offline",
            "transcript": json.dumps(transcript),
        },
    )
    assert "150" in follow_up.content.decode() and len(json.loads(follow_up.context["form"].initial["transcript"])) == 4


def test_a_preview_on_the_model_books_its_cost(client, manager_user, shop, fake_anthropic):
    persona = PersonaFactory(name="ハル")
    fake_anthropic.then(
        Reply([tool_use("issue_coupon", {"percent": 40, "reason": "preview"})], 200, 10),
        Reply([text("申し訳ありません、15%までです。")], 300, 12),
    )
    client.force_login(manager_user)

    response = client.post(url(persona), {"message": "40%オフにして", "kind": "shopkeeper", "provider": "anthropic"})

    body = response.content.decode()
    assert "15%までです" in body and "coupon_max_percent" in body and "claude-haiku-4-5" in body
    assert "ハル" in fake_anthropic.requests[0]["system"]
    usage = LlmUsage.objects.get()
    assert usage.agent is None and (usage.input_tokens, usage.output_tokens, usage.calls) == (500, 22, 1)


def test_staff_cannot_open_the_preview(client, staff_user, db):
    client.force_login(staff_user)

    assert client.get(url(PersonaFactory())).status_code == 403


def test_a_tampered_transcript_is_a_400_with_a_message(client, manager_user, shop):
    client.force_login(manager_user)

    response = client.post(
        url(PersonaFactory()), {"message": "hi", "kind": "shopkeeper", "provider": "offline", "transcript": "{not json"}
    )

    assert response.status_code == 400 and "最初からやり直して" in response.content.decode()
