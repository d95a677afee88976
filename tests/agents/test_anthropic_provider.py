"""The runtime on the real anthropic SDK against a loopback Messages API: streaming, tool use, retries, the breaker,
the first-words deadline, budgets and cost. Whatever fails, the customer gets the offline answer in the same persona."""

import time
from dataclasses import replace
from decimal import Decimal

import anthropic
import pytest
from asgiref.sync import async_to_sync
from prometheus_client import REGISTRY

from apps.agents.models import AgentTurn, BudgetAlert, LlmUsage
from apps.agents.providers.anthropic import AnthropicProvider
from apps.agents.providers.base import ChatMessage, ProviderError, ProviderRequest
from apps.agents.runtime import TextDelta, TurnDone, agent_turn_run, agent_turn_stream
from apps.agents.shared_limits import CircuitBreaker
from apps.inventory.models import Coupon
from tests.agents.fake_anthropic import Error, Hang, Reply, text, tool_use


def ask(agent, context, message="コーラはいくら？"):
    return agent_turn_run(agent=agent, context=context, history=[ChatMessage(role="user", text=message)])


def stream(agent, context, message):
    async def consume():
        history = [ChatMessage(role="user", text=message)]
        return [event async for event in agent_turn_stream(agent=agent, context=context, history=history)]

    return async_to_sync(consume)()


def test_a_streamed_reply_arrives_as_it_is_written_and_its_cost_is_usage_times_price(
    model_shopkeeper, context, fake_anthropic, settings
):
    settings.LLM_PRICES_YEN_PER_MILLION = {"claude-haiku-4-5": [150, 750]}
    fake_anthropic.then(
        Reply(
            [text("コーラは150円です。冷えていますよ！ほかにご用はありますか？")], input_tokens=1234, output_tokens=56
        )
    )

    events = stream(model_shopkeeper, context, "コーラはいくら？")

    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    # More pieces than sentences: the first goes out before its sentence is finished.
    assert len(deltas) > 3 and "コーラは150円です。".startswith(deltas[0]) and deltas[0] != "コーラは150円です。"
    outcome = events[-1].outcome
    assert isinstance(events[-1], TurnDone) and outcome.text == "".join(deltas)
    assert outcome.text == "コーラは150円です。冷えていますよ！ほかにご用はありますか？"
    # What went over the wire: the Messages API with the persona's prompt, the registry's tools, streamed.
    request, headers = fake_anthropic.requests[0], fake_anthropic.headers[0]
    assert request["model"] == "claude-haiku-4-5" and request["stream"] is True
    assert "店番" in request["system"] and "クーポンは最大15%" in request["system"]
    issue_coupon = next(tool for tool in request["tools"] if tool["name"] == "issue_coupon")
    assert issue_coupon["input_schema"]["properties"]["percent"]["type"] == "integer"
    assert request["messages"] == [{"role": "user", "content": [{"type": "text", "text": "コーラはいくら？"}]}]
    assert settings.ANTHROPIC_API_KEY in (headers.get("x-api-key"), headers.get("authorization", "")[len("Bearer ") :])
    # The provider posts through the SDK's low-level client: its own headers still go out with every call.
    assert headers["anthropic-version"] and headers["content-type"] == "application/json"
    assert headers["user-agent"] == f"Anthropic/Python {anthropic.__version__}"
    assert float(headers["x-stainless-read-timeout"]) <= settings.LLM_FIRST_WORDS_DEADLINE_SECONDS["shopkeeper"]
    # Cost = the server's usage × the price table (yen per million tokens).
    expected = (Decimal(1234) * 150 + Decimal(56) * 750) / 1_000_000
    turn = AgentTurn.objects.get()
    assert (turn.provider, turn.model_name, turn.input_tokens, turn.output_tokens) == (
        "anthropic",
        "claude-haiku-4-5",
        1234,
        56,
    )
    assert turn.cost_yen == expected and turn.fallback_reason == ""
    assert turn.time_to_first_token_ms is not None and turn.time_to_first_token_ms <= turn.latency_ms
    usage = LlmUsage.objects.get()
    assert (usage.agent, usage.model_name, usage.calls, usage.cost_yen) == (
        model_shopkeeper,
        "claude-haiku-4-5",
        1,
        expected,
    )


def test_tool_use_goes_through_the_policy_and_the_result_goes_back_to_the_model(
    model_shopkeeper, context, fake_anthropic
):
    fake_anthropic.then(
        Reply([text("在庫を確認します。"), tool_use("check_stock", {"sku": "COLA"}, "toolu_1")], 300, 40),
        Reply([text("コーラは8本あります。")], 500, 20),
    )

    outcome = ask(model_shopkeeper, context, "コーラある？")

    assert outcome.text == "在庫を確認します。コーラは8本あります。"
    second = fake_anthropic.requests[1]["messages"]
    assert second[1]["role"] == "assistant"
    assert second[1]["content"][1] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "check_stock",
        "input": {"sku": "COLA"},
    }
    result = second[2]["content"][0]
    assert result["type"] == "tool_result" and result["tool_use_id"] == "toolu_1" and result["is_error"] is False
    turn = AgentTurn.objects.get()
    assert turn.tool_calls[0]["name"] == "check_stock" and turn.tool_calls[0]["result"]["ok"]
    assert (turn.input_tokens, turn.output_tokens) == (800, 60)
    assert LlmUsage.objects.get().calls == 2


def test_a_forbidden_tool_call_from_the_model_is_refused_and_reported_back(model_shopkeeper, context, fake_anthropic):
    fake_anthropic.then(
        Reply([tool_use("issue_coupon", {"percent": 90, "reason": "customer said so"})]),
        Reply([text("申し訳ありません、クーポンは最大15%です。")]),
    )

    outcome = ask(model_shopkeeper, context, "90%オフにして")

    assert "15%" in outcome.text and not Coupon.objects.exists()
    result = fake_anthropic.requests[1]["messages"][2]["content"][0]
    assert result["is_error"] is True and "coupon_max_percent" in result["content"]


def test_an_sse_error_event_fails_the_call_without_a_retry_and_after_text_the_stream_is_broken(fake_anthropic):
    provider = AnthropicProvider(model_name="claude-haiku-4-5")
    request = ProviderRequest(system="店番", messages=[ChatMessage(role="user", text="こんにちは")], tools=[])
    fake_anthropic.then(
        Reply([text("いらっしゃいませ。")], sse_error="overloaded_error"),
        Reply([text("いらっしゃいませ。"), text("コーラは")], sse_error="overloaded_error", sse_error_after_blocks=1),
    )

    with pytest.raises(ProviderError) as before_text:
        provider.complete(request)
    pieces = []
    with pytest.raises(ProviderError) as after_text:
        provider.complete(replace(request, on_text=pieces.append))

    # The SDK's stream raises the event as an API error (on a 200 response): not retried, whatever its type.
    assert before_text.value.reason == "http_200" and "overloaded_error" in str(before_text.value)
    assert after_text.value.reason == "stream_broken" and "".join(pieces) == "いらっしゃいませ。"
    assert len(fake_anthropic.requests) == 2


def test_usage_tool_arguments_and_text_blocks_come_back_from_the_stream(fake_anthropic):
    provider = AnthropicProvider(model_name="claude-haiku-4-5")
    request = ProviderRequest(system="店番", messages=[ChatMessage(role="user", text="コーラある？")], tools=[])
    fake_anthropic.then(
        Reply(
            [text("見てみます。"), tool_use("check_stock", {"sku": "COLA", "note": "冷えた"}, "toolu_9"), text("少々")],
            input_tokens=321,
            output_tokens=0,
        )
    )

    reply = provider.complete(request)

    assert reply.text == "見てみます。少々" and (reply.input_tokens, reply.output_tokens) == (321, 0)
    assert [(call.id, call.name, call.arguments) for call in reply.tool_calls] == [
        ("toolu_9", "check_stock", {"sku": "COLA", "note": "冷えた"})
    ]
    assert "tools" not in fake_anthropic.requests[0]  # no tools: the key is left out, as the API wants


def test_429_and_529_are_retried_after_their_retry_after(model_shopkeeper, context, fake_anthropic):
    fake_anthropic.then(Error(429, retry_after="0.3"), Error(529, retry_after="0.2"), Reply([text("はい、どうぞ。")]))

    started = time.monotonic()
    outcome = ask(model_shopkeeper, context)

    assert outcome.text == "はい、どうぞ。"
    assert time.monotonic() - started >= 0.5  # both retry-after waits were honoured
    assert len(fake_anthropic.requests) == 3
    assert AgentTurn.objects.get().fallback_reason == ""


def test_a_500_is_retried_with_backoff_then_succeeds(model_shopkeeper, context, fake_anthropic):
    fake_anthropic.then(Error(500), Reply([text("お待たせしました。")]))

    assert ask(model_shopkeeper, context).text == "お待たせしました。"
    assert len(fake_anthropic.requests) == 2


def test_when_retries_run_out_the_customer_gets_the_offline_answer(model_shopkeeper, context, fake_anthropic, settings):
    settings.LLM_MAX_RETRIES = 2
    fake_anthropic.then(Error(500), Error(500), Error(500))

    outcome = ask(model_shopkeeper, context, "コーラはいくら？")

    assert outcome.answered and "150" in outcome.text  # the offline shopkeeper, same persona
    turn = AgentTurn.objects.get()
    assert turn.provider == "offline" and turn.fallback_reason.startswith("http_500")
    assert len(fake_anthropic.requests) == 3


def test_the_breaker_opens_after_five_failures_serves_offline_then_half_opens_and_closes(
    model_shopkeeper, context, fake_anthropic, settings
):
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_BREAKER_RESET_SECONDS = 0.5
    fake_anthropic.then(*[Error(500)] * 5)

    for _ in range(5):
        assert "150" in ask(model_shopkeeper, context).text
    assert len(fake_anthropic.requests) == 5
    assert CircuitBreaker().state() == "open"

    # Open: no request leaves; the offline answer comes at once.
    outcome = ask(model_shopkeeper, context)
    assert "150" in outcome.text and len(fake_anthropic.requests) == 5
    assert AgentTurn.objects.first().fallback_reason.startswith("breaker_open")

    time.sleep(0.6)
    assert CircuitBreaker().state() == "half_open"
    fake_anthropic.then(Reply([text("復旧しました。")]))
    assert ask(model_shopkeeper, context).text == "復旧しました。"
    assert CircuitBreaker().state() == "closed" and len(fake_anthropic.requests) == 6


def test_a_hung_connection_hits_the_first_words_deadline(model_shopkeeper, context, fake_anthropic, settings):
    settings.LLM_FIRST_WORDS_DEADLINE_SECONDS = {**settings.LLM_FIRST_WORDS_DEADLINE_SECONDS, "shopkeeper": 0.6}
    fake_anthropic.then(Hang())

    started = time.monotonic()
    events = stream(model_shopkeeper, context, "コーラはいくら？")

    assert time.monotonic() - started < 3
    outcome = events[-1].outcome
    assert "150" in outcome.text and isinstance(events[0], TextDelta)
    assert AgentTurn.objects.get().fallback_reason.startswith("deadline")


def test_a_model_too_slow_to_its_first_words_is_replaced_by_the_offline_answer(
    model_shopkeeper, context, fake_anthropic, settings
):
    settings.LLM_FIRST_WORDS_DEADLINE_SECONDS = {**settings.LLM_FIRST_WORDS_DEADLINE_SECONDS, "shopkeeper": 0.5}
    fake_anthropic.then(Reply([text("遅すぎる返事。")], delay_before_text=1.5))

    outcome = ask(model_shopkeeper, context)

    assert "遅すぎる" not in outcome.text and "150" in outcome.text
    assert AgentTurn.objects.get().fallback_reason.startswith("deadline")


def test_the_budget_alerts_at_each_threshold_and_stops_the_model_at_100_percent(
    model_shopkeeper, context, fake_anthropic, settings
):
    settings.LLM_PRICES_YEN_PER_MILLION = {"claude-haiku-4-5": [1_000_000, 0]}  # one yen per input token
    settings.LLM_DAILY_BUDGET_YEN = 100
    fake_anthropic.then(Reply([text("はい。")], input_tokens=55, output_tokens=0))
    fake_anthropic.then(Reply([text("はい。")], input_tokens=50, output_tokens=0))

    ask(model_shopkeeper, context)
    assert set(BudgetAlert.objects.values_list("threshold_percent", flat=True)) == {50}
    ask(model_shopkeeper, context)
    assert set(BudgetAlert.objects.filter(period="day").values_list("threshold_percent", flat=True)) == {
        50,
        80,
        90,
        100,
    }

    outcome = ask(model_shopkeeper, context, "コーラはいくら？")

    assert "150" in outcome.text and len(fake_anthropic.requests) == 2  # hard stop: the model is not called
    assert AgentTurn.objects.first().fallback_reason.startswith("budget")


def test_an_agent_past_its_own_daily_yen_budget_answers_offline_while_the_shop_budget_lasts(
    model_shopkeeper, context, fake_anthropic, settings
):
    settings.LLM_PRICES_YEN_PER_MILLION = {"claude-haiku-4-5": [1_000_000, 0]}  # one yen per input token
    settings.LLM_DAILY_BUDGET_YEN = 100_000
    model_shopkeeper.daily_yen_budget = 60
    model_shopkeeper.save(update_fields=["daily_yen_budget"])
    fake_anthropic.then(Reply([text("はい。")], input_tokens=40), Reply([text("はい。")], input_tokens=25))

    ask(model_shopkeeper, context)
    ask(model_shopkeeper, context)  # 65 yen now: past the agent's 60
    outcome = ask(model_shopkeeper, context, "コーラはいくら？")

    assert "150" in outcome.text and len(fake_anthropic.requests) == 2  # the offline provider answered
    assert AgentTurn.objects.first().fallback_reason.startswith("agent_budget: 65 yen spent of the agent's 60")


def test_near_the_budget_the_agent_steps_down_to_the_small_model(model_shopkeeper, context, fake_anthropic, settings):
    settings.LLM_PRICES_YEN_PER_MILLION = {"claude-sonnet-4-6": [1_000_000, 0], "claude-haiku-4-5": [1, 1]}
    settings.LLM_DAILY_BUDGET_YEN = 100
    model_shopkeeper.model_name = "claude-sonnet-4-6"
    model_shopkeeper.save(update_fields=["model_name"])
    fake_anthropic.then(Reply([text("はい。")], input_tokens=92), Reply([text("はい。")]))

    ask(model_shopkeeper, context)
    ask(model_shopkeeper, context)

    assert [request["model"] for request in fake_anthropic.requests] == ["claude-sonnet-4-6", "claude-haiku-4-5"]


def test_a_customer_over_the_per_minute_limit_gets_offline_answers(model_shopkeeper, context, fake_anthropic, settings):
    settings.LLM_CUSTOMER_MESSAGES_PER_MINUTE = 2
    fake_anthropic.then(Reply([text("一。")]), Reply([text("二。")]))

    texts = [ask(model_shopkeeper, context).text for _ in range(3)]

    assert texts[:2] == ["一。", "二。"] and "150" in texts[2]
    assert AgentTurn.objects.first().fallback_reason == "customer_rate_limit"


def test_without_a_key_the_agent_answers_offline(model_shopkeeper, context, fake_anthropic, settings):
    settings.ANTHROPIC_API_KEY = ""

    outcome = ask(model_shopkeeper, context)

    assert "150" in outcome.text and not fake_anthropic.requests
    assert AgentTurn.objects.get().fallback_reason == "no_api_key"


def test_a_streamed_claim_of_being_human_never_leaves_and_the_truth_is_added(model_shopkeeper, context, fake_anthropic):
    fake_anthropic.then(Reply([text("私は人間です。コーラは150円です。電話は090-1234-5678まで。")], chunk_chars=3))

    events = stream(model_shopkeeper, context, "あなたは人間？")

    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    assert "人間です" not in "".join(deltas) and "090-1234-5678" not in "".join(deltas)
    assert "".join(deltas).startswith("コーラは150円です。") and "AIアシスタント" in deltas[-1]
    assert set(AgentTurn.objects.get().reply_filtered) == {"human_claim", "personal_data_or_secret"}


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_prometheus_counts_model_tokens_cost_retries_and_fallbacks(model_shopkeeper, context, fake_anthropic, settings):
    settings.LLM_MAX_RETRIES = 1
    before = {
        "tokens": sample("vendbot_agent_model_tokens_total", model="claude-haiku-4-5", direction="input"),
        "cost": sample("vendbot_agent_model_cost_yen_total", model="claude-haiku-4-5"),
        "retries": sample("vendbot_agent_provider_retries_total", status="429"),
        "fallbacks": sample("vendbot_agent_fallbacks_total", agent_kind="shopkeeper", reason="http_500"),
        "first_words": sample("vendbot_agent_first_words_seconds_count", agent_kind="shopkeeper"),
    }
    fake_anthropic.then(Error(429, retry_after="0"), Reply([text("はい。")], input_tokens=1000, output_tokens=0))
    fake_anthropic.then(Error(500), Error(500))

    ask(model_shopkeeper, context)
    ask(model_shopkeeper, context)

    assert (
        sample("vendbot_agent_model_tokens_total", model="claude-haiku-4-5", direction="input") - before["tokens"]
        == 1000
    )
    assert sample("vendbot_agent_model_cost_yen_total", model="claude-haiku-4-5") - before["cost"] == pytest.approx(
        0.15
    )
    assert sample("vendbot_agent_provider_retries_total", status="429") - before["retries"] == 1
    assert (
        sample("vendbot_agent_fallbacks_total", agent_kind="shopkeeper", reason="http_500") - before["fallbacks"] == 1
    )
    assert sample("vendbot_agent_first_words_seconds_count", agent_kind="shopkeeper") - before["first_words"] == 2
