import pytest
from django.urls import reverse

from apps.agents.models import Agent
from apps.agents.services import agent_pause, agent_persona_set, agent_resume, agent_tools_set, tool_call
from apps.core.errors import Conflict, ValidationError
from apps.core.models import AuditEntry
from tests.factories import PersonaFactory


def test_pause_and_resume_are_audited(shopkeeper, manager_user):
    agent_pause(agent=shopkeeper, actor=manager_user, reason="棚卸し")
    paused = Agent.objects.get(pk=shopkeeper.pk)
    agent_resume(agent=shopkeeper, actor=manager_user)

    assert paused.status == Agent.Status.MAINTENANCE and not paused.is_callable
    assert Agent.objects.get(pk=shopkeeper.pk).status == Agent.Status.IDLE
    assert list(AuditEntry.objects.order_by("id").values_list("action", "from_state", "to_state")) == [
        ("agent_pause", "idle", "maintenance"),
        ("agent_resume", "maintenance", "idle"),
    ]


def test_pausing_twice_or_resuming_a_working_agent_is_a_conflict(shopkeeper, manager_user):
    with pytest.raises(Conflict):
        agent_resume(agent=shopkeeper, actor=manager_user)
    agent_pause(agent=shopkeeper, actor=manager_user)
    with pytest.raises(Conflict):
        agent_pause(agent=shopkeeper, actor=manager_user)


def test_a_failed_agent_can_be_resumed(shopkeeper, manager_user):
    Agent.objects.filter(pk=shopkeeper.pk).update(status=Agent.Status.FAILED)

    assert agent_resume(agent=shopkeeper, actor=manager_user).status == Agent.Status.IDLE


def test_tools_outside_the_agents_kind_cannot_be_enabled(shopkeeper, manager_user):
    with pytest.raises(ValidationError, match="set_price"):
        agent_tools_set(agent=shopkeeper, tool_names=["list_products", "set_price"], actor=manager_user)
    with pytest.raises(ValidationError, match="launch_rocket"):
        agent_tools_set(agent=shopkeeper, tool_names=["launch_rocket"], actor=manager_user)

    assert agent_tools_set(agent=shopkeeper, tool_names=["list_products"], actor=manager_user).enabled_tools == [
        "list_products"
    ]


def _admin_action(client, action, agent):
    return client.post(
        reverse("admin:agents_agent_changelist"),
        {"action": action, "_selected_action": [agent.pk]},
        follow=True,
    )


def test_a_manager_pauses_and_resumes_from_the_admin(client, manager_user, shopkeeper):
    client.force_login(manager_user)

    _admin_action(client, "pause_agents", shopkeeper)
    assert Agent.objects.get(pk=shopkeeper.pk).status == Agent.Status.MAINTENANCE
    _admin_action(client, "resume_agents", shopkeeper)
    assert Agent.objects.get(pk=shopkeeper.pk).status == Agent.Status.IDLE


def test_staff_cannot_pause_an_agent(client, staff_user, shopkeeper):
    client.force_login(staff_user)

    response = _admin_action(client, "pause_agents", shopkeeper)

    assert Agent.objects.get(pk=shopkeeper.pk).status == Agent.Status.IDLE
    assert response.status_code in (200, 403)


def test_the_admin_form_refuses_a_tool_the_kind_may_not_use(client, manager_user, shopkeeper):
    client.force_login(manager_user)

    response = client.post(
        reverse("admin:agents_agent_change", args=[shopkeeper.pk]),
        {
            "name": shopkeeper.name,
            "kind": "shopkeeper",
            "persona": shopkeeper.persona_id,
            "provider": "offline",
            "model_name": "",
            "daily_token_budget": 1000,
            "daily_yen_budget": 100,
            "daily_coupon_budget_yen": 500,
            "enabled_tools": ["list_products", "set_price"],
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert "set_price" in str(response.context["adminform"].form.errors["enabled_tools"])
    assert "set_price" not in Agent.objects.get(pk=shopkeeper.pk).enabled_tools


def test_managers_edit_personas_and_staff_only_look(client, manager_user, staff_user, shopkeeper):
    client.force_login(manager_user)
    assert client.get(reverse("admin:agents_persona_change", args=[shopkeeper.persona_id])).status_code == 200
    response = client.post(
        reverse("admin:agents_persona_add"),
        {"name": "ミカ", "greeting": "こんにちは！", "gender": "female", "language": "ja"},
    )
    assert response.status_code == 302

    client.force_login(staff_user)
    assert client.get(reverse("admin:agents_persona_add")).status_code == 403


def test_staff_see_refused_calls_and_escalations_in_the_admin(client, staff_user, context):
    tool_call(context=context, name="issue_coupon", arguments={"percent": 60, "reason": "please"})
    client.force_login(staff_user)

    page = client.get(reverse("admin:agents_guardrailviolation_changelist"))

    assert page.status_code == 200
    assert "coupon_max_percent" in page.content.decode()
    assert client.get(reverse("admin:agents_escalation_changelist")).status_code == 200
    assert client.get(reverse("admin:agents_agent_changelist")).status_code == 403


def test_a_new_persona_greets_new_customers_and_the_change_is_audited(device_client, shopkeeper, manager_user):
    old_name = shopkeeper.persona.name
    sota = PersonaFactory(name="ソウタ", greeting="いらっしゃい、ソウタです。")
    url = "/api/machines/HQ-1F/chat/"
    ongoing = device_client.post(url, {"conversation": None, "message": "こんにちは"}, format="json").json()

    agent_persona_set(agent=shopkeeper, persona=sota, actor=manager_user, reason="秋の新ペルソナ")

    fresh = device_client.post(url, {"conversation": None, "message": "こんにちは"}, format="json").json()
    assert fresh["reply"] == "いらっしゃい、ソウタです。"
    # A conversation already under way keeps the voice it started with.
    same = device_client.post(url, {"conversation": ongoing["conversation"], "message": "こんにちは"}, format="json")
    assert same.json()["reply"] == ongoing["reply"] != fresh["reply"]
    entry = AuditEntry.objects.get(action="agent_persona_set")
    assert (entry.actor, entry.from_state, entry.to_state, entry.reason) == (
        manager_user,
        old_name,
        "ソウタ",
        "秋の新ペルソナ",
    )

    agent_persona_set(agent=shopkeeper, persona=sota, actor=manager_user, reason="もう一度")  # no change, no entry
    assert AuditEntry.objects.filter(action="agent_persona_set").count() == 1
    with pytest.raises(ValidationError):
        agent_persona_set(agent=shopkeeper, persona=None, actor=manager_user, reason=" ")


def _agent_form(agent, **changes):
    data = {
        "name": agent.name,
        "kind": agent.kind,
        "persona": agent.persona_id or "",
        "provider": agent.provider,
        "model_name": agent.model_name,
        "daily_token_budget": agent.daily_token_budget,
        "daily_yen_budget": agent.daily_yen_budget,
        "daily_coupon_budget_yen": agent.daily_coupon_budget_yen,
        "enabled_tools": list(agent.enabled_tools),
        "persona_change_reason": "",
    }
    return {**data, **changes}


def test_a_persona_changed_in_the_admin_needs_a_reason_and_is_audited(client, manager_user, shopkeeper):
    sota = PersonaFactory(name="ソウタ")
    old_name = shopkeeper.persona.name
    url = reverse("admin:agents_agent_change", args=[shopkeeper.pk])
    client.force_login(manager_user)

    refused = client.post(url, _agent_form(shopkeeper, persona=sota.pk))
    assert refused.status_code == 200 and "ペルソナを変える理由を入力してください" in refused.content.decode()
    shopkeeper.refresh_from_db()
    assert shopkeeper.persona.name == old_name and not AuditEntry.objects.exists()

    saved = client.post(url, _agent_form(shopkeeper, persona=sota.pk, persona_change_reason="冬の新ペルソナ"))
    assert saved.status_code == 302
    shopkeeper.refresh_from_db()
    assert shopkeeper.persona == sota
    entry = AuditEntry.objects.get(action="agent_persona_set")
    assert (entry.actor, entry.from_state, entry.to_state, entry.reason) == (
        manager_user,
        old_name,
        "ソウタ",
        "冬の新ペルソナ",
    )


def test_tools_changed_in_the_admin_are_audited_and_other_edits_need_no_reason(client, manager_user, shopkeeper):
    url = reverse("admin:agents_agent_change", args=[shopkeeper.pk])
    client.force_login(manager_user)
    tools = [name for name in shopkeeper.enabled_tools if name != "issue_coupon"]

    response = client.post(url, _agent_form(shopkeeper, enabled_tools=tools, daily_coupon_budget_yen=500))

    assert response.status_code == 302
    shopkeeper.refresh_from_db()
    assert shopkeeper.enabled_tools == tools and shopkeeper.daily_coupon_budget_yen == 500
    entry = AuditEntry.objects.get(action="agent_tools_set")
    assert "issue_coupon" in entry.data["from"] and "issue_coupon" not in entry.data["to"]
    assert not AuditEntry.objects.filter(action="agent_persona_set").exists()
