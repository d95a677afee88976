"""`/ws/dashboard/`: live events (sales, order states, alerts) and a fresh snapshot every DASHBOARD_REFRESH_SECONDS,
for Managers only, and only as long as the login it was opened with stands: every DASHBOARD_SESSION_CHECK_SECONDS the
socket reads its session again and closes (4401) once it is gone (logout, expiry) or no longer names an active user
with the dashboard permission (deactivated, Manager role removed, password changed)."""

import asyncio
import contextlib
import logging
import random
import time
from importlib import import_module
from types import SimpleNamespace

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user

from apps.core.broadcast import unbatched
from apps.core.logging import dependency_errors, log_dependency_failure
from apps.dashboard.live import DASHBOARD_GROUP
from apps.dashboard.selectors import dashboard_snapshot

logger = logging.getLogger(__name__)

VIEW_DASHBOARD = "core.view_dashboard"
# Sent as the close code when the handshake is refused (before accept, daphne answers the handshake with 403).
CLOSE_FORBIDDEN = 4403
# Sent when the login behind an open socket ends, or cannot be checked.
CLOSE_SESSION_ENDED = 4401
CLOSE_UNAVAILABLE = 1011


def _may_view_now(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(VIEW_DASHBOARD))


_may_view = database_sync_to_async(_may_view_now)


@database_sync_to_async
def _login_stands(*, session_key: str | None, user_id: int) -> bool:
    """Whether the session still exists unexpired and Django's own check (`get_user`: the user exists, may log in and
    has not changed password since) still finds this user in it, with the dashboard permission."""
    if not session_key:
        return False
    user = get_user(SimpleNamespace(session=import_module(settings.SESSION_ENGINE).SessionStore(session_key)))
    return user.pk == user_id and _may_view_now(user)


# (event loop, session key, user id) → (when started, the check): the sockets of one login share a recent check.
_recent_checks: dict[tuple, tuple[float, asyncio.Task]] = {}


async def _login_stands_shared(*, session_key: str | None, user_id: int) -> bool:
    """`_login_stands`, answered by the check another socket of the same login started in the last half interval,
    finished or still running (a Manager with the dashboard in several tabs costs one read per interval, not one per
    tab). A check that fails fails for every socket sharing it: each closes."""
    interval = settings.DASHBOARD_SESSION_CHECK_SECONDS
    loop = asyncio.get_running_loop()
    key = (loop, session_key or "", user_id)
    now = time.monotonic()
    recent = _recent_checks.get(key)
    if recent is None or now - recent[0] >= interval / 2:
        if len(_recent_checks) > 1000:
            for stale in [k for k, (at, _) in _recent_checks.items() if now - at >= interval]:
                del _recent_checks[stale]
        recent = _recent_checks[key] = (now, loop.create_task(_login_stands(session_key=session_key, user_id=user_id)))
    return await asyncio.shield(recent[1])


class _Relay:
    """This process's one member of the dashboard group (one per event loop): it receives each event once from the
    channel layer and hands it to every dashboard socket of the process in memory, encoded once. With a group member
    per socket, the Redis layer stored a copy per socket and the process read them back one round trip at a time
    (500 sockets: 500 round trips per sale). Started by the first socket, stopped after the last."""

    # Redis forgets a group member after a day (channels_redis's group_expiry): the relay joins again hourly.
    REJOIN_SECONDS = 3600

    def __init__(self, layer):
        self.layer = layer
        self.sockets: set[DashboardConsumer] = set()
        self.lock = asyncio.Lock()
        self.task: asyncio.Task | None = None
        self.channel = ""

    async def join(self, socket: "DashboardConsumer") -> None:
        async with self.lock:
            self.sockets.add(socket)
            if self.task is None:
                self.channel = await self.layer.new_channel()
                await self.layer.group_add(DASHBOARD_GROUP, self.channel)
                self.task = asyncio.create_task(self._forward())

    async def leave(self, socket: "DashboardConsumer") -> None:
        async with self.lock:
            self.sockets.discard(socket)
            if self.sockets or self.task is None:
                return
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
            with contextlib.suppress(*dependency_errors()):
                await self.layer.group_discard(DASHBOARD_GROUP, self.channel)

    async def _forward(self) -> None:
        joined = time.monotonic()
        while True:
            try:
                if time.monotonic() - joined > self.REJOIN_SECONDS:
                    await self.layer.group_add(DASHBOARD_GROUP, self.channel)
                    joined = time.monotonic()
                message = await self.layer.receive(self.channel)
            except dependency_errors() as exc:
                log_dependency_failure("channel_layer", exc, action="receive dashboard events")
                await asyncio.sleep(1)
                continue
            for event in unbatched(message):
                text = await DashboardConsumer.encode_json(event["event"])
                for socket in [socket for socket in self.sockets if socket.accepted]:
                    try:
                        await socket.send(text_data=text)
                    except Exception:
                        logger.exception("Could not pass a dashboard event to a socket")


# One relay per event loop and channel layer (daphne has one of each; tests start a loop per test).
_relays: dict[tuple, _Relay] = {}


def _relay(layer) -> _Relay:
    key = (asyncio.get_running_loop(), layer)
    if key not in _relays:
        _relays[key] = _Relay(layer)
    return _relays[key]


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    tasks: tuple[asyncio.Task, ...] = ()
    relay: _Relay | None = None
    accepted = False  # events go to a socket once its handshake is answered

    async def connect(self):
        if not await _may_view(self.scope.get("user")):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.relay = _relay(self.channel_layer)
        await self.relay.join(self)
        await self.accept()
        self.accepted = True
        self.tasks = (
            asyncio.create_task(self._refresh_periodically()),
            asyncio.create_task(self._follow_session(getattr(self.scope.get("session"), "session_key", None))),
        )

    async def disconnect(self, code):
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.relay is not None:
            await self.relay.leave(self)

    async def receive_json(self, content, **kwargs):
        # The page asks for a snapshot after an event, to update every card and chart it touched.
        if isinstance(content, dict) and content.get("action") == "refresh":
            await self._send_snapshot()

    async def _send_snapshot(self):
        await self.send_json({"type": "snapshot", "snapshot": await database_sync_to_async(dashboard_snapshot)()})

    async def _refresh_periodically(self):
        while True:
            await asyncio.sleep(settings.DASHBOARD_REFRESH_SECONDS)
            await self._send_snapshot()

    async def _follow_session(self, session_key: str | None):
        """The handshake found the login good; from then on it is read again every DASHBOARD_SESSION_CHECK_SECONDS.
        A check that cannot run (the database is down) closes too: the page reconnects and its handshake decides."""
        user_id = self.scope["user"].pk
        # Sockets opened together (a server restart reconnects every page) spread their first checks.
        delay = settings.DASHBOARD_SESSION_CHECK_SECONDS * random.uniform(0.5, 1.0)  # noqa: S311 (not a secret)
        while True:
            await asyncio.sleep(delay)
            delay = settings.DASHBOARD_SESSION_CHECK_SECONDS
            try:
                stands = await _login_stands_shared(session_key=session_key, user_id=user_id)
            except Exception as exc:
                logger.warning("Dashboard socket closed: its login could not be checked (%s)", type(exc).__name__)
                await self.close(code=CLOSE_UNAVAILABLE)
                return
            if not stands:
                await self.close(code=CLOSE_SESSION_ENDED)
                return
