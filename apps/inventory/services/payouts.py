"""Provider payouts into the bank account (docs/payments.md, Books): Stripe's `payout.paid` webhook and PayPay's
settlement file imported by staff. Each is recorded once (by the provider's payout id) with its transactions, and
booked: 普通預金 (net) and 決済手数料 (fee) / the provider's 売掛金 (payments − refunds in it)."""

import csv
import datetime
import io
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.accounting.postings import post_card_settlement
from apps.core.errors import ValidationError
from apps.core.services import audit_record
from apps.inventory.integrations.providers import Payout, PayoutLine, checkout_provider
from apps.inventory.models import Checkout, ProviderPayout, ProviderTransaction
from apps.inventory.services.attempts import require_no_transaction
from apps.inventory.services.stock import require_perm

MAX_SETTLEMENT_FILE_BYTES = 5 * 1024 * 1024
# PayPay for Business's transaction file (取引履歴 / 入金の対象取引): the columns read, by their header.
PAYPAY_COLUMNS = {"number": ("決済番号", "取引番号"), "status": ("取引ステータス",), "at": ("取引日時",)}
PAYPAY_AMOUNT = "取引金額"  # negative for a refund
PAYPAY_MERCHANT_PAYMENT_ID = "加盟店決済ID"


def stripe_payout_record(*, payout_id: str) -> ProviderPayout:
    """Stripe says `payout_id` was paid: ask Stripe what it holds (outside any transaction), then record and book it,
    once. Raises ProviderUnavailable (an OSError) when Stripe cannot be reached: Stripe sends the webhook again."""
    require_no_transaction()
    known = ProviderPayout.objects.filter(provider=Checkout.Provider.STRIPE, payout_id=payout_id).first()
    if known is not None:
        return known
    payout = checkout_provider(Checkout.Provider.STRIPE).payout(payout_id)
    return payout_record(provider=Checkout.Provider.STRIPE, payout=payout, fee_yen=None, actor=None)


def paypay_settlement_import(
    *, content: bytes, payout_id: str, paid_on: datetime.date, net_yen: int, fee_yen: int, actor
) -> ProviderPayout:
    """Staff import a PayPay deposit: the file of its transactions (PayPay for Business, 入金 → 対象取引, CSV in
    UTF-8 or Shift_JIS) with the deposit's date, amount and fee from its breakdown (入金額の内訳). Refused with a
    message when the file cannot be read or its transactions less the fee are not the amount deposited."""
    require_perm(actor, "inventory.add_providerpayout", _("入金を取り込む権限がありません。"))
    if len(content) > MAX_SETTLEMENT_FILE_BYTES:
        raise ValidationError(_("ファイルが大きすぎます（5MBまで）。"), details={"field": "file"})
    lines = paypay_settlement_lines(content)
    payout = Payout(
        payout_id=(payout_id or "").strip() or f"PAYPAY-{paid_on:%Y%m%d}",
        paid_on=paid_on.isoformat(),
        net_yen=net_yen,
        lines=tuple(lines),
    )
    return payout_record(provider=Checkout.Provider.PAYPAY, payout=payout, fee_yen=fee_yen, actor=actor)


def paypay_settlement_lines(content: bytes) -> list[PayoutLine]:
    """The transactions of a PayPay file; failed ones (取引失敗) were never paid and are left out."""
    rows = list(csv.DictReader(io.StringIO(_decoded(content))))
    if not rows:
        raise ValidationError(_("取引が1件もありません。"), details={"field": "file"})
    columns = {name: next((c for c in choices if c in rows[0]), None) for name, choices in PAYPAY_COLUMNS.items()}
    missing = [choices[0] for name, choices in PAYPAY_COLUMNS.items() if columns[name] is None]
    missing += [c for c in (PAYPAY_AMOUNT, PAYPAY_MERCHANT_PAYMENT_ID) if c not in rows[0]]
    if missing:
        raise ValidationError(
            _("PayPayの取引ファイルではありません（列がありません：{columns}）。").format(columns="、".join(missing)),
            details={"field": "file"},
        )
    return [
        _paypay_line(row, columns, number)
        for number, row in enumerate(rows, start=2)
        if "失敗" not in row[columns["status"]]
    ]


def _decoded(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(
        _("ファイルの文字コードを読めません（UTF-8かShift_JISにしてください）。"), details={"field": "file"}
    )


def _paypay_line(row: dict, columns: dict, line_number: int) -> PayoutLine:
    try:
        amount = int((row[PAYPAY_AMOUNT] or "").replace(",", "").replace("円", "").strip())
    except ValueError:
        raise ValidationError(
            _("{line}行目の取引金額が数字ではありません。").format(line=line_number), details={"field": "file"}
        ) from None
    number = (row[columns["number"]] or "").strip()
    return PayoutLine(
        kind="payment" if amount > 0 else "refund",
        reference=f"{number}:{line_number}" if amount < 0 else number,
        payment_reference=number,
        amount_yen=amount,
        fee_yen=0,
        merchant_payment_id=(row[PAYPAY_MERCHANT_PAYMENT_ID] or "").strip(),
    )


@dataclass(frozen=True)
class _Totals:
    gross: int
    refunds: int
    fee: int


def _totals(payout: Payout, fee_yen: int | None) -> _Totals:
    gross = sum(line.amount_yen for line in payout.lines if line.amount_yen > 0)
    refunds = -sum(line.amount_yen for line in payout.lines if line.amount_yen < 0)
    fee = sum(line.fee_yen for line in payout.lines) if fee_yen is None else fee_yen
    if fee < 0 or gross - refunds - fee != payout.net_yen:
        raise ValidationError(
            _("入金額が明細と合いません（売上{gross}円−返金{refunds}円−手数料{fee}円≠入金額{net}円）。").format(
                gross=f"{gross:,}", refunds=f"{refunds:,}", fee=f"{fee:,}", net=f"{payout.net_yen:,}"
            ),
            code="payout_mismatch",
        )
    return _Totals(gross=gross, refunds=refunds, fee=fee)


def payout_record(*, provider: str, payout: Payout, fee_yen: int | None, actor) -> ProviderPayout:
    """Record and book one payout, once per provider payout id (a second delivery returns the first record)."""
    totals = _totals(payout, fee_yen)
    try:
        return _payout_record(provider=provider, payout=payout, totals=totals, actor=actor)
    except IntegrityError:  # the same payout recorded meanwhile (two webhook deliveries at once)
        return ProviderPayout.objects.get(provider=provider, payout_id=payout.payout_id)


@transaction.atomic
def _payout_record(*, provider: str, payout: Payout, totals: _Totals, actor) -> ProviderPayout:
    known = ProviderPayout.objects.filter(provider=provider, payout_id=payout.payout_id).first()
    if known is not None:
        return known
    record = ProviderPayout.objects.create(
        provider=provider,
        payout_id=payout.payout_id,
        paid_on=datetime.date.fromisoformat(payout.paid_on),
        gross_yen=totals.gross,
        refunds_yen=totals.refunds,
        fee_yen=totals.fee,
        net_yen=payout.net_yen,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    ProviderTransaction.objects.bulk_create(
        ProviderTransaction(
            payout=record,
            kind=line.kind,
            reference=line.reference[:255],
            payment_reference=line.payment_reference[:255],
            merchant_payment_id=line.merchant_payment_id[:64],
            amount_yen=line.amount_yen,
            fee_yen=line.fee_yen,
            occurred_at=_when(line.occurred_at),
        )
        for line in payout.lines
    )
    post_card_settlement(
        date=record.paid_on,
        gross=totals.gross - totals.refunds,
        fee=totals.fee,
        payment_method=provider,
        memo=_("{provider}からの入金 {payout}").format(provider=record.get_provider_display(), payout=record.payout_id),
        source=record,
        created_by=actor,
    )
    audit_record(
        target=record,
        action="payout.recorded",
        actor=actor,
        actor_label="" if actor else f"provider:{provider}",
        data={"net_yen": record.net_yen, "fee_yen": record.fee_yen, "transactions": len(payout.lines)},
    )
    return record


def _when(epoch: int | None):
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC) if epoch else None
