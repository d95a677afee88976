"""Issue 16, defect 1: the database session dies between the card's capture and the sale's commit.

The terminal is the simulated one (its books in its own SQLite file, like a provider's); after capturing it has our
PostgreSQL session terminated from a second connection (`pg_terminate_backend`: a failover, a killed backend),
either at once or after a random few milliseconds so the kill lands anywhere in the sale's completion. After each
round the reconciler runs; the money the terminal kept must be exactly what completed sales were paid, and the stock
in the slot plus what was sold must be what was there at the start: never money without goods, never goods without
money, nothing counted twice.
"""

import random
import threading
import uuid

import psycopg
import pytest
from django.db import Error, connection
from django.db.models import F, Sum

from apps.inventory.integrations import payments
from apps.inventory.integrations.payments import SimulatedTerminal
from apps.inventory.models import Payment, Sale, SaleLine, Slot
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services import purchase_create
from apps.inventory.tasks import purchase_attempts_reconcile
from tests.factories import MachineFactory, ProductFactory, SlotFactory, stock_slot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 30
START = 40
PRICE = 150


class SessionKillingTerminal(SimulatedTerminal):
    """Captures, then has the caller's database session terminated from a second connection (`killer`, as an
    administrator or a failover would): at once when `delay` is 0, else after `delay` seconds from a timer thread
    (joined by the test before it goes on)."""

    killer: psycopg.Connection
    delay = 0.0
    timer: threading.Timer | None = None

    def charge(self, **request):
        result = super().charge(**request)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        if self.delay:
            SessionKillingTerminal.timer = threading.Timer(self.delay, self.terminate, args=(pid,))
            SessionKillingTerminal.timer.start()
        else:
            self.terminate(pid)
        return result

    def terminate(self, pid: int) -> None:
        self.killer.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.fixture
def shop(settings, tmp_path):
    settings.PAYMENT_TERMINAL_DB = str(tmp_path / "terminal.sqlite3")
    settings.PAYMENT_GATEWAY = f"{__name__}.SessionKillingTerminal"
    settings.PURCHASE_ATTEMPT_LEASE_SECONDS = 0
    payments._gateway.cache_clear()
    SessionKillingTerminal.killer = psycopg.connect(
        **connection.get_connection_params(), autocommit=True, connect_timeout=5
    )
    machine = MachineFactory(code="HQ-1F")
    slot = stock_slot(
        SlotFactory(machine=machine, code="A1", product=ProductFactory(price_yen=PRICE), capacity=START), START
    )
    try:
        yield machine, slot, payments.payment_gateway()
    finally:
        SessionKillingTerminal.killer.close()
        payments._gateway.cache_clear()


def buy_while_the_session_dies(machine, *, delay: float) -> str:
    """One purchase whose session is killed; returns "sold" or "failed" (the exception our process saw)."""
    SessionKillingTerminal.delay = delay
    SessionKillingTerminal.timer = None
    try:
        purchase_create(
            machine=machine,
            items=[{"slot": "A1", "quantity": 1}],
            coupon_code=None,
            payment_method="card",
            idempotency_key=f"tap-{uuid.uuid4().hex}",
            channel="tablet",
        )
        return "sold"
    except Error:
        return "failed"
    finally:
        if SessionKillingTerminal.timer is not None:
            SessionKillingTerminal.timer.join(5)
        connection.close()  # the next query opens a new session


def assert_nothing_lost_or_doubled(slot: Slot, terminal: SimulatedTerminal) -> None:
    assert not Payment.objects.filter(status=Payment.Status.PENDING).exists()
    _charges, captured, refunded = terminal.totals()
    taken = Payment.objects.filter(status__in=[Payment.Status.CAPTURED, Payment.Status.REFUNDED])
    kept_by_shop = taken.aggregate(kept=Sum(F("amount_yen") - F("refunded_yen")))["kept"] or 0
    assert captured - refunded == kept_by_shop
    assert kept_by_shop == PRICE * Sale.objects.filter(status=Sale.Status.COMPLETED).count()
    sold = SaleLine.objects.filter(sale__in=Sale.objects.all()).aggregate(units=Sum("quantity"))["units"] or 0
    assert Slot.objects.get(pk=slot.pk).quantity + sold == START


def test_session_killed_right_after_the_capture_ends_refunded(shop):
    machine, slot, terminal = shop

    assert buy_while_the_session_dies(machine, delay=0) == "failed"
    assert terminal.totals() == (1, PRICE, 0)  # the customer paid and got nothing ...
    purchase_attempts_reconcile.delay()

    assert terminal.totals() == (1, PRICE, PRICE)  # ... until the reconciler paid it back
    assert Payment.objects.get().status == Payment.Status.REFUNDED
    assert_nothing_lost_or_doubled(slot, terminal)


def test_sessions_killed_at_random_points_between_charge_and_commit_never_keep_money_without_goods(shop):
    machine, slot, terminal = shop
    rng = random.Random(16)

    for round_ in range(ROUNDS):
        # Even rounds: killed before the sale can commit. Odd: within 25 ms, anywhere in the completion or after it.
        delay = 0.0 if round_ % 2 == 0 else rng.uniform(0.0002, 0.025)
        buy_while_the_session_dies(machine, delay=delay)
        purchase_attempts_reconcile.delay()
        assert_nothing_lost_or_doubled(slot, terminal)

    assert terminal.totals()[0] == ROUNDS  # every round charged the card ...
    refunded = Payment.objects.filter(status=Payment.Status.REFUNDED).count()
    completed = Sale.objects.filter(status=Sale.Status.COMPLETED).count()
    assert refunded + completed == ROUNDS  # ... and each ended as a sale or a full refund
    assert refunded >= ROUNDS // 2
    assert stock_integrity_problems() == []
