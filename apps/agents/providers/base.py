"""What a model provider is to the runtime: given the system prompt, the history and the tool schemas, it answers
with text and/or tool calls. The tool loop (`apps.agents.loop`) runs the calls (in the shop through the registry and
the policy, in the simulator through its toolbox) and asks again with the results, until the provider answers with
text only.

`OfflineProvider` implements this with rules and templates; an `AnthropicProvider` (Messages API with tool use)
maps the same request onto the Messages API (`system`, `messages`, `tools`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from apps.agents.images import ChatImage


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: Any  # whatever the model sent; the policy checks its shape


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["user", "assistant", "tool"]
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()  # assistant messages that asked for tools
    tool_call_id: str = ""  # tool messages: the call they answer
    tool_name: str = ""
    result: dict = field(default_factory=dict)  # tool messages: ToolResult.as_dict()
    image: ChatImage | None = None  # user messages: the picture the customer sent with it


@dataclass(frozen=True)
class ProviderRequest:
    system: str
    messages: list[ChatMessage]
    tools: list[dict]  # Tool.spec(): name, description, input_schema
    persona: Any = None  # agents.Persona, for providers that speak from templates
    max_output_tokens: int = 1024
    # Providers that stream call this with each piece of text as it arrives (and still return the whole reply).
    on_text: Callable[[str], None] | None = None
    # time.monotonic() by which the first words must have arrived (None: no first-words deadline for this call).
    deadline: float | None = None


@dataclass(frozen=True)
class ProviderReply:
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0


class ProviderError(Exception):
    """The provider could not answer (network, quota, bad response, deadline, open breaker); the runtime answers
    with the offline provider instead. `reason` is the short word for the decision log and the metrics."""

    def __init__(self, message: str, *, reason: str = "provider_error"):
        super().__init__(message)
        self.reason = reason


class Provider(Protocol):
    name: str
    model_name: str
    accepts_images: bool  # whether the model is shown a user message's picture (else it answers without it)

    def complete(self, request: ProviderRequest) -> ProviderReply: ...
