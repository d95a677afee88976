"""The shop's events as journal entries: the only way shop events reach the books.

Call each from inside the service that records the business event, so both commit or neither does (every function
here is atomic and joins the caller's transaction). All amounts are integer yen; prices are tax-inclusive and the
consumption tax inside them is split per rate with `split_tax_inclusive`, rounded down once per rate per receipt.
Each function returns the posted `JournalEntry`; `source` is the business object (sale, receipt, ...) it belongs to.
"""

import datetime
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import models, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounting import chart
from apps.accounting.models import EntryKind, JournalEntry, JournalLine
from apps.accounting.services import LineSpec, journal_entry_post, reversing_lines, signed_line
from apps.core.errors import Conflict, ValidationError
from apps.core.money import TaxRate, is_whole_yen, split_tax_inclusive


class PaymentMethod(models.TextChoices):
    """How a customer paid: cash lands in 現金; card, IC, LINE Pay and QR codes in 売掛金 until their processor
    settles (the values are the shop's `Payment.Method` values)."""

    CASH = "cash", gettext_lazy("現金")
    CARD = "card", gettext_lazy("クレジットカード")
    IC = "ic", gettext_lazy("交通系IC・電子マネー")
    LINE_PAY = "line_pay", gettext_lazy("LINE Pay")
    QR = "qr", gettext_lazy("QRコード決済")
    PAYPAY = "paypay", gettext_lazy("PayPay")
    STRIPE = "stripe", gettext_lazy("カード（Stripe）")


PAYMENT_ACCOUNTS = {
    PaymentMethod.CASH: chart.CASH,
    PaymentMethod.CARD: chart.CARD_RECEIVABLE,
    PaymentMethod.IC: chart.CARD_RECEIVABLE,
    PaymentMethod.LINE_PAY: chart.CARD_RECEIVABLE,
    PaymentMethod.QR: chart.CARD_RECEIVABLE,
    # Each provider its own receivable, so its payouts settle exactly what it took.
    PaymentMethod.PAYPAY: chart.PAYPAY_RECEIVABLE,
    PaymentMethod.STRIPE: chart.STRIPE_RECEIVABLE,
}


class PaidFrom(models.TextChoices):
    CASH = "cash", gettext_lazy("現金")
    BANK = "bank", gettext_lazy("普通預金")
    PAYABLE = "payable", gettext_lazy("未払金（後払い）")


PAID_FROM_ACCOUNTS = {PaidFrom.CASH: chart.CASH, PaidFrom.BANK: chart.BANK, PaidFrom.PAYABLE: chart.ACCRUED_EXPENSES}


@dataclass(frozen=True)
class SoldItem:
    """One product line of a receipt: tax-inclusive `gross` before coupons, the coupon `discount` on it (also
    tax-inclusive) and the moving-average `cost` of the units sold."""

    product_ref: str
    product_label: str
    tax_rate: int
    gross: int
    discount: int = 0
    cost: int = 0


@dataclass(frozen=True)
class RefundedItem:
    """What is refunded of one product of a sale: tax-inclusive `gross` and `discount` (as in `SoldItem`); with
    `restocked`, the goods are back in stock and `cost` (their value at today's moving-average cost) leaves
    売上原価 for 商品 again."""

    product_ref: str
    product_label: str
    tax_rate: int
    gross: int
    discount: int = 0
    cost: int = 0
    restocked: bool = False


@dataclass(frozen=True)
class StockItem:
    """Goods received: their invoice `cost` net of consumption tax. `rounding` is the part of it the shop's integer
    moving-average cost does not carry (positive or negative, a few yen); it goes to 売上原価 instead of 商品, so
    商品 always equals the shop's stock at its moving-average cost."""

    product_ref: str
    product_label: str
    cost: int
    rounding: int = 0


def _require_yen(name: str, value, *, allow_zero: bool = True) -> None:
    if not is_whole_yen(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValidationError(
            _("%(name)s は0以上の円単位の整数で指定してください。") % {"name": name}, code="invalid_amount"
        )


def _require_rate(rate) -> None:
    if rate not in TaxRate.values:
        raise ValidationError(_("税率は8%か10%です。"), code="invalid_tax_rate", details={"tax_rate": rate})


def _require_payment_method(payment_method: str) -> None:
    if payment_method not in PAYMENT_ACCOUNTS:
        raise ValidationError(_("支払方法が正しくありません。"), code="invalid_payment_method")


def _revenue_lines(items: Sequence[SoldItem | RefundedItem]) -> tuple[dict[int, int], list[LineSpec]]:
    """What was paid per rate, and its 売上高 / 売上値引 / 仮受消費税 lines. Per rate, tax = floor on what was paid;
    each item's net sales gets the rounding remainder of its rate on the largest item, so 売上高 − 売上値引 +
    仮受消費税 equals the payment to the yen."""
    by_rate: dict[int, list[SoldItem | RefundedItem]] = defaultdict(list)
    for item in items:
        _require_rate(item.tax_rate)
        for name in ("gross", "discount", "cost"):
            _require_yen(name, getattr(item, name))
        if item.discount > item.gross:
            raise ValidationError(_("値引額が販売価格を超えています。"), code="discount_exceeds_price")
        by_rate[item.tax_rate].append(item)

    paid_by_rate: dict[int, int] = {}
    revenue: list[LineSpec] = []
    for rate, rate_items in sorted(by_rate.items()):
        paid = sum(item.gross - item.discount for item in rate_items)
        paid_by_rate[rate] = paid
        tax = split_tax_inclusive(paid, rate)[1]
        discount_nets = [split_tax_inclusive(item.discount, rate)[0] for item in rate_items]
        sales_nets = [split_tax_inclusive(item.gross, rate)[0] for item in rate_items]
        largest = max(range(len(rate_items)), key=lambda i: rate_items[i].gross)
        sales_nets[largest] += paid - tax + sum(discount_nets) - sum(sales_nets)
        for item, sales_net, discount_net in zip(rate_items, sales_nets, discount_nets, strict=True):
            tags = {"product_ref": item.product_ref, "product_label": item.product_label, "tax_rate": rate}
            revenue += signed_line(chart.SALES, -sales_net, **tags)
            revenue += signed_line(chart.SALES_DISCOUNTS, discount_net, **tags)
        revenue += signed_line(chart.TAX_RECEIVED, -tax, tax_rate=rate)
    return paid_by_rate, revenue


def sale_lines(*, items: Sequence[SoldItem], payment_method: str) -> list[LineSpec]:
    """Receipt → lines: the payment, revenue and tax (`_revenue_lines`) and the cost of goods sold per item."""
    if not items:
        raise ValidationError(_("売上明細がありません。"), code="empty_sale")
    _require_payment_method(payment_method)
    paid_by_rate, revenue = _revenue_lines(items)
    cost = []
    for item in items:
        tags = {"product_ref": item.product_ref, "product_label": item.product_label}
        cost += signed_line(chart.COST_OF_GOODS_SOLD, item.cost, **tags)
        cost += signed_line(chart.INVENTORY, -item.cost, **tags)
    return signed_line(PAYMENT_ACCOUNTS[payment_method], sum(paid_by_rate.values())) + revenue + cost


def post_sale(
    *,
    date: datetime.date,
    items: Sequence[SoldItem],
    payment_method: str,
    source: models.Model | None = None,
    memo: str = "",
    created_by=None,
) -> JournalEntry:
    """Sale: 現金 or 売掛金 (card/IC) for the amount paid / 売上高 net of tax per item / 仮受消費税 per rate;
    売上値引 for coupon discounts; 売上原価 / 商品 at the moving-average cost given per item."""
    return journal_entry_post(
        date=date,
        memo=memo or _("売上"),
        lines=sale_lines(items=items, payment_method=payment_method),
        kind=EntryKind.SALE,
        source=source,
        created_by=created_by,
    )


@transaction.atomic
def post_refund(
    *,
    date: datetime.date,
    sale_entry: JournalEntry,
    restocked: bool,
    source: models.Model | None = None,
    memo: str = "",
    created_by=None,
) -> JournalEntry:
    """Full refund of a sale: reverses its payment, sales, discount and tax lines. With `restocked`, the goods are
    back in stock and the cost lines are reversed too; otherwise their cost stays in 売上原価.

    Refuses an entry that is not a sale (400) and a second refund of the same sale (409)."""
    _require_sale_entry(sale_entry)
    if sale_entry.partial_refunds.exists():
        raise Conflict(
            _("売上仕訳 #%(number)s は一部返金済みです。残りは一部返金（post_partial_refund）で返金してください。")
            % {"number": sale_entry.number},
            code="partially_refunded",
        )
    kept = frozenset() if restocked else frozenset({chart.COST_OF_GOODS_SOLD, chart.INVENTORY})
    return journal_entry_post(
        date=date,
        memo=memo or _("返金: 売上仕訳 #%(number)s") % {"number": sale_entry.number},
        lines=reversing_lines(sale_entry, exclude_accounts=kept),
        kind=EntryKind.REFUND,
        source=source,
        created_by=created_by,
        reversal_of=sale_entry,
    )


def _require_sale_entry(sale_entry: JournalEntry) -> None:
    if sale_entry.kind != EntryKind.SALE:
        raise ValidationError(_("返金できるのは売上の仕訳だけです。"), code="not_a_sale")


def _net_by_line(lines: Sequence[LineSpec]) -> dict[tuple, int]:
    """Debit minus credit per account, product and rate."""
    net: dict[tuple, int] = defaultdict(int)
    for line in lines:
        net[(line.account, line.product_ref, line.product_label, line.tax_rate)] += line.debit - line.credit
    return net


def _remaining_after(sold_before: Sequence[SoldItem], items: Sequence[RefundedItem]) -> list[SoldItem]:
    left = {(item.product_ref, item.tax_rate): item for item in sold_before}
    for item in items:
        held = left.get((item.product_ref, item.tax_rate))
        if held is None or item.gross > held.gross or item.discount > held.discount:
            raise ValidationError(
                _("%(product)s の返金額が残っている売上を超えています。") % {"product": item.product_label},
                code="refund_exceeds_sale",
                details={"product_ref": item.product_ref},
            )
        left[(item.product_ref, item.tax_rate)] = SoldItem(
            held.product_ref, held.product_label, held.tax_rate, held.gross - item.gross, held.discount - item.discount
        )
    return [item for item in left.values() if item.gross]


def _paid_left_by_rate(sale_entry: JournalEntry) -> dict[int, int]:
    """What the books still hold as paid for a sale, per rate: its sales − discounts + tax, less partial refunds."""
    entries = [sale_entry.pk, *sale_entry.partial_refunds.values_list("pk", flat=True)]
    rows = (
        JournalLine.objects.filter(
            entry_id__in=entries, account__code__in=(chart.SALES, chart.SALES_DISCOUNTS, chart.TAX_RECEIVED)
        )
        .values("tax_rate")
        .annotate(paid=Sum("credit") - Sum("debit"))
        .order_by()
    )
    return {row["tax_rate"]: row["paid"] for row in rows if row["paid"]}


def _revenue_difference_lines(lines_before: list[LineSpec], lines_after: list[LineSpec]) -> list[LineSpec]:
    """What takes the sale's revenue, discount and tax lines from `lines_before` to `lines_after`."""
    refund_net = _net_by_line(lines_before)
    for key, amount in _net_by_line(lines_after).items():
        refund_net[key] -= amount
    lines: list[LineSpec] = []
    for (account, product_ref, product_label, tax_rate), amount in refund_net.items():
        lines += signed_line(account, -amount, product_ref=product_ref, product_label=product_label, tax_rate=tax_rate)
    return lines


@transaction.atomic
def post_partial_refund(
    *,
    date: datetime.date,
    sale_entry: JournalEntry,
    sold_before: Sequence[SoldItem],
    items: Sequence[RefundedItem],
    source: models.Model | None = None,
    memo: str = "",
    created_by=None,
) -> JournalEntry:
    """Refund part of a sale (jammed items, what is left after an earlier partial refund).

    `sold_before` is what of the sale was not yet refunded (gross and discount per product; the sale's own items
    the first time) and `items` what this refund gives back. The entry is the difference of the sale's revenue lines
    before and after the refund, paid back from the sale's payment account, so a sale refunded in any number of
    parts ends with its sales, discounts and tax at zero per product and rate, to the yen. Restocked items move
    their `cost` from 売上原価 back to 商品.

    Refuses (400) an entry that is not a sale and refunding more than is left of a product; (409) a sale refunded
    in full and a `sold_before` that does not match what the books still hold of the sale per rate."""
    _require_sale_entry(sale_entry)
    if not items:
        raise ValidationError(_("返金する明細がありません。"), code="empty_refund")
    if JournalEntry.objects.filter(reversal_of=sale_entry).exists():
        raise Conflict(
            _("売上仕訳 #%(number)s はすでに全額返金されています。") % {"number": sale_entry.number},
            code="already_refunded",
        )
    paid_before, lines_before = _revenue_lines(sold_before)
    if {rate: paid for rate, paid in paid_before.items() if paid} != _paid_left_by_rate(sale_entry):
        raise Conflict(
            _("返金前の売上内容が売上仕訳 #%(number)s の残高と一致しません。") % {"number": sale_entry.number},
            code="refund_does_not_match_sale",
        )
    paid_after, lines_after = _revenue_lines(_remaining_after(sold_before, items))
    lines = _revenue_difference_lines(lines_before, lines_after)
    payment = sale_entry.lines.filter(account__code__in=set(PAYMENT_ACCOUNTS.values()), debit__gt=0).first()
    refunded = sum(paid_before.values()) - sum(paid_after.values())
    if refunded:
        lines.append(LineSpec(account=payment.account.code, credit=refunded))
    for item in items:
        if item.restocked:
            tags = {"product_ref": item.product_ref, "product_label": item.product_label}
            lines += signed_line(chart.INVENTORY, item.cost, **tags)
            lines += signed_line(chart.COST_OF_GOODS_SOLD, -item.cost, **tags)
    return journal_entry_post(
        date=date,
        memo=memo or _("一部返金: 売上仕訳 #%(number)s") % {"number": sale_entry.number},
        lines=lines,
        kind=EntryKind.REFUND,
        source=source,
        created_by=created_by,
        refund_of=sale_entry,
    )


@transaction.atomic
def post_purchase_receipt(
    *,
    date: datetime.date,
    items: Sequence[StockItem],
    tax_by_rate: Mapping[int, int],
    source: models.Model | None = None,
    memo: str = "",
    created_by=None,
) -> JournalEntry:
    """Goods received from a supplier on credit: 商品 (net cost per product, less its moving-average `rounding`,
    which goes to 売上原価) and 仮払消費税 (per rate, as on the supplier's invoice) / 買掛金 for the invoice total."""
    lines: list[LineSpec] = []
    for item in items:
        _require_yen("cost", item.cost)
        if not is_whole_yen(item.rounding):
            raise ValidationError(_("端数調整額は円単位の整数で指定してください。"), code="invalid_amount")
        tags = {"product_ref": item.product_ref, "product_label": item.product_label}
        lines += signed_line(chart.INVENTORY, item.cost - item.rounding, **tags)
        lines += signed_line(chart.COST_OF_GOODS_SOLD, item.rounding, **tags)
    for rate, tax in sorted(tax_by_rate.items()):
        _require_rate(rate)
        _require_yen("tax", tax)
        lines += signed_line(chart.TAX_PAID, tax, tax_rate=rate)
    total = sum(item.cost for item in items) + sum(tax_by_rate.values())
    lines += signed_line(chart.ACCOUNTS_PAYABLE, -total)
    return journal_entry_post(
        date=date,
        memo=memo or _("仕入"),
        lines=lines,
        kind=EntryKind.PURCHASE_RECEIPT,
        source=source,
        created_by=created_by,
    )


@transaction.atomic
def post_supplier_payment(
    *,
    date: datetime.date,
    amount: int,
    paid_from: str = PaidFrom.BANK,
    source: models.Model | None = None,
    memo: str = "",
    created_by=None,
) -> JournalEntry:
    """Paying a supplier's invoice: 買掛金 / 現金 or 普通預金."""
    _require_yen("amount", amount, allow_zero=False)
    if paid_from not in (PaidFrom.CASH, PaidFrom.BANK):
        raise ValidationError(_("仕入先への支払は現金か普通預金から行ってください。"), code="invalid_paid_from")
    return journal_entry_post(
        date=date,
        memo=memo or _("仕入先への支払"),
        lines=[
            LineSpec(account=chart.ACCOUNTS_PAYABLE, debit=amount),
            LineSpec(account=PAID_FROM_ACCOUNTS[paid_from], credit=amount),
        ],
        kind=EntryKind.SUPPLIER_PAYMENT,
        source=source,
        created_by=created_by,
    )


@transaction.atomic
def post_stock_adjustment(
    *,
    date: datetime.date,
    product_ref: str,
    product_label: str,
    cost_delta: int,
    waste: bool,
    source: models.Model | None = None,
    memo: str = "",
    created_by=None,
) -> JournalEntry:
    """Stock counted or thrown away, valued at cost. A count difference goes to 棚卸減耗損 (either direction:
    found stock reduces the loss); `waste` (expired or damaged goods) goes to 商品廃棄損 and must be a decrease."""
    if not is_whole_yen(cost_delta) or cost_delta == 0:
        raise ValidationError(_("在庫調整額（原価）を0以外の整数で指定してください。"), code="invalid_amount")
    if waste and cost_delta > 0:
        raise ValidationError(_("廃棄で在庫が増えることはありません。"), code="waste_increase")
    loss_account = chart.INVENTORY_WASTE if waste else chart.INVENTORY_SHRINKAGE
    tags = {"product_ref": product_ref, "product_label": product_label}
    return journal_entry_post(
        date=date,
        memo=memo or (_("商品廃棄") if waste else _("棚卸差異")),
        lines=signed_line(chart.INVENTORY, cost_delta, **tags) + signed_line(loss_account, -cost_delta, **tags),
        kind=EntryKind.STOCK_ADJUSTMENT,
        source=source,
        created_by=created_by,
    )


@transaction.atomic
def post_ai_usage(
    *, date: datetime.date, cost_yen: int, source: models.Model | None = None, memo: str = "", created_by=None
) -> JournalEntry:
    """A day's AI model usage: AI利用料 / 未払金 (billed monthly by the vendor abroad, so no Japanese input tax)."""
    _require_yen("cost_yen", cost_yen, allow_zero=False)
    return journal_entry_post(
        date=date,
        memo=memo or _("AI利用料（%(date)s）") % {"date": date},
        lines=[
            LineSpec(account=chart.AI_USAGE, debit=cost_yen),
            LineSpec(account=chart.ACCRUED_EXPENSES, credit=cost_yen),
        ],
        kind=EntryKind.AI_USAGE,
        source=source,
        created_by=created_by,
    )


@transaction.atomic
def post_machine_fee(
    *,
    date: datetime.date,
    amount_yen: int,
    machine_label: str,
    paid_from: str = PaidFrom.PAYABLE,
    tax_rate: int | None = TaxRate.STANDARD,
    source: models.Model | None = None,
    created_by=None,
) -> JournalEntry:
    """A machine's fee (location rent, connectivity, payment terminal), tax-inclusive: 機械手数料 (net) and
    仮払消費税 / 現金, 普通預金 or 未払金. `tax_rate=None` for a fee without consumption tax."""
    _require_yen("amount_yen", amount_yen, allow_zero=False)
    if paid_from not in PAID_FROM_ACCOUNTS:
        raise ValidationError(_("支払元が正しくありません。"), code="invalid_paid_from")
    if tax_rate is None:
        net, tax = amount_yen, 0
    else:
        _require_rate(tax_rate)
        net, tax = split_tax_inclusive(amount_yen, tax_rate)
    return journal_entry_post(
        date=date,
        memo=_("機械手数料: %(machine)s") % {"machine": machine_label},
        lines=[
            LineSpec(account=chart.MACHINE_FEES, debit=net),
            *signed_line(chart.TAX_PAID, tax, tax_rate=tax_rate),
            LineSpec(account=PAID_FROM_ACCOUNTS[paid_from], credit=amount_yen),
        ],
        kind=EntryKind.MACHINE_FEE,
        source=source,
        created_by=created_by,
    )


@transaction.atomic
def post_card_settlement(
    *,
    date: datetime.date,
    gross: int,
    fee: int,
    payment_method: str = PaymentMethod.CARD,
    memo: str = "",
    source: models.Model | None = None,
    created_by=None,
) -> JournalEntry:
    """A payment processor pays out: 普通預金 (gross − fee) and 決済手数料 (fee, not taxable) / the receivable of
    `payment_method` (gross: what it owed, payments less refunds): 売掛金 for the card/IC terminal, 売掛金（PayPay）
    or 売掛金（Stripe） for a provider's payout."""
    _require_yen("gross", gross, allow_zero=False)
    _require_yen("fee", fee)
    _require_payment_method(payment_method)
    if fee >= gross:
        raise ValidationError(_("決済手数料が入金額以上になっています。"), code="fee_exceeds_settlement")
    return journal_entry_post(
        date=date,
        memo=memo or _("カード・IC売上の入金"),
        lines=[
            LineSpec(account=chart.BANK, debit=gross - fee),
            *signed_line(chart.PAYMENT_FEES, fee),
            LineSpec(account=PAYMENT_ACCOUNTS[payment_method], credit=gross),
        ],
        kind=EntryKind.CARD_SETTLEMENT,
        source=source,
        created_by=created_by,
    )


@transaction.atomic
def post_capital_contribution(
    *, date: datetime.date, amount: int, source: models.Model | None = None, created_by=None
) -> JournalEntry:
    """The owner pays capital into the bank account: 普通預金 / 資本金."""
    _require_yen("amount", amount, allow_zero=False)
    return journal_entry_post(
        date=date,
        memo=_("資本金の払込"),
        lines=[LineSpec(account=chart.BANK, debit=amount), LineSpec(account=chart.CAPITAL, credit=amount)],
        kind=EntryKind.CAPITAL,
        source=source,
        created_by=created_by,
    )
