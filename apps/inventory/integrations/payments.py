"""The payment gateway seen by the shop, and a simulated card/IC terminal so the shop runs with no payment account.

A real provider implements `PaymentGateway` and is chosen with the `PAYMENT_GATEWAY` setting (a dotted path).
Every call carries an idempotency key: the same key must return the first result and never charge twice.
"""

import random
import threading
import time
import uuid
from dataclasses import dataclass
from functools import cache
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

    def refund(self, *, charge_reference: str, amount_yen: int, idempotency_key: str) -> RefundResult: ...


class SimulatedTerminal:
    """A card/IC terminal in memory.

    Settings: PAYMENT_DECLINE_RATE (0.0–1.0, default 0.0; 1.0 declines every charge, which is how tests force a
    decline) and PAYMENT_LATENCY_MS (default 0), both read at each call so tests can override them.
    Results are remembered per idempotency key for the life of the process, like a provider's idempotency window.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._charges: dict[str, ChargeResult] = {}
        self._refunds: dict[str, RefundResult] = {}
        self.charge_calls = 0

    def _wait(self) -> None:
        latency_ms = getattr(settings, "PAYMENT_LATENCY_MS", 0)
        if latency_ms:
            time.sleep(latency_ms / 1000)

    def charge(self, *, amount_yen: int, method: str, idempotency_key: str, description: str) -> ChargeResult:
        with self._lock:
            if idempotency_key in self._charges:
                return self._charges[idempotency_key]
        self._wait()
        if random.random() < getattr(settings, "PAYMENT_DECLINE_RATE", 0.0):
            result = ChargeResult(captured=False, decline_reason=_("カードが承認されませんでした。"))
        else:
            result = ChargeResult(captured=True, reference=f"sim-ch-{uuid.uuid4().hex[:16]}")
        with self._lock:
            # A concurrent call with the same key may have finished first: its result is the one that counts.
            result = self._charges.setdefault(idempotency_key, result)
            if result.captured:
                self.charge_calls += 1
        return result

    def refund(self, *, charge_reference: str, amount_yen: int, idempotency_key: str) -> RefundResult:
        self._wait()
        with self._lock:
            return self._refunds.setdefault(idempotency_key, RefundResult(reference=f"sim-re-{uuid.uuid4().hex[:16]}"))


@cache
def _gateway(path: str) -> PaymentGateway:
    return import_string(path)()


def payment_gateway() -> PaymentGateway:
    """The configured gateway, one instance per process (it holds the terminal's idempotency memory)."""
    return _gateway(getattr(settings, "PAYMENT_GATEWAY", "apps.inventory.integrations.payments.SimulatedTerminal"))
