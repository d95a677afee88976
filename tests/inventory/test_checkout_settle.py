"""A checkout marked paid whose process died before the dispense command was sent is settled by the reconciler:
dispensed while the customer may still be at the tablet, refunded through the provider after that; one whose
dispense command had started is left for a person (it may have come out)."""

import datetime

import pytest
from django.utils import timezone

from apps.inventory.models import Checkout, Payment, Sale, Slot
from apps.inventory.services.checkout import (
    _checkout_mark_paid,
    checkout_dispense,
    checkout_start,
    checkouts_reconcile,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_not_dispensed(machine, tea_slot, fake_paypay):
    """A PayPay checkout for two teas that PayPay completed and our books recorded as paid, then the process died:
    no dispense command went out."""
    checkout = checkout_start(
        machine=machine,
        items=[{"slot": "A1", "quantity": 2}],
        coupon_code=None,
        provider="paypay",
        idempotency_key="died",
        channel="tablet",
    )
    fake_paypay.pay(checkout.merchant_payment_id)
    answer = fake_paypay.payments[checkout.merchant_payment_id]
    assert (
        _checkout_mark_paid(checkout_id=checkout.pk, payment_id=answer["paymentId"], amount_yen=300, fee_yen=0)
        == "dispense"
    )
    return checkout


def paid_ago(checkout, seconds):
    Checkout.objects.filter(pk=checkout.pk).update(paid_at=timezone.now() - datetime.timedelta(seconds=seconds))


def test_a_fresh_one_is_left_to_its_own_process(paid_not_dispensed):
    assert checkouts_reconcile()["stuck_dispensed"] == 0
    assert Checkout.objects.get().state == Checkout.State.PAID


def test_while_the_customer_may_still_be_there_it_is_dispensed_once(paid_not_dispensed, tea_slot, fake_paypay):
    paid_ago(paid_not_dispensed, 40)

    counts = checkouts_reconcile()

    assert counts["stuck_dispensed"] == 1
    checkout = Checkout.objects.get()
    assert checkout.state == Checkout.State.DISPENSED and checkout.dispensed_at
    assert Sale.objects.get().lines.get().dispensed_quantity == 2
    assert Slot.objects.get(pk=tea_slot.pk).quantity == 1
    assert checkouts_reconcile()["stuck_dispensed"] == 0
    assert fake_paypay.refunded_yen() == 0


def test_later_it_is_refunded_through_the_provider_and_the_goods_stay(paid_not_dispensed, tea_slot, fake_paypay):
    paid_ago(paid_not_dispensed, 600)

    counts = checkouts_reconcile()

    assert counts["stuck_refunded"] == 1
    checkout = Checkout.objects.get()
    assert checkout.state == Checkout.State.REFUNDED
    sale = Sale.objects.get()
    assert sale.status == Sale.Status.REFUNDED and sale.payment.status == Payment.Status.REFUNDED
    assert sale.lines.get().dispensed_quantity == 0
    assert fake_paypay.refunded_yen() == 300
    assert Slot.objects.get(pk=tea_slot.pk).quantity == 3


def test_one_whose_dispense_had_started_is_not_touched(paid_not_dispensed, fake_paypay):
    Checkout.objects.update(dispense_started_at=timezone.now() - datetime.timedelta(minutes=5))
    paid_ago(paid_not_dispensed, 600)

    counts = checkouts_reconcile()

    assert counts["stuck_dispensed"] == counts["stuck_refunded"] == 0
    assert Checkout.objects.get().state == Checkout.State.PAID
    assert fake_paypay.refunded_yen() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_reconciler_racing_the_webhook_dispenses_once(machine, tea_slot, fake_paypay, settings):
    """The reconciler finds the checkout paid and not started just as the webhook's own dispense goes: one command."""
    from tests.inventory.fakes import CountingDispenser
    from tests.inventory.test_checkout_concurrency import all_at_once

    settings.DISPENSER = "tests.inventory.fakes.CountingDispenser"
    CountingDispenser.commands.clear()

    checkout = checkout_start(
        machine=machine,
        items=[{"slot": "A1", "quantity": 1}],
        coupon_code=None,
        provider="paypay",
        idempotency_key="race",
        channel="tablet",
    )
    fake_paypay.pay(checkout.merchant_payment_id)
    answer = fake_paypay.payments[checkout.merchant_payment_id]
    _checkout_mark_paid(checkout_id=checkout.pk, payment_id=answer["paymentId"], amount_yen=150, fee_yen=0)
    paid_ago(checkout, 40)

    all_at_once([lambda: checkout_dispense(checkout=Checkout.objects.get(pk=checkout.pk)), checkouts_reconcile] * 3)

    assert Checkout.objects.get().state == Checkout.State.DISPENSED
    assert Sale.objects.get().lines.get().dispensed_quantity == 1
    assert CountingDispenser.commands == [("HQ-1F", "A1", 1)]  # one command, not one per caller
    assert fake_paypay.refunded_yen() == 0
