import pytest

from apps.accounting import chart
from apps.accounting.selectors import (
    balance_sheet,
    general_ledger,
    income_statement,
    inventory_turnover,
    product_profitability,
    sales_daily,
    sales_monthly,
    trial_balance,
)
from apps.core.errors import NotFound, ValidationError
from tests.accounting.conftest import april

pytestmark = pytest.mark.django_db


def _by(rows, key):
    return {row[key]: row for row in rows}


def test_trial_balance_has_each_account_balance_and_balances(april_books):
    report = trial_balance(as_of=april(30))
    balances = {code: row["debit_balance"] - row["credit_balance"] for code, row in _by(report.rows, "code").items()}
    assert balances == {
        chart.CASH: 1586,
        chart.BANK: 996_720,
        chart.CARD_RECEIVABLE: 0,
        chart.PAYPAY_RECEIVABLE: 0,
        chart.STRIPE_RECEIVABLE: 0,
        chart.INVENTORY: 1600,
        chart.TAX_PAID: 380,
        chart.TAX_REFUNDABLE: 0,
        chart.ACCOUNTS_PAYABLE: 0,
        chart.ACCRUED_EXPENSES: -1600,
        chart.TAX_RECEIVED: -136,
        chart.TAX_PAYABLE: 0,
        chart.CAPITAL: -1_000_000,
        chart.RETAINED_EARNINGS: 0,
        chart.SALES: -1500,
        chart.SALES_DISCOUNTS: 50,
        chart.COST_OF_GOODS_SOLD: 1300,
        chart.MACHINE_FEES: 1000,
        chart.AI_USAGE: 500,
        chart.INVENTORY_SHRINKAGE: 0,
        chart.INVENTORY_WASTE: 100,
        chart.PAYMENT_FEES: 0,
    }
    assert report.totals["debit_balance"] == report.totals["credit_balance"] == 1_003_236
    assert report.totals["debit_total"] == report.totals["credit_total"]


def test_trial_balance_as_of_an_earlier_date_leaves_later_entries_out(april_books):
    rows = _by(trial_balance(as_of=april(2)).rows, "code")
    assert rows[chart.INVENTORY]["debit_balance"] == 3000
    assert rows[chart.ACCOUNTS_PAYABLE]["credit_balance"] == 3280
    assert rows[chart.SALES]["credit_total"] == 0


def test_income_statement(april_books):
    report = income_statement(date_from=april(1), date_to=april(30))
    assert report.totals == {
        "sales": 1500,
        "sales_discounts": 50,
        "net_sales": 1450,
        "cost_of_goods_sold": 1300,
        "gross_profit": 150,
        "sga": 1600,
        "net_income": -1450,
    }
    assert _by(report.rows, "name")["当期純利益"]["amount"] == -1450


def test_income_statement_of_one_day(april_books):
    report = income_statement(date_from=april(3), date_to=april(3))
    assert report.totals["net_sales"] == 1450
    assert report.totals["gross_profit"] == 150


def test_balance_sheet_balances_with_unclosed_profit(april_books):
    report = balance_sheet(as_of=april(30))
    assert report.totals == {
        "total_assets": 1_000_286,
        "total_liabilities": 1736,
        "total_equity": 998_550,
        "total_liabilities_and_equity": 1_000_286,
    }
    assert _by(report.rows, "name")["当期純利益（未振替）"]["amount"] == -1450


def test_general_ledger_of_inventory_runs_the_balance(april_books):
    report = general_ledger(account_code=chart.INVENTORY, date_from=april(3), date_to=april(30))
    assert report.totals == {"opening_balance": 3000, "debit": 100, "credit": 1500, "closing_balance": 1600}
    assert [(row["date"], row["debit"], row["credit"], row["balance"]) for row in report.rows] == [
        ("2026-04-03", 0, 300, 2700),
        ("2026-04-03", 0, 1000, 1700),
        ("2026-04-04", 0, 100, 1600),
        ("2026-04-06", 0, 100, 1500),
        ("2026-04-08", 100, 0, 1600),
    ]


def test_general_ledger_of_an_unknown_account_is_not_found(april_books):
    with pytest.raises(NotFound):
        general_ledger(account_code="9999", date_from=april(1), date_to=april(30))


def test_product_profitability(april_books):
    report = product_profitability(date_from=april(1), date_to=april(30))
    assert [
        (row["product_ref"], row["product_label"], row["revenue"], row["cost"], row["gross_margin"], row["margin_pct"])
        for row in report.rows
    ] == [("TEA", "緑茶", 450, 300, 150, 33.3), ("PEN", "ボールペン", 1000, 1000, 0, 0.0)]
    assert report.totals == {"revenue": 1450, "cost": 1300, "gross_margin": 150, "margin_pct": 10.3}


def test_inventory_turnover(april_books):
    report = inventory_turnover(date_from=april(3), date_to=april(30))
    rows = _by(report.rows, "product_ref")
    assert rows["TEA"] == {
        "product_ref": "TEA",
        "product_label": "緑茶",
        "opening_inventory": 1000,
        "closing_inventory": 600,
        "average_inventory": 800,
        "cost_of_goods_sold": 300,
        "turnover": 0.38,
        "days_on_hand": 74.7,
    }
    assert (rows["PEN"]["turnover"], rows["PEN"]["days_on_hand"]) == (0.67, 42.0)
    assert report.totals["cost_of_goods_sold"] == 1300
    assert report.totals["average_inventory"] == 2300


def test_daily_sales_per_tax_rate_include_the_refund_day(april_books):
    report = sales_daily(date_from=april(1), date_to=april(30))
    assert [
        (
            row["period"],
            row["tax_rate"],
            row["sales"],
            row["discounts"],
            row["net_sales"],
            row["tax"],
            row["total_including_tax"],
        )
        for row in report.rows
    ] == [
        ("2026-04-03", 8, 500, 50, 450, 36, 486),
        ("2026-04-03", 10, 1000, 0, 1000, 100, 1100),
        ("2026-04-04", 8, 167, 0, 167, 13, 180),
        ("2026-04-08", 8, -167, 0, -167, -13, -180),
    ]
    assert report.totals["total_including_tax"] == 1586


def test_monthly_sales_per_tax_rate(april_books):
    report = sales_monthly(date_from=april(1), date_to=april(30))
    assert [(row["period"][:7], row["tax_rate"], row["net_sales"], row["tax"]) for row in report.rows] == [
        ("2026-04", 8, 450, 36),
        ("2026-04", 10, 1000, 100),
    ]


def test_a_backwards_range_is_refused(april_books):
    with pytest.raises(ValidationError):
        income_statement(date_from=april(30), date_to=april(1))
