"""Prometheus metrics of the chats app, exported at /metrics with Django's own."""

from prometheus_client import Histogram

# The webhook is served outside Django's view chain, so django-prometheus's request metrics do not see it.
LINE_WEBHOOK_SECONDS = Histogram(
    "vendbot_line_webhook_seconds",
    "Time to acknowledge a LINE webhook request, by status",
    ["status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)
