"""The agents app's one hand-written SQL statement. Everything else is the ORM.

Kept because it runs before every model turn and bench/llm_overhead.py, timing the call inside its turns, shows the
ORM's filtered aggregates for the same sums cost the turn 1.0–1.3 ms more CPU (about 1.2 ms against 0.1 ms). The
table and column names come from the model's `_meta`; values are always parameters; tests/agents/test_sql.py runs it
against the ORM's answer on each database.
"""

import datetime

from django.db import connection

from apps.agents.models import LlmUsage


def _column(name: str) -> str:
    return LlmUsage._meta.get_field(name).column


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
