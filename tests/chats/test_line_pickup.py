"""A LINE purchase is paid on the phone (the PayPay or Stripe link sent on LINE) and dispensed only when its pickup
code, pushed on LINE once paid, is typed at the machine's tablet: once, in time, at that machine."""

import datetime
import json
import re

import pytest
from django.utils import timezone

from apps.chats.models import Customer
from apps.inventory.models import Checkout, Payment, Sale, Slot
from apps.inventory.services.checkout import checkouts_reconcile
from tests.chats.test_line import USER, post_webhook, postback_event
from tests.factories import MachineFactory

pytestmark = pytest.mark.django_db

PAYPAY_WEBHOOK = "/payments/paypay/webhook/"


@pytest.fixture
def consenting(fake_line, shop):
    """A LINE customer who gave consent (test_line's fixture of the same name)."""
    post_webhook(postback_event(fake_line, "action=consent&value=yes"))
    return Customer.objects.get(line_user_id=USER)


@pytest.fixture
def phone_only(settings, fake_paypay, fake_stripe):
    settings.PAYMENT_PROVIDERS = ["paypay", "stripe"]


def buy_on_line(fake_line, provider="paypay", quantity=2):
    post_webhook(postback_event(fake_line, "action=buy&slot=A1"))
    assert "タブレットで受け取ります" in fake_line.texts()[-1]
    options = fake_line.sent("/message/reply")[-1]["body"]["messages"][-1]["quickReply"]["items"]
    post_webhook(postback_event(fake_line, options[quantity - 1]["action"]["data"]))
    methods = fake_line.sent("/message/reply")[-1]["body"]["messages"][-1]["quickReply"]["items"]
    assert [m["action"]["label"] for m in methods] == ["PayPayで払う", "カードで払う"]
    chosen = next(m for m in methods if f"provider={provider}" in m["action"]["data"])
    post_webhook(postback_event(fake_line, chosen["action"]["data"]))
    post_webhook(postback_event(fake_line, chosen["action"]["data"]))  # tapped twice: one checkout
    return Checkout.objects.get()


def pay_with_paypay(client, fake_paypay, checkout, django_capture_on_commit_callbacks):
    notification = fake_paypay.pay(checkout.merchant_payment_id)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(PAYPAY_WEBHOOK, notification, content_type="application/json")
    assert answer.status_code == 200, answer.content
    checkout.refresh_from_db()
    return checkout


def pushed_code(fake_line) -> str:
    push = fake_line.sent("/message/push")[-1]["body"]["messages"][0]["text"]
    return re.search(r"受け取りコード：(\d{6})", push).group(1)


def test_paid_on_the_phone_then_dispensed_by_the_code_at_the_tablet(
    fake_line, consenting, phone_only, fake_paypay, client, device_client, django_capture_on_commit_callbacks
):
    checkout = buy_on_line(fake_line)

    sale = Sale.attempts.get()
    assert sale.channel == "line" and sale.customer_key == f"cust:{consenting.pk}" and sale.total_yen == 300
    link_message = fake_line.texts()[-1]
    assert checkout.pay_url in link_message and "合計 300円" in link_message
    assert len(fake_paypay.calls("POST", "/v2/codes")) == 1
    assert Slot.objects.get(code="A1").quantity == 6  # held for the buyer

    checkout = pay_with_paypay(client, fake_paypay, checkout, django_capture_on_commit_callbacks)

    assert checkout.state == Checkout.State.PAID  # paid, not dispensed: the buyer is not at the machine yet
    assert Sale.objects.get().lines.get().dispensed_quantity == 0
    code = pushed_code(fake_line)
    assert code == checkout.pickup_code
    assert "コーラ × 2" in fake_line.texts()[-1]

    answer = device_client.post("/api/machines/HQ-1F/pickup/", {"code": code}, format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == "dispensed"
    assert [line["quantity"] for line in answer.json()["receipt"]["lines"]] == [2]
    assert Sale.objects.get().lines.get().dispensed_quantity == 2
    again = device_client.post("/api/machines/HQ-1F/pickup/", {"code": code}, format="json")
    assert again.status_code == 400  # single use
    assert again.json()["error"]["message"] == "受け取りコードが正しくないか、期限が切れています。"


def test_a_code_works_only_at_its_machine_and_only_in_time(
    fake_line, consenting, phone_only, fake_paypay, client, device_client, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    from apps.inventory.services import device_token_issue

    elsewhere = MachineFactory(code="HQ-2F")
    other_tablet = APIClient()
    other_tablet.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=elsewhere)}")
    checkout = pay_with_paypay(client, fake_paypay, buy_on_line(fake_line), django_capture_on_commit_callbacks)
    code = pushed_code(fake_line)

    wrong_machine = other_tablet.post("/api/machines/HQ-2F/pickup/", {"code": code}, format="json")
    wrong_code = device_client.post("/api/machines/HQ-1F/pickup/", {"code": "12345x"}, format="json")
    assert wrong_machine.status_code == 400 and wrong_code.status_code == 400
    checkout.refresh_from_db()
    assert checkout.state == Checkout.State.PAID and checkout.pickup_code == code

    Checkout.objects.filter(pk=checkout.pk).update(pickup_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    late = device_client.post("/api/machines/HQ-1F/pickup/", {"code": code}, format="json")

    assert late.status_code == 400
    assert Sale.objects.get().lines.get().dispensed_quantity == 0


def test_an_unused_code_runs_out_and_the_buyer_is_refunded(
    fake_line, consenting, phone_only, fake_paypay, client, django_capture_on_commit_callbacks
):
    checkout = pay_with_paypay(client, fake_paypay, buy_on_line(fake_line), django_capture_on_commit_callbacks)
    Checkout.objects.filter(pk=checkout.pk).update(
        pickup_expires_at=timezone.now() - datetime.timedelta(seconds=1),
        paid_at=timezone.now() - datetime.timedelta(minutes=16),
    )

    counts = checkouts_reconcile()

    assert counts["stuck_refunded"] == 1
    checkout.refresh_from_db()
    assert checkout.state == Checkout.State.REFUNDED and checkout.pickup_code is None
    sale = Sale.objects.get()
    assert sale.status == Sale.Status.REFUNDED and sale.payment.status == Payment.Status.REFUNDED
    assert fake_paypay.refunded_yen() == 300
    assert Slot.objects.get(code="A1").quantity == 8  # the goods never left the slot
    assert checkouts_reconcile()["stuck_refunded"] == 0


def test_card_link_on_line(fake_line, consenting, phone_only, fake_stripe, client, django_capture_on_commit_callbacks):
    checkout = buy_on_line(fake_line, provider="stripe", quantity=1)
    assert checkout.pay_url.startswith("https://checkout.stripe.com/") and checkout.pay_url in fake_line.texts()[-1]

    payload, signature = fake_stripe.pay(checkout.provider_session_id)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/payments/stripe/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )

    assert answer.status_code == 200 and json.loads(answer.content)["state"] == "paid"
    assert pushed_code(fake_line) == Checkout.objects.get().pickup_code


def test_an_opted_out_buyer_still_gets_the_code_of_what_they_paid_for(
    fake_line, consenting, phone_only, fake_paypay, client, django_capture_on_commit_callbacks
):
    consenting.push_opt_out = True
    consenting.save()

    checkout = pay_with_paypay(client, fake_paypay, buy_on_line(fake_line), django_capture_on_commit_callbacks)

    assert pushed_code(fake_line) == checkout.pickup_code
