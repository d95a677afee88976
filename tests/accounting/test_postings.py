import pytest

from apps.accounting import chart
from apps.accounting.models import EntryKind
from apps.accounting.postings import (
    PaidFrom,
    PaymentMethod,
    SoldItem,
    post_ai_usage,
    post_capital_contribution,
    post_card_settlement,
    post_machine_fee,
    post_refund,
    post_sale,
    post_stock_adjustment,
    post_supplier_payment,
)
from apps.core.errors import Conflict, ValidationError
from tests.accounting.conftest import april

pytestmark = pytest.mark.django_db


def _lines(entry):
    return sorted(
        (line.account.code, line.debit, line.credit, line.product_ref, line.tax_rate)
        for line in entry.lines.select_related("account")
    )


def test_tax_is_rounded_down_once_per_rate_per_receipt():
    # Three 8% items of ¥130: per item the tax would be 9 × 3 = 27; on the receipt's ¥390 it is 28.
    items = [SoldItem(f"P{n}", "おにぎり", 8, gross=130) for n in range(3)]
    entry = post_sale(date=april(3), items=items, payment_method=PaymentMethod.CASH)
    lines = _lines(entry)
    assert (chart.TAX_RECEIVED, 0, 28, "", 8) in lines
    assert sum(credit for code, _, credit, _, _ in lines if code == chart.SALES) == 362
    assert (chart.CASH, 390, 0, "", None) in lines


def test_card_and_ic_payments_land_in_the_receivable():
    for method in (PaymentMethod.CARD, PaymentMethod.IC):
        entry = post_sale(date=april(3), items=[SoldItem("P", "水", 8, gross=108)], payment_method=method)
        assert (chart.CARD_RECEIVABLE, 108, 0, "", None) in _lines(entry)


def test_a_fully_discounted_item_posts_sales_and_discount_without_payment():
    entry = post_sale(
        date=april(3),
        items=[SoldItem("P", "水", 8, gross=108, discount=108, cost=40)],
        payment_method=PaymentMethod.CASH,
    )
    assert _lines(entry) == sorted(
        [
            (chart.SALES, 0, 100, "P", 8),
            (chart.SALES_DISCOUNTS, 100, 0, "P", 8),
            (chart.COST_OF_GOODS_SOLD, 40, 0, "P", None),
            (chart.INVENTORY, 0, 40, "P", None),
        ]
    )


@pytest.mark.parametrize(
    "item",
    [
        SoldItem("P", "水", 8, gross=100, discount=101),
        SoldItem("P", "水", 5, gross=100),
        SoldItem("P", "水", 8, gross=-100),
    ],
)
def test_bad_sale_lines_are_refused(item):
    with pytest.raises(ValidationError):
        post_sale(date=april(3), items=[item], payment_method=PaymentMethod.CASH)


def test_unknown_payment_method_is_refused():
    with pytest.raises(ValidationError):
        post_sale(date=april(3), items=[SoldItem("P", "水", 8, gross=108)], payment_method="bitcoin")


def test_refund_without_restock_keeps_the_cost_and_cannot_be_repeated():
    sale = post_sale(
        date=april(3), items=[SoldItem("P", "水", 8, gross=108, cost=40)], payment_method=PaymentMethod.CASH
    )
    refund = post_refund(date=april(4), sale_entry=sale, restocked=False)
    assert refund.kind == EntryKind.REFUND
    assert _lines(refund) == sorted(
        [(chart.CASH, 0, 108, "", None), (chart.SALES, 100, 0, "P", 8), (chart.TAX_RECEIVED, 8, 0, "", 8)]
    )
    with pytest.raises(Conflict):
        post_refund(date=april(4), sale_entry=sale, restocked=False)


def test_only_sales_can_be_refunded():
    capital = post_capital_contribution(date=april(1), amount=1000)
    with pytest.raises(ValidationError):
        post_refund(date=april(4), sale_entry=capital, restocked=True)


def test_stock_adjustments_go_to_shrinkage_or_waste():
    found = post_stock_adjustment(date=april(5), product_ref="P", product_label="水", cost_delta=30, waste=False)
    assert _lines(found) == sorted([(chart.INVENTORY, 30, 0, "P", None), (chart.INVENTORY_SHRINKAGE, 0, 30, "P", None)])
    wasted = post_stock_adjustment(date=april(5), product_ref="P", product_label="水", cost_delta=-20, waste=True)
    assert _lines(wasted) == sorted([(chart.INVENTORY, 0, 20, "P", None), (chart.INVENTORY_WASTE, 20, 0, "P", None)])
    for delta, waste in ((10, True), (0, False)):
        with pytest.raises(ValidationError):
            post_stock_adjustment(date=april(5), product_ref="P", product_label="水", cost_delta=delta, waste=waste)


def test_supplier_payment_from_cash_and_not_from_a_payable():
    entry = post_supplier_payment(date=april(5), amount=500, paid_from=PaidFrom.CASH)
    assert _lines(entry) == sorted([(chart.ACCOUNTS_PAYABLE, 500, 0, "", None), (chart.CASH, 0, 500, "", None)])
    with pytest.raises(ValidationError):
        post_supplier_payment(date=april(5), amount=500, paid_from=PaidFrom.PAYABLE)
    with pytest.raises(ValidationError):
        post_supplier_payment(date=april(5), amount=0)


def test_ai_usage_and_machine_fees_are_expenses():
    assert _lines(post_ai_usage(date=april(6), cost_yen=321)) == sorted(
        [(chart.AI_USAGE, 321, 0, "", None), (chart.ACCRUED_EXPENSES, 0, 321, "", None)]
    )
    fee = post_machine_fee(date=april(6), amount_yen=550, machine_label="1号機", paid_from=PaidFrom.BANK)
    assert _lines(fee) == sorted(
        [(chart.MACHINE_FEES, 500, 0, "", None), (chart.TAX_PAID, 50, 0, "", 10), (chart.BANK, 0, 550, "", None)]
    )
    untaxed = post_machine_fee(date=april(6), amount_yen=550, machine_label="1号機", tax_rate=None)
    assert _lines(untaxed) == sorted(
        [(chart.MACHINE_FEES, 550, 0, "", None), (chart.ACCRUED_EXPENSES, 0, 550, "", None)]
    )


def test_card_settlement_clears_the_receivable_into_the_bank_less_the_fee():
    entry = post_card_settlement(date=april(10), gross=10_000, fee=324)
    assert _lines(entry) == sorted(
        [
            (chart.BANK, 9676, 0, "", None),
            (chart.PAYMENT_FEES, 324, 0, "", None),
            (chart.CARD_RECEIVABLE, 0, 10_000, "", None),
        ]
    )
    with pytest.raises(ValidationError):
        post_card_settlement(date=april(10), gross=100, fee=100)
