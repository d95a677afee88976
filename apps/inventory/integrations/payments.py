"""The payment gateway seen by the shop, and a simulated card/IC terminal so the shop runs with no payment account.

A real provider implements `PaymentGateway` and is chosen with the `PAYMENT_GATEWAY` setting (a dotted path).
Every call carries an idempotency key: the same key must return the first result and never charge twice, and
`charge_lookup` tells what became of a charge by its key (how the purchase reconciler learns whether an attempt whose
process died was charged). The shop never calls a gateway inside a database transaction (`sales.py`).
"""

import os
import queue
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class ChargeResult:
    captured: bool
    reference: str = ""
    decline_reason: str = ""


@dataclass(frozen=True)
class RefundResult:
    reference: str


class PaymentGateway(Protocol):
    def charge(self, *, amount_yen: int, method: str, idempotency_key: str, description: str) -> ChargeResult: ...

    def charge_lookup(self, *, idempotency_key: str) -> ChargeResult | None:
        """The result of the charge made with this key, or None when the gateway never saw it."""
        ...

    def refund(self, *, charge_reference: str, amount_yen: int, idempotency_key: str) -> RefundResult: ...


class SimulatedTerminal:
    """A card/IC terminal that keeps its own books in a small SQLite file, like a provider keeps its own.

    Settings: PAYMENT_DECLINE_RATE (0.0–1.0, default 0.0; 1.0 declines every charge, which is how tests force a
    decline), PAYMENT_LATENCY_MS (default 0), both read at each call so tests can override them, and
    PAYMENT_TERMINAL_DB (the file). Every process pointed at the same file (web, worker, tests) sees the same charges,
    and they survive a crash of ours: the file is written in its own autocommit connection, never in the shop's
    database transaction. Results are remembered per idempotency key, like a provider's idempotency window.
    """

    def __init__(self):
        self.path = Path(settings.PAYMENT_TERMINAL_DB)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._idle: queue.SimpleQueue[tuple[int, sqlite3.Connection]] = queue.SimpleQueue()
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS charges (idempotency_key TEXT PRIMARY KEY, amount_yen INTEGER NOT NULL,"
                " method TEXT NOT NULL, captured INTEGER NOT NULL, reference TEXT NOT NULL,"
                " decline_reason TEXT NOT NULL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS refunds (idempotency_key TEXT PRIMARY KEY, charge_reference TEXT NOT NULL,"
                " amount_yen INTEGER NOT NULL, reference TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        # Autocommit: a charge is one statement; a refund's BEGIN IMMEDIATE makes "first result per key wins" hold
        # across threads and processes.
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous=NORMAL")  # with WAL: survives a crash of any process, not of the machine
        return db

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection of this process's, kept open between calls and lent to one thread at a time: the web server
        runs requests on several threads at once, and opening a connection per request cost more than the charge
        (closing the last connection to a WAL file checkpoints it)."""
        try:
            pid, db = self._idle.get_nowait()
        except queue.Empty:
            pid, db = os.getpid(), self._connect()
        if pid != os.getpid():  # inherited from the parent of a forked worker: never shared across processes
            pid, db = os.getpid(), self._connect()
        try:
            yield db
        finally:
            self._idle.put((pid, db))

    def _wait(self) -> None:
        latency_ms = getattr(settings, "PAYMENT_LATENCY_MS", 0)
        if latency_ms:
            time.sleep(latency_ms / 1000)

    def charge_lookup(self, *, idempotency_key: str) -> ChargeResult | None:
        with self._db() as db:
            row = db.execute(
                "SELECT captured, reference, decline_reason FROM charges WHERE idempotency_key = ?", (idempotency_key,)
            ).fetchone()
        return ChargeResult(captured=bool(row[0]), reference=row[1], decline_reason=row[2]) if row else None

    def charge(self, *, amount_yen: int, method: str, idempotency_key: str, description: str) -> ChargeResult:
        self._wait()
        if random.random() < getattr(settings, "PAYMENT_DECLINE_RATE", 0.0):
            result = ChargeResult(captured=False, decline_reason=_("カードが承認されませんでした。"))
        else:
            result = ChargeResult(captured=True, reference=f"sim-ch-{uuid.uuid4().hex[:16]}")
        with self._db() as db:
            # The first result per key wins: a replay, or a concurrent call with the same key, inserts nothing and
            # reads the one kept. No RETURNING: the statement then commits inside SQLite's step, before the thread
            # waits for the GIL again. With RETURNING the file's write lock was held until the row had been read in
            # Python, and under a busy web server other charges found it locked and slept 1, 2, 5 … ms
            # (docs/performance.md, session 17).
            inserted = db.execute(
                "INSERT INTO charges VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
                (
                    idempotency_key,
                    amount_yen,
                    method,
                    int(result.captured),
                    result.reference,
                    result.decline_reason,
                ),
            ).rowcount
        if inserted:
            return result
        return self.charge_lookup(idempotency_key=idempotency_key)

    def refund(self, *, charge_reference: str, amount_yen: int, idempotency_key: str) -> RefundResult:
        self._wait()
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT OR IGNORE INTO refunds VALUES (?, ?, ?, ?)",
                (idempotency_key, charge_reference, amount_yen, f"sim-re-{uuid.uuid4().hex[:16]}"),
            )
            db.execute("COMMIT")
            reference = db.execute(
                "SELECT reference FROM refunds WHERE idempotency_key = ?", (idempotency_key,)
            ).fetchone()[0]
        return RefundResult(reference=reference)

    def totals(self) -> tuple[int, int, int]:
        """(captured charges, yen captured, yen refunded): what the terminal's own books say."""
        with closing(self._connect()) as db:
            charges, captured = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(amount_yen), 0) FROM charges WHERE captured"
            ).fetchone()
            refunded = db.execute("SELECT COALESCE(SUM(amount_yen), 0) FROM refunds").fetchone()[0]
        return charges, captured, refunded


@cache
def _gateway(path: str) -> PaymentGateway:
    return import_string(path)()


def payment_gateway() -> PaymentGateway:
    """The configured gateway, one instance per process."""
    return _gateway(settings.PAYMENT_GATEWAY)


SIMULATED_TERMINAL = "apps.inventory.integrations.payments.SimulatedTerminal"
PROVIDER_METHODS = ("paypay", "stripe")


def terminal_is_simulated() -> bool:
    """True when the card/IC terminal is the simulated one (its receipts say so)."""
    return settings.PAYMENT_GATEWAY == SIMULATED_TERMINAL


def refund_gateway(method: str):
    """What pays back a payment of `method`: the provider that took it (PayPay, Stripe), or the terminal."""
    if method in PROVIDER_METHODS:
        from apps.inventory.integrations.providers import checkout_provider

        return checkout_provider(method)
    return payment_gateway()
