"""Partial refunds (jammed items, the rest of a partly refunded sale), receipt rounding and processor payments."""

import pytest
from django.core.management import call_command
from django.db.models import Sum

from apps.accounting import chart
from apps.accounting.models import Account, JournalLine, Ledger
from apps.accounting.postings import (
    PaymentMethod,
    RefundedItem,
    SoldItem,
    StockItem,
    post_capital_contribution,
    post_partial_refund,
    post_purchase_receipt,
    post_refund,
    post_sale,
)
from apps.core.errors import Conflict, ValidationError
from tests.accounting.conftest import april


def _lines(entry):
    return sorted(
        (line.account.code, line.debit, line.credit, line.product_ref, line.tax_rate)
        for line in entry.lines.select_related("account")
    )


def _net(code, **filters):
    totals = JournalLine.objects.filter(account__code=code, **filters).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or 0) - (totals["c"] or 0)


TEAS = SoldItem("TEA", "緑茶", 8, gross=390, discount=39, cost=120)  # three teas at ¥130, 10 % coupon
PEN = SoldItem("PEN", "ボールペン", 10, gross=1100, discount=110, cost=500)


@pytest.fixture
def card_sale(db):
    return post_sale(date=april(3), items=[TEAS, PEN], payment_method=PaymentMethod.CARD)


pytestmark = pytest.mark.django_db


def refund_one_tea(sale_entry):
    """The first refund of the card sale: one of its three teas (¥130 less its ¥13 share of the coupon)."""
    return post_partial_refund(
        date=april(3),
        sale_entry=sale_entry,
        sold_before=[TEAS, PEN],
        items=[RefundedItem("TEA", "緑茶", 8, gross=130, discount=13)],
    )


def test_one_jammed_tea_is_refunded_with_its_tax_discount_and_cost(card_sale):
    # Before: TEA paid 351, tax ⌊351×8/108⌋ = 26. After one tea (¥130 less ¥13): paid 234, tax 17.
    refund = post_partial_refund(
        date=april(3),
        sale_entry=card_sale,
        sold_before=[TEAS, PEN],
        items=[RefundedItem("TEA", "緑茶", 8, gross=130, discount=13, cost=40, restocked=True)],
    )

    assert refund.refund_of == card_sale
    # Sales net 362 → 242 (−120), discount net 37 → 25 (−12), tax 26 → 17 (−9): 120 − 12 + 9 = 117 paid back.
    assert _lines(refund) == sorted(
        [
            (chart.SALES, 120, 0, "TEA", 8),
            (chart.SALES_DISCOUNTS, 0, 12, "TEA", 8),
            (chart.TAX_RECEIVED, 9, 0, "", 8),
            (chart.CARD_RECEIVABLE, 0, 117, "", None),
            (chart.INVENTORY, 40, 0, "TEA", None),
            (chart.COST_OF_GOODS_SOLD, 0, 40, "TEA", None),
        ]
    )


def test_a_sale_refunded_in_parts_ends_at_zero_per_product_and_rate(card_sale):
    refund_one_tea(card_sale)
    rest = [SoldItem("TEA", "緑茶", 8, gross=260, discount=26), PEN]
    post_partial_refund(
        date=april(4),
        sale_entry=card_sale,
        sold_before=rest,
        items=[
            RefundedItem(item.product_ref, item.product_label, item.tax_rate, item.gross, item.discount)
            for item in rest
        ],
    )

    for code in (chart.SALES, chart.SALES_DISCOUNTS):
        for product in ("TEA", "PEN"):
            assert _net(code, product_ref=product) == 0
    for rate in (8, 10):
        assert _net(chart.TAX_RECEIVED, tax_rate=rate) == 0
    assert _net(chart.CARD_RECEIVABLE) == 0
    assert _net(chart.COST_OF_GOODS_SOLD) == 620  # nothing came back into stock


def test_refunding_more_than_is_left_is_refused(card_sale):
    with pytest.raises(ValidationError) as refused:
        post_partial_refund(
            date=april(3),
            sale_entry=card_sale,
            sold_before=[TEAS, PEN],
            items=[RefundedItem("TEA", "緑茶", 8, gross=520, discount=0)],
        )
    assert refused.value.code == "refund_exceeds_sale"


def test_a_before_state_the_books_do_not_hold_is_refused(card_sale):
    refund_one_tea(card_sale)
    with pytest.raises(Conflict) as refused:  # the first refund already took a tea out of what is left
        post_partial_refund(
            date=april(4),
            sale_entry=card_sale,
            sold_before=[TEAS, PEN],
            items=[RefundedItem("PEN", "ボールペン", 10, gross=1100, discount=110)],
        )
    assert refused.value.code == "refund_does_not_match_sale"


def test_full_and_partial_refunds_do_not_mix(card_sale, db):
    post_partial_refund(
        date=april(3),
        sale_entry=card_sale,
        sold_before=[TEAS, PEN],
        items=[RefundedItem("PEN", "ボールペン", 10, 1100, 110)],
    )
    with pytest.raises(Conflict) as refused:
        post_refund(date=april(4), sale_entry=card_sale, restocked=False)
    assert refused.value.code == "partially_refunded"

    other = post_sale(date=april(3), items=[PEN], payment_method=PaymentMethod.CASH)
    post_refund(date=april(4), sale_entry=other, restocked=True)
    with pytest.raises(Conflict) as refused:
        post_partial_refund(
            date=april(4), sale_entry=other, sold_before=[PEN], items=[RefundedItem("PEN", "ボールペン", 10, 1100, 110)]
        )
    assert refused.value.code == "already_refunded"


def test_only_a_sale_can_be_partly_refunded():
    capital = post_capital_contribution(date=april(1), amount=1000)
    with pytest.raises(ValidationError):
        post_partial_refund(
            date=april(3), sale_entry=capital, sold_before=[PEN], items=[RefundedItem("PEN", "ボールペン", 10, 1100)]
        )


def test_receipt_rounding_goes_to_cost_of_goods_sold_and_payable_is_the_invoice():
    entry = post_purchase_receipt(
        date=april(2), items=[StockItem("TEA", "緑茶", cost=301, rounding=1)], tax_by_rate={8: 24}
    )
    assert _lines(entry) == sorted(
        [
            (chart.INVENTORY, 300, 0, "TEA", None),
            (chart.COST_OF_GOODS_SOLD, 1, 0, "TEA", None),
            (chart.TAX_PAID, 24, 0, "", 8),
            (chart.ACCOUNTS_PAYABLE, 0, 325, "", None),
        ]
    )


def test_line_pay_and_qr_payments_wait_in_the_receivable():
    for method in (PaymentMethod.LINE_PAY, PaymentMethod.QR):
        post_sale(date=april(3), items=[SoldItem("P", "水", 8, gross=108)], payment_method=method)
    assert _net(chart.CARD_RECEIVABLE) == 216


@pytest.mark.django_db(transaction=True)
def test_books_can_post_again_after_a_flush():
    # Transactional tests empty every table between tests; the chart and the ledger row come back with post_migrate.
    call_command("flush", interactive=False, verbosity=0)

    assert Account.objects.filter(code=chart.PAYMENT_FEES).exists() and Ledger.objects.filter(pk=1).exists()
    post_capital_contribution(date=april(1), amount=1000)
