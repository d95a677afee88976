"""Prometheus metrics of the inventory app, exported at /metrics with Django's own."""

from prometheus_client import Histogram

# A machine's purchase is served outside Django's view chain (`consumers.DevicePurchases`), so django-prometheus's
# request metrics do not see it; what falls through to Django's view is counted there as before.
DEVICE_PURCHASE_SECONDS = Histogram(
    "vendbot_device_purchase_seconds",
    "Time to answer a machine's purchase served on the event loop, by status",
    ["status"],
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
