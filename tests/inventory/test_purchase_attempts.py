"""Issue 16, defect 1: a purchase whose process dies between the charge and the sale never keeps money without goods.

The purchase is recorded before the charge; a retry with the same key continues it, and the reconciler refunds and
releases what nobody came back for. The terminal is the simulated one, with its books in its own SQLite file (an
outside provider: it remembers what our rolled-back transactions forget); fakes.py makes it or us fail on cue.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from celery.signals import worker_ready
from django.db import connection
from django_celery_beat.models import PeriodicTask

from apps.core.errors import Conflict, PaymentDeclined, ServiceUnavailable
from apps.core.models import AuditEntry
from apps.inventory.integrations.payments import SimulatedTerminal, payment_gateway
from apps.inventory.models import Payment, PaymentRefund, Sale, Slot, StockMovement
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services import customer_data_forget, sale_refund, stock_adjust
from apps.inventory.tasks import purchase_attempts_reconcile
from tests.inventory.fakes import ProcessDied

CRASHING = "tests.inventory.fakes.TerminalThenCrash"
UNREACHABLE = "tests.inventory.fakes.UnreachableTerminal"
TERMINAL = "apps.inventory.integrations.payments.SimulatedTerminal"


def terminal_says(settings, path: str):
    """Switch the gateway class; the terminal's books (the file) stay the same."""
    settings.PAYMENT_GATEWAY = path
    return payment_gateway()


def crash_after_capture(settings, sell, *, key="tap-1", quantity=1):
    """The customer taps, the card is captured, and our process dies before the sale commits."""
    terminal_says(settings, CRASHING)
    with pytest.raises(ProcessDied):
        sell(key=key, quantity=quantity)
    return terminal_says(settings, TERMINAL)


@pytest.mark.django_db
class TestCrashBetweenChargeAndCommit:
    def test_the_reconciler_refunds_a_charge_nobody_came_back_for_and_restocks(self, settings, sell, tea_slot):
        terminal = crash_after_capture(settings, sell)
        assert terminal.totals() == (1, 150, 0)  # the customer has paid
        settings.PURCHASE_ATTEMPT_LEASE_SECONDS = 0

        purchase_attempts_reconcile.delay()

        assert terminal.totals() == (1, 150, 150)  # ... and has been paid back in full
        payment = Payment.objects.get()
        assert (payment.status, payment.refunded_yen) == (Payment.Status.REFUNDED, 150)
        attempt = Sale.attempts.get()
        assert attempt.status == Sale.Status.FAILED and "返金" in attempt.note
        assert not Sale.objects.exists()  # no report counts it
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 3
        assert stock_integrity_problems() == []
        assert set(AuditEntry.objects.values_list("action", flat=True)) == {"sale.attempt_failed", "payment.resolve"}

    def test_the_reconciler_runs_again_and_changes_nothing(self, settings, sell, tea_slot):
        terminal = crash_after_capture(settings, sell)
        settings.PURCHASE_ATTEMPT_LEASE_SECONDS = 0
        purchase_attempts_reconcile.delay()
        movements, audits = StockMovement.objects.count(), AuditEntry.objects.count()

        purchase_attempts_reconcile.delay()
        purchase_attempts_reconcile.delay()

        assert terminal.totals() == (1, 150, 150)
        assert (StockMovement.objects.count(), AuditEntry.objects.count()) == (movements, audits)
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 3

    def test_within_the_lease_the_reconciler_leaves_the_attempt_alone(self, settings, sell, tea_slot):
        terminal = crash_after_capture(settings, sell)

        purchase_attempts_reconcile.delay()

        assert terminal.totals() == (1, 150, 0)
        assert Sale.attempts.get().status == Sale.Status.PENDING
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 2  # still reserved for the customer who may tap again

    def test_a_retry_with_the_same_key_completes_the_sale_without_a_second_charge(self, settings, sell, tea_slot):
        terminal = crash_after_capture(settings, sell)

        outcome = sell(key="tap-1")

        assert outcome.receipt["payment"] == {"method": "card", "status": "captured", "amount_yen": 150}
        assert outcome.receipt["lines"][0]["dispensed_quantity"] == 1
        assert terminal.totals() == (1, 150, 0)
        assert Sale.objects.get().status == Sale.Status.COMPLETED
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 2
        assert sell(key="tap-1").replayed

    def test_a_slot_refilled_meanwhile_sends_the_released_item_to_the_back_room(self, settings, sell, tea_slot):
        crash_after_capture(settings, sell)
        stock_adjust(slot=tea_slot, quantity_delta=8, reason="棚卸")  # counted full while the attempt was pending
        settings.PURCHASE_ATTEMPT_LEASE_SECONDS = 0

        purchase_attempts_reconcile.delay()

        tea_slot.refresh_from_db()
        assert (tea_slot.quantity, tea_slot.product.storage.quantity) == (10, 6)
        assert stock_integrity_problems() == []

    def test_a_worker_that_starts_settles_what_a_crash_left_pending(self, settings, sell, tea_slot):
        terminal = crash_after_capture(settings, sell)
        settings.PURCHASE_ATTEMPT_LEASE_SECONDS = 0

        worker_ready.send(sender=None)

        assert terminal.totals() == (1, 150, 150)

    def test_beat_runs_the_reconciler_every_minute(self, db):
        job = PeriodicTask.objects.get(task="inventory.purchase_attempts_reconcile")
        assert job.enabled and (job.interval.every, job.interval.period) == (1, "minutes")


@pytest.mark.django_db
class TestTerminalUnreachable:
    def test_the_customer_is_told_to_retry_and_nothing_is_charged(self, settings, sell, tea_slot):
        settings.PAYMENT_GATEWAY = UNREACHABLE

        with pytest.raises(ServiceUnavailable) as refused:
            sell(key="tap-1")

        assert refused.value.code == "payment_unavailable"
        terminal = terminal_says(settings, TERMINAL)
        outcome = sell(key="tap-1")  # the network is back: the same key goes through, once
        assert outcome.sale.status == Sale.Status.COMPLETED
        assert terminal.totals() == (1, 150, 0)

    def test_an_attempt_never_charged_is_released_and_its_key_answers_that_it_failed(self, settings, sell, tea_slot):
        settings.PAYMENT_GATEWAY = UNREACHABLE
        with pytest.raises(ServiceUnavailable):
            sell(key="tap-1")
        settings.PURCHASE_ATTEMPT_LEASE_SECONDS = 0
        terminal = terminal_says(settings, TERMINAL)

        purchase_attempts_reconcile.delay()
        with pytest.raises(Conflict) as late:
            sell(key="tap-1")

        assert late.value.code == "purchase_failed"
        assert Payment.objects.get().status == Payment.Status.CANCELLED
        assert terminal.totals() == (0, 0, 0)  # the late tap charged nothing
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 3


@pytest.mark.django_db
class TestRefundsAfterCommit:
    def test_a_staff_refund_while_the_terminal_is_down_is_recorded_and_paid_back_later(
        self, settings, sell, tea_slot, manager_user
    ):
        sale = sell(key="tap-1").sale
        settings.PAYMENT_GATEWAY = UNREACHABLE

        sale_refund(sale=sale, reason="お客様のご要望", actor=manager_user)

        sale.refresh_from_db()
        assert sale.status == Sale.Status.REFUNDED
        terminal = terminal_says(settings, TERMINAL)
        assert terminal.totals() == (1, 150, 0)  # owed, not yet paid back
        settings.PURCHASE_ATTEMPT_LEASE_SECONDS = 0
        purchase_attempts_reconcile.delay()
        purchase_attempts_reconcile.delay()
        assert terminal.totals() == (1, 150, 150)  # paid back once
        assert PaymentRefund.objects.get().sent_at is not None

    def test_a_jam_refund_reaches_the_terminal(self, settings, sell, tea_slot):
        settings.DISPENSER_JAM_RATE = 1.0

        outcome = sell(key="tap-1")

        assert outcome.sale.status == Sale.Status.REFUNDED
        assert payment_gateway().totals() == (1, 150, 150)


class PausingTerminal(SimulatedTerminal):
    """Holds each charge until the test lets it go, so the reconciler can run in the middle of it."""

    started = threading.Event()
    release = threading.Event()

    def charge(self, **request):
        self.started.set()
        assert self.release.wait(10)
        return super().charge(**request)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_late_retry_racing_the_reconciler_ends_refunded_never_charged_without_goods(settings, tea_slot, sell):
    """The retry renews the attempt and is charging when the reconciler (lease 0) gives the attempt up and finds no
    charge yet; the charge then lands. The retry sees the attempt failed and pays its own charge back."""
    settings.PAYMENT_GATEWAY = UNREACHABLE
    with pytest.raises(ServiceUnavailable):
        sell(key="tap-1")
    settings.PAYMENT_GATEWAY = f"{__name__}.PausingTerminal"
    settings.PURCHASE_ATTEMPT_LEASE_SECONDS = 0
    PausingTerminal.started.clear()
    PausingTerminal.release.clear()

    def late_retry():
        try:
            return sell(key="tap-1")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        retry = pool.submit(late_retry)
        try:
            assert PausingTerminal.started.wait(10)
            purchase_attempts_reconcile.delay()
            assert Payment.objects.get().status == Payment.Status.CANCELLED
        finally:
            PausingTerminal.release.set()
        with pytest.raises(Conflict) as answer:
            retry.result(timeout=10)

    assert answer.value.code == "purchase_failed"
    assert payment_gateway().totals() == (1, 150, 150)
    payment = Payment.objects.get()
    assert (payment.status, payment.refunded_yen) == (Payment.Status.REFUNDED, 150)
    assert Slot.objects.get(pk=tea_slot.pk).quantity == 3
    assert stock_integrity_problems() == []


@pytest.mark.django_db
def test_a_forgotten_customer_leaves_no_key_on_a_declined_attempt(settings, sell, tea_slot):
    settings.PAYMENT_DECLINE_RATE = 1.0
    with pytest.raises(PaymentDeclined):
        sell(key="tap-1", customer_key="line:U123")

    customer_data_forget(customer_key="line:U123")

    assert not Sale.attempts.filter(customer_key="line:U123").exists()


class TestSimulatedTerminal:
    """The terminal is an outside provider to the shop: one key, one charge, whoever asks and however often."""

    def test_the_same_key_again_gets_the_first_result_and_charges_nothing_more(self, settings):
        terminal = SimulatedTerminal()
        first = terminal.charge(amount_yen=150, method="card", idempotency_key="k-1", description="tea")
        settings.PAYMENT_DECLINE_RATE = 1.0  # a fresh charge would be declined now

        again = terminal.charge(amount_yen=150, method="card", idempotency_key="k-1", description="tea")

        assert first.captured and again == first
        assert terminal.charge_lookup(idempotency_key="k-1") == first
        assert terminal.totals() == (1, 150, 0)
        declined = terminal.charge(amount_yen=150, method="card", idempotency_key="k-2", description="tea")
        assert not declined.captured and declined.decline_reason
        assert terminal.totals() == (1, 150, 0)

    def test_concurrent_charges_with_one_key_all_get_the_one_result_that_was_kept(self):
        terminal = SimulatedTerminal()

        def charge(_):
            return terminal.charge(amount_yen=150, method="card", idempotency_key="k-1", description="tea")

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(charge, range(32)))

        assert len({(r.captured, r.reference) for r in results}) == 1
        assert terminal.totals() == (1, 150, 0)
