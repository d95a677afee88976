"""Card payments through Stripe's hosted page, against the loopback fake: signed webhook, polling, refunds."""

import datetime
import json

import pytest
from django.utils import timezone

from apps.inventory.models import Checkout, Payment, Sale, Slot
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services import sale_refund
from apps.inventory.services.checkout import checkout_start, checkouts_reconcile
from tests.fake_stripe import sign

pytestmark = pytest.mark.django_db

WEBHOOK = "/payments/stripe/webhook/"


@pytest.fixture
def start(machine, tea_slot, fake_stripe):
    def go(key="s1", quantity=1):
        return checkout_start(
            machine=machine,
            items=[{"slot": "A1", "quantity": quantity}],
            coupon_code=None,
            provider="stripe",
            idempotency_key=key,
            channel="tablet",
        )

    return go


def post_event(client, payload: str, signature: str | None):
    headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
    return client.post(WEBHOOK, payload, content_type="application/json", **headers)


def test_session_for_the_exact_amount_in_yen(start, fake_stripe, tea_slot):
    checkout = start(quantity=2)

    form = fake_stripe.calls("POST", "/v1/checkout/sessions")[0]["form"]
    assert form["line_items[0][price_data][currency]"] == "jpy"
    assert form["line_items[0][price_data][unit_amount]"] == "300"
    assert form["payment_intent_data[metadata][merchant_payment_id]"] == checkout.merchant_payment_id
    assert checkout.pay_url.startswith("https://checkout.stripe.com/")
    assert Slot.objects.get(pk=tea_slot.pk).quantity == 1


def test_the_phone_comes_back_from_stripes_page_to_a_page_that_exists(start, fake_stripe, client):
    checkout = start()
    success_url = fake_stripe.sessions[checkout.provider_session_id]["success_url"]

    page = client.get(success_url.removeprefix("http://127.0.0.1:8000"))

    assert page.status_code == 200
    assert "受け取りコードがLINEに届きます" in page.content.decode()


def test_signed_webhook_completes_and_dispenses_once(start, fake_stripe, client, tea_slot):
    checkout = start()
    payload, signature = fake_stripe.pay(checkout.provider_session_id)

    first = post_event(client, payload, signature)
    again = post_event(client, payload, signature)

    assert first.status_code == 200 and first.json()["state"] == "dispensed"
    assert again.status_code == 200
    sale = Sale.objects.get()
    assert sale.payment.status == Payment.Status.CAPTURED and sale.payment.method == "stripe"
    assert sale.lines.get().dispensed_quantity == 1
    assert Slot.objects.get(pk=tea_slot.pk).quantity == 2


def test_unsigned_or_forged_events_are_refused_and_nothing_stored(start, fake_stripe, client):
    checkout = start()
    intent = {
        "id": "pi_forged",
        "object": "payment_intent",
        "amount": 150,
        "currency": "jpy",
        "metadata": {"merchant_payment_id": checkout.merchant_payment_id},
    }
    payload = json.dumps(
        {"id": "evt_x", "object": "event", "type": "payment_intent.succeeded", "data": {"object": intent}}
    )

    unsigned = post_event(client, payload, None)
    forged = post_event(client, payload, sign(payload, secret="whsec_attacker"))
    stale = post_event(client, payload, sign(payload, timestamp=int(timezone.now().timestamp()) - 3600))

    assert [unsigned.status_code, forged.status_code, stale.status_code] == [400, 400, 400]
    assert unsigned.json()["error"]["code"] == "invalid_signature"
    checkout.refresh_from_db()
    assert checkout.state == Checkout.State.RESERVED and checkout.provider_payment_id is None
    assert not Sale.objects.exists()


def test_polling_confirms_without_the_webhook(start, fake_stripe):
    checkout = start()
    fake_stripe.pay(checkout.provider_session_id)

    checkouts_reconcile()

    checkout.refresh_from_db()
    assert checkout.state == Checkout.State.DISPENSED
    assert checkout.provider_payment_id.startswith("pi_")


def test_expiry_expires_the_session_and_releases_stock(start, fake_stripe, tea_slot):
    checkout = start()
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    checkouts_reconcile()

    checkout.refresh_from_db()
    assert checkout.state == Checkout.State.EXPIRED
    assert fake_stripe.sessions[checkout.provider_session_id]["status"] == "expired"
    assert Slot.objects.get(pk=tea_slot.pk).quantity == 3
    assert stock_integrity_problems() == []


def test_staff_refund_goes_through_stripe(start, fake_stripe, client, manager_user):
    checkout = start()
    post_event(client, *fake_stripe.pay(checkout.provider_session_id))

    sale_refund(sale=Sale.objects.get(), reason="返品", actor=manager_user)

    refund = fake_stripe.calls("POST", "/v1/refunds")[0]["form"]
    assert refund == {"payment_intent": Checkout.objects.get().provider_payment_id, "amount": "150"}
    assert fake_stripe.refunded_yen() == 150
    assert Sale.objects.get().payment.refunds.get().gateway_reference.startswith("re_")
