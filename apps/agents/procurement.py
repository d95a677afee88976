"""The procurement agent: the planning service (apps.inventory) does the numbers and proposes purchase orders; the
agent's model, when there is one, writes the reasoning a Manager reads beside each proposal. It never approves:
no tool can, and the orders stay `pending_human_approval` for a person.

The explanation becomes the order's reasoning (inventory's `purchase_order_reasoning_set`, audited; the planner's
own lines follow it), which is what the approval page shows; an `AgentNote` of kind `po_proposal` naming the order
(`data.purchase_order_id`) records which turn wrote it and marks the order explained.
"""

import json
import logging

from django.utils.translation import gettext as _

from apps.agents.models import Agent, AgentNote
from apps.agents.providers.base import ChatMessage
from apps.agents.routing import provider_choice
from apps.agents.runtime import agent_turn_run
from apps.agents.services import note_write
from apps.agents.tools.registry import ToolContext
from apps.core.errors import Conflict
from apps.inventory.models import PurchaseOrder
from apps.inventory.services import purchase_order_reasoning_set

logger = logging.getLogger(__name__)


def _brief(order: PurchaseOrder) -> str:
    numbers = {
        "supplier": order.supplier.name,
        "total_yen": order.total_yen,
        "over_budget": order.over_budget,
        "lines": [
            {
                "sku": line.product.sku,
                "product": line.product.name_ja,
                "quantity": line.quantity,
                "unit_cost_yen": line.unit_cost_yen,
            }
            for line in order.lines.select_related("product")
        ],
        "planner_reasoning": order.reasoning,
        "offer_comparison": order.offer_comparison,
    }
    return _(
        "次の発注案の理由を、店長が承認・却下を判断できるように日本語で3〜5文で書いてください。"
        "数字は下のものだけを使い、変えたり作ったりしないでください。ツールは使わないでください。"
        "承認するのは人間の店長です。\n\n%(numbers)s"
    ) % {"numbers": json.dumps(numbers, ensure_ascii=False, indent=1)}


def purchase_orders_explain(*, agent: Agent, orders: list[PurchaseOrder]) -> list[AgentNote]:
    """Have the agent's model explain each proposal. With no model answering (no key, budget, breaker, deadline)
    nothing is written: the planner's reasoning on the order stands, and no canned text pretends to be the model."""
    notes = []
    for order in orders:
        choice = provider_choice(agent=agent, customer_key="")
        if choice.provider.name != Agent.Provider.ANTHROPIC:
            # The offline provider speaks shop templates; it has nothing to say about an order.
            logger.info("Purchase order %s keeps the planner's reasoning (%s)", order.pk, choice.fallback_reason)
            continue
        context = ToolContext(agent=agent, channel="procurement")
        outcome = agent_turn_run(agent=agent, context=context, history=[ChatMessage(role="user", text=_brief(order))])
        turn = outcome.turn
        if turn is None or turn.provider != Agent.Provider.ANTHROPIC or not outcome.answered:
            logger.info("Purchase order %s keeps the planner's reasoning (%s)", order.pk, turn and turn.fallback_reason)
            continue
        try:
            purchase_order_reasoning_set(
                order=order,
                text=_("%(explanation)s\n\n計画サービスの根拠:\n%(planner)s")
                % {"explanation": outcome.text.strip(), "planner": order.reasoning},
                actor_label=agent.name,
            )
        except Conflict:
            # A person decided while the model was writing: what they read stays as it was.
            logger.info("Purchase order %s was decided before its explanation arrived", order.pk)
        notes.append(
            note_write(
                agent=agent,
                kind=AgentNote.Kind.PURCHASE_ORDER_PROPOSAL,
                text=outcome.text,
                data={"purchase_order_id": order.pk, "turn_id": turn.pk, "model": turn.model_name},
            )
        )
    return notes
