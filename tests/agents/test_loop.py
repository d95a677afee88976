"""The one tool-calling loop (apps.agents.loop) as the shop runs it, and the time the provider spends inside the SDK."""

import time
from dataclasses import dataclass

import pytest
from prometheus_client import REGISTRY

from apps.agents.limits import MAX_TOOL_ROUNDS
from apps.agents.models import Agent, AgentTurn
from apps.agents.providers import PROVIDERS
from apps.agents.providers.anthropic import AnthropicProvider
from apps.agents.providers.base import ChatMessage, ProviderReply, ProviderRequest, ToolCall
from apps.agents.runtime import agent_turn_run, unavailable_notice
from tests.agents.fake_anthropic import Reply, text

pytestmark = pytest.mark.django_db


@dataclass
class ToolsForever:
    """A model that answers every call with one more tool call and a few tokens."""

    tool: str
    arguments: dict
    name: str = "forever"
    model_name: str = "tools-forever-1"
    accepts_images: bool = False
    calls: int = 0

    def __call__(self):
        return self

    def complete(self, request):
        self.calls += 1
        call = ToolCall(id=str(self.calls), name=self.tool, arguments=self.arguments)
        return ProviderReply(tool_calls=(call,), input_tokens=10, output_tokens=2)


def test_a_model_that_never_stops_calling_tools_gets_max_tool_rounds_of_them_then_the_turn_ends(
    monkeypatch, shopkeeper, context
):
    model = ToolsForever("list_products", {})
    monkeypatch.setitem(PROVIDERS, "forever", model)
    Agent.objects.filter(pk=shopkeeper.pk).update(provider="forever")

    outcome = agent_turn_run(agent=shopkeeper, context=context, history=[ChatMessage(role="user", text="何がある？")])

    assert model.calls == MAX_TOOL_ROUNDS + 1
    turn = AgentTurn.objects.get()
    assert len(turn.tool_calls) == MAX_TOOL_ROUNDS  # the last call's tools are not run: no one would read the result
    assert (turn.input_tokens, turn.output_tokens) == (10 * model.calls, 2 * model.calls)
    assert not outcome.answered and outcome.text == unavailable_notice("ja")  # nothing said: the polite notice


def sdk_seconds() -> float:
    return REGISTRY.get_sample_value("vendbot_agent_model_sdk_seconds_total") or 0.0


def test_the_time_inside_the_sdk_includes_waiting_for_the_model_and_not_our_work_on_its_words(fake_anthropic):
    fake_anthropic.then(Reply([text("コーラは150円です。")], delay_before_text=0.2, chunk_chars=1))
    before = sdk_seconds()
    ours = []

    def on_text(piece):
        started = time.perf_counter()
        time.sleep(0.02)  # our own work on each piece: not the SDK's
        ours.append(time.perf_counter() - started)

    started = time.perf_counter()
    AnthropicProvider(model_name="claude-haiku-4-5").complete(
        ProviderRequest(system="", messages=[ChatMessage(role="user", text="コーラ？")], tools=[], on_text=on_text)
    )
    wall = time.perf_counter() - started

    inside = sdk_seconds() - before
    assert len(ours) == len("コーラは150円です。")
    assert 0.2 <= inside <= wall - sum(ours)
