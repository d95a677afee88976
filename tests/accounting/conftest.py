import datetime

import pytest
from rest_framework.test import APIClient

from apps.accounting.postings import (
    PaidFrom,
    PaymentMethod,
    SoldItem,
    StockItem,
    post_ai_usage,
    post_capital_contribution,
    post_card_settlement,
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


FISCAL_2025_END = datetime.date(2026, 3, 31)


@pytest.fixture
def fiscal_2025_books(db):
    """A whole fiscal year (2025-04-01 to 2026-03-31, the default March year-end), hand-computed in
    tests/accounting/test_year_end_closing.py. Every amount is in the books' own postings:

    売上高 6,000 (TEA 1,000, PEN 2,000 + 3,000), 売上値引 200, 売上原価 3,500, AI利用料 800, 棚卸減耗損 100,
    決済手数料 99: net income 1,301. On 3/31: 現金 3,060; 普通預金 497,741; 商品 1,400; 仮払消費税 460;
    未払金 800; 仮受消費税 560; 資本金 500,000.
    """
    post_capital_contribution(date=datetime.date(2025, 4, 1), amount=500_000)
    post_purchase_receipt(
        date=datetime.date(2025, 4, 10),
        items=[StockItem("TEA", "緑茶", 2000), StockItem("PEN", "ボールペン", 3000)],
        tax_by_rate={8: 160, 10: 300},
    )
    post_sale(
        date=datetime.date(2025, 7, 1),
        items=[
            SoldItem("TEA", "緑茶", 8, gross=1080, cost=1000),
            SoldItem("PEN", "ボールペン", 10, gross=2200, discount=220, cost=1500),
        ],
        payment_method=PaymentMethod.CASH,
    )
    post_supplier_payment(date=datetime.date(2025, 9, 30), amount=5460, paid_from=PaidFrom.BANK)
    post_ai_usage(date=datetime.date(2025, 12, 15), cost_yen=800)
    post_stock_adjustment(
        date=datetime.date(2026, 2, 10), product_ref="TEA", product_label="緑茶", cost_delta=-100, waste=False
    )
    # The year's last day has entries too: they belong to the year being closed.
    post_sale(
        date=FISCAL_2025_END,
        items=[SoldItem("PEN", "ボールペン", 10, gross=3300, cost=1000)],
        payment_method=PaymentMethod.CARD,
    )
    post_card_settlement(date=FISCAL_2025_END, gross=3300, fee=99)


@pytest.fixture
def second_manager(db):
    """Another Manager, who approves what `manager_user` drafts."""
    from django.contrib.auth.models import Group

    from apps.core.roles import MANAGER
    from tests.factories import UserFactory

    user = UserFactory(username="second-manager", is_staff=True)
    user.groups.add(Group.objects.get(name=MANAGER))
    return user


def api_client(user) -> APIClient:
    """An API client signed in as `user`."""
    client = APIClient()
    client.force_authenticate(user)
    return client
