"""Live updates to open dashboards: every event goes to the channel-layer group all dashboard sockets join."""

from channels import DEFAULT_CHANNEL_LAYER
from django.conf import settings
from django.db import transaction

from apps.core.broadcast import group_send_soon

DASHBOARD_GROUP = "dashboard"
DASHBOARD_LAYER = "dashboard"


def dashboard_layer_alias() -> str:
    """The channel layer of the dashboard sockets: `CHANNEL_LAYERS["dashboard"]` (Redis pub/sub), or the default
    layer where none is configured (the tests' in-memory layer)."""
    return DASHBOARD_LAYER if DASHBOARD_LAYER in settings.CHANNEL_LAYERS else DEFAULT_CHANNEL_LAYER


def _send(event: dict) -> None:
    # The change it announces is already committed; a dashboard that misses it catches up at its next refresh.
    message = {"type": "dashboard.event", "event": event}
    group_send_soon(
        DASHBOARD_GROUP,
        message,
        what=f"a {event.get('type')} event to the dashboards",
        layer_alias=dashboard_layer_alias(),
    )


def broadcast_on_commit(event: dict) -> None:
    """Send `event` to every open dashboard once the current transaction commits (never for a rolled-back one),
    without making the committing request wait for the channel layer (`group_send_soon`)."""
    transaction.on_commit(lambda: _send(event))
