"""Purchases per second through the real API on PostgreSQL, at 1, 8 and 32 concurrent clients.

Starts daphne (as in production) on a free loopback port against a PostgreSQL database of its own, stocks one slot
through the services, then for a few seconds per level drives `POST /api/machines/BENCH-1/purchases/` (device token,
a new Idempotency-Key per request) and, for comparison, a bare DRF view on the same server. Prints requests/s and
the ratio purchase/bare.

    .venv/bin/python bench/purchase_throughput.py [--seconds 3] [--database-url postgres://.../vb_inventory_bench]
"""

import argparse
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
LEVELS = (1, 8, 32)
MACHINE = "BENCH-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare_shop(units: int) -> str:
    """Machine BENCH-1 with slot A1 holding `units` items; returns a fresh device token."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.inventory.models import Machine, Product
    from apps.inventory.services import (
        device_token_issue,
        machine_configure,
        product_create,
        slot_configure,
        stock_receive,
        stock_transfer_to_slot,
    )

    machine = machine_configure(code=MACHINE, name="ベンチマーク")
    product = Product.objects.filter(sku="BENCH-TEA").first() or product_create(
        sku="BENCH-TEA", name_ja="ベンチ茶", category="drink", price_yen=150
    )
    slot = slot_configure(machine=machine, code="A1", product=product, capacity=10_000_000)
    stock_receive(product=product, quantity=units, unit_cost_yen=70, actor_label="bench")
    stock_transfer_to_slot(slot=slot, quantity=units, actor_label="bench")
    return device_token_issue(machine=Machine.objects.get(code=MACHINE), actor_label="bench")


def wait_until_up(port: int, server: subprocess.Popen, path: str = "/bench/ping/") -> None:
    """Until GET `path` answers 200 (the bench exits if the server dies or takes over 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"server exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("server did not answer within 30 s")


def drive(port: int, clients: int, seconds: float, request) -> tuple[float, Counter]:
    """Run `clients` threads calling `request(conn) -> (ok, status)` for `seconds`; returns (successes/s, the
    statuses of failed requests)."""
    ok = [0] * clients
    failed = [Counter() for _ in range(clients)]
    stop_at = time.monotonic() + seconds
    start = threading.Barrier(clients)

    def worker(index):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start.wait()
        while time.monotonic() < stop_at:
            succeeded, status = request(conn)
            if succeeded:
                ok[index] += 1
            else:
                failed[index][status] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    begin = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(ok) / (time.monotonic() - begin), sum(failed, Counter())


def ping(conn) -> tuple[bool, int]:
    conn.request("GET", "/bench/ping/")
    response = conn.getresponse()
    response.read()
    return response.status == 200, response.status


def purchaser(token: str):
    body = json.dumps({"items": [{"slot": "A1", "quantity": 1}], "payment_method": "card"})

    def purchase(conn) -> tuple[bool, int]:
        headers = {
            "Authorization": f"Device {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        conn.request("POST", f"/api/machines/{MACHINE}/purchases/", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status == 201, response.status

    return purchase


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="per level and endpoint (default 3)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vb_inventory_bench"),
    )
    args = parser.parse_args()

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.purchase_throughput_site",
            "DATABASE_URL": args.database_url,
            # A throwaway key for this run only; the bench database holds nothing worth protecting.
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    ensure_database(args.database_url)
    token = prepare_shop(units=100_000)

    port = free_port()
    daphne = str(Path(sys.executable).with_name("daphne"))
    server = subprocess.Popen(
        [daphne, "-b", "127.0.0.1", "-p", str(port), "vendbot.asgi:application"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(port, server)
        purchase = purchaser(token)
        print(f"daphne on PostgreSQL, {args.seconds:g} s per level, {os.cpu_count()} CPUs")
        print(f"{'clients':>7} {'bare DRF req/s':>15} {'purchases/s':>12} {'ratio':>7}  failed (status: count)")
        for clients in LEVELS:
            bare, _ = drive(port, clients, args.seconds, ping)
            bought, failed = drive(port, clients, args.seconds, purchase)
            print(f"{clients:>7} {bare:>15.1f} {bought:>12.1f} {bought / bare:>7.2f}  {dict(failed) or '-'}")
    finally:
        server.terminate()
        server.wait(timeout=10)

    from apps.inventory.selectors import stock_integrity_problems

    problems = stock_integrity_problems()
    print("stock integrity:", "clean" if not problems else problems)


if __name__ == "__main__":
    main()
