"""`/ws/dashboard/`: live events (sales, order states, alerts) and a fresh snapshot every DASHBOARD_REFRESH_SECONDS,
for Managers only."""

import asyncio
import contextlib

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from apps.dashboard.live import DASHBOARD_GROUP
from apps.dashboard.selectors import dashboard_snapshot

VIEW_DASHBOARD = "core.view_dashboard"
# Sent as the close code when the handshake is refused (before accept, daphne answers the handshake with 403).
CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _may_view(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(VIEW_DASHBOARD))


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    refresher: asyncio.Task | None = None

    async def connect(self):
        if not await _may_view(self.scope.get("user")):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(DASHBOARD_GROUP, self.channel_name)
        await self.accept()
        self.refresher = asyncio.create_task(self._refresh_periodically())

    async def disconnect(self, code):
        if self.refresher is not None:
            self.refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.refresher
        await self.channel_layer.group_discard(DASHBOARD_GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # The page asks for a snapshot after an event, to update every card and chart it touched.
        if isinstance(content, dict) and content.get("action") == "refresh":
            await self._send_snapshot()

    async def dashboard_event(self, message):
        await self.send_json(message["event"])

    async def _send_snapshot(self):
        await self.send_json({"type": "snapshot", "snapshot": await database_sync_to_async(dashboard_snapshot)()})

    async def _refresh_periodically(self):
        while True:
            await asyncio.sleep(settings.DASHBOARD_REFRESH_SECONDS)
            await self._send_snapshot()
