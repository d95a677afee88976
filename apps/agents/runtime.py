"""One turn of an agent: ask the provider, run the tool calls it asks for through the registry and the policy, feed the
results back, and filter the final text. Every turn leaves an `AgentTurn` in the decision log."""

import logging
import time
from dataclasses import dataclass, field, replace

from django.utils.translation import gettext as _

from apps.agents import selectors
from apps.agents.filters import reply_filter
from apps.agents.limits import MAX_TOOL_ROUNDS
from apps.agents.models import Agent, AgentTurn
from apps.agents.prompts import system_prompt
from apps.agents.providers import provider_for
from apps.agents.providers.base import ChatMessage, ProviderError, ProviderRequest
from apps.agents.providers.offline import detect_language
from apps.agents.services import agent_mark_failed, tool_call, turn_finish, turn_record
from apps.agents.tools.registry import ToolContext, tools_for_agent

logger = logging.getLogger(__name__)

# Lines of the system prompt at least this long never appear in a reply (a model asked to recite its prompt).
_PROMPT_LINE_MIN_LENGTH = 20


@dataclass
class TurnOutcome:
    text: str
    actions: list[dict] = field(default_factory=list)
    messages: list[ChatMessage] = field(default_factory=list)  # the assistant and tool messages of this turn
    turn: AgentTurn | None = None
    answered: bool = True  # False when the agent was not called (paused, failed, over budget)


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


def _without_prompt(text: str, prompt: str, language: str) -> tuple[str, bool]:
    lines = [line.strip() for line in prompt.splitlines() if len(line.strip()) >= _PROMPT_LINE_MIN_LENGTH]
    if any(line in text for line in lines):
        return (
            _("申し訳ございません、お店の設定はお伝えできません。")
            if language == "ja"
            else "Sorry, I can't share the shop's settings."
        ), True
    return text, False


def agent_turn_run(*, agent: Agent, context: ToolContext, history: list[ChatMessage]) -> TurnOutcome:
    """Answer the last customer message of `history`. A paused, failed or over-budget agent is not called at all."""
    language = detect_language(next((m.text for m in reversed(history) if m.role == "user"), ""))
    agent.refresh_from_db()  # a Manager may have paused it or changed its budget since the conversation began
    if not agent.is_callable or selectors.tokens_used_today(agent=agent) >= agent.daily_token_budget:
        return TurnOutcome(text=unavailable_notice(language), answered=False)

    started = time.monotonic()
    provider = provider_for(agent)
    turn = turn_record(
        agent=agent, conversation_id=context.conversation_id, provider=provider.name, model_name=provider.model_name
    )
    context = replace(context, agent=agent, turn_id=turn.pk)
    prompt = system_prompt(agent)
    tool_specs = [tool.spec() for tool in tools_for_agent(agent)]
    messages = list(history)
    tool_log: list[dict] = []
    actions: list[dict] = []
    input_tokens = output_tokens = 0
    text = ""
    try:
        for tool_round in range(MAX_TOOL_ROUNDS + 1):
            reply = provider.complete(
                ProviderRequest(system=prompt, messages=messages, tools=tool_specs, persona=agent.persona)
            )
            input_tokens += reply.input_tokens
            output_tokens += reply.output_tokens
            text = reply.text
            if not reply.tool_calls:
                break
            if tool_round == MAX_TOOL_ROUNDS:
                logger.warning("Agent %s still calling tools after %d rounds", agent.name, MAX_TOOL_ROUNDS)
                text = ""
                break
            messages.append(ChatMessage(role="assistant", text=reply.text, tool_calls=reply.tool_calls))
            for call in reply.tool_calls:
                result = tool_call(context=context, name=call.name, arguments=call.arguments).as_dict()
                tool_log.append({"name": call.name, "arguments": call.arguments, "result": result})
                actions.extend(_actions(call.name, result))
                messages.append(ChatMessage(role="tool", tool_call_id=call.id, tool_name=call.name, result=result))
    except ProviderError as exc:
        logger.error("Provider %s failed for agent %s: %s", provider.name, agent.name, exc)
        agent_mark_failed(agent=agent, reason=str(exc))
        text = ""
    answered = bool(text)
    if not answered:
        text = unavailable_notice(language)
    filtered = reply_filter(text, language=language)
    text, leaked = _without_prompt(filtered.text, prompt, language)
    removed = filtered.removed + (["system_prompt"] if leaked else [])
    turn = turn_finish(
        turn=turn,
        tool_calls=tool_log,
        reply_filtered=removed,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_ms=int((time.monotonic() - started) * 1000),
    )
    return TurnOutcome(text=text, actions=actions, messages=messages[len(history) :], turn=turn, answered=answered)
