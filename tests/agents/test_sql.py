"""The agents app's hand-written statements (apps.agents.sql) against the ORM's answer for the same reads and writes:
their tables and columns exist on this database and they mean what the ORM would."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import F, Q, Sum
from django.utils import timezone

from apps.agents.models import Agent, LlmUsage
from apps.agents.sql import (
    agent_mark_busy,
    agent_mark_idle,
    agent_with_persona,
    product_stock_by_sku,
    usage_add,
    usage_this_month,
)
from apps.inventory.models import Product, Slot, StorageStock
from tests.factories import AgentFactory, MachineFactory, PersonaFactory, ProductFactory, SlotFactory, stock_slot

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 4, 15)


def orm_sums(*, today, agent_id):
    mine = Q(agent_id=agent_id, day=today)
    sums = LlmUsage.objects.filter(day__gte=today.replace(day=1), day__lte=today).aggregate(
        month_cost=Sum("cost_yen"),
        day_cost=Sum("cost_yen", filter=Q(day=today)),
        agent_tokens=Sum(F("input_tokens") + F("output_tokens"), filter=mine),
        agent_cost=Sum("cost_yen", filter=mine),
    )
    return sums["month_cost"], sums["day_cost"], sums["agent_tokens"], sums["agent_cost"]


def as_figures(sums):
    return tuple(None if value is None else Decimal(str(value)).quantize(Decimal("0.0001")) for value in sums)


def test_the_statement_sums_what_the_orm_sums():
    agent, other = AgentFactory(name="a"), AgentFactory(name="b")
    for who, day, tokens, cost in [
        (agent, TODAY, (100, 20), "1.2500"),
        (other, TODAY, (300, 40), "3.5000"),
        (None, TODAY, (50, 5), "0.1000"),  # a persona preview's
        (agent, TODAY.replace(day=1), (10, 1), "0.0100"),
        (agent, TODAY - datetime.timedelta(days=30), (999, 99), "9.9900"),  # last month
    ]:
        LlmUsage.objects.create(
            agent=who, model_name="m", day=day, input_tokens=tokens[0], output_tokens=tokens[1], cost_yen=Decimal(cost)
        )

    for agent_id in (agent.pk, other.pk):
        assert as_figures(usage_this_month(today=TODAY, agent_id=agent_id)) == as_figures(
            orm_sums(today=TODAY, agent_id=agent_id)
        )
    assert as_figures(usage_this_month(today=TODAY, agent_id=agent.pk)) == as_figures(
        (Decimal("4.86"), Decimal("4.85"), 120, Decimal("1.25"))
    )
    no_agent = usage_this_month(today=TODAY, agent_id=None)
    assert as_figures(no_agent[:2]) == as_figures((Decimal("4.86"), Decimal("4.85")))
    assert no_agent[2:] == (None, None)  # no agent: nothing of its own


def field_values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_the_agent_with_its_persona_is_what_select_related_reads():
    persona = PersonaFactory(name="ゆい", background="本社1階の店番。")
    with_persona = AgentFactory(name="a", persona=persona, enabled_tools=["check_stock"], daily_yen_budget=321)
    without = AgentFactory(name="b", persona=None)
    Agent.objects.filter(pk=with_persona.pk).update(last_heartbeat_at=timezone.now())

    for agent in (with_persona, without):
        read, orm = agent_with_persona(agent_id=agent.pk), Agent.objects.select_related("persona").get(pk=agent.pk)
        assert field_values(read) == field_values(orm)
        assert read.persona is None if orm.persona is None else field_values(read.persona) == field_values(orm.persona)
    assert agent_with_persona(agent_id=without.pk + 1000) is None


def test_busy_and_idle_marks_change_only_a_working_agent():
    now = timezone.now()
    idle, paused = AgentFactory(name="idle"), AgentFactory(name="paused", status=Agent.Status.MAINTENANCE)

    agent_mark_busy(agent_id=idle.pk, now=now)
    agent_mark_busy(agent_id=paused.pk, now=now)

    idle.refresh_from_db()
    paused.refresh_from_db()
    assert (idle.status, idle.last_heartbeat_at) == (Agent.Status.BUSY, now)
    assert (paused.status, paused.last_heartbeat_at) == (Agent.Status.MAINTENANCE, None)
    agent_mark_idle(agent_id=idle.pk)
    agent_mark_idle(agent_id=paused.pk)
    assert Agent.objects.get(pk=idle.pk).status == Agent.Status.IDLE
    assert Agent.objects.get(pk=paused.pk).status == Agent.Status.MAINTENANCE


def test_usage_add_adds_to_its_own_row_only():
    agent = AgentFactory(name="a")
    mine = LlmUsage.objects.create(agent=agent, model_name="m", day=TODAY, cost_yen=Decimal("1.5000"), calls=1)
    preview = LlmUsage.objects.create(agent=None, model_name="m", day=TODAY)
    yesterday = LlmUsage.objects.create(agent=agent, model_name="m", day=TODAY - datetime.timedelta(days=1))
    add = {"model_name": "m", "input_tokens": 400, "output_tokens": 40, "calls": 2, "cost_yen": Decimal("0.0912")}

    assert usage_add(agent_id=agent.pk, day=TODAY, **add)
    assert usage_add(agent_id=None, day=TODAY, **add)
    assert not usage_add(agent_id=agent.pk, day=TODAY + datetime.timedelta(days=1), **add)

    mine.refresh_from_db()
    preview.refresh_from_db()
    yesterday.refresh_from_db()
    assert (mine.input_tokens, mine.output_tokens, mine.calls, mine.cost_yen) == (400, 40, 3, Decimal("1.5912"))
    assert (preview.input_tokens, preview.calls, preview.cost_yen) == (400, 2, Decimal("0.0912"))
    assert (yesterday.input_tokens, yesterday.calls, yesterday.cost_yen) == (0, 0, Decimal(0))


def orm_stock(*, sku, machine):
    product = Product.objects.filter(sku=sku, active=True).first()
    if product is None:
        return None
    slots = Slot.objects.filter(product=product)
    if machine is not None:
        slots = slots.filter(machine=machine)
    back_room = StorageStock.objects.filter(product=product).values_list("quantity", flat=True).first()
    return {
        "sku": product.sku,
        "name": product.name_ja,
        "in_machine": slots.aggregate(units=Sum("quantity"))["units"] or 0,
        "in_storage": back_room or 0,
    }


def test_the_stock_statement_counts_what_the_orm_counts():
    cola = ProductFactory(sku="COLA", name_ja="コーラ")
    tea = ProductFactory(sku="TEA")
    ProductFactory(sku="BARE")  # never stocked: no slot, no back-room row
    here, there = MachineFactory(code="M1"), MachineFactory(code="M2")
    stock_slot(SlotFactory(machine=here, code="A1", product=cola), 3, spare=4)
    stock_slot(SlotFactory(machine=here, code="A2", product=cola), 2)
    stock_slot(SlotFactory(machine=there, code="A1", product=cola), 5)
    stock_slot(SlotFactory(machine=there, code="B1", product=tea), 1)
    SlotFactory(machine=here, code="C1", product=None)  # a slot with nothing assigned
    stock_slot(SlotFactory(machine=here, code="D1", product=ProductFactory(sku="GONE")), 1, spare=2)
    Product.objects.filter(sku="GONE").update(active=False)  # taken off the range while stocked

    for sku in ("COLA", "TEA", "BARE", "GONE", "NOPE"):
        for machine in (here, there, None):
            machine_id = machine.pk if machine else None
            assert product_stock_by_sku(sku=sku, machine_id=machine_id) == orm_stock(sku=sku, machine=machine)
    assert product_stock_by_sku(sku="COLA", machine_id=here.pk) == {
        "sku": "COLA",
        "name": "コーラ",
        "in_machine": 5,
        "in_storage": 4,
    }
    assert product_stock_by_sku(sku="COLA", machine_id=None)["in_machine"] == 10
    assert product_stock_by_sku(sku="TEA", machine_id=here.pk)["in_machine"] == 0
    assert product_stock_by_sku(sku="GONE", machine_id=here.pk) is None
