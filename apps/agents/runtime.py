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
from apps.agents.context import conversation_window
from apps.agents.filters import ReplyStream
from apps.agents.images import image_flags
from apps.agents.injection import injection_flags
from apps.agents.limits import MAX_TOOL_ROUNDS
from apps.agents.models import Agent, AgentTurn
from apps.agents.prompts import system_prompt
from apps.agents.providers.base import ChatMessage, Provider, ProviderError, ProviderRequest
from apps.agents.providers.offline import OfflineProvider, detect_language
from apps.agents.routing import first_words_deadline_seconds, provider_choice, turn_usage_record
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
    """What the tablet shows beside the reply: products to suggest, a purchase to confirm, a coupon."""
    if not result.get("ok"):
        return []
    data = result["data"]
    if tool_name in ("list_products", "recommend") and data.get("products"):
        return [{"type": "suggest_products", "products": data["products"][:8]}]
    if tool_name == "start_purchase":
        return [{"type": "confirm_purchase", "purchase": data["purchase"]}]
    if tool_name == "issue_coupon":
        return [{"type": "coupon", "code": data["coupon_code"], "percent": data["percent"]}]
    return []


class _Turn:
    """The state of one turn while it runs: the messages so far, what was sent, tokens and timings."""

    def __init__(self, *, agent: Agent, context: ToolContext, history: list[ChatMessage], emit: Callable[[str], None]):
        self.agent = agent
        self.context = context
        self.history = history
        self.persona = context.persona or agent.persona  # the conversation's persona (A/B test) or the agent's
        self.language = detect_language(next((m.text for m in reversed(history) if m.role == "user"), ""))
        self.started = time.monotonic()
        self.first_text_at: float | None = None
        self.new_messages: list[ChatMessage] = []
        self.tool_log: list[dict] = []
        self.violation_ids: list[int] = []  # refusals during the turn, linked to its decision-log row at the end
        self.actions: list[dict] = []
        self.input_tokens = self.output_tokens = 0
        # (provider, model): [input tokens, output tokens, calls], booked once at the end of the turn
        self.usage: dict[tuple[str, str], list[int]] = {}
        self.sent: list[str] = []  # every piece sent to the customer: joined, the reply
        self._emit = emit
        self.stream: ReplyStream | None = None
        self._streamed_this_call = False

    def send(self, pieces: list[str]) -> None:
        for piece in pieces:
            if self.first_text_at is None:
                self.first_text_at = time.monotonic()
            self.sent.append(piece)
            self._emit(piece)

    def on_text(self, raw: str) -> None:
        self._streamed_this_call = True
        self.send(self.stream.feed(raw))

    def ask(self, provider: Provider, request: ProviderRequest):
        """One provider call; text it did not stream (a provider without streaming) goes through the filter now."""
        self._streamed_this_call = False
        reply = provider.complete(replace(request, on_text=self.on_text))
        if reply.text and not self._streamed_this_call:
            self.send(self.stream.feed(reply.text))
        return reply

    def run_with(self, provider: Provider, *, prompt: str, messages: list[ChatMessage], deadline_seconds: float | None):
        """Ask and run tools until the provider answers with text only. Raises ProviderError from the provider."""
        tool_specs = [tool.spec() for tool in tools_for_agent(self.agent)]
        for tool_round in range(MAX_TOOL_ROUNDS + 1):
            deadline = None
            if deadline_seconds is not None and self.first_text_at is None:
                deadline = self.started + deadline_seconds
                if time.monotonic() >= deadline:
                    raise ProviderError("no words before the deadline", reason="deadline")
            request = ProviderRequest(
                system=prompt,
                messages=messages + self.new_messages,
                tools=tool_specs,
                persona=self.persona,
                deadline=deadline,
            )
            reply = self.ask(provider, request)
            self.input_tokens += reply.input_tokens
            self.output_tokens += reply.output_tokens
            if reply.input_tokens or reply.output_tokens:
                used = self.usage.setdefault((provider.name, provider.model_name), [0, 0, 0])
                used[0], used[1], used[2] = used[0] + reply.input_tokens, used[1] + reply.output_tokens, used[2] + 1
            if not reply.tool_calls:
                return
            if tool_round == MAX_TOOL_ROUNDS:
                logger.warning("Agent %s still calling tools after %d rounds", self.agent.name, MAX_TOOL_ROUNDS)
                return
            self.new_messages.append(ChatMessage(role="assistant", text=reply.text, tool_calls=reply.tool_calls))
            for call in reply.tool_calls:
                tool_result = tool_call(context=self.context, name=call.name, arguments=call.arguments)
                if tool_result.violation_id is not None:
                    self.violation_ids.append(tool_result.violation_id)
                result = tool_result.as_dict()
                self.tool_log.append({"name": call.name, "arguments": call.arguments, "result": result})
                self.actions.extend(_actions(call.name, result))
                self.new_messages.append(
                    ChatMessage(role="tool", tool_call_id=call.id, tool_name=call.name, result=result)
                )

    @property
    def customer_key(self) -> str:
        if self.context.customer_key:
            return self.context.customer_key
        return f"conversation:{self.context.conversation_id}" if self.context.conversation_id else ""


def _turn(
    *, agent: Agent, context: ToolContext, history: list[ChatMessage], emit: Callable[[str], None]
) -> TurnOutcome:
    agent = selectors.agent_for_turn(agent_id=agent.pk)
    state = _Turn(agent=agent, context=context, history=history, emit=emit)
    usage = selectors.llm_usage_today(agent=agent) if agent.is_callable else None
    if usage is None or usage.agent_tokens >= agent.daily_token_budget:
        notice = unavailable_notice(state.language)
        emit(notice)
        return TurnOutcome(text=notice, answered=False)

    choice = provider_choice(agent=agent, customer_key=state.customer_key, usage=usage)
    provider, fallback_reason = choice.provider, choice.fallback_reason
    agent_busy_mark(agent=agent)
    state.context = replace(context, agent=agent)
    prompt = system_prompt(agent, machine=context.machine, persona=state.persona)
    state.stream = ReplyStream(language=state.language, prompt=prompt)
    window = conversation_window(
        agent=agent, conversation_id=context.conversation_id, history=history, preferences=context.preferences
    )
    flags = injection_flags(next((m.text for m in reversed(history) if m.role == "user"), ""))
    deadline_seconds = first_words_deadline_seconds(agent.kind)
    try:
        state.run_with(
            provider,
            prompt=prompt + window.prompt_addition,
            messages=window.messages,
            deadline_seconds=deadline_seconds,
        )
    except ProviderError as exc:
        logger.warning("Provider %s failed for agent %s (%s): %s", provider.name, agent.name, exc.reason, exc)
        fallback_reason = f"{exc.reason}: {exc}"[:200]
        provider = OfflineProvider()
        try:
            state.run_with(provider, prompt=prompt, messages=window.messages, deadline_seconds=None)
        except ProviderError as offline_exc:
            agent_mark_failed(agent=agent, reason=str(offline_exc))
    if fallback_reason:
        metrics.FALLBACKS.labels(agent_kind=agent.kind, reason=fallback_reason.split(":")[0]).inc()
    state.send(state.stream.finish())
    answered = bool(state.sent)
    if not answered:
        state.send([unavailable_notice(state.language)])
    latency = time.monotonic() - state.started
    ttft_ms = int((state.first_text_at - state.started) * 1000) if state.first_text_at is not None else None
    # The ledger, the budget alerts and the decision log in one commit.
    with transaction.atomic():
        cost = sum(
            (
                turn_usage_record(
                    agent=agent,
                    provider_name=provider_name,
                    model_name=model_name,
                    customer_key=state.customer_key,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    calls=calls,
                )
                for (provider_name, model_name), (input_tokens, output_tokens, calls) in state.usage.items()
            ),
            Decimal(0),
        )
        if cost:
            budget_alerts_record(spent=selectors.llm_budget_after(usage.budget, spent_yen=cost))
        turn = turn_record(
            agent=agent,
            conversation_id=context.conversation_id,
            tool_calls=state.tool_log,
            reply_filtered=state.stream.removed,
            input_tokens=state.input_tokens,
            output_tokens=state.output_tokens,
            latency_ms=int(latency * 1000),
            provider=provider.name,
            model_name=provider.model_name,
            prompt_hash=hashlib.sha256(prompt.encode()).hexdigest()[:16],
            cost_yen=cost,
            time_to_first_token_ms=ttft_ms,
            fallback_reason=fallback_reason,
            flags=flags + image_flags(window.messages, accepts_images=provider.accepts_images),
            violation_ids=tuple(state.violation_ids),
        )
    if state.first_text_at is not None:
        metrics.FIRST_WORDS_SECONDS.labels(agent_kind=agent.kind).observe(state.first_text_at - state.started)
    return TurnOutcome(
        text="".join(state.sent), actions=state.actions, messages=state.new_messages, turn=turn, answered=answered
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
