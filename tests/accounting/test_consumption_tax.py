"""Consumption tax, hand-computed the way the National Tax Agency's return does it (積上げ計算)."""

import datetime

import pytest
from django.urls import reverse

from apps.accounting.models import EntryKind
from apps.accounting.postings import (
    PaymentMethod,
    SoldItem,
    StockItem,
    post_machine_fee,
    post_purchase_receipt,
    post_sale,
)
from apps.accounting.selectors.consumption_tax import consumption_tax_summary
from apps.accounting.services.consumption_tax import consumption_tax_settle
from apps.core.errors import Conflict, PermissionDenied
from tests.accounting.conftest import api_client, april
from tests.accounting.test_properties import balance

pytestmark = pytest.mark.django_db
MAY = {"date_from": datetime.date(2026, 5, 1), "date_to": datetime.date(2026, 5, 31)}


@pytest.fixture
def may_books(db):
    """Output tax 8 %: 80,000 on ¥1,080,000 of food; 10 %: 50,000 on ¥550,000. Input tax 8 %: 40,000 on goods;
    10 %: 20,000 on goods and 10,000 on a ¥110,000 machine fee."""
    day = datetime.date(2026, 5, 10)
    post_sale(date=day, items=[SoldItem("TEA", "緑茶", 8, gross=1_080_000)], payment_method=PaymentMethod.CASH)
    post_sale(date=day, items=[SoldItem("PEN", "ボールペン", 10, gross=550_000)], payment_method=PaymentMethod.CARD)
    post_purchase_receipt(
        date=day,
        items=[StockItem("TEA", "緑茶", 500_000), StockItem("PEN", "ボールペン", 200_000)],
        tax_by_rate={8: 40_000, 10: 20_000},
    )
    post_machine_fee(date=day, amount_yen=110_000, machine_label="本社1F")


def test_general_method(may_books):
    report = consumption_tax_summary(**MAY)
    reduced, standard = report.rows
    assert (reduced["taxable_sales"], reduced["sales_net"], reduced["output_tax"]) == (1_080_000, 1_000_000, 80_000)
    assert (standard["input_tax_purchases"], standard["input_tax_fees"], standard["input_tax"]) == (
        20_000,
        10_000,
        30_000,
    )
    totals = report.totals
    # National: output 80,000 × 78/100 + 50,000 × 78/100 = 62,400 + 39,000; input 31,200 + 23,400.
    assert (totals["national_output_tax"], totals["national_input_tax"]) == (101_400, 54_600)
    # 差引税額 46,800 (already whole hundreds); local 46,800 × 22/78 = 13,200.
    assert (totals["national_tax_due"], totals["local_tax_due"], totals["tax_due"]) == (46_800, 13_200, 60_000)
    assert totals["books_balance"] == 60_000


def test_simplified_method_uses_the_deemed_purchase_rate(settings, may_books):
    settings.CONSUMPTION_TAX_DEEMED_PURCHASE_RATE = 80
    totals = consumption_tax_summary(**MAY).totals
    # Deemed input 101,400 × 80 % = 81,120; 差引 20,280 → 20,200; local 20,200 × 22/78 = 5,697 → 5,600.
    assert totals["simplified_national_input_tax"] == 81_120
    assert (totals["simplified_national_tax_due"], totals["simplified_local_tax_due"]) == (20_200, 5_600)
    assert totals["simplified_tax_due"] == 25_800
    settings.CONSUMPTION_TAX_DEEMED_PURCHASE_RATE = 70  # 第三種事業, had the shop made what it sells
    assert consumption_tax_summary(**MAY).totals["simplified_national_input_tax"] == 70_980


def test_tax_is_rounded_down_once_per_rate_per_receipt(db):
    # Three ¥100 receipts at 8 %: 7 yen each (100 × 8/108 = 7.4), 21 in all; rounding the total would give 22.
    for _ in range(3):
        post_sale(date=april(1), items=[SoldItem("GUM", "ガム", 8, gross=100)], payment_method=PaymentMethod.CASH)
    reduced = consumption_tax_summary(date_from=april(1), date_to=april(30)).rows[0]
    assert (reduced["taxable_sales"], reduced["output_tax"], reduced["sales_net"]) == (300, 21, 279)


def test_settlement_clears_both_accounts_into_tax_payable(may_books, manager_user, staff_user):
    with pytest.raises(PermissionDenied):
        consumption_tax_settle(through_date=MAY["date_to"], actor=staff_user)
    entry = consumption_tax_settle(through_date=MAY["date_to"], actor=manager_user)

    assert entry.kind == EntryKind.TAX_SETTLEMENT
    assert balance("2101") == 0 and balance("1201") == 0
    assert balance("2102") == -60_000
    # The settlement is not a sale or a purchase: the summary of the period is unchanged.
    assert consumption_tax_summary(**MAY).totals["tax_due"] == 60_000
    with pytest.raises(Conflict) as refused:
        consumption_tax_settle(through_date=MAY["date_to"], actor=manager_user)
    assert refused.value.code == "nothing_to_settle"


def test_more_input_than_output_is_a_refund_due(april_books, manager_user):
    # April: output 136, input 380.
    consumption_tax_settle(through_date=april(30), actor=manager_user)
    assert balance("1202") == 244 and balance("2102") == 0


def test_summary_and_settlement_api(may_books, manager_user):
    client = api_client(manager_user)
    summary = client.get(reverse("accounting-consumption-tax"), {"date_from": "2026-05-01", "date_to": "2026-05-31"})
    assert summary.json()["totals"]["tax_due"] == 60_000
    url = reverse("accounting-consumption-tax-settle")
    assert client.post(url, {"through_date": "2026-05-31"}, format="json").status_code == 201
    assert client.post(url, {"through_date": "2026-05-31"}, format="json").status_code == 409
