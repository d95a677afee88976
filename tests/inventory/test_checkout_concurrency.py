"""PayPay under real concurrency on PostgreSQL: threads with their own connections, the fake on a loopback port."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from apps.inventory.models import Checkout, Payment, Sale, Slot
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services import device_token_issue
from apps.inventory.services.checkout import checkout_cancel, checkouts_reconcile
from tests.factories import MachineFactory, ProductFactory, SlotFactory, stock_slot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 20
WEBHOOK = "/payments/paypay/webhook/"


def all_at_once(calls) -> list:
    """Run each callable in its own thread with its own connection, released together; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait()
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.fixture
def last_three(fake_paypay):
    machine = MachineFactory(code="HQ-1F")
    tea = ProductFactory(sku="D001", price_yen=150, unit_cost_yen=70, tax_rate=8)
    slot = stock_slot(SlotFactory(machine=machine, code="A1", product=tea), 3)
    return slot, device_token_issue(machine=machine)


def reserve(token: str, key: str):
    def call():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
        response = client.post(
            "/api/machines/HQ-1F/checkouts/",
            {"items": [{"slot": "A1", "quantity": 1}], "provider": "paypay"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        return response.status_code, response.json()

    return call


def webhook(notification: dict):
    return lambda: Client().post(WEBHOOK, notification, content_type="application/json").status_code


def test_twenty_customers_race_for_the_last_three_units(last_three, fake_paypay):
    slot, token = last_three

    results = all_at_once([reserve(token, f"customer-{n}") for n in range(CUSTOMERS)])

    statuses = [status for status, _body in results]
    assert statuses.count(201) == 3
    assert {body["error"]["code"] for status, body in results if status != 201} == {"sold_out"}
    reserved = [body for status, body in results if status == 201]
    assert all(body["state"] == "reserved" and body["qr_svg"].startswith("<svg") for body in reserved)
    # The three pay; PayPay notifies each twice, and the poll runs at the same time.
    notifications = [fake_paypay.pay(c.merchant_payment_id) for c in Checkout.objects.all()]
    outcomes = all_at_once([webhook(n) for n in notifications * 2] + [lambda: checkouts_reconcile()] * 2)

    assert outcomes[: len(notifications) * 2] == [200] * 6
    assert sorted(Checkout.objects.values_list("state", flat=True)) == ["dispensed"] * 3
    assert Sale.objects.count() == 3
    assert Payment.objects.filter(status=Payment.Status.CAPTURED).count() == 3
    assert Slot.objects.get(pk=slot.pk).quantity == 0
    assert sum(line.dispensed_quantity for sale in Sale.objects.all() for line in sale.lines.all()) == 3
    assert fake_paypay.paid_yen() == 450 and fake_paypay.refunded_yen() == 0
    # Out-of-order and repeated notifications afterwards change nothing.
    assert all_at_once([webhook(n) for n in reversed(notifications)]) == [200] * 3
    assert Sale.objects.count() == 3 and fake_paypay.refunded_yen() == 0
    assert stock_integrity_problems() == []


@pytest.mark.parametrize("round_", range(5))
def test_a_cancel_racing_a_payment_never_keeps_money_without_goods(last_three, fake_paypay, round_):
    slot, token = last_three
    _status, body = reserve(token, f"racer-{round_}")()
    checkout = Checkout.objects.get(pk=body["checkout_id"])
    notification = fake_paypay.pay(checkout.merchant_payment_id)

    all_at_once([webhook(notification), lambda: checkout_cancel(checkout=checkout), webhook(notification)])

    checkout.refresh_from_db()
    dispensed = Sale.objects.filter(lines__dispensed_quantity=1).count()
    assert checkout.state in (Checkout.State.DISPENSED, Checkout.State.REFUNDED)
    # Either the payment won (goods out, money kept) or the cancel won (no goods, all money back).
    assert fake_paypay.paid_yen() - fake_paypay.refunded_yen() == 150 * dispensed
    assert Slot.objects.get(pk=slot.pk).quantity == 3 - dispensed
    assert stock_integrity_problems() == []
