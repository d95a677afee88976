"""PayPay dynamic QR end to end against the loopback fake: reserve → paid → dispensed, expiry, cancel, refunds."""

import datetime

import pytest
from django.db.models import Sum
from django.utils import timezone

from apps.accounting import chart
from apps.accounting.models import JournalLine
from apps.inventory.models import Checkout, Payment, Sale, Slot
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services import sale_refund
from apps.inventory.services.books import sales_book_all
from apps.inventory.services.checkout import checkout_cancel, checkout_start, checkout_sync, checkouts_reconcile

pytestmark = pytest.mark.django_db

WEBHOOK = "/payments/paypay/webhook/"


@pytest.fixture
def start(machine, tea_slot, fake_paypay):
    def go(key="k1", quantity=1):
        return checkout_start(
            machine=machine,
            items=[{"slot": "A1", "quantity": quantity}],
            coupon_code=None,
            provider="paypay",
            idempotency_key=key,
            channel="tablet",
        )

    return go


def test_reserving_holds_stock_and_creates_a_code_for_the_exact_amount(start, fake_paypay, tea_slot):
    checkout = start(quantity=2)

    assert checkout.state == Checkout.State.RESERVED
    assert checkout.pay_url.startswith("https://qr-stg.sandbox.paypay.ne.jp/")
    created = fake_paypay.calls("POST", "/v2/codes")[0]["body"]
    assert created["merchantPaymentId"] == checkout.merchant_payment_id
    assert created["amount"] == {"amount": 300, "currency": "JPY"}
    assert Slot.objects.get(pk=tea_slot.pk).quantity == 1
    assert not Sale.objects.exists()  # reserved is not sold
    assert start(quantity=2).pk == checkout.pk  # the same key: the same checkout, one code
    assert len(fake_paypay.calls("POST", "/v2/codes")) == 1


def test_webhook_then_lookup_completes_and_dispenses_once(start, fake_paypay, client, tea_slot):
    checkout = start()
    notification = fake_paypay.pay(checkout.merchant_payment_id)

    first = client.post(WEBHOOK, notification, content_type="application/json")
    again = client.post(WEBHOOK, notification, content_type="application/json")

    assert first.status_code == 200 and first.json()["state"] == "dispensed"
    assert again.status_code == 200 and again.json()["state"] == "dispensed"
    checkout.refresh_from_db()
    sale = Sale.objects.get()
    assert sale.payment.status == Payment.Status.CAPTURED
    assert sale.payment.gateway_reference == checkout.provider_payment_id
    assert sale.lines.get().dispensed_quantity == 1
    assert Slot.objects.get(pk=tea_slot.pk).quantity == 2
    assert stock_integrity_problems() == []
    # PayPay owes the shop the sale's total on its own receivable, not the card/IC one, once the bookkeeper ran.
    assert not JournalLine.objects.filter(account__code=chart.PAYPAY_RECEIVABLE).exists()
    sales_book_all()
    receivable = JournalLine.objects.filter(account__code=chart.PAYPAY_RECEIVABLE).aggregate(d=Sum("debit"))
    assert receivable["d"] == 150
    assert not JournalLine.objects.filter(account__code=chart.CARD_RECEIVABLE).exists()


def test_forged_webhook_is_refused_and_changes_nothing(start, fake_paypay, client, tea_slot):
    checkout = start()
    forged = {
        "notification_type": "Transaction",
        "merchant_id": "123456789012345678",
        "merchant_order_id": checkout.merchant_payment_id,
        "order_id": "999",
        "state": "COMPLETED",
        "order_amount": 150,
    }

    answer = client.post(WEBHOOK, forged, content_type="application/json")
    unknown = client.post(WEBHOOK, {**forged, "merchant_order_id": "nope"}, content_type="application/json")
    other_merchant = client.post(WEBHOOK, {**forged, "merchant_id": "1"}, content_type="application/json")
    garbage = client.post(WEBHOOK, "{not json", content_type="application/json")

    assert [answer.status_code, unknown.status_code, other_merchant.status_code, garbage.status_code] == [400] * 4
    checkout.refresh_from_db()
    assert checkout.state == Checkout.State.RESERVED
    assert not Sale.objects.exists()


def test_polling_confirms_when_the_webhook_never_comes(start, fake_paypay):
    checkout = start()
    assert checkout_sync(checkout=checkout).state == Checkout.State.RESERVED
    fake_paypay.pay(checkout.merchant_payment_id)

    counts = checkouts_reconcile()

    checkout.refresh_from_db()
    assert checkout.state == Checkout.State.DISPENSED
    assert counts["paid"] == 1


def test_unpaid_code_expires_is_deleted_and_releases_stock(start, fake_paypay, tea_slot):
    checkout = start()
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    counts = checkouts_reconcile()

    checkout.refresh_from_db()
    assert checkout.state == Checkout.State.EXPIRED
    assert counts["expired"] == 1
    assert fake_paypay.calls("DELETE", f"/v2/codes/{checkout.provider_session_id}")
    assert Slot.objects.get(pk=tea_slot.pk).quantity == 3
    assert Sale.attempts.get().payment.status == Payment.Status.CANCELLED
    with pytest.raises(ValueError):
        fake_paypay.pay(checkout.merchant_payment_id)  # the deleted code takes no money
    assert stock_integrity_problems() == []


def test_cancel_releases_stock_and_deletes_the_code(start, fake_paypay, tea_slot):
    checkout = start()

    checkout = checkout_cancel(checkout=checkout)

    assert checkout.state == Checkout.State.CANCELLED
    assert Slot.objects.get(pk=tea_slot.pk).quantity == 3
    assert fake_paypay.calls("DELETE", "/v2/codes/")


def test_payment_arriving_after_expiry_is_refunded_in_full(start, fake_paypay, client, tea_slot):
    checkout = start()
    # The customer pays in the instant the reservation ends: the code could not be deleted in time.
    fake_paypay.fail_next(f"/v2/codes/{checkout.provider_session_id}", 503)
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    checkouts_reconcile()
    notification = fake_paypay.pay(checkout.merchant_payment_id)

    answer = client.post(WEBHOOK, notification, content_type="application/json")

    assert answer.status_code == 200 and answer.json()["state"] == "refunded"
    assert fake_paypay.refunded_yen() == 150 == fake_paypay.paid_yen()
    assert Slot.objects.get(pk=tea_slot.pk).quantity == 3  # nothing was dispensed
    assert not Sale.objects.exists()
    payment = Sale.attempts.get().payment
    assert payment.status == Payment.Status.REFUNDED and payment.refunds.get().sent_at is not None


def test_staff_refund_goes_through_paypay(start, fake_paypay, client, manager_user):
    checkout = start()
    client.post(WEBHOOK, fake_paypay.pay(checkout.merchant_payment_id), content_type="application/json")

    sale_refund(sale=Sale.objects.get(), reason="味が違った", actor=manager_user)

    refund = fake_paypay.calls("POST", "/v2/refunds")[0]["body"]
    assert refund["amount"] == {"amount": 150, "currency": "JPY"}
    assert refund["paymentId"] == Checkout.objects.get().provider_payment_id
    assert fake_paypay.refunded_yen() == 150


def test_terminal_purchase_refuses_provider_methods(sell):
    from apps.core.errors import ValidationError

    with pytest.raises(ValidationError):
        sell(key="x", method="paypay")
