"""Purchases per second through the real API on PostgreSQL: 8 machines buying in parallel, on one daphne process and
then on two, against a bare DRF view measured on the same servers in the same run.

Stocks machines BENCH-1 … BENCH-8 (slot A1, the same product in each) through the services, starts daphne (as in
production: `python -m vendbot.server`) on free loopback ports against a PostgreSQL database of its own, then for a
few seconds per level drives `GET /bench/ping/` (a bare DRF view: no auth, no database) and
`POST /api/machines/BENCH-n/purchases/` (each client one machine's device token, a new Idempotency-Key per request)
with 8 and 32 clients, the two taking turns in three slices per level. With two processes the clients alternate
between them. The bookkeeper runs beside the servers in a process of its own, as the worker runs it in production
(`sales_book_all` at the beat job's interval), and is stopped with them; whatever it had not booked yet is booked
after. Prints requests/s, purchase p50/p99, the ratio purchase/bare, the servers' CPU per bare request and per
purchase (from /proc), the bookkeeper's CPU per sale and what it left, and after every run checks that nothing was
oversold (every slot's fall equals its completed sales, one captured payment and one gateway charge per sale), every
sale booked once, `check_stock`'s integrity check and a balanced trial balance; exits 1 if any check fails.

    .venv/bin/python bench/purchase_throughput.py [--seconds 3] [--runs 1] [--database-url postgres://.../vb_inventory_bench]
"""

import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from databases import ensure_database, migrate_when_behind  # the script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
LEVELS = (8, 32)
PROCESSES = (1, 2)
MACHINES = 8
MACHINE = "BENCH-1"  # the machine of `prepare_shop` (also used by bench/dashboard_fanout.py)
TARGET_RATIO = 0.35


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settle_database(url: str) -> None:
    """Book the sales that wait for the bookkeeper (another tool's purchases on a kept bench database: 16,861 once,
    which the bench's own bookkeeper then booked while the first level was measured), then VACUUM ANALYZE, as
    autovacuum keeps a production database. A machine's PostgreSQL may run without it (this one does): a kept bench
    database then carried every earlier run's dead rows (68,000 dead sale rows after a day of runs, PostgreSQL's CPU
    per purchase up by a fifth)."""
    import psycopg

    from apps.inventory.services.books import sales_book_all

    sales_book_all()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def prepare_machines(count: int, units: int) -> list[tuple[str, str]]:
    """Machines BENCH-1 … BENCH-<count>, each with slot A1 holding at least `units` items of one product; returns
    [(machine code, a fresh device token)]."""
    import django

    django.setup()
    migrate_when_behind()
    from apps.inventory.models import Product
    from apps.inventory.services import (
        device_token_issue,
        machine_configure,
        product_create,
        slot_configure,
        stock_receive,
        stock_transfer_to_slot,
    )

    product = Product.objects.filter(sku="BENCH-TEA").first() or product_create(
        sku="BENCH-TEA", name_ja="ベンチ茶", category="drink", price_yen=150
    )
    machines = []
    for number in range(1, count + 1):
        machine = machine_configure(code=f"BENCH-{number}", name=f"ベンチマーク{number}")
        slot = slot_configure(machine=machine, code="A1", product=product, capacity=10_000_000)
        # Topped up once below half, not added to at every run: a slot kept between runs neither fills up nor piles
        # up lots (a sale reads its slot's lots; a lot per run had a slot at 27 lots after a day's runs).
        missing = units - slot.quantity
        if slot.quantity < units // 2:
            stock_receive(product=product, quantity=missing, unit_cost_yen=70, actor_label="bench")
            stock_transfer_to_slot(slot=slot, quantity=missing, actor_label="bench")
        machines.append((machine.code, device_token_issue(machine=machine, actor_label="bench")))
    return machines


def prepare_shop(units: int) -> str:
    """Machine BENCH-1 with `units` items in slot A1; returns its device token."""
    return prepare_machines(1, units)[0][1]


def web_server_command(port: int) -> list[str]:
    """The web server as production runs it (daphne with vendbot/server.py's graceful stop and requests) on `port`."""
    return [sys.executable, "-m", "vendbot.server", "-b", "127.0.0.1", "-p", str(port), "vendbot.asgi:application"]


def start_daphne(port: int) -> subprocess.Popen:
    """The web server on `port`; its log goes to BENCH_SERVER_LOG when set (errors only: LOG_LEVEL=WARNING)."""
    log_path = os.environ.get("BENCH_SERVER_LOG")
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (the server's lifetime)
    return subprocess.Popen(web_server_command(port), cwd=ROOT, stdout=log, stderr=log)


def start_bookkeeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--bookkeeper"], cwd=ROOT, stdout=subprocess.PIPE, text=True)


def stop_bookkeeper(bookkeeper: subprocess.Popen) -> str:
    """Stop it (SIGTERM) and return what it reports of itself."""
    bookkeeper.terminate()
    report, _ = bookkeeper.communicate(timeout=30)
    return report.strip()


def bookkeeper_loop() -> None:
    """What the worker does with the beat job: `sales_book_all` every `interval` seconds. On SIGTERM, prints the
    sales it booked and its CPU per sale, and exits."""
    import signal

    import django

    django.setup()
    from django_celery_beat.models import PeriodicTask

    from apps.inventory.services.books import sales_book_all

    interval = PeriodicTask.objects.get(task="inventory.sales_book").interval.every
    booked, started = 0, time.process_time()  # start-up left out: the worker has it behind it
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    while not stopping.is_set():
        booked += sales_book_all()
        stopping.wait(interval)
    cpu_ms = (time.process_time() - started) * 1000
    print(f"bookkeeper (every {interval} s): {booked} sales booked, {cpu_ms / max(booked, 1):.2f} ms CPU per sale")


def wait_until_up(port: int, server: subprocess.Popen, path: str = "/bench/ping/") -> None:
    """Until GET `path` answers 200 (the bench exits if the server dies or takes over 60 s)."""
    deadline = time.monotonic() + 60
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
    sys.exit("server did not answer within 60 s")


def drive(ports: list[int], clients: int, seconds: float, request) -> tuple[float, list[float], Counter]:
    """Run `clients` threads (client n on ports[n % len(ports)]) calling `request(conn, n) -> (ok, status)` for
    `seconds`; returns (successes/s, latencies of successes in ms, statuses of failures)."""
    latencies = [[] for _ in range(clients)]
    failed = [Counter() for _ in range(clients)]
    stop_at = time.monotonic() + seconds
    start = threading.Barrier(clients)

    def worker(index):
        conn = http.client.HTTPConnection("127.0.0.1", ports[index % len(ports)], timeout=60)
        start.wait()
        while time.monotonic() < stop_at:
            sent = time.perf_counter()
            succeeded, status = request(conn, index)
            if succeeded:
                latencies[index].append((time.perf_counter() - sent) * 1000)
            else:
                failed[index][status] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    begin = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = sorted(ms for mine in latencies for ms in mine)
    return len(done) / (time.monotonic() - begin), done, sum(failed, Counter())


def ping(conn, index) -> tuple[bool, int]:
    conn.request("GET", "/bench/ping/")
    response = conn.getresponse()
    response.read()
    return response.status == 200, response.status


def purchaser(machines: list[tuple[str, str]]):
    body = json.dumps({"items": [{"slot": "A1", "quantity": 1}], "payment_method": "card"})

    def purchase(conn, index) -> tuple[bool, int]:
        code, token = machines[index % len(machines)]
        headers = {
            "Authorization": f"Device {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        conn.request("POST", f"/api/machines/{code}/purchases/", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status == 201, response.status

    return purchase


def percentile(values: list[float], share: float) -> float:
    return values[max(0, -(-int(share * 100) * len(values) // 100) - 1)] if values else float("nan")


def payment_counts() -> tuple[int, int, int]:
    """(sales, captured payments, charges on the simulated terminal) so far."""
    from django.db import connection

    from apps.inventory.integrations.payments import payment_gateway
    from apps.inventory.models import Payment, Sale

    connection.close()  # the data changed under this process while the servers ran
    captured = Payment.objects.filter(status=Payment.Status.CAPTURED).count()
    return Sale.objects.count(), captured, payment_gateway().totals()[0]


def books_and_stock_problems(counts_before: tuple[int, int, int]) -> list[str]:
    """Books what the bookkeeper left, then lists everything wrong after a run: oversold slots, new sales without
    exactly one captured payment and one gateway charge each, a sale not booked exactly once, stock that differs
    from its movements, an unbalanced trial balance."""
    from django.db.models import Sum
    from django.utils import timezone

    from apps.accounting.models import EntryKind, JournalEntry
    from apps.accounting.selectors import trial_balance
    from apps.inventory.models import Sale, SaleLine, Slot, StockMovement
    from apps.inventory.selectors import stock_integrity_problems
    from apps.inventory.services.books import sales_book_all

    print(f"  sales the bookkeeper had not booked yet when stopped: {sales_book_all()}")

    sales, captured, charges = (after - before for after, before in zip(payment_counts(), counts_before, strict=True))
    problems = [f"stock: {problem}" for problem in stock_integrity_problems()]
    for slot in Slot.objects.filter(machine__code__startswith="BENCH-").select_related("machine"):
        # A release gives back the items of an attempt that never became a sale (a decline, a crash the reconciler
        # settled): neither stocked nor sold.
        stocked = (
            StockMovement.objects.filter(slot=slot, quantity_delta__gt=0)
            .exclude(kind=StockMovement.Kind.RELEASE)
            .aggregate(n=Sum("quantity_delta"))["n"]
        )
        sold = SaleLine.objects.filter(slot=slot, sale__in=Sale.objects.all()).aggregate(n=Sum("quantity"))["n"] or 0
        if slot.quantity < 0 or slot.quantity + sold != stocked:
            problems.append(f"oversold: {slot} holds {slot.quantity}, stocked {stocked}, sold {sold}")
    if not sales == captured == charges:
        problems.append(f"payments: {sales} new sales, {captured} captured payments, {charges} gateway charges")
    sale_entries = JournalEntry.objects.filter(kind=EntryKind.SALE)
    if sale_entries.count() != sale_entries.values("source_id").distinct().count() or sale_entries.count() != (
        Sale.objects.count()
    ):
        problems.append(f"books: {sale_entries.count()} sale entries for {Sale.objects.count()} sales")
    totals = trial_balance(as_of=timezone.localdate()).totals
    if totals["debit_total"] != totals["credit_total"]:
        problems.append(f"trial balance: debit {totals['debit_total']} ≠ credit {totals['credit_total']}")
    return problems


SLICES = 3


def run_level(ports: list[int], clients: int, seconds: float, purchase, servers_cpu) -> dict:
    """The bare view and purchases for `seconds` each, taking turns in SLICES slices: on a shared machine whose speed
    drifts within a run (±10 % seen here from one second to the next), both meet it in the same state. The servers'
    CPU (`servers_cpu()`, seconds) is read around each slice: what a bare request and a purchase cost them."""
    bare_rates, bought_rates, latencies, failed = [], [], [], Counter()
    cpu, done = Counter(), Counter()
    for _slice in range(SLICES):
        for kind, request in (("bare", ping), ("bought", purchase)):
            started = servers_cpu()
            rate, slice_latencies, slice_failed = drive(ports, clients, seconds / SLICES, request)
            cpu[kind] += servers_cpu() - started
            done[kind] += len(slice_latencies)
            (bare_rates if kind == "bare" else bought_rates).append(rate)
            failed += slice_failed
            if kind == "bought":
                latencies += slice_latencies
    latencies.sort()
    return {
        "bare": statistics.fmean(bare_rates),
        "bought": statistics.fmean(bought_rates),
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99),
        "cpu_bare_ms": 1000 * cpu["bare"] / max(done["bare"], 1),
        "cpu_bought_ms": 1000 * cpu["bought"] / max(done["bought"], 1),
        "failed": dict(failed),
    }


def process_cpu_seconds(pids: list[int]) -> float:
    """User and system CPU of the processes so far, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def measure(processes: int, seconds: float, purchase) -> dict[int, dict]:
    """Every level on `processes` fresh daphne processes."""
    ports = [free_port() for _ in range(processes)]
    servers = [start_daphne(port) for port in ports]
    bookkeeper = start_bookkeeper()
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_until_up(port, server)
        drive(ports, 8, 0.5, purchase)  # warm-up: connections, caches
        pids = [server.pid for server in servers]
        return {
            clients: run_level(ports, clients, seconds, purchase, lambda: process_cpu_seconds(pids))
            for clients in LEVELS
        }
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)
        print(" ", stop_bookkeeper(bookkeeper))


def report(results: dict[int, dict[int, dict]]) -> bool:
    """Print one line per process count and level; True when every checked target holds."""
    print(
        f"{'daphne':>6} {'clients':>7} {'bare req/s':>10} {'purchases/s':>11} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}"
        f" {'CPU ms: bare':>12} {'purchase':>8}"
    )
    for processes, levels in results.items():
        for clients, row in levels.items():
            failures = f"  failed: {row['failed']}" if row["failed"] else ""
            print(
                f"{processes:>6} {clients:>7} {row['bare']:>10.1f} {row['bought']:>11.1f} {row['p50']:>7.1f}"
                f" {row['p99']:>7.1f} {row['bought'] / row['bare']:>6.2f}"
                f" {row['cpu_bare_ms']:>12.2f} {row['cpu_bought_ms']:>8.2f}{failures}"
            )
    one = results[1]
    met = all(row["bought"] / row["bare"] >= TARGET_RATIO for row in one.values())
    print(
        f"target ≥ {TARGET_RATIO:.0%} of bare on one process at {', '.join(map(str, LEVELS))} clients:",
        "met" if met else "NOT met",
    )
    if 2 in results:
        for clients in LEVELS:
            print(
                f"two processes / one at {clients} clients: {results[2][clients]['bought'] / one[clients]['bought']:.2f}×"
            )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="per level and endpoint (default 3)")
    parser.add_argument("--runs", type=int, default=1, help="repeat everything this many times (default 1)")
    parser.add_argument("--processes", type=int, nargs="+", default=list(PROCESSES), choices=PROCESSES)
    parser.add_argument("--bookkeeper", action="store_true", help=argparse.SUPPRESS)  # the bookkeeper's process
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vb_inventory_bench"),
    )
    args = parser.parse_args()
    if args.bookkeeper:
        sys.path.insert(0, str(ROOT))
        bookkeeper_loop()
        return

    workdir = tempfile.TemporaryDirectory(prefix="vendbot-purchase-bench-")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.purchase_throughput_site",
            "DATABASE_URL": args.database_url,
            # A throwaway key for this run only; the bench database holds nothing worth protecting.
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            # The simulated terminal's books for this run only (other benches charge through the default file).
            "PAYMENT_TERMINAL_DB": str(Path(workdir.name) / "terminal.sqlite3"),
        }
    )
    sys.path.insert(0, str(ROOT))
    ensure_database(args.database_url)
    machines = prepare_machines(MACHINES, units=200_000)
    settle_database(args.database_url)
    purchase = purchaser(machines)
    print(
        f"daphne on PostgreSQL, {MACHINES} machines, {args.seconds:g} s per level, {os.cpu_count()} CPUs,"
        f" DB_CONN_MAX_AGE={os.environ.get('DB_CONN_MAX_AGE', 'default')}"
    )
    all_clean = True
    for run in range(1, args.runs + 1):
        results = {}
        for processes in args.processes:
            before = payment_counts()
            results[processes] = measure(processes, args.seconds, purchase)
            problems = books_and_stock_problems(before)
            all_clean &= not problems
            print(f"run {run}, {processes} process(es): oversell, check_stock, trial balance:", problems or "clean")
        report(results)
    sys.exit(0 if all_clean else 1)


if __name__ == "__main__":
    main()
