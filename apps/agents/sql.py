"""The agents app's hand-written SQL: the statements every model turn runs. Everything else is the ORM.

Kept because they run in every turn, and bench/llm_overhead.py shows the ORM's own work per statement (building the
queryset, compiling it) cost the turn several times what the database did: each of these takes a small fraction of
the ORM's CPU for the same statement (docs/performance.md). Table and column names come from the models' `_meta`;
values are always parameters, converted as the fields would; tests/agents/test_sql.py runs each against the ORM's
answer on each database.
"""

import datetime
from decimal import Decimal
from functools import cache

from django.db import connection

from apps.agents.models import Agent, AgentStatus, LlmUsage, Persona
from apps.core.sql import columns, from_row
from apps.inventory.models import Product, Slot, StorageStock


def _column(name: str, model=LlmUsage) -> str:
    return model._meta.get_field(name).column


_DAY, _AGENT, _COST = _column("day"), _column("agent"), _column("cost_yen")
_TOKENS = f"{_column('input_tokens')} + {_column('output_tokens')}"
# One pass over this month's ledger rows (a handful per day, however many turns).
_USAGE_THIS_MONTH = f"""
SELECT SUM({_COST}),
       SUM(CASE WHEN {_DAY} = %s THEN {_COST} END),
       SUM(CASE WHEN {_AGENT} = %s AND {_DAY} = %s THEN {_TOKENS} END),
       SUM(CASE WHEN {_AGENT} = %s AND {_DAY} = %s THEN {_COST} END)
FROM {LlmUsage._meta.db_table} WHERE {_DAY} >= %s AND {_DAY} <= %s
"""  # noqa: S608


def usage_this_month(*, today: datetime.date, agent_id: int | None) -> tuple:
    """Sums over the usage ledger from the first of `today`'s month through `today`: (cost this month, cost today,
    the agent's tokens today, the agent's cost today); None for a sum over no rows (no agent: no rows of its own).
    Costs come back as the database sums them (SQLite: a float)."""
    with connection.cursor() as cursor:
        cursor.execute(_USAGE_THIS_MONTH, [today, agent_id, today, agent_id, today, today.replace(day=1), today])
        return cursor.fetchone()


_AGENT_FIELDS = len(Agent._meta.concrete_fields)


@cache
def _agent_with_persona_sql() -> str:
    # Built at first use: quoting the names asks the database connection.
    agents, personas = Agent._meta.db_table, Persona._meta.db_table
    return (
        f"SELECT {columns(Agent, 'a')}, {columns(Persona, 'p')} FROM {agents} a "  # noqa: S608 (model meta)
        f"LEFT JOIN {personas} p ON p.id = a.{Agent._meta.get_field('persona').column} WHERE a.id = %s"
    )


def agent_with_persona(*, agent_id: int) -> Agent | None:
    """The agent's row with its persona's (as `select_related("persona")` gives them), or None if there is none."""
    with connection.cursor() as cursor:
        cursor.execute(_agent_with_persona_sql(), [agent_id])
        row = cursor.fetchone()
    if row is None:
        return None
    agent = from_row(Agent, row[:_AGENT_FIELDS])
    agent.persona = from_row(Persona, row[_AGENT_FIELDS:]) if row[_AGENT_FIELDS] is not None else None
    return agent


_AGENTS = Agent._meta.db_table
_STATUS, _HEARTBEAT = _column("status", Agent), _column("last_heartbeat_at", Agent)
_MARK_BUSY = f"UPDATE {_AGENTS} SET {_HEARTBEAT} = %s, {_STATUS} = %s WHERE id = %s AND {_STATUS} IN (%s, %s)"  # noqa: S608
_MARK_IDLE = f"UPDATE {_AGENTS} SET {_STATUS} = %s WHERE id = %s AND {_STATUS} = %s"  # noqa: S608


def agent_mark_busy(*, agent_id: int, now: datetime.datetime) -> None:
    """A working (idle or busy) agent busy, its heartbeat `now`; any other status stands."""
    with connection.cursor() as cursor:
        cursor.execute(
            _MARK_BUSY,
            [
                connection.ops.adapt_datetimefield_value(now),
                AgentStatus.BUSY,
                agent_id,
                AgentStatus.IDLE,
                AgentStatus.BUSY,
            ],
        )


def agent_mark_idle(*, agent_id: int) -> None:
    """A busy agent idle; any other status stands."""
    with connection.cursor() as cursor:
        cursor.execute(_MARK_IDLE, [AgentStatus.IDLE, agent_id, AgentStatus.BUSY])


_USAGE = LlmUsage._meta.db_table
_ADDED = ", ".join(f"{_column(name)} = {_column(name)} + %s" for name in ("input_tokens", "output_tokens", "calls"))
# CAST as the ORM sends a decimal on SQLite (which would otherwise add a string); PostgreSQL takes it as it is.
_USAGE_ADD = (
    f"UPDATE {_USAGE} SET {_ADDED}, {_COST} = {_COST} + CAST(%s AS NUMERIC) "  # noqa: S608
    f"WHERE {_AGENT} {{agent}} AND {_column('model_name')} = %s AND {_DAY} = %s"
)
_USAGE_ADD_FOR = {True: _USAGE_ADD.format(agent="= %s"), False: _USAGE_ADD.format(agent="IS NULL")}


def usage_add(
    *,
    agent_id: int | None,
    model_name: str,
    day: datetime.date,
    input_tokens: int,
    output_tokens: int,
    calls: int,
    cost_yen: Decimal,
) -> bool:
    """Add to the ledger row of (agent, model, day) in the database (`SET x = x + n`); False if there is no such
    row (agent None: a persona preview's)."""
    agent = [agent_id] if agent_id is not None else []
    params = [
        input_tokens,
        output_tokens,
        calls,
        cost_yen,
        *agent,
        model_name,
        connection.ops.adapt_datefield_value(day),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_USAGE_ADD_FOR[agent_id is not None], params)
        return cursor.rowcount > 0


_SLOT_QUANTITY, _SLOT_PRODUCT, _SLOT_MACHINE = (_column(name, Slot) for name in ("quantity", "product", "machine"))
_SKU, _NAME, _ACTIVE = (_column(name, Product) for name in ("sku", "name_ja", "active"))
_BACK_ROOM, _BACK_ROOM_PRODUCT = _column("quantity", StorageStock), _column("product", StorageStock)
# The units in the slots: the machine's, or every machine's ({machine} empty).
_IN_SLOTS = f"SELECT SUM({_SLOT_QUANTITY}) FROM {Slot._meta.db_table} WHERE {_SLOT_PRODUCT} = p.id{{machine}}"  # noqa: S608
_PRODUCT_STOCK = (
    f"SELECT p.{_SKU}, p.{_NAME}, COALESCE(({_IN_SLOTS}), 0), COALESCE(b.{_BACK_ROOM}, 0) "  # noqa: S608
    f"FROM {Product._meta.db_table} p LEFT JOIN {StorageStock._meta.db_table} b ON b.{_BACK_ROOM_PRODUCT} = p.id "
    f"WHERE p.{_SKU} = %s AND p.{_ACTIVE} = %s"
)
_PRODUCT_STOCK_IN = {
    True: _PRODUCT_STOCK.format(machine=f" AND {_SLOT_MACHINE} = %s"),
    False: _PRODUCT_STOCK.format(machine=""),
}


def product_stock_by_sku(*, sku: str, machine_id: int | None) -> dict | None:
    """What `check_stock` answers: the units of the active product with this SKU in the machine's slots (every
    machine's when `machine_id` is None) and in the back room; None when no active product has the SKU. Through the
    ORM this was two queries and 1.7 ms of CPU, a fifth of a tool turn's own time; this statement takes 0.05 ms."""
    in_machine = [machine_id] if machine_id is not None else []
    with connection.cursor() as cursor:
        cursor.execute(_PRODUCT_STOCK_IN[machine_id is not None], [*in_machine, sku, True])
        row = cursor.fetchone()
    if row is None:
        return None
    sku, name, in_slots, in_storage = row
    return {"sku": sku, "name": name, "in_machine": int(in_slots), "in_storage": int(in_storage)}
