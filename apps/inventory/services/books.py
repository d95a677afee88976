"""The shop's events in the books: each function turns one event into its posting, inside the event's transaction.
A sale is the exception: it completes without its entry, which the bookkeeper (`sales_book_pending`, a beat job
every few seconds) posts after; whatever needs a sale's entry (a refund, a period close) books it first.

Valuation rule: once the sales are booked, the books' 商品 equals the shop's stock value, Σ (slot + back-room
quantity) × `unit_cost_yen` (the integer moving-average cost, net of consumption tax), to the yen. Sales, adjustments
and returns move stock at that cost, so they change both by the same amount; a receipt re-averages the cost, and the
few yen by which the invoice differs from the change in stock value (integer rounding of the average) go to 売上原価.
"""

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.accounting.models import EntryKind, JournalEntry
from apps.accounting.postings import (
    RefundedItem,
    SoldItem,
    StockItem,
    post_machine_fee,
    post_partial_refund,
    post_purchase_receipt,
    post_refund,
    post_sale,
    post_stock_adjustment,
)
from apps.accounting.selectors import journal_entries_for_source, ledger_state
from apps.core.errors import ApplicationError
from apps.inventory.models import MachineFee, Payment, Product, Sale, SaleLine, StockMovement

logger = logging.getLogger(__name__)

SALES_BOOKED_PER_RUN = 500


@dataclass(frozen=True)
class _LineState:
    """What of a sale line is not refunded when `refunded_quantity` of it is: tax-inclusive gross and discount."""

    gross: int
    discount: int


def _line_state(line: SaleLine, refunded_quantity: int) -> _LineState:
    # Refunds pay back `total × units // quantity` (see `_sale_refund_undispensed`); the rest stays paid.
    kept_units = line.quantity - refunded_quantity
    paid = line.total_yen - line.total_yen * refunded_quantity // line.quantity
    gross = line.unit_price_yen * kept_units
    return _LineState(gross=gross, discount=gross - paid)


def _per_product(lines: Iterable[SaleLine], amounts) -> dict[tuple[Product, int], list[int]]:
    """Sum `amounts(line)` (three ints) per product and the rate it was sold at: the books' item of a sale."""
    totals: dict[tuple[Product, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in lines:
        for index, amount in enumerate(amounts(line)):
            totals[(line.product, line.tax_rate)][index] += amount
    return totals


def sale_entry(sale: Sale) -> JournalEntry | None:
    """The sale's own journal entry (its refunds are entries of the same source); None for a sale recorded before
    the shop posted into the books."""
    return next((entry for entry in journal_entries_for_source(sale) if entry.kind == EntryKind.SALE), None)


@transaction.atomic
def sales_book_pending(*, limit: int = SALES_BOOKED_PER_RUN) -> int:
    """The bookkeeper: post the journal entry of each completed sale not booked yet, oldest first, at most `limit`;
    returns how many it booked. A sale another transaction holds (a refund booking it itself) is skipped, so two
    bookkeepers never post one sale twice and never wait on each other (on PostgreSQL; SQLite has one writer at a
    time)."""
    sales = list(
        Sale.attempts.select_for_update(skip_locked=True, of=("self",))
        .filter(booked_at__isnull=True, status__in=Sale.SOLD_STATES)
        .select_related("machine")
        .order_by("id")[:limit]
    )
    return _sales_post(sales, skip_refused=True)


def sales_book_all() -> int:
    """Book every sale waiting for its entry, `SALES_BOOKED_PER_RUN` per transaction; returns how many."""
    total = 0
    while True:
        booked = sales_book_pending()
        total += booked
        if booked < SALES_BOOKED_PER_RUN:
            return total


def sale_book_now(sale: Sale) -> None:
    """Post `sale`'s entry at once if the bookkeeper has not yet: a refund, made under the sale's lock, needs it."""
    if sale.booked_at is None:
        _sales_post([sale], skip_refused=False)


def _sales_post(sales: list[Sale], *, skip_refused: bool) -> int:
    """Post each sale's entry and mark the sales booked. With `skip_refused`, a sale the books refuse is logged and
    left waiting (tried again at the next run) instead of holding up the others: the refusal comes before
    `journal_entry_post` writes anything, so the transaction goes on. Returns how many were booked."""
    if not sales:
        return 0
    lines_by_sale = defaultdict(list)
    for line in SaleLine.objects.filter(sale__in=sales).select_related("product").order_by("id"):
        lines_by_sale[line.sale_id].append(line)
    # Read apart from the sale: a refund's caller holds its own locked copy of the payment.
    methods = dict(Payment.objects.filter(sale__in=sales).values_list("sale_id", "method"))
    closed_through = ledger_state().closed_through
    booked = []
    for sale in sales:
        try:
            _sale_post(
                sale=sale, lines=lines_by_sale[sale.pk], payment_method=methods[sale.pk], closed_through=closed_through
            )
        except ApplicationError as refused:
            if not skip_refused:
                raise
            logger.error("Sale #%s could not be booked (%s); it is tried again at the next run", sale.pk, refused.code)
            continue
        booked.append(sale)
    now = timezone.now()
    Sale.attempts.filter(pk__in=[sale.pk for sale in booked]).update(booked_at=now)
    for sale in booked:
        sale.booked_at = now  # a caller that asks again about the same object finds it booked
    return len(booked)


def _sale_post(
    *, sale: Sale, lines: list[SaleLine], payment_method: str, closed_through: datetime.date | None
) -> JournalEntry:
    totals = _per_product(
        lines, lambda line: (line.unit_price_yen * line.quantity, line.discount_yen, line.unit_cost_yen * line.quantity)
    )
    day = timezone.localdate(sale.created_at)
    memo = f"売上 {sale.machine.code} #{sale.pk}"
    if closed_through and day <= closed_through:
        # A period close books what is pending first, but a sale whose payment was still under way then completes
        # after it: it goes on the first open day, with its own day in the memo.
        memo += f"（{day.isoformat()} の販売）"
        day = closed_through + datetime.timedelta(days=1)
    return post_sale(
        date=day,
        items=[
            SoldItem(product.sku, product.name_ja, rate, gross=gross, discount=discount, cost=cost)
            for (product, rate), (gross, discount, cost) in totals.items()
        ],
        payment_method=payment_method,
        source=sale,
        memo=memo,
    )


def sale_refund_book(
    *, sale: Sale, refunded_now: dict[int, int], restocked: bool, unit_costs: dict[int, int], actor=None
) -> JournalEntry | None:
    """Book a refund of `refunded_now` ({sale line id: units}) of `sale`, whose lines still hold the refunded
    quantities from before. Restocked units come back at today's moving-average cost (`unit_costs` per product id,
    read under the product's lock); a sale refunded whole at unchanged cost is a plain reversal of its entry."""
    sale_book_now(sale)
    entry = sale_entry(sale)
    if entry is None:
        return None
    lines = list(sale.lines.select_related("product"))
    untouched = all(line.refunded_quantity == 0 for line in lines)
    whole = all(refunded_now.get(line.pk, 0) == line.quantity for line in lines)
    same_cost = all(unit_costs[line.product_id] == line.unit_cost_yen for line in lines)
    if untouched and whole and (same_cost or not restocked):
        return post_refund(
            date=timezone.localdate(), sale_entry=entry, restocked=restocked, source=sale, created_by=actor
        )

    def before(line):
        state = _line_state(line, line.refunded_quantity)
        return state.gross, state.discount, 0

    def refunded(line):
        units = refunded_now.get(line.pk, 0)
        was, now = _line_state(line, line.refunded_quantity), _line_state(line, line.refunded_quantity + units)
        return was.gross - now.gross, was.discount - now.discount, units * unit_costs[line.product_id]

    sold_before = _per_product(lines, before)
    refund = _per_product([line for line in lines if refunded_now.get(line.pk)], refunded)
    return post_partial_refund(
        date=timezone.localdate(),
        sale_entry=entry,
        sold_before=[
            SoldItem(product.sku, product.name_ja, rate, gross=gross, discount=discount)
            for (product, rate), (gross, discount, _cost) in sold_before.items()
            if gross
        ],
        items=[
            RefundedItem(
                product.sku, product.name_ja, rate, gross=gross, discount=discount, cost=cost, restocked=restocked
            )
            for (product, rate), (gross, discount, cost) in refund.items()
        ],
        source=sale,
        created_by=actor,
    )


def stock_adjustment_book(*, movement: StockMovement, product: Product, actor=None) -> JournalEntry | None:
    """A count difference or waste at the moving-average cost; nothing to book for goods that cost nothing."""
    cost_delta = movement.quantity_delta * product.unit_cost_yen
    if not cost_delta:
        return None
    return post_stock_adjustment(
        date=timezone.localdate(),
        product_ref=product.sku,
        product_label=product.name_ja,
        cost_delta=cost_delta,
        waste=movement.kind == StockMovement.Kind.WASTE,
        source=movement,
        memo=movement.reason,
        created_by=actor,
    )


def receipt_book(
    *,
    movement: StockMovement,
    product: Product,
    invoice_net_yen: int,
    input_tax_yen: int,
    value_change_yen: int,
    actor=None,
) -> JournalEntry | None:
    """Goods received on credit: 商品 by the change in stock value, the rounding to 売上原価, input tax, 買掛金."""
    rounding = invoice_net_yen - value_change_yen
    if not (invoice_net_yen or rounding or input_tax_yen):
        return None
    return post_purchase_receipt(
        date=timezone.localdate(),
        items=[StockItem(product.sku, product.name_ja, cost=invoice_net_yen, rounding=rounding)],
        tax_by_rate={product.tax_rate: input_tax_yen},
        source=movement,
        memo=f"仕入 {product.sku} {product.name_ja} × {movement.quantity_delta}",
        created_by=actor,
    )


def machine_fee_book(*, fee: MachineFee, month: datetime.date, date: datetime.date) -> JournalEntry:
    """One month of a machine's fee: 機械手数料 and its input tax (none for an untaxed fee) / where it is paid from."""
    return post_machine_fee(
        date=date,
        amount_yen=fee.amount_yen,
        machine_label=f"{fee.machine.code} {fee.get_kind_display()} {month.year}年{month.month}月分",
        paid_from=fee.paid_from,
        tax_rate=fee.tax_rate or None,
        source=fee,
    )
