import datetime

import pytest
from django.urls import reverse

from apps.accounting.selectors.cash_flow import cash_balance, cash_flow_statement
from apps.accounting.services import fiscal_year_close
from tests.accounting.conftest import FISCAL_2025_END, api_client, april

pytestmark = pytest.mark.django_db


def test_april_by_the_indirect_method(april_books):
    # Hand-computed from the april_books fixture: profit −1,450; 商品 +1,600, 仮払消費税 +380 use cash; 未払金
    # +1,600 and 仮受消費税 +136 keep it; 資本金 +1,000,000 is financing. 現金 1,586 + 普通預金 996,720.
    report = cash_flow_statement(date_from=april(1), date_to=april(30))
    amounts = {row["account_code"] or "profit": row["amount"] for row in report.rows}
    assert amounts == {"profit": -1450, "1101": -1600, "1201": -380, "2002": 1600, "2101": 136, "3001": 1_000_000}
    assert report.totals["operating"] == -1694
    assert report.totals["financing"] == 1_000_000
    assert report.totals["opening_cash"] == 0
    assert report.totals["net_change"] == report.totals["closing_cash"] == 998_306 == cash_balance(as_of=april(30))


def test_a_closed_year_still_shows_its_profit_and_reconciles(fiscal_2025_books, april_books, manager_user):
    fiscal_year_close(year_end=FISCAL_2025_END, actor=manager_user)
    year = cash_flow_statement(date_from=datetime.date(2025, 4, 1), date_to=FISCAL_2025_END)
    assert year.rows[0]["amount"] == 1301
    assert year.totals["closing_cash"] == cash_balance(as_of=FISCAL_2025_END) == 3060 + 497_741
    month = cash_flow_statement(date_from=april(1), date_to=april(30))
    assert month.totals["opening_cash"] == year.totals["closing_cash"]
    assert month.totals["closing_cash"] == cash_balance(as_of=april(30))


def test_cash_flow_api_and_csv(april_books, manager_user, staff_user):
    url = reverse("accounting-cash-flow")
    params = {"date_from": "2026-04-01", "date_to": "2026-04-30"}
    staff = api_client(staff_user)
    assert staff.get(url, params).status_code == 403
    client = api_client(manager_user)
    assert client.get(url, params).json()["totals"]["net_change"] == 998_306
    csv_text = client.get(url, {**params, "format": "csv"}).content.decode("utf-8-sig")
    assert "営業活動によるキャッシュ・フロー" in csv_text and csv_text.strip().endswith("998306")
