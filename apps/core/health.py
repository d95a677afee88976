"""Readiness checks: each returns (ok, detail) and never raises, so /readyz can name exactly what failed."""

import asyncio
import threading
import time
import uuid

import redis
from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.conf import settings
from django.db import connection

from apps.core.errors import ValidationError
from apps.core.selectors import WORKER_HEARTBEAT, heartbeat_age_seconds

CHECK_TIMEOUT_SECONDS = 2.0


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, connection.vendor
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"


def check_redis() -> tuple[bool, str]:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
        )
        try:
            client.ping()
        finally:
            client.close()
        return True, "pong"
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"


async def _channel_round_trip(layer) -> None:
    # A plain channel name (no "!"): channels_redis reads it with one direct BZPOPMIN instead of through the receive
    # loop of process-local channels, which is bound to one event loop (the consumers' in a web process).
    channel = f"readyz.{uuid.uuid4().hex}"
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "readyz.ping", "token": token})
    message = await layer.receive(channel)
    if message.get("token") != token:
        raise RuntimeError("channel layer returned another message")


def check_channel_layer() -> tuple[bool, str]:
    """A send and receive through a throwaway instance of the configured layer, so it never competes with consumers."""
    if DEFAULT_CHANNEL_LAYER not in channel_layers.configs:
        return False, "no channel layer configured"

    async def bounded(layer):
        try:
            await asyncio.wait_for(_channel_round_trip(layer), timeout=CHECK_TIMEOUT_SECONDS)
        finally:
            close_pools = getattr(layer, "close_pools", None)  # channels_redis: its connections belong to this loop
            if close_pools is not None:
                await close_pools()

    try:
        layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        async_to_sync(bounded)(layer)
        return True, type(layer).__name__
    except TimeoutError:
        return False, f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s"
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"


def check_worker_heartbeat() -> tuple[bool, str]:
    try:
        age = heartbeat_age_seconds(name=WORKER_HEARTBEAT)
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"
    limit = settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS
    if age is None:
        return False, "no heartbeat recorded yet: is the Celery worker (and beat) running?"
    if age > limit:
        return False, f"last heartbeat {age:.0f} s ago (limit {limit} s)"
    return True, f"{age:.0f} s ago"


# Set once by the server (vendbot/server.py) when SIGTERM arrives: from then on the process only finishes what it has.
_draining = threading.Event()


def mark_draining() -> None:
    _draining.set()


def check_serving() -> tuple[bool, str]:
    if _draining.is_set():
        return False, "draining: the server is shutting down and finishing its requests"
    return True, "accepting requests"


READINESS_CHECKS = {
    "serving": check_serving,
    "database": check_database,
    "redis": check_redis,
    "channel_layer": check_channel_layer,
    "celery_worker": check_worker_heartbeat,
}


def run_readiness_checks(*, only: list[str] | None = None) -> dict[str, dict]:
    """Every check, or only the named ones (a web pod's probe leaves out the worker heartbeat: a stale worker is
    no reason to take every web replica out of the load balancer)."""
    names = list(READINESS_CHECKS) if only is None else only
    unknown = sorted(set(names) - set(READINESS_CHECKS))
    if unknown or not names:
        raise ValidationError(
            f"Unknown readiness check: {', '.join(unknown) or '(none named)'}. Known: {', '.join(READINESS_CHECKS)}.",
            details={"checks": unknown},
        )
    results = {}
    for name in names:
        check = READINESS_CHECKS[name]
        started = time.perf_counter()
        ok, detail = check()
        results[name] = {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}
    return results
