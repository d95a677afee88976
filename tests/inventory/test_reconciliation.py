"""A day of phone payments reconciled: PayPay and card sales, a full and a partial refund, Stripe's payout (its signed
`payout.paid` webhook) and PayPay's settlement file imported by staff in the admin. The books follow (fees to
決済手数料, payouts to 普通預金), the day's report is clean, and each injected mismatch is flagged."""

import calendar
import csv
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.utils import timezone

from apps.accounting import chart
from apps.accounting.models import JournalLine
from apps.inventory.models import Checkout, ProviderPayout, ReconciliationReport, Sale
from apps.inventory.services import sale_refund
from apps.inventory.services.books import sales_book_all
from apps.inventory.services.checkout import checkout_payment_confirmed, checkout_start
from apps.inventory.services.reconciliation import payments_reconcile
from apps.inventory.services.refunds import sale_refund_partial

pytestmark = pytest.mark.django_db

PAYPAY_HEADER = [
    "決済番号", "加盟店ID", "屋号", "店舗ID", "店舗名", "端末番号/PosID", "取引ステータス", "取引日時", "取引金額",
    "レシート番号", "支払い方法", "支払い詳細", "取引確定期限", "加盟店決済ID",
]  # fmt: skip


def balance(code: str) -> int:
    totals = JournalLine.objects.filter(account__code=code).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or 0) - (totals["c"] or 0)


@pytest.fixture
def buy(machine, tea_slot, mask_slot, fake_paypay, fake_stripe):
    """`buy(provider, key, items)`: a tablet checkout paid at the provider and confirmed; returns the sale."""

    def go(provider: str, key: str, items: list[dict]) -> Sale:
        checkout = checkout_start(
            machine=machine, items=items, coupon_code=None, provider=provider, idempotency_key=key, channel="tablet"
        )
        if provider == "paypay":
            fake_paypay.pay(checkout.merchant_payment_id)
            payment = fake_paypay.payments[checkout.merchant_payment_id]
            payment_id, amount = payment["paymentId"], payment["amount"]["amount"]
        else:
            fake_stripe.pay(checkout.provider_session_id)
            intent = fake_stripe.intents[fake_stripe.sessions[checkout.provider_session_id]["payment_intent"]]
            payment_id, amount = intent["id"], intent["amount"]
        checkout_payment_confirmed(checkout=checkout, payment_id=payment_id, amount_yen=amount)
        return Sale.objects.get(pk=checkout.sale_id)

    return go


def paypay_file(fake_paypay, *, extra_rows=(), encoding="cp932") -> bytes:
    """PayPay for Business's file of a deposit's transactions: each payment, and each refund as a negative row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PAYPAY_HEADER)
    by_payment_id = {p["paymentId"]: p for p in fake_paypay.payments.values()}
    rows = [(p["paymentId"], "取引完了", p["amount"]["amount"], p["merchantPaymentId"]) for p in by_payment_id.values()]
    rows += [
        (r["paymentId"], "返金済み", -r["amount"]["amount"], by_payment_id[r["paymentId"]]["merchantPaymentId"])
        for r in fake_paypay.refunds.values()
    ]
    for number, status, amount, merchant_payment_id in [*rows, *extra_rows]:
        writer.writerow(
            [number, "123", "VendBot", "", "", "", status, "2026/01/01 10:00:00", amount, "", "PayPay残高", "", "",
             merchant_payment_id]
        )  # fmt: skip
    return out.getvalue().encode(encoding)


def import_in_admin(client, content: bytes, *, net_yen: int, fee_yen: int, payout_id="PP-0001"):
    return client.post(
        "/admin/inventory/providerpayout/add/",
        {
            "payout_id": payout_id,
            "paid_on": timezone.localdate().isoformat(),
            "net_yen": net_yen,
            "fee_yen": fee_yen,
            "file": SimpleUploadedFile("paypay.csv", content, content_type="text/csv"),
        },
        follow=True,
    )


@pytest.fixture
def a_day(buy, fake_paypay, fake_stripe, client, staff_user, manager_user):
    """PayPay: two teas (¥300) and a mask refunded whole (¥300); card: a tea and a mask with the mask refunded
    (¥450 − ¥300) and a mask (¥300); Stripe's payout of it all, PayPay's deposit imported by staff."""
    buy("paypay", "p1", [{"slot": "A1", "quantity": 2}])
    refunded = buy("paypay", "p2", [{"slot": "G1", "quantity": 1}])
    sale_refund(sale=refunded, reason="返品", actor=manager_user)
    part = buy("stripe", "s1", [{"slot": "A1", "quantity": 1}, {"slot": "G1", "quantity": 1}])
    mask_line = part.lines.get(product__sku="G001")
    sale_refund_partial(sale=part, quantities={mask_line.pk: 1}, reason="破損", actor=manager_user)
    buy("stripe", "s2", [{"slot": "G1", "quantity": 1}])
    sales_book_all()  # the bookkeeper's run, seconds after the sales and long before the payouts

    payload, signature = fake_stripe.payout(arrival_date=calendar.timegm(timezone.localdate().timetuple()))
    answer = client.post(
        "/payments/stripe/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert answer.status_code == 200, answer.content
    again = client.post(
        "/payments/stripe/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert again.status_code == 200  # Stripe delivers twice: one payout

    client.force_login(staff_user)
    imported = import_in_admin(client, paypay_file(fake_paypay), net_yen=290, fee_yen=10)
    assert imported.status_code == 200
    assert ProviderPayout.objects.count() == 2, [str(m) for m in imported.context["messages"]]


def test_the_books_follow_the_payouts(a_day, fake_stripe):
    stripe_payout = ProviderPayout.objects.get(provider="stripe")
    # Stripe: 450 + 300 paid, 300 refunded, fees 3.6 % of each charge (16 + 10).
    assert (stripe_payout.gross_yen, stripe_payout.refunds_yen, stripe_payout.fee_yen) == (750, 300, 26)
    assert stripe_payout.net_yen == 424 == next(iter(fake_stripe.payouts.values()))["amount"]
    assert stripe_payout.transactions.count() == 3
    paypay_payout = ProviderPayout.objects.get(provider="paypay")
    assert (paypay_payout.gross_yen, paypay_payout.refunds_yen, paypay_payout.fee_yen) == (600, 300, 10)

    assert balance(chart.PAYPAY_RECEIVABLE) == 0
    assert balance(chart.STRIPE_RECEIVABLE) == 0
    assert balance(chart.PAYMENT_FEES) == 36
    assert balance(chart.BANK) >= 424 + 290


def test_a_day_of_mixed_payments_refunds_and_payouts_reconciles_clean(a_day):
    report = payments_reconcile(day=timezone.localdate())

    assert report.mismatches == [] and report.mismatch_count == 0
    assert report.figures["paypay"]["sales_yen"] == 600 and report.figures["paypay"]["refunds_yen"] == 300
    assert report.figures["stripe"]["provider_confirmed"] == 2
    assert report.figures["stripe"]["payouts_net_yen"] == 424


def test_the_provider_reporting_another_amount_is_flagged(a_day, fake_paypay, client, manager_user):
    first = Checkout.objects.filter(provider="paypay").order_by("pk").first()
    fake_paypay.payments[first.merchant_payment_id]["amount"]["amount"] = 999  # injected: PayPay's record differs

    report = payments_reconcile(day=timezone.localdate())

    assert report.mismatch_count == 1
    assert report.mismatches[0]["check"] == "provider_vs_sales"
    assert report.mismatches[0]["message"] == "決済事業者の金額999円が販売の300円と違います。"
    client.force_login(manager_user)
    assert client.get("/dashboard/").context["snapshot"]["cards"]["payment_mismatches"] == 1
    page = client.get(f"/admin/inventory/reconciliationreport/{report.pk}/change/")
    assert "決済事業者の金額999円" in page.content.decode()


def test_a_settlement_line_with_no_sale_is_flagged(a_day, fake_paypay, client):
    stray = [("99999999", "取引完了", 500, "not-ours")]
    imported = import_in_admin(
        client, paypay_file(fake_paypay, extra_rows=stray, encoding="utf-8-sig"), net_yen=790, fee_yen=10,
        payout_id="PP-0002",
    )  # fmt: skip
    assert ProviderPayout.objects.filter(payout_id="PP-0002").exists(), imported.content

    report = payments_reconcile(day=timezone.localdate())

    flagged = [m for m in report.mismatches if m["reference"] == "99999999"]
    assert [m["message"] for m in flagged] == ["入金明細の取引（500円）に対応する販売がありません。"]


def test_a_file_that_does_not_add_up_is_refused_and_nothing_is_booked(buy, fake_paypay, client, staff_user):
    buy("paypay", "p1", [{"slot": "A1", "quantity": 2}])
    client.force_login(staff_user)

    answer = import_in_admin(client, paypay_file(fake_paypay), net_yen=300, fee_yen=10)

    assert "入金額が明細と合いません" in answer.content.decode()
    assert not ProviderPayout.objects.exists() and balance(chart.BANK) == 0
    not_csv = import_in_admin(client, b"\x00\x01garbage", net_yen=290, fee_yen=10)
    assert not_csv.status_code == 200 and not ProviderPayout.objects.exists()


def test_forged_payout_webhooks_are_refused(client, fake_stripe):
    payload, _signature = fake_stripe.payout()

    answer = client.post(
        "/payments/stripe/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00"
    )

    assert answer.status_code == 400 and not ProviderPayout.objects.exists()


def test_the_daily_job_reports_yesterday(a_day, settings):
    from apps.inventory.tasks import payments_reconcile_daily

    payments_reconcile_daily.delay()

    report = ReconciliationReport.objects.get()
    assert report.day == timezone.localdate() - datetime.timedelta(days=1)
    assert report.mismatch_count == 0
