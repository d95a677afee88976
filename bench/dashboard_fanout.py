"""Time from a sale to its arrival on 500 open dashboard sockets (p50 / p99), beside the same with one socket.

Starts daphne (base settings, DEBUG=1) on a free loopback port with a throwaway SQLite database and the Redis channel
layer on a Redis database of its own (so nothing else listening on the "dashboard" group is disturbed), opens one
WebSocket to /ws/dashboard/ as a Manager (aiohttp) and makes a few purchases through the API one after another,
recording when the socket receives each sale (the baseline); then opens 499 more, waits a quiet spell, and makes the
same number of purchases again. The clock starts when the purchase request is sent. Target: p99 ≤ 150 ms at 500.

    .venv/bin/python bench/dashboard_fanout.py [--clients 500] [--sales 10] [--redis-url redis://127.0.0.1:6379/9]
"""

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from databases import sqlite_migrated
from purchase_throughput import (  # the same shop set-up as the purchase bench
    MACHINE,
    free_port,
    prepare_shop,
    web_server_command,
)

ROOT = Path(__file__).resolve().parent.parent
CONNECT_BATCH = 50
ARRIVAL_TIMEOUT_SECONDS = 10
TARGET_P99_MS = 150


def manager_session() -> str:
    """A signed-in Manager's session key (the sockets' cookie)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore

    from apps.core.roles import MANAGER

    manager = get_user_model().objects.create_user(username="bench-manager", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER))
    session = SessionStore()
    session.update(
        {
            "_auth_user_id": str(manager.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": manager.get_session_auth_hash(),
        }
    )
    session.create()
    return session.session_key


async def wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                sys.exit(f"daphne exited with {server.returncode}")
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    sys.exit("daphne did not answer within 30 s")


async def listen(ws, arrivals: dict[int, list[float]]) -> None:
    async for message in ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        event = message.json()
        if event.get("type") == "sale":
            arrivals.setdefault(event["sale"]["id"], []).append(time.monotonic())


async def open_sockets(http, ws_url: str, base: str, count: int) -> list:
    sockets = []
    for first in range(0, count, CONNECT_BATCH):
        batch = range(first, min(first + CONNECT_BATCH, count))
        sockets += await asyncio.gather(*(http.ws_connect(ws_url, origin=base) for _ in batch))
    return sockets


async def sell_and_time(http, base: str, token: str, sockets: list, sales: int, label: str) -> None:
    """Make `sales` purchases one after another; print how long each took to reach every socket (p50/p99)."""
    arrivals: dict[int, list[float]] = {}
    listeners = [asyncio.create_task(listen(ws, arrivals)) for ws in sockets]
    sent_at: dict[int, float] = {}
    for _ in range(sales):
        sent = time.monotonic()
        async with http.post(
            f"{base}/api/machines/{MACHINE}/purchases/",
            json={"items": [{"slot": "A1", "quantity": 1}], "payment_method": "card"},
            headers={"Authorization": f"Device {token}", "Idempotency-Key": f"fanout-{uuid.uuid4().hex}"},
        ) as response:
            if response.status != 201:
                sys.exit(f"purchase failed: {response.status} {await response.text()}")
            sale_id = (await response.json())["sale_id"]
        sent_at[sale_id] = sent
        deadline = time.monotonic() + ARRIVAL_TIMEOUT_SECONDS
        while len(arrivals.get(sale_id, [])) < len(sockets) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
    for task in listeners:
        task.cancel()
    delays_ms = sorted(
        (arrived - sent_at[sale_id]) * 1000
        for sale_id, times in arrivals.items()
        if sale_id in sent_at
        for arrived in times
    )
    p99 = delays_ms[max(0, -(-99 * len(delays_ms) // 100) - 1)]
    print(
        f"{label:>10}: {len(delays_ms)}/{len(sockets) * sales} arrivals; sale → dashboard p50"
        f" {statistics.median(delays_ms):.0f} ms, p99 {p99:.0f} ms, max {delays_ms[-1]:.0f} ms"
    )
    return p99


async def run(base: str, token: str, session_key: str, clients: int, sales: int, idle_seconds: float) -> bool:
    """The single-socket figure first (the baseline), then the same sales with `clients` sockets open."""
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({"sessionid": session_key}, response_url=aiohttp.client.URL(base))
    # No cap on the connector: aiohttp's default of 100 connections would leave the purchase waiting behind the sockets.
    async with aiohttp.ClientSession(cookie_jar=jar, connector=aiohttp.TCPConnector(limit=0)) as http:
        ws_url = base.replace("http", "ws") + "/ws/dashboard/"
        sockets = await open_sockets(http, ws_url, base, 1)
        await asyncio.sleep(1)
        await sell_and_time(http, base, token, sockets, sales, "1 socket")
        started = time.monotonic()
        sockets += await open_sockets(http, ws_url, base, clients - 1)
        print(f"{len(sockets)} dashboard sockets open in {time.monotonic() - started:.1f} s")
        # A quiet spell longer than channels_redis's 5 s blocking read: the sockets must survive it.
        await asyncio.sleep(idle_seconds)
        p99 = await sell_and_time(http, base, token, sockets, sales, f"{clients} sockets")
        for ws in sockets:
            await ws.close()
    print(f"target p99 ≤ {TARGET_P99_MS} ms with {clients} sockets:", "met" if p99 <= TARGET_P99_MS else "NOT met")
    return p99 <= TARGET_P99_MS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--sales", type=int, default=10)
    parser.add_argument("--idle-seconds", type=float, default=8, help="wait this long before the first sale")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"))
    args = parser.parse_args()

    workdir = tempfile.TemporaryDirectory(prefix="vendbot-fanout-")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "vendbot.settings.base",
            "DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{workdir.name}/bench.sqlite3",
            "REDIS_URL": args.redis_url,
            # A throwaway key for this run only; the bench database holds nothing worth protecting.
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ENV_FILE": os.devnull,
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    sqlite_migrated(Path(workdir.name) / "bench.sqlite3")
    token = prepare_shop(units=args.sales * 2)
    session_key = manager_session()

    port = free_port()
    log_path = os.environ.get("BENCH_SERVER_LOG")
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (the server's lifetime)
    server = subprocess.Popen(
        web_server_command(port),
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(wait_until_up(base, server))
        print(f"daphne, SQLite, Redis channel layer, {os.cpu_count()} CPUs")
        asyncio.run(run(base, token, session_key, args.clients, args.sales, args.idle_seconds))
    finally:
        server.terminate()
        server.wait(timeout=10)
        workdir.cleanup()


if __name__ == "__main__":
    main()
