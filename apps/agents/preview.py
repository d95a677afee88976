"""Persona preview for Managers: chat with a persona before it goes live and see its tool calls and refusals.

A preview turn runs the real runtime (prompt, provider, tools, policy, filters) inside a transaction that is rolled
back, so nothing it does — coupons, purchases, notes, refusals, decision-log rows — stays in the shop. Only what it
cost stays: model tokens are booked on the usage ledger (with no agent) after the rollback.
"""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from apps.agents import selectors
from apps.agents.models import Agent, GuardrailViolation, Persona
from apps.agents.providers.base import ChatMessage
from apps.agents.runtime import agent_turn_run
from apps.agents.services import budget_alerts_record, llm_usage_record
from apps.agents.tools.registry import ToolContext, tool_names_for_kind


@dataclass
class PreviewTurn:
    text: str
    tool_calls: list[dict] = field(default_factory=list)
    refusals: list[dict] = field(default_factory=list)  # rule and reason of each refused call
    provider: str = ""
    model_name: str = ""
    fallback_reason: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_yen: Decimal = Decimal(0)
    flags: list[str] = field(default_factory=list)


class _Rollback(Exception):
    pass


def persona_preview_turn(*, persona: Persona, kind: str, provider: str, history: list[ChatMessage]) -> PreviewTurn:
    """Answer the last message of `history` as an agent of `kind` with this persona on `provider`, leaving nothing."""
    try:
        with transaction.atomic():
            agent = Agent.objects.create(
                name=f"preview:{persona.pk}:{kind}:{uuid.uuid4().hex[:8]}",  # concurrent previews never collide
                kind=kind,
                persona=persona,
                provider=provider,
                enabled_tools=tool_names_for_kind(kind),
            )
            machine = selectors.preview_machine() if kind == Agent.Kind.SHOPKEEPER else None
            context = ToolContext(agent=agent, machine=machine, conversation_id=None, channel="preview")
            outcome = agent_turn_run(agent=agent, context=context, history=history)
            turn = outcome.turn
            refusals = [
                {"tool": v.tool_name, "rule": v.rule, "reason": v.reason}
                for v in GuardrailViolation.objects.filter(turn=turn).order_by("id")
            ]
            result = PreviewTurn(
                text=outcome.text,
                tool_calls=turn.tool_calls if turn else [],
                refusals=refusals,
                provider=turn.provider if turn else "",
                model_name=turn.model_name if turn else "",
                fallback_reason=turn.fallback_reason if turn else "",
                input_tokens=turn.input_tokens if turn else 0,
                output_tokens=turn.output_tokens if turn else 0,
                cost_yen=turn.cost_yen if turn else Decimal(0),
                flags=turn.flags if turn else [],
            )
            raise _Rollback
    except _Rollback:
        pass
    if result.input_tokens or result.output_tokens:
        llm_usage_record(
            agent=None,
            model_name=result.model_name,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            cost_yen=result.cost_yen,
        )
        budget_alerts_record()
    return result
