"""Live updates to open dashboards: every event goes to the channel-layer group all dashboard sockets join."""

from django.db import transaction

from apps.core.broadcast import group_send_soon

# Each server process has one member in this group, its relay (`consumers._Relay`), not one per socket.
DASHBOARD_GROUP = "dashboard"


def _send(event: dict) -> None:
    # The change it announces is already committed; a dashboard that misses it catches up at its next refresh.
    message = {"type": "dashboard.event", "event": event}
    group_send_soon(DASHBOARD_GROUP, message, what=f"a {event.get('type')} event to the dashboards")


def broadcast_on_commit(event: dict) -> None:
    """Send `event` to every open dashboard once the current transaction commits (never for a rolled-back one),
    without making the committing request wait for the channel layer (`group_send_soon`)."""
    transaction.on_commit(lambda: _send(event))
