"""The tool registry: what an agent may do, each with a JSON schema for its arguments and the agent kinds allowed.

Tools are only ever run through `apps.agents.services.tool_call`, which puts the guardrail policy and the schema in
front of every handler; nothing else calls a handler.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from apps.agents.models import Agent, Persona

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

Kind = Agent.Kind


@dataclass(frozen=True)
class ToolContext:
    """Who is calling and for whom: set by the runtime from the conversation, never from the model's arguments."""

    agent: Agent
    machine: Any = None  # inventory.Machine the customer stands at (None for back-office agents)
    conversation_id: int | None = None
    customer_key: str = ""
    channel: str = ""
    # What the shop knows the customer likes (set by chats from the customer's record), shown to the model.
    preferences: tuple[str, ...] = ()
    # Products picked for this customer, each {"sku", "name", "reason"} (chats, with the customer's consent).
    recommendations: tuple[dict, ...] = ()
    # Sales made in this conversation (an anonymous tablet customer's own purchases), set by chats.
    sale_ids: tuple[int, ...] = ()
    # The conversation's persona (an A/B test may assign one other than the agent's); None: the agent's own.
    persona: Persona | None = None
    # A simulated shop the call is checked against instead of the database (the arena): it answers the policy's
    # questions — `unit_cost_yen(sku)` and `supplier_offer(offer_id)` — from its world. None in the shop.
    simulation: Any = None


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    schema: dict
    handler: Callable[[ToolContext, dict], dict]
    allowed_kinds: frozenset[str]

    def spec(self) -> dict:
        """What a model provider is shown: name, description and the argument schema."""
        return {"name": self.name, "description": self.description, "input_schema": self.schema}

    @cached_property
    def validator(self) -> "Validator":
        """The argument schema's validator, built (and the schema itself checked) once, not on every call."""
        # jsonschema loads with the first tool call, not with the apps (the start-up rule in docs/architecture.md).
        from jsonschema.validators import validator_for

        cls = validator_for(self.schema)
        cls.check_schema(self.schema)
        return cls(self.schema)


@dataclass
class ToolResult:
    ok: bool
    data: dict = field(default_factory=dict)
    error: str = ""
    rule: str = ""  # the policy rule that refused the call, if it was refused
    violation_id: int | None = None  # its GuardrailViolation, linked to the turn when the turn is recorded

    def as_dict(self) -> dict:
        if self.ok:
            return {"ok": True, "data": self.data}
        body = {"ok": False, "error": self.error}
        if self.rule:
            body["refused_by_policy"] = self.rule
        return body


TOOLS: dict[str, Tool] = {}


def register(*, name: str, description: str, schema: dict, allowed_kinds: set[str]):
    def decorator(handler):
        if name in TOOLS:
            raise ValueError(f"tool {name} is registered twice")
        TOOLS[name] = Tool(
            name=name,
            description=description,
            schema={"type": "object", "additionalProperties": False, **schema},
            handler=handler,
            allowed_kinds=frozenset(allowed_kinds),
        )
        return handler

    return decorator


def tools_for_agent(agent: Agent) -> list[Tool]:
    """The tools an agent is offered: enabled on the agent and allowed for its kind."""
    return [tool for name, tool in TOOLS.items() if name in agent.enabled_tools and agent.kind in tool.allowed_kinds]


def tool_names_for_kind(kind: str) -> list[str]:
    return [name for name, tool in TOOLS.items() if kind in tool.allowed_kinds]


def tool_names_problem(*, kind: str, tool_names: list[str]) -> str:
    """Why these tools cannot be enabled on an agent of this kind ("" when they can)."""
    unknown = [name for name in tool_names if name not in TOOLS]
    if unknown:
        return _("存在しないツールです: %(names)s") % {"names": ", ".join(unknown)}
    not_allowed = [name for name in tool_names if kind not in TOOLS[name].allowed_kinds]
    if not_allowed:
        return _("%(kind)sエージェントには使えないツールです: %(names)s") % {
            "kind": Kind(kind).label,
            "names": ", ".join(not_allowed),
        }
    return ""
