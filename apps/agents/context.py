"""What of a conversation the model sees: the recent messages within a token budget, the older ones folded into a
stored summary, and what we know the customer likes."""

from dataclasses import dataclass

from django.conf import settings

from apps.agents.models import Agent, ConversationSummary
from apps.agents.providers.base import ChatMessage
from apps.agents.services import conversation_summary_store

# Characters of each older message kept in the summary, and lines of summary kept (the most recent).
_SUMMARY_LINE_CHARS = 80
_SUMMARY_MAX_LINES = 12


@dataclass(frozen=True)
class Window:
    messages: list[ChatMessage]
    prompt_addition: str  # appended to the system prompt: the summary and the customer's preferences


def estimated_tokens(message: ChatMessage) -> int:
    """A cheap upper estimate (about one token per three UTF-8 bytes; Japanese runs about one per character; a
    picture its own estimate, so a photo folds older messages away like a long text would)."""
    size = len(message.text.encode()) + sum(len(str(call.arguments)) + len(call.name) for call in message.tool_calls)
    size += len(str(message.result)) if message.result else 0
    return size // 3 + 4 + (message.image.tokens if message.image is not None else 0)


def _summary_line(message: ChatMessage) -> str:
    speaker = {"user": "お客様", "assistant": "アシスタント"}[message.role]
    text = " ".join(message.text.split())
    return f"- {speaker}: {text[:_SUMMARY_LINE_CHARS]}{'…' if len(text) > _SUMMARY_LINE_CHARS else ''}"


def _summary(older: list[ChatMessage]) -> str:
    lines = [_summary_line(m) for m in older if m.role in ("user", "assistant") and m.text]
    return "\n".join(lines[-_SUMMARY_MAX_LINES:])


def conversation_window(
    *, agent: Agent, conversation_id: int | None, history: list[ChatMessage], preferences: tuple[str, ...] = ()
) -> Window:
    """The newest messages that fit `LLM_CONTEXT_TOKEN_BUDGET`, starting at a customer message (never between a tool
    call and its result); anything older is folded into the conversation's stored summary."""
    budget = settings.LLM_CONTEXT_TOKEN_BUDGET
    start = len(history)
    used = 0
    for index in range(len(history) - 1, -1, -1):
        used += estimated_tokens(history[index])
        if used > budget and start < len(history):
            break
        if history[index].role == "user":
            start = index
    start = min(start, max((i for i, m in enumerate(history) if m.role == "user"), default=0))
    parts = []
    if start > 0 and conversation_id is not None:
        stored = ConversationSummary.objects.filter(conversation_id=conversation_id).first()
        if stored is None or stored.folded_messages != start:
            stored = conversation_summary_store(
                conversation_id=conversation_id, text=_summary(history[:start]), folded_messages=start
            )
        parts.append(f"これまでの会話の要約（古い順）:\n{stored.text}")
    elif start > 0:
        parts.append(f"これまでの会話の要約（古い順）:\n{_summary(history[:start])}")
    if preferences:
        parts.append("このお客様について分かっている好み: " + "、".join(preferences))
    return Window(messages=history[start:], prompt_addition="".join(f"\n\n{part}" for part in parts))
