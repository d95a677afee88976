"""The tool-calling loop every agent runs, in the shop and in the simulator: ask the model, run the tool calls it asks
for, feed the results back, until it answers with text only or MAX_TOOL_ROUNDS rounds of tools have run.

What differs between callers is passed in: how a tool call executes (`run_tool`: the live registry and policy, or the
simulator's toolbox), where the model's text goes (`on_text`: the reply filter and the customer, or nowhere), the
first-words deadline of the next call (`deadline`), and how many model calls the caller may still make (`max_calls`).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from apps.agents.limits import MAX_TOOL_ROUNDS
from apps.agents.providers.base import ChatMessage, Provider, ProviderError, ProviderReply, ProviderRequest, ToolCall

logger = logging.getLogger(__name__)


@dataclass
class ModelUsage:
    """Tokens and calls of the model calls made, in all and by (provider, model): what a turn books in the usage
    ledger and what a simulated run reports in its summary. Calls that used no tokens (rule-based providers) are
    not counted by model."""

    input_tokens: int = 0
    output_tokens: int = 0
    by_model: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # [input tokens, output tokens, calls]

    def add(self, provider: Provider, reply: ProviderReply) -> None:
        self.input_tokens += reply.input_tokens
        self.output_tokens += reply.output_tokens
        if reply.input_tokens or reply.output_tokens:
            used = self.by_model.setdefault((provider.name, provider.model_name), [0, 0, 0])
            used[0], used[1], used[2] = used[0] + reply.input_tokens, used[1] + reply.output_tokens, used[2] + 1


def _no_deadline() -> None:
    return None


@dataclass
class ToolLoop:
    """One agent's exchange with a model while it runs: the messages it added (assistant tool calls and tool results,
    sent back with each next call) and the usage. `run` may be called again with another provider (the runtime's
    offline fallback), which then sees what the first one did."""

    run_tool: Callable[[ToolCall], dict]  # executes one call, returns `ToolResult.as_dict()`
    name: str  # the agent's, for the log
    on_text: Callable[[str], None] | None = None  # every piece of the model's text, streamed or not
    usage: ModelUsage = field(default_factory=ModelUsage)
    new_messages: list[ChatMessage] = field(default_factory=list)

    def run(
        self,
        provider: Provider,
        request: ProviderRequest,
        *,
        deadline: Callable[[], float | None] = _no_deadline,
        max_calls: int = MAX_TOOL_ROUNDS + 1,
    ) -> int:
        """Ask and run tools until the provider answers with text only, after MAX_TOOL_ROUNDS rounds of tools, or
        after `max_calls` model calls; returns the number of calls made. `request.messages` is the history before
        this loop; `deadline()` is the time.monotonic() by which the next call's first words are due (None: none).
        Raises ProviderError from the provider, or when the deadline has passed before a call."""
        calls = 0
        while calls < max_calls:
            reply = self._ask(provider, request, deadline())
            calls += 1
            self.usage.add(provider, reply)
            if not reply.tool_calls:
                break
            if calls > MAX_TOOL_ROUNDS:
                logger.warning("Agent %s still calling tools after %d rounds", self.name, MAX_TOOL_ROUNDS)
                break
            self._run_tools(reply)
        return calls

    def _ask(self, provider: Provider, request: ProviderRequest, deadline: float | None) -> ProviderReply:
        """One model call with the messages so far; text the provider did not stream goes to `on_text` now."""
        if deadline is not None and time.monotonic() >= deadline:
            raise ProviderError("no words before the deadline", reason="deadline")
        streamed = False

        def on_text(piece: str) -> None:
            nonlocal streamed
            streamed = True
            self.on_text(piece)

        reply = provider.complete(
            replace(
                request,
                messages=request.messages + self.new_messages,
                deadline=deadline,
                on_text=on_text if self.on_text is not None else None,
            )
        )
        if reply.text and not streamed and self.on_text is not None:
            self.on_text(reply.text)
        return reply

    def _run_tools(self, reply: ProviderReply) -> None:
        self.new_messages.append(ChatMessage(role="assistant", text=reply.text, tool_calls=reply.tool_calls))
        for call in reply.tool_calls:
            result = self.run_tool(call)
            self.new_messages.append(ChatMessage(role="tool", tool_call_id=call.id, tool_name=call.name, result=result))
