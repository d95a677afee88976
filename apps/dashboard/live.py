"""Live updates to open dashboards: every event goes to the channel-layer group all dashboard sockets join."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"


def _send(event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(DASHBOARD_GROUP, {"type": "dashboard.event", "event": event})
    except Exception:
        # The change it announces is already committed; a dashboard that misses it catches up at its next refresh.
        logger.exception("Could not broadcast a %s event to the dashboards", event.get("type"))


def broadcast_on_commit(event: dict) -> None:
    """Send `event` to every open dashboard once the current transaction commits (never for a rolled-back one)."""
    transaction.on_commit(lambda: _send(event))
