"""The daily reconciliation of phone payments (docs/payments.md): what PayPay and Stripe report, the shop's sales and
the books must tell the same story. Each check lists every mismatch it finds; the day's report is stored (one per
day, replaced when run again) and the dashboard shows the latest count. Run by the beat job
`inventory.payments_reconcile_daily` for the day before, and by hand (`payments_reconcile(day=...)`).

1. sales vs books: each provider sale of the day has its sale entry, debiting the provider's 売掛金 by what was paid;
   each refund owed that day is credited back to it;
2. provider vs sales: the provider confirms each payment taken that day, for the same amount; each transaction of a
   payout paid that day belongs to one of our payments, for the same amount, and no payment was refunded at the
   provider beyond what the shop refunded;
3. payouts vs books: each payout of the day is booked: 普通預金 net, 決済手数料 fee, 売掛金 payments − refunds;
4. loose ends: a paid checkout whose dispense started and never finished; a refund owed for over an hour and unsent.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounting import chart
from apps.accounting.models import EntryKind, JournalLine
from apps.accounting.postings import PAYMENT_ACCOUNTS
from apps.inventory.integrations.payments import PROVIDER_METHODS
from apps.inventory.integrations.providers import ProviderPayment, ProviderRefused, checkout_provider
from apps.inventory.models import (
    Checkout,
    Payment,
    PaymentRefund,
    ProviderPayout,
    ProviderTransaction,
    ReconciliationReport,
    Sale,
)
from apps.inventory.services.attempts import require_no_transaction
from apps.inventory.services.books import sales_book_all

DISPENSE_UNFINISHED_AFTER = datetime.timedelta(minutes=10)
REFUND_UNSENT_AFTER = datetime.timedelta(hours=1)


@dataclass
class _Findings:
    mismatches: list[dict] = field(default_factory=list)
    figures: dict = field(default_factory=dict)

    def flag(self, check: str, provider: str, reference, message: str) -> None:
        self.mismatches.append({"check": check, "provider": provider, "reference": str(reference), "message": message})


def _day_range(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, start + datetime.timedelta(days=1)


def payments_reconcile(*, day: datetime.date) -> ReconciliationReport:
    """Reconcile `day` (a local date) for every phone payment provider and store its report."""
    require_no_transaction()  # it asks the providers about the day's payments
    sales_book_all()  # the books are compared with the sales: none may still be waiting for the bookkeeper
    findings = _Findings()
    for provider in PROVIDER_METHODS:
        figures = findings.figures.setdefault(provider, {})
        _sales_vs_books(day, provider, findings, figures)
        _provider_vs_sales(day, provider, findings, figures)
        _payout_lines_vs_sales(day, provider, findings)
        _payouts_vs_books(day, provider, findings, figures)
        _loose_ends(day, provider, findings)
    return _report_save(day=day, findings=findings)


@transaction.atomic
def _report_save(*, day: datetime.date, findings: _Findings) -> ReconciliationReport:
    report, _created = ReconciliationReport.objects.update_or_create(
        day=day,
        defaults={
            "mismatches": findings.mismatches,
            "mismatch_count": len(findings.mismatches),
            "figures": findings.figures,
        },
    )
    return report


def _receivable_by_sale(provider: str, kind: str, *, day: datetime.date | None, sale_ids) -> dict[str, int]:
    """{sale id: debit − credit} on the provider's receivable from the sales' entries of `kind`."""
    lines = JournalLine.objects.filter(
        account__code=PAYMENT_ACCOUNTS[provider],
        entry__kind=kind,
        entry__source_type=ContentType.objects.get_for_model(Sale),
        entry__source_id__in=[str(pk) for pk in sale_ids],
    )
    if day is not None:
        lines = lines.filter(date=day)
    totals = lines.values("entry__source_id").annotate(debit=Sum("debit"), credit=Sum("credit"))
    return {row["entry__source_id"]: row["debit"] - row["credit"] for row in totals}


def _sales_vs_books(day, provider: str, findings: _Findings, figures: dict) -> None:
    start, end = _day_range(day)
    sales = dict(
        Sale.objects.filter(payment__method=provider, created_at__gte=start, created_at__lt=end).values_list(
            "pk", "payment__amount_yen"
        )
    )
    booked = _receivable_by_sale(provider, EntryKind.SALE, day=None, sale_ids=sales)
    for sale_id, amount in sorted(sales.items()):
        if booked.get(str(sale_id)) != amount:
            findings.flag(
                "sales_vs_books",
                provider,
                f"sale:{sale_id}",
                _("販売#{sale}（{yen}円）の売上仕訳が売掛金と合いません（仕訳：{booked}円）。").format(
                    sale=sale_id, yen=amount, booked=booked.get(str(sale_id), 0)
                ),
            )
    owed = defaultdict(int)
    refunds = PaymentRefund.objects.filter(payment__method=provider, created_at__gte=start, created_at__lt=end)
    for sale_id, amount in refunds.values_list("payment__sale_id", "amount_yen"):
        owed[sale_id] += amount
    # A late payment's refund was never a sale: nothing of it is in the books (no sale entry to reverse).
    booked_sales = _booked_sales(provider, owed)
    owed = {sale_id: amount for sale_id, amount in owed.items() if str(sale_id) in booked_sales}
    credited = _receivable_by_sale(provider, EntryKind.REFUND, day=day, sale_ids=owed)
    for sale_id, amount in sorted(owed.items()):
        if -credited.get(str(sale_id), 0) != amount:
            findings.flag(
                "sales_vs_books",
                provider,
                f"sale:{sale_id}",
                _("販売#{sale}の返金{yen}円が仕訳と合いません（仕訳：{booked}円）。").format(
                    sale=sale_id, yen=amount, booked=-credited.get(str(sale_id), 0)
                ),
            )
    figures.update(sales_yen=sum(sales.values()), refunds_yen=sum(owed.values()), sales=len(sales))


def _booked_sales(provider: str, sale_ids) -> set[str]:
    return set(_receivable_by_sale(provider, EntryKind.SALE, day=None, sale_ids=sale_ids))


def _provider_vs_sales(day, provider: str, findings: _Findings, figures: dict) -> None:
    """Ask the provider about every payment the shop took that day."""
    start, end = _day_range(day)
    paid = Checkout.objects.select_related("sale__payment").filter(
        provider=provider, paid_at__gte=start, paid_at__lt=end, provider_payment_id__isnull=False
    )
    confirmed = 0
    for checkout in paid.order_by("pk"):
        problem = _provider_disagrees(checkout)
        if problem:
            findings.flag("provider_vs_sales", provider, checkout.provider_payment_id, problem)
        else:
            confirmed += 1
    figures["provider_confirmed"] = confirmed


def _provider_disagrees(checkout: Checkout) -> str:
    payment = checkout.sale.payment
    try:
        answer = checkout_provider(checkout.provider).lookup(
            merchant_payment_id=checkout.merchant_payment_id, session_id=checkout.provider_session_id
        )
    except (OSError, ProviderRefused) as error:
        return _("決済事業者に確認できませんでした（{error}）。").format(error=error)
    if answer.payment_id and answer.payment_id != checkout.provider_payment_id:
        return _("決済事業者の支払ID（{theirs}）が記録と違います。").format(theirs=answer.payment_id)
    if answer.state == ProviderPayment.PAID and answer.amount_yen != payment.amount_yen:
        return _("決済事業者の金額{theirs}円が販売の{ours}円と違います。").format(
            theirs=answer.amount_yen, ours=payment.amount_yen
        )
    refunded_there = answer.state == ProviderPayment.ENDED and payment.refunded_yen == payment.amount_yen
    if answer.state != ProviderPayment.PAID and not refunded_there:
        return _("決済事業者はこの支払いを確認していません。")
    return ""


def _payout_lines_vs_sales(day, provider: str, findings: _Findings) -> None:
    lines = ProviderTransaction.objects.filter(payout__provider=provider, payout__paid_on=day).order_by("pk")
    payments = {
        checkout.provider_payment_id: checkout.sale.payment
        for checkout in Checkout.objects.select_related("sale__payment").filter(
            provider=provider, provider_payment_id__in={line.payment_reference for line in lines}
        )
    }
    refunded_there = _provider_refunds(provider, payments)
    for line in lines:
        payment = payments.get(line.payment_reference)
        if line.kind == ProviderTransaction.Kind.OTHER:
            message = _("入金明細に販売と関係のない取引（{yen}円）があります。").format(yen=line.amount_yen)
        elif payment is None:
            message = _("入金明細の取引（{yen}円）に対応する販売がありません。").format(yen=line.amount_yen)
        elif line.kind == ProviderTransaction.Kind.PAYMENT and line.amount_yen != payment.amount_yen:
            message = _("入金明細の金額{theirs}円が販売の{ours}円と違います。").format(
                theirs=line.amount_yen, ours=payment.amount_yen
            )
        elif (
            line.kind == ProviderTransaction.Kind.REFUND
            and refunded_there[line.payment_reference] > payment.refunded_yen
        ):
            message = _("決済事業者の返金{theirs}円が記録の{ours}円を超えています。").format(
                theirs=refunded_there[line.payment_reference], ours=payment.refunded_yen
            )
        else:
            continue
        findings.flag("provider_vs_sales", provider, line.reference, message)


def _provider_refunds(provider: str, payments: dict[str, Payment]) -> dict[str, int]:
    """Refunds each payment has had in every payout so far, as the provider reports them."""
    totals = (
        ProviderTransaction.objects.filter(
            payout__provider=provider, kind=ProviderTransaction.Kind.REFUND, payment_reference__in=payments
        )
        .values("payment_reference")
        .annotate(total=Sum("amount_yen"))
    )
    refunded = defaultdict(int)
    for row in totals:
        refunded[row["payment_reference"]] = -row["total"]
    return refunded


def _payouts_vs_books(day, provider: str, findings: _Findings, figures: dict) -> None:
    payouts = list(ProviderPayout.objects.filter(provider=provider, paid_on=day))
    content_type = ContentType.objects.get_for_model(ProviderPayout)
    for payout in payouts:
        lines = JournalLine.objects.filter(entry__source_type=content_type, entry__source_id=str(payout.pk))
        sides = {row["account__code"]: row["debit"] - row["credit"] for row in _sums_by_account(lines)}
        expected = {
            chart.BANK: payout.net_yen,
            chart.PAYMENT_FEES: payout.fee_yen,
            PAYMENT_ACCOUNTS[provider]: -(payout.gross_yen - payout.refunds_yen),
        }
        if {code: sides.get(code, 0) for code in expected} != expected or set(sides) - set(expected):
            findings.flag(
                "payouts_vs_books",
                provider,
                payout.payout_id,
                _("入金{payout}（{yen}円）の仕訳が入金の内訳と合いません。").format(
                    payout=payout.payout_id, yen=payout.net_yen
                ),
            )
    figures.update(payouts_net_yen=sum(p.net_yen for p in payouts), fees_yen=sum(p.fee_yen for p in payouts))


def _sums_by_account(lines):
    return lines.values("account__code").annotate(debit=Sum("debit"), credit=Sum("credit"))


def _loose_ends(day, provider: str, findings: _Findings) -> None:
    now = timezone.now()
    _start, end = _day_range(day)
    unfinished = Checkout.objects.filter(
        provider=provider,
        state=Checkout.State.PAID,
        dispense_started_at__lt=min(end, now - DISPENSE_UNFINISHED_AFTER),
    )
    for checkout in unfinished.order_by("pk"):
        findings.flag(
            "loose_ends",
            provider,
            f"sale:{checkout.sale_id}",
            _("払い出しを始めたまま終わっていません。自販機で商品が出たか確かめて、返金するか決めてください。"),
        )
    unsent = PaymentRefund.objects.filter(
        payment__method=provider, sent_at__isnull=True, created_at__lt=min(end, now - REFUND_UNSENT_AFTER)
    )
    for refund in unsent.order_by("pk"):
        findings.flag(
            "loose_ends",
            provider,
            refund.idempotency_key,
            _("返金{yen}円が決済事業者に送られていません。").format(yen=refund.amount_yen),
        )
