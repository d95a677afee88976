"""Prometheus figures at /metrics: counters move with committed events, gauges read the shop's current state."""

from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from apps.agents.services import tool_call, turn_record
from apps.agents.tools.registry import ToolContext
from apps.chats.models import LineEvent
from tests.dashboard.conftest import buy
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_sale_is_counted_once_committed(device_client, tea_slot, django_capture_on_commit_callbacks):
    sales, revenue = (
        sample("vendbot_sales_total", channel="tablet"),
        sample("vendbot_sales_yen_total", channel="tablet"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        buy(device_client, quantity=2)
    assert sample("vendbot_sales_total", channel="tablet") == sales + 1
    assert sample("vendbot_sales_yen_total", channel="tablet") == revenue + 300


def test_emptying_a_slot_counts_a_stockout(device_client, tea_slot, django_capture_on_commit_callbacks):
    before = sample("vendbot_stockouts_total")
    with django_capture_on_commit_callbacks(execute=True):
        buy(device_client, quantity=4, key="a")
    assert sample("vendbot_stockouts_total") == before
    with django_capture_on_commit_callbacks(execute=True):
        buy(device_client, quantity=1, key="b")
    assert sample("vendbot_stockouts_total") == before + 1


def test_a_finished_turn_counts_tokens_cost_and_latency(django_capture_on_commit_callbacks):
    agent = AgentFactory(name="計測店員")
    before = sample("vendbot_ai_reply_latency_seconds_count", agent="計測店員")
    with django_capture_on_commit_callbacks(execute=True):
        turn_record(
            agent=agent,
            conversation_id=None,
            provider="offline",
            model_name="",
            tool_calls=[],
            reply_filtered=[],
            input_tokens=2_000_000,
            output_tokens=1000,
            latency_ms=1500,
            cost_yen=Decimal("902.25"),
        )
    assert sample("vendbot_ai_tokens_total", agent="計測店員", direction="input") == 2_000_000
    assert sample("vendbot_ai_cost_yen_total", agent="計測店員") == 902.25
    assert sample("vendbot_ai_reply_latency_seconds_count", agent="計測店員") == before + 1
    assert sample("vendbot_ai_reply_latency_seconds_bucket", agent="計測店員", le="2.0") == before + 1


def test_a_refused_tool_call_is_counted_by_rule(django_capture_on_commit_callbacks):
    agent = AgentFactory(enabled_tools=[])
    before = sample("vendbot_blocked_tool_calls_total", rule="tool_not_enabled")
    with django_capture_on_commit_callbacks(execute=True):
        result = tool_call(context=ToolContext(agent=agent), name="issue_coupon", arguments={"percent": 10})
    assert result.rule == "tool_not_enabled"
    assert sample("vendbot_blocked_tool_calls_total", rule="tool_not_enabled") == before + 1


def test_metrics_page_shows_the_current_shop_state(metrics_page, device_client, tea_slot):
    buy(device_client, quantity=5)
    page = metrics_page()
    assert "vendbot_slots_out_of_stock 1.0" in page
    assert "vendbot_alerts_firing 0.0" in page


def test_metrics_page_counts_line_events_still_waiting_by_step(metrics_page):
    for index, status in enumerate(["received", "received", "answered", "failed", "done"]):
        LineEvent.objects.create(webhook_event_id=f"evt-{index}", event_type="message", status=status)
    page = metrics_page()
    assert 'vendbot_line_events_unfinished{status="received"} 2.0' in page
    assert 'vendbot_line_events_unfinished{status="answered"} 1.0' in page
    assert 'vendbot_line_events_unfinished{status="failed"} 1.0' in page
    assert 'vendbot_line_events_unfinished{status="processing"} 0.0' in page
    assert 'status="done"' not in page
