"""One turn of an agent: ask the provider, run the tool calls it asks for through the registry and the policy, feed the
results back, and filter the text as it arrives. Every turn leaves an `AgentTurn` in the decision log.

Two ways in, one turn loop:
- `agent_turn_run(*, agent, context, history) -> TurnOutcome` for sync callers (chat API, LINE worker);
- `agent_turn_stream(*, agent, context, history)`, an async iterator of `TextDelta(text)` pieces as they arrive and
  then exactly one `TurnDone(outcome)` (the tablet socket).

Whatever fails — the provider, its breaker, the budget, the first-words deadline — the customer gets the offline
answer in the same persona, and the decision log says why (`AgentTurn.fallback_reason`). Nothing raises to the caller
for a provider failure.
"""

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils.translation import gettext as _

from apps.agents import metrics, selectors
from apps.agents.context import Window, conversation_window
from apps.agents.filters import ReplyStream
from apps.agents.images import image_flags
from apps.agents.injection import injection_flags
from apps.agents.loop import ToolLoop
from apps.agents.models import Agent, AgentTurn
from apps.agents.prompts import system_prompt
from apps.agents.providers.base import ChatMessage, Provider, ProviderError, ProviderRequest, ToolCall
from apps.agents.providers.offline import OfflineProvider, detect_language
from apps.agents.routing import ProviderChoice, first_words_deadline_seconds, provider_choice, turn_usage_record
from apps.agents.services import agent_busy_mark, agent_mark_failed, budget_alerts_record, tool_call, turn_record
from apps.agents.tools.registry import ToolContext, tools_for_agent

logger = logging.getLogger(__name__)


@dataclass
class TurnOutcome:
    text: str
    actions: list[dict] = field(default_factory=list)
    messages: list[ChatMessage] = field(default_factory=list)  # the assistant and tool messages of this turn
    turn: AgentTurn | None = None
    answered: bool = True  # False when the agent was not called (paused, failed, over budget)


@dataclass(frozen=True)
class TextDelta:
    """A piece of the reply, already filtered, as it arrives."""

    text: str


@dataclass(frozen=True)
class TurnDone:
    """The end of a streamed turn: the same outcome `agent_turn_run` returns; `outcome.text` is every delta joined."""

    outcome: TurnOutcome


def unavailable_notice(language: str) -> str:
    if language == "en":
        return "Sorry, the shop assistant is resting right now. You can still buy from the machine's screen."
    return _("申し訳ございません、ただいまアシスタントはお休み中です。商品は画面から通常どおりお買い求めいただけます。")


def _actions(tool_name: str, result: dict) -> list[dict]:
    """What the tablet shows beside the reply: products to suggest, a purchase to confirm, a coupon; a case opened
    (the tablet then asks for staff answers while the customer is there)."""
    if not result.get("ok"):
        return []
    data = result["data"]
    if tool_name in ("list_products", "recommend") and data.get("products"):
        return [{"type": "suggest_products", "products": data["products"][:8]}]
    if tool_name == "start_purchase":
        return [{"type": "confirm_purchase", "purchase": data["purchase"]}]
    if tool_name == "issue_coupon":
        return [{"type": "coupon", "code": data["coupon_code"], "percent": data["percent"]}]
    if tool_name == "open_case":
        return [{"type": "case_opened", "case": data["case_id"]}]
    return []


class _Turn:
    """The state of one turn while it runs: the agent as it is now, what was sent, the tool calls and the timings."""

    def __init__(self, *, agent: Agent, context: ToolContext, history: list[ChatMessage], emit: Callable[[str], None]):
        self.agent = agent
        self.context = replace(context, agent=agent)
        self.persona = context.persona or agent.persona  # the conversation's persona (A/B test) or the agent's
        self.last_words = next((m.text for m in reversed(history) if m.role == "user"), "")
        self.language = detect_language(self.last_words)
        self.started = time.monotonic()
        self.first_text_at: float | None = None
        self.tool_log: list[dict] = []
        self.violation_ids: list[int] = []  # refusals during the turn, linked to its decision-log row at the end
        self.actions: list[dict] = []
        self.sent: list[str] = []  # every piece sent to the customer: joined, the reply
        self._emit = emit
        self.stream: ReplyStream | None = None
        self.loop = ToolLoop(run_tool=self.run_tool, name=agent.name, on_text=self.on_text)

    @property
    def customer_key(self) -> str:
        if self.context.customer_key:
            return self.context.customer_key
        return f"conversation:{self.context.conversation_id}" if self.context.conversation_id else ""

    def send(self, pieces: list[str]) -> None:
        for piece in pieces:
            if self.first_text_at is None:
                self.first_text_at = time.monotonic()
            self.sent.append(piece)
            self._emit(piece)

    def on_text(self, raw: str) -> None:
        self.send(self.stream.feed(raw))

    def run_tool(self, call: ToolCall) -> dict:
        """One tool call through the live registry and policy; what the tablet shows beside the reply is kept."""
        tool_result = tool_call(context=self.context, name=call.name, arguments=call.arguments)
        if tool_result.violation_id is not None:
            self.violation_ids.append(tool_result.violation_id)
        result = tool_result.as_dict()
        if call.name == "product_allergens" and tool_result.ok:
            self.stream.allergen_data = True  # what the reply says of allergens now comes from the label data
        self.tool_log.append({"name": call.name, "arguments": call.arguments, "result": result})
        self.actions.extend(_actions(call.name, result))
        return result

    def first_words_deadline(self, seconds: float | None) -> Callable[[], float | None]:
        """The deadline of the next model call: `seconds` after the turn started, until the first words are sent."""

        def deadline() -> float | None:
            if seconds is None or self.first_text_at is not None:
                return None
            return self.started + seconds

        return deadline


def _converse(
    state: _Turn, choice: ProviderChoice, *, prompt: str, window: Window, tools: list[dict]
) -> tuple[Provider, str]:
    """Run the tool loop with the chosen provider; if it fails, with the offline one from where it stopped. Returns
    the provider that answered last and why the agent's own model did not answer ("" if it did)."""
    provider, fallback_reason = choice.provider, choice.fallback_reason
    request = ProviderRequest(
        system=prompt + window.prompt_addition, messages=window.messages, tools=tools, persona=state.persona
    )
    try:
        state.loop.run(
            provider, request, deadline=state.first_words_deadline(first_words_deadline_seconds(state.agent.kind))
        )
    except ProviderError as exc:
        logger.warning("Provider %s failed for agent %s (%s): %s", provider.name, state.agent.name, exc.reason, exc)
        fallback_reason = f"{exc.reason}: {exc}"[:200]
        provider = OfflineProvider()
        try:
            state.loop.run(provider, replace(request, system=prompt))
        except ProviderError as offline_exc:
            agent_mark_failed(agent=state.agent, reason=str(offline_exc))
    if fallback_reason:
        metrics.FALLBACKS.labels(agent_kind=state.agent.kind, reason=fallback_reason.split(":")[0]).inc()
    return provider, fallback_reason


def _book_usage(state: _Turn, usage_today: selectors.LlmUsageToday) -> Decimal:
    """The turn's model calls into the usage ledger, and the budget alerts they reach; returns their cost."""
    cost = sum(
        (
            turn_usage_record(
                agent=state.agent,
                provider_name=provider_name,
                model_name=model_name,
                customer_key=state.customer_key,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                calls=calls,
            )
            for (provider_name, model_name), (input_tokens, output_tokens, calls) in state.loop.usage.by_model.items()
        ),
        Decimal(0),
    )
    if cost:
        budget_alerts_record(spent=selectors.llm_budget_after(usage_today.budget, spent_yen=cost))
    return cost


def _record(
    state: _Turn,
    usage_today: selectors.LlmUsageToday,
    *,
    provider: Provider,
    fallback_reason: str,
    prompt: str,
    window: Window,
) -> AgentTurn:
    """The ledger, the budget alerts and the decision log, in one commit."""
    latency_ms = int((time.monotonic() - state.started) * 1000)
    ttft_ms = int((state.first_text_at - state.started) * 1000) if state.first_text_at is not None else None
    with transaction.atomic():
        cost = _book_usage(state, usage_today)
        return turn_record(
            agent=state.agent,
            conversation_id=state.context.conversation_id,
            tool_calls=state.tool_log,
            reply_filtered=state.stream.removed,
            input_tokens=state.loop.usage.input_tokens,
            output_tokens=state.loop.usage.output_tokens,
            latency_ms=latency_ms,
            provider=provider.name,
            model_name=provider.model_name,
            prompt_hash=hashlib.sha256(prompt.encode()).hexdigest()[:16],
            cost_yen=cost,
            time_to_first_token_ms=ttft_ms,
            fallback_reason=fallback_reason,
            flags=injection_flags(state.last_words)
            + image_flags(window.messages, accepts_images=provider.accepts_images),
            violation_ids=tuple(state.violation_ids),
        )


def _turn(
    *, agent: Agent, context: ToolContext, history: list[ChatMessage], emit: Callable[[str], None]
) -> TurnOutcome:
    """Read the agent and today's usage (a paused, failed or over-budget agent is not called), choose the provider,
    build the prompt and the window, converse, close the filtered reply, record."""
    agent = selectors.agent_for_turn(agent_id=agent.pk)
    state = _Turn(agent=agent, context=context, history=history, emit=emit)
    usage_today = selectors.llm_usage_today(agent=agent) if agent.is_callable else None
    if usage_today is None or usage_today.agent_tokens >= agent.daily_token_budget:
        notice = unavailable_notice(state.language)
        emit(notice)
        return TurnOutcome(text=notice, answered=False)

    choice = provider_choice(agent=agent, customer_key=state.customer_key, usage=usage_today)
    agent_busy_mark(agent=agent)
    prompt = system_prompt(agent, machine=context.machine, persona=state.persona)
    state.stream = ReplyStream(language=state.language, prompt=prompt)
    window = conversation_window(
        agent=agent, conversation_id=context.conversation_id, history=history, preferences=context.preferences
    )
    tools = [tool.spec() for tool in tools_for_agent(agent)]
    provider, fallback_reason = _converse(state, choice, prompt=prompt, window=window, tools=tools)
    state.send(state.stream.finish())
    answered = bool(state.sent)
    if not answered:
        state.send([unavailable_notice(state.language)])
    turn = _record(state, usage_today, provider=provider, fallback_reason=fallback_reason, prompt=prompt, window=window)
    if state.first_text_at is not None:
        metrics.FIRST_WORDS_SECONDS.labels(agent_kind=agent.kind).observe(state.first_text_at - state.started)
    return TurnOutcome(
        text="".join(state.sent),
        actions=state.actions,
        messages=state.loop.new_messages,
        turn=turn,
        answered=answered,
    )


def agent_turn_run(*, agent: Agent, context: ToolContext, history: list[ChatMessage]) -> TurnOutcome:
    """Answer the last customer message of `history`. A paused, failed or over-budget agent is not called at all."""
    return _turn(agent=agent, context=context, history=history, emit=lambda piece: None)


async def agent_turn_stream(
    *, agent: Agent, context: ToolContext, history: list[ChatMessage]
) -> AsyncIterator[TextDelta | TurnDone]:
    """The same turn as `agent_turn_run`, yielding each filtered piece of the reply as it arrives, then `TurnDone`.

    The turn runs in Django's sync thread (database access as usual); if the caller stops listening (the socket
    closed) the turn still completes and is recorded."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()

    def emit(piece: str) -> None:
        loop.call_soon_threadsafe(events.put_nowait, TextDelta(piece))

    async def run() -> None:
        try:
            outcome = await sync_to_async(_turn, thread_sensitive=True)(
                agent=agent, context=context, history=history, emit=emit
            )
        except BaseException as exc:
            events.put_nowait(exc)
            raise
        events.put_nowait(TurnDone(outcome))

    task = asyncio.ensure_future(run())
    while True:
        event = await events.get()
        if isinstance(event, BaseException):
            await asyncio.gather(task, return_exceptions=True)
            raise event
        yield event
        if isinstance(event, TurnDone):
            await task
            return
