import datetime

import pytest

from apps.accounting.postings import (
    PaidFrom,
    PaymentMethod,
    SoldItem,
    StockItem,
    post_ai_usage,
    post_capital_contribution,
    post_machine_fee,
    post_purchase_receipt,
    post_refund,
    post_sale,
    post_stock_adjustment,
    post_supplier_payment,
)

APRIL = datetime.date(2026, 4, 1)


def april(day: int) -> datetime.date:
    return APRIL.replace(day=day)


@pytest.fixture
def april_books(db):
    """A small month of a shop, hand-computed in tests/accounting/test_selectors.py.

    TEA is 8% (food), PEN 10%. Expected balances on 4/30: 現金 1,586; 普通預金 996,720; 商品 1,600; 仮払消費税 380;
    未払金 1,600; 仮受消費税 136; 資本金 1,000,000; 売上高 1,500; 売上値引 50; 売上原価 1,300; 機械手数料 1,000;
    AI利用料 500; 商品廃棄損 100.
    """
    post_capital_contribution(date=april(1), amount=1_000_000)
    post_purchase_receipt(
        date=april(2),
        items=[StockItem("TEA", "緑茶", 1000), StockItem("PEN", "ボールペン", 2000)],
        tax_by_rate={8: 80, 10: 200},
    )
    post_sale(
        date=april(3),
        items=[
            SoldItem("TEA", "緑茶", 8, gross=540, discount=54, cost=300),
            SoldItem("PEN", "ボールペン", 10, gross=1100, cost=1000),
        ],
        payment_method=PaymentMethod.CASH,
    )
    card_sale = post_sale(
        date=april(4), items=[SoldItem("TEA", "緑茶", 8, gross=180, cost=100)], payment_method=PaymentMethod.CARD
    )
    post_supplier_payment(date=april(5), amount=3280, paid_from=PaidFrom.BANK)
    post_stock_adjustment(date=april(6), product_ref="TEA", product_label="緑茶", cost_delta=-100, waste=True)
    post_ai_usage(date=april(6), cost_yen=500)
    post_machine_fee(date=april(7), amount_yen=1100, machine_label="渋谷1号機")
    post_refund(date=april(8), sale_entry=card_sale, restocked=True)
