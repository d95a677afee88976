"""Reads for the agents: the shop as the tools see it, and the guardrail counters the policy needs."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Max, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.agents.limits import MAX_UNITS_PER_ORDER
from apps.agents.models import (
    Agent,
    AgentMemory,
    AgentNote,
    BudgetAlert,
    CouponGrant,
    GuardrailViolation,
    Personality,
    Role,
    SelfServiceRefund,
    Tone,
)
from apps.agents.sql import agent_with_persona, product_stock_by_sku, usage_this_month
from apps.core.clock import local_day_start
from apps.inventory.models import Coupon, Machine, Product, PurchaseOrder, Sale, SaleLine, Slot
from apps.inventory.selectors import machine_products


def machine_catalogue(*, machine, query: str = "", category: str = "") -> list[dict]:
    """Active products loaded in the machine with the units left across its slots, cheapest first."""
    needle = query.strip().lower()
    rows: dict[str, dict] = {}
    for slot in machine_products(machine_code=machine.code):
        if slot["sku"] is None or (category and slot["category"] != category):
            continue
        if needle and needle not in f"{slot['sku']} {slot['name']} {slot['name_en']}".lower():
            continue
        row = rows.setdefault(
            slot["sku"],
            {k: slot[k] for k in ("sku", "name", "name_en", "category", "price_yen")} | {"in_stock": 0},
        )
        row["in_stock"] += slot["quantity"] if slot["available"] else 0
    return sorted(rows.values(), key=lambda row: (row["price_yen"], row["sku"]))


def product_label(*, product: Product, allergen: str = "") -> dict:
    """What the product's label data says, and nothing else: the allergens (only once someone has checked them
    against the label), calories and ingredients; with `allergen`, whether the product contains it."""
    answer = {
        "sku": product.sku,
        "name": product.name_ja,
        "name_en": product.name_en,
        "labelled": product.allergens_checked,
        "allergens": list(product.allergens) if product.allergens_checked else None,
        "calories_kcal": product.calories_kcal,
        "ingredients": product.ingredients,
        "source": "product label data",
    }
    if allergen:
        answer["allergen"] = allergen
        answer["contains"] = (allergen in product.allergens) if product.allergens_checked else None
    return answer


def slot_holding(*, machine, product: Product, quantity: int) -> Slot | None:
    """The first slot of the machine with at least `quantity` of the product."""
    return Slot.objects.filter(machine=machine, product=product, quantity__gte=quantity).order_by("code").first()


def coupon_is_active(*, code: str) -> bool:
    return Coupon.objects.filter(code__iexact=code, active=True).exists()


def product_by_sku(*, sku: str) -> Product | None:
    return Product.objects.filter(sku=sku).first()


def product_stock(*, sku: str, machine=None) -> dict | None:
    """Units of the active product with this SKU in the machine's slots (or all machines) and in the back room; None
    when no active product has it. One hand-written statement (`apps.agents.sql`): a model turn waits on it."""
    return product_stock_by_sku(sku=sku, machine_id=machine.pk if machine is not None else None)


def coupon_worst_case_yen(*, percent: int) -> int:
    """The most a coupon can take off one order: `percent` of the largest order an agent may start (rounded up)."""
    top_price = Product.objects.filter(active=True).aggregate(top=Coalesce(Max("price_yen"), 0))["top"]
    return -(-top_price * MAX_UNITS_PER_ORDER * percent // 100)


def coupon_budget_spent_today(*, agent: Agent) -> int:
    start_of_day = local_day_start()
    spent = CouponGrant.objects.filter(agent=agent, created_at__gte=start_of_day).aggregate(
        total=Coalesce(Sum("worst_case_yen"), 0)
    )
    return spent["total"]


def conversation_has_coupon(*, conversation_id: int) -> bool:
    return CouponGrant.objects.filter(conversation_id=conversation_id).exists()


def violation_count(*, conversation_id: int) -> int:
    return GuardrailViolation.objects.filter(conversation_id=conversation_id).count()


def sales_summary(*, days: int, machine=None) -> dict:
    """Sales count, revenue and the best sellers over the last `days` days; no customer appears in it."""
    since = timezone.now() - timezone.timedelta(days=days)
    sales = Sale.objects.filter(created_at__gte=since)
    if machine is not None:
        sales = sales.filter(machine=machine)
    totals = sales.aggregate(revenue=Coalesce(Sum("total_yen"), 0), cost=Coalesce(Sum("cost_yen"), 0))
    top = (
        SaleLine.objects.filter(sale__in=sales)
        .values("product__sku", "product__name_ja")
        .annotate(units=Sum("quantity"), revenue=Sum("total_yen"))
        .order_by("-units", "product__sku")[:5]
    )
    return {
        "days": days,
        "sales": sales.count(),
        "revenue_yen": totals["revenue"],
        "gross_margin_yen": totals["revenue"] - totals["cost"],
        "top_products": [
            {
                "sku": row["product__sku"],
                "name": row["product__name_ja"],
                "units": row["units"],
                "revenue_yen": row["revenue"],
            }
            for row in top
        ],
    }


def agent_for_turn(*, agent_id: int) -> Agent:
    """The agent as it is now, with its persona: a Manager may have paused it, changed its budget, model or persona
    since the conversation began (hand-written SQL: `apps.agents.sql`)."""
    agent = agent_with_persona(agent_id=agent_id)
    if agent is None:
        raise Agent.DoesNotExist("Agent matching query does not exist.")
    return agent


def shopkeeper_for_chat() -> Agent | None:
    """The shopkeeper for a new chat: a working one if any, else a paused one (its customers get a notice)."""
    shopkeepers = Agent.objects.filter(kind=Agent.Kind.SHOPKEEPER).select_related("persona")
    working = shopkeepers.filter(status__in=[Agent.Status.IDLE, Agent.Status.BUSY]).order_by("id").first()
    return working or shopkeepers.order_by("id").first()


@dataclass(frozen=True)
class LlmBudgetState:
    day_spent_yen: Decimal
    month_spent_yen: Decimal
    day_percent: float
    month_percent: float

    @property
    def percent(self) -> float:
        return max(self.day_percent, self.month_percent)

    @property
    def exhausted_period(self) -> str:
        return "daily" if self.day_percent >= self.month_percent else "monthly"


def _percent(spent: Decimal, budget: int) -> float:
    return float(spent * 100 / budget) if budget > 0 else 100.0


def _yen(value) -> Decimal:
    """A SUM of `cost_yen` as the ledger's Decimal (SQLite sums decimals as floats); no rows: 0."""
    if value is None:
        return Decimal(0)
    return (value if isinstance(value, Decimal) else Decimal(str(value))).quantize(_LEDGER_YEN_PLACES)


_LEDGER_YEN_PLACES = Decimal("0.0001")  # LlmUsage.cost_yen's decimal places


def _budget_state(*, day_spent: Decimal, month_spent: Decimal) -> LlmBudgetState:
    return LlmBudgetState(
        day_spent_yen=day_spent,
        month_spent_yen=month_spent,
        day_percent=_percent(day_spent, settings.LLM_DAILY_BUDGET_YEN),
        month_percent=_percent(month_spent, settings.LLM_MONTHLY_BUDGET_YEN),
    )


def llm_budget_after(state: LlmBudgetState, *, spent_yen: Decimal) -> LlmBudgetState:
    """`state` with `spent_yen` more spent today (and so this month)."""
    return _budget_state(day_spent=state.day_spent_yen + spent_yen, month_spent=state.month_spent_yen + spent_yen)


@dataclass(frozen=True)
class LlmUsageToday:
    agent_tokens: int  # the agent's tokens today, in and out, over every model
    agent_cost_yen: Decimal  # what the agent's model calls cost today, over every model
    budget: LlmBudgetState


def llm_usage_today(*, agent: Agent | None) -> LlmUsageToday:
    """What a turn checks before calling a model: the agent's tokens and cost today and the shop's model spend today
    and this month (local time) against the settings' yen budgets (hand-written SQL: `apps.agents.sql`). No agent, or
    an unsaved one (the simulator's), has spent nothing of its own."""
    month_spent, day_spent, agent_tokens, agent_cost = usage_this_month(
        today=timezone.localdate(), agent_id=agent.pk if agent is not None else None
    )
    return LlmUsageToday(
        agent_tokens=int(agent_tokens or 0),
        agent_cost_yen=_yen(agent_cost),
        budget=_budget_state(day_spent=_yen(day_spent), month_spent=_yen(month_spent)),
    )


def llm_budget_state() -> LlmBudgetState:
    """Model spend today and this month (local time) from the usage ledger, against the settings' yen budgets."""
    return llm_usage_today(agent=None).budget


def budget_alert_thresholds_recorded(*, period: str, period_start: datetime.date) -> set[int]:
    return set(
        BudgetAlert.objects.filter(period=period, period_start=period_start).values_list("threshold_percent", flat=True)
    )


def persona_prompt_fragments(*, persona_id: int) -> list[str]:
    """The prompt fragments of the persona's personalities, then roles, then tones (each by name), in one query."""
    kinds = [
        model.objects.filter(personas=persona_id)
        .order_by()
        .annotate(kind=Value(order))
        .values_list("kind", "name", "prompt_fragment")
        for order, model in enumerate((Personality, Role, Tone))
    ]
    rows = kinds[0].union(*kinds[1:], all=True).order_by("kind", "name")
    return [fragment for _kind, _name, fragment in rows]


def preview_machine() -> Machine | None:
    """The machine a persona preview shops at: the first active one, so the catalogue is real."""
    return Machine.objects.filter(status=Machine.Status.ACTIVE).order_by("code").first()


def purchase_orders_unexplained() -> list[PurchaseOrder]:
    """Proposals waiting for a person that no agent has explained yet, oldest first."""
    explained = AgentNote.objects.filter(kind=AgentNote.Kind.PURCHASE_ORDER_PROPOSAL).values_list(
        "data__purchase_order_id", flat=True
    )
    return list(
        PurchaseOrder.objects.filter(status=PurchaseOrder.Status.PENDING_HUMAN_APPROVAL)
        .exclude(pk__in=[pk for pk in explained if pk is not None])
        .select_related("supplier")
        .order_by("created_at", "id")
    )


def purchase_orders_open_for_product(*, product: Product) -> list[PurchaseOrder]:
    """Orders not yet received, rejected or cancelled that hold a line for `product` (at most one: a DB constraint)."""
    return list(
        PurchaseOrder.objects.filter(lines__product=product, lines__is_open=True)
        .select_related("supplier")
        .prefetch_related("lines")
        .distinct()
    )


def sale_for_self_refund(*, sale_ids: tuple[int, ...], customer_key: str, sale_id: int | None) -> Sale | None:
    """The sale a customer's refund claim is about, locked: the one named (whoever's it is; the policy checks), or
    else the customer's newest (by their key, or one bought in this conversation)."""
    sales = Sale.objects.select_for_update().prefetch_related("lines")
    if sale_id is not None:
        return sales.filter(pk=sale_id).first()
    own = Q(pk__in=sale_ids)
    if customer_key:
        own |= Q(customer_key=customer_key)
    return sales.filter(own).order_by("-created_at", "-id").first()


def sale_is_customers(*, sale: Sale, sale_ids: tuple[int, ...], customer_key: str) -> bool:
    """The sale was made by this customer: under their key, or in this very conversation (an anonymous tablet)."""
    return sale.pk in sale_ids or bool(customer_key) and sale.customer_key == customer_key


def self_service_refund_exists(*, sale: Sale) -> bool:
    return SelfServiceRefund.objects.filter(sale=sale).exists()


def agent_memory_value(*, agent: Agent, key: str) -> str | None:
    return AgentMemory.objects.filter(agent=agent, key=key).values_list("value", flat=True).first()


def agent_memory_keys(*, agent: Agent) -> list[str]:
    return list(
        AgentMemory.objects.filter(agent=agent).exclude(key=AgentMemory.SCRATCHPAD_KEY).values_list("key", flat=True)
    )


def agent_notes_search(*, agent: Agent, query: str, limit: int) -> list[dict]:
    """This agent's notes whose text contains `query` (any case), newest first."""
    notes = AgentNote.objects.filter(agent=agent, text__icontains=query).order_by("-created_at", "-id")[:limit]
    return [{"note_id": n.pk, "created_at": n.created_at.isoformat(), "kind": n.kind, "text": n.text} for n in notes]
