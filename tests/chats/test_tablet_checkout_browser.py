"""The tablet pays on the customer's phone, end to end in chromium against the loopback PayPay and Stripe fakes: the
customer picks PayPay or card, the tablet shows the QR code for the exact amount with a countdown, the provider is
paid (the fake plays the customer's phone and the provider's notification), the tablet sees it through its polling
and shows the receipt, which resets the screen by itself. Cancelling and expiry bring the grid back."""

import re

import pytest
import requests

from apps.inventory.models import Checkout, Sale, Slot
from apps.inventory.services import device_token_issue

pytestmark = pytest.mark.browser

RECEIPT_SECONDS = 2


@pytest.fixture
def phone_shop(settings, shop, fake_paypay, fake_stripe):
    """HQ-1F offering PayPay and card on the phone only (no terminal), set before the live server forks."""
    settings.PAYMENT_PROVIDERS = ["paypay", "stripe"]
    settings.TABLET_RECEIPT_RESET_SECONDS = RECEIPT_SECONDS
    return shop


def open_tablet(page, server, machine):
    page.goto(f"{server}/tablet/HQ-1F/#pair={device_token_issue(machine=machine)}")
    page.wait_for_selector("#tablet-status[data-state=live]")


def choose_tea(page, provider: str, quantity: int = 1):
    page.click('.product[data-slot="A2"]')
    for _ in range(quantity - 1):
        page.click("#qty-plus")
    assert page.locator(".pay").count() == 0  # no simulated terminal offered
    page.click(f'.pay-phone[data-provider="{provider}"]')
    page.wait_for_selector("#checkout-dialog[open] #checkout-qr svg")


def receipt_then_reset(page):
    page.wait_for_selector("#receipt[open]")
    assert "緑茶 ※ × 2" in page.locator("#receipt-lines").inner_text()
    assert "260円" in page.locator("#receipt-total").inner_text()
    page.wait_for_selector("#receipt", state="hidden", timeout=(RECEIPT_SECONDS + 3) * 1000)
    assert not page.locator("#checkout-dialog").is_visible()


def test_paypay_from_qr_to_receipt(phone_shop, fake_paypay, asgi_live_server, browser_page):
    page = browser_page
    fake_paypay.webhook_url = f"{asgi_live_server}/payments/paypay/webhook/"
    open_tablet(page, asgi_live_server, phone_shop)

    choose_tea(page, "paypay", quantity=2)
    assert page.locator("#checkout-title").inner_text() == "PayPayでお支払い"
    assert page.locator("#checkout-total").inner_text() == "合計 260円（税込）"
    assert re.fullmatch(r"あと1[78]\d秒で無効になります。", page.locator("#checkout-countdown").inner_text())
    checkout = Checkout.objects.get()
    assert fake_paypay.codes[checkout.provider_session_id]["amount"] == {"amount": 260, "currency": "JPY"}
    assert checkout.state == Checkout.State.RESERVED

    fake_paypay.pay(checkout.merchant_payment_id, post=True)  # the customer's app pays; PayPay notifies us

    receipt_then_reset(page)
    checkout.refresh_from_db()
    assert checkout.state == Checkout.State.DISPENSED
    assert Sale.objects.get().lines.get().dispensed_quantity == 2
    assert Slot.objects.get(code="A2").quantity == 4


def test_card_from_qr_to_receipt(phone_shop, fake_stripe, asgi_live_server, browser_page):
    page = browser_page
    open_tablet(page, asgi_live_server, phone_shop)

    choose_tea(page, "stripe", quantity=2)
    assert page.locator("#checkout-title").inner_text() == "カードでお支払い（スマホで）"
    checkout = Checkout.objects.get()
    assert fake_stripe.sessions[checkout.provider_session_id]["amount_total"] == 260

    payload, signature = fake_stripe.pay(checkout.provider_session_id)  # paid on Stripe's page; Stripe's event
    answer = requests.post(
        f"{asgi_live_server}/payments/stripe/webhook/",
        data=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text

    receipt_then_reset(page)
    assert Sale.objects.get().payment.method == "stripe"


@pytest.fixture
def short_qr(settings):
    settings.PAYMENT_QR_EXPIRY_SECONDS = 6


def test_cancel_and_expiry_bring_the_grid_back(phone_shop, short_qr, fake_paypay, asgi_live_server, browser_page):
    page = browser_page
    open_tablet(page, asgi_live_server, phone_shop)

    choose_tea(page, "paypay")
    page.click("#checkout-cancel")
    page.wait_for_selector("#checkout-dialog", state="hidden")
    assert page.locator("#chat-log li.error").last.inner_text() == "購入を取り消しました。"
    assert Checkout.objects.get().state == Checkout.State.CANCELLED
    assert fake_paypay.calls("DELETE", "/v2/codes/")
    page.wait_for_selector('.product[data-slot="A2"] .badge:text("残り6")')

    choose_tea(page, "paypay")  # nobody pays this one: after 6 s the tablet asks, and the server expires it
    page.wait_for_selector("#checkout-dialog", state="hidden", timeout=15_000)
    assert "期限が過ぎた" in page.locator("#chat-log li.error").last.inner_text()
    assert sorted(Checkout.objects.values_list("state", flat=True)) == ["cancelled", "expired"]
    assert Slot.objects.get(code="A2").quantity == 6
