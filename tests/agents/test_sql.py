"""The agents app's one hand-written statement (apps.agents.sql) against the ORM's answer for the same sums: its table
and columns exist on this database and it means what the ORM would."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import F, Q, Sum

from apps.agents.models import LlmUsage
from apps.agents.sql import usage_this_month
from tests.factories import AgentFactory

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
