"""LINE webhook acknowledgement latency at 200 requests/s on loopback, against a bare Django view on the same server.

Starts daphne (as in production) with the real webhook: signature check with line-bot-sdk's parser, the event stored
in a throwaway copy of a migrated SQLite database (`bench/databases.py`), or `--database-url` (a `LineEvent` row,
committed before the answer; the bench's rows are deleted afterwards) and one Celery task queued per event on Redis
(a queue of its own, emptied afterwards; no worker runs, so only the acknowledgement is measured, which is what LINE
waits for). Sends signed one-event bodies at a fixed 200 req/s for a few seconds per endpoint from a few keep-alive
connections and prints p50/p99 latency of both and the ratio.

    .venv/bin/python bench/line_webhook.py [--seconds 6] [--rate 200] [--database-url postgres://.../vb_line_bench]
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from databases import sqlite_migrated
from purchase_throughput import (  # the script's folder is on sys.path when run as bench/line_webhook.py
    free_port,
    web_server_command,
)

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "bench-line-webhook"
DESTINATION = "Ubench"  # marks the bench's events, deleted after the run
CONNECTIONS = 8


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"server exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("POST", "/bench/bare/", body=b"{}")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("server did not answer within 30 s")


def signed_event(secret: str, reply_token: str | None = None) -> tuple[bytes, str]:
    """A one-event webhook body from a new LINE user and its X-Line-Signature (also used by bench/locustfile.py)."""
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "webhookEventId": uuid.uuid4().hex[:26].upper(),
        "deliveryContext": {"isRedelivery": False},
        "source": {"type": "user", "userId": "U" + secrets.token_hex(16)},
        "replyToken": reply_token or uuid.uuid4().hex,
        "bench": DESTINATION,
        "message": {
            "type": "text",
            "id": str(uuid.uuid4().int)[:18],
            "quoteToken": uuid.uuid4().hex,
            "text": "おすすめは？",
        },
    }
    body = json.dumps({"destination": DESTINATION, "events": [event]}, ensure_ascii=False).encode()
    return body, base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def paced(port: int, path: str, rate: float, seconds: float, make_request) -> tuple[list[float], int]:
    """Send `rate` requests/s for `seconds` (open loop: each request has its slot in time); latency in ms of each
    answered request and the number of non-200 answers."""
    total = int(rate * seconds)
    start = time.monotonic() + 0.2
    next_index = iter(range(total))
    lock = threading.Lock()
    latencies: list[float] = []
    failures = 0

    def worker():
        nonlocal failures
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            body, headers = make_request()
            sent = time.monotonic()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = (time.monotonic() - sent) * 1000
            with lock:
                latencies.append(elapsed)
                failures += response.status != 200

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures


def delete_bench_events(env: dict) -> None:
    """The stored events of this run must not wait for a worker, which would try to answer them."""
    code = f"from apps.chats.models import LineEvent; LineEvent.objects.filter(payload__bench={DESTINATION!r}).delete()"
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env={**env, "DEBUG": "1"}, check=True, timeout=120
    )


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def server_environment(secret: str, database_url: str, folder: Path) -> dict:
    """The server's settings for the run, on `database_url` (migrated) or else a migrated SQLite copy in `folder`."""
    if not database_url:
        sqlite_migrated(folder / "bench.sqlite3")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.line_webhook_site",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "LINE_CHANNEL_SECRET": secret,
        "LINE_CHANNEL_ACCESS_TOKEN": secrets.token_urlsafe(32),
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        "DATABASE_URL": database_url or f"sqlite:///{folder}/bench.sqlite3",
        "ENV_FILE": os.devnull,
    }
    if database_url:
        manage = [sys.executable, "manage.py", "migrate", "-v0"]
        subprocess.run(manage, cwd=ROOT, env={**env, "DEBUG": "1"}, check=True, timeout=600)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0, help="per endpoint (default 6)")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", ""),
        help="where the events are stored (default: a throwaway copy of a migrated SQLite database)",
    )
    args = parser.parse_args()
    workdir = tempfile.TemporaryDirectory(prefix="vendbot-line-bench-")

    secret = secrets.token_hex(16)  # made up for this run; the bench talks to no real LINE channel
    env = server_environment(secret, args.database_url, Path(workdir.name))
    port = free_port()
    server = subprocess.Popen(
        web_server_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    json_headers = {"Content-Type": "application/json"}

    def webhook_request():
        body, signature = signed_event(secret)
        return body, {**json_headers, "X-Line-Signature": signature}

    try:
        wait_until_up(port, server)
        # Warm both paths (imports, first Redis connection) before measuring.
        paced(port, "/line/webhook/", 50, 1, webhook_request)
        paced(port, "/bench/bare/", 50, 1, lambda: (b"{}", json_headers))
        bare, bare_failed = paced(port, "/bench/bare/", args.rate, args.seconds, lambda: (b"{}", json_headers))
        hook, hook_failed = paced(port, "/line/webhook/", args.rate, args.seconds, webhook_request)
    finally:
        server.terminate()
        server.wait(timeout=10)
        import redis

        redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")).delete(QUEUE)
        delete_bench_events(env)

    print(f"daphne, {args.rate:g} req/s for {args.seconds:g} s per endpoint, {os.cpu_count()} CPUs, loopback")
    print(f"{'endpoint':<16} {'requests':>8} {'non-200':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values, failed in (("bare view", bare, bare_failed), ("LINE webhook", hook, hook_failed)):
        print(
            f"{name:<16} {len(values):>8} {failed:>8} {percentile(values, 0.5):>8.2f} {percentile(values, 0.99):>8.2f}"
        )
    ratio = percentile(hook, 0.99) / percentile(bare, 0.99)
    print(f"webhook p99 / bare p99: {ratio:.2f} (target: p99 < 20 ms and ratio <= 2)")


if __name__ == "__main__":
    main()
