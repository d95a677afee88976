"""Time from "payment confirmed" to "dispense command sent", for PayPay (webhook and poll) and Stripe (signed webhook).

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/vb_bench_payments .venv/bin/python bench/payment_to_dispense.py [--n 200]

Runs the real path in-process against the loopback fakes (tests/fake_paypay.py, tests/fake_stripe.py) with the real
SDKs: a checkout is reserved, the fake marks it paid, and the clock starts when the notification reaches our webhook
view (or the poll starts) and stops when the dispenser is told to drop the first item. Includes PayPay's API
round trip (its notification is only a prompt), the sale's row locks, the booking and the dispense call. Uses a
throwaway copy of the kept bench database (test_<name>, `bench/databases.py`), dropped at the end. Prints p50 and
p99 in milliseconds per path.
"""

import argparse
import os
import statistics
import sys
import time
from importlib import import_module
from pathlib import Path

from databases import postgresql_copy  # the script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendbot.settings.test")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # the figures, not a log line per SDK call
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vb_bench_payments"
)

SENT: list[float] = []


class TimingDispenser:
    """Records when the dispense command is sent, then drops everything."""

    def dispense(self, *, machine_code: str, slot_code: str, quantity: int) -> int:
        SENT.append(time.perf_counter())
        return quantity


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run(n: int) -> dict[str, list[float]]:
    from django.conf import settings
    from django.test import Client

    from apps.inventory.services.checkout import checkout_start, checkout_sync
    from tests import fake_paypay, fake_stripe
    from tests.factories import MachineFactory, ProductFactory, SlotFactory, stock_slot

    paypay = fake_paypay.FakePayPay().start()
    stripe_fake = fake_stripe.FakeStripe().start()
    settings.PAYPAY_API_BASE_URL, settings.PAYPAY_MERCHANT_ID = paypay.url, fake_paypay.MERCHANT_ID
    settings.PAYPAY_API_KEY, settings.PAYPAY_API_SECRET = fake_paypay.API_KEY, fake_paypay.API_SECRET
    settings.STRIPE_API_BASE_URL, settings.STRIPE_SECRET_KEY = stripe_fake.url, fake_stripe.SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = fake_stripe.WEBHOOK_SECRET
    settings.PAYMENT_PROVIDERS = ["paypay", "stripe"]
    settings.DISPENSER = "bench.payment_to_dispense.TimingDispenser"
    machine = MachineFactory(code="HQ-1F")
    stock_slot(SlotFactory(machine=machine, code="A1", product=ProductFactory(sku="D001"), capacity=1000), 3 * n + 10)
    client = Client()
    sent = import_module("bench.payment_to_dispense").SENT  # the dispenser's module, not __main__
    timings: dict[str, list[float]] = {"paypay webhook": [], "paypay poll": [], "stripe webhook": []}
    for index in range(3 * n):
        path = list(timings)[index % 3]
        provider = path.split()[0]
        checkout = checkout_start(
            machine=machine,
            items=[{"slot": "A1"}],
            coupon_code=None,
            provider=provider,
            idempotency_key=f"bench-{index}",
            channel="tablet",
        )
        sent.clear()
        if path == "paypay webhook":
            body = paypay.pay(checkout.merchant_payment_id)
            started = time.perf_counter()
            client.post("/payments/paypay/webhook/", body, content_type="application/json")
        elif path == "paypay poll":
            paypay.pay(checkout.merchant_payment_id)
            started = time.perf_counter()
            checkout_sync(checkout=checkout)
        else:
            payload, signature = stripe_fake.pay(checkout.provider_session_id)
            started = time.perf_counter()
            client.post(
                "/payments/stripe/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
            )
        timings[path].append((sent[0] - started) * 1000)
    paypay.stop()
    stripe_fake.stop()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200, help="payments per path")
    args = parser.parse_args()
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    with postgresql_copy():
        timings = run(args.n)
    print(f"payment confirmed → dispense command sent ({args.n} payments per path, {connection.vendor})")
    for path, values in timings.items():
        print(
            f"  {path:15s} p50 {percentile(values, 0.5):6.1f} ms   p99 {percentile(values, 0.99):6.1f} ms"
            f"   mean {statistics.mean(values):6.1f} ms"
        )


if __name__ == "__main__":
    main()
