"""Every Prometheus metric of the shop, exposed by django-prometheus at /metrics.

Counters are incremented by the dashboard's signal receivers in the process where the event happened (web or worker);
figures that are a current state (empty slots, open alerts) are read from the database at scrape time by
`ShopStateCollector`, because a counter in one process cannot know them.
"""

import logging

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

SALES = Counter("vendbot_sales", "Completed sales", ["channel"])
SALES_YEN = Counter("vendbot_sales_yen", "Revenue of completed sales in yen (tax included)", ["channel"])
STOCKOUTS = Counter("vendbot_stockouts", "Times a loaded slot was emptied")
AI_TOKENS = Counter("vendbot_ai_tokens", "Model tokens used by agents", ["agent", "direction"])
AI_COST_YEN = Counter("vendbot_ai_cost_yen", "Model cost in yen from the decision log", ["agent"])
AI_REPLY_LATENCY = Histogram(
    "vendbot_ai_reply_latency_seconds",
    "Time for an agent turn, from the customer's message to the reply",
    ["agent"],
    buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 32),
)
BLOCKED_TOOL_CALLS = Counter("vendbot_blocked_tool_calls", "Tool calls refused by the guardrail policy", ["rule"])
LINE_ERRORS = Counter("vendbot_line_errors", "LINE API calls that failed", ["operation"])


# LINE events stored but not done: a step waiting for a worker, the re-queue job or LINE; `failed` ones were given up.
LINE_EVENTS_HELP = "LINE events stored and not yet answered, by the step they reached"


class ShopStateCollector(Collector):
    """Gauges read from the database at each scrape; a broken database yields no samples rather than a failed scrape."""

    def describe(self):
        # Names only, so registering does not query the database.
        yield GaugeMetricFamily("vendbot_slots_out_of_stock", "Loaded slots that are empty")
        yield GaugeMetricFamily("vendbot_slots_low_stock", "Loaded slots below their par level")
        yield GaugeMetricFamily("vendbot_alerts_firing", "Alerts currently firing")
        yield GaugeMetricFamily("vendbot_line_events_unfinished", LINE_EVENTS_HELP, labels=["status"])

    def collect(self):
        from apps.dashboard.models import Alert
        from apps.dashboard.selectors import line_events_unfinished, stock_state

        try:
            stock = stock_state()
            firing = Alert.objects.filter(state=Alert.State.FIRING).count()
            line_events = line_events_unfinished()
        except Exception:
            logger.exception("Could not read the shop state for /metrics")
            return
        yield GaugeMetricFamily(
            "vendbot_slots_out_of_stock", "Loaded slots that are empty", value=stock["out_of_stock_slots"]
        )
        yield GaugeMetricFamily(
            "vendbot_slots_low_stock", "Loaded slots below their par level", value=stock["low_stock_slots"]
        )
        yield GaugeMetricFamily("vendbot_alerts_firing", "Alerts currently firing", value=firing)
        unfinished = GaugeMetricFamily("vendbot_line_events_unfinished", LINE_EVENTS_HELP, labels=["status"])
        for status, count in line_events.items():
            unfinished.add_metric([status], count)
        yield unfinished
