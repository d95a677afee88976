"""Each accounting-software file is read back: debits equal credits, and per account (as the software names it) the
movements equal the trial balance."""

import csv
import io
from collections import defaultdict

import pytest
from django.urls import reverse

from apps.accounting.exports import DEFAULT_ACCOUNT_NAMES, journal_csv
from apps.accounting.models import Account
from apps.accounting.selectors import trial_balance
from apps.accounting.services import LineSpec, fiscal_year_close, journal_entry_post
from tests.accounting.conftest import FISCAL_2025_END, api_client, april

pytestmark = pytest.mark.django_db
APRIL = {"date_from": april(1), "date_to": april(30)}
# (encoding, header rows, debit account, debit amount, credit account, credit amount) columns of each layout
LAYOUTS = {
    "yayoi": ("cp932", 0, 4, 8, 10, 14),
    "freee": ("utf-8-sig", 1, 3, 5, 7, 9),
    "moneyforward": ("utf-8-sig", 1, 2, 6, 8, 12),
}


def _read(software, **period):
    encoding, header, debit_account, debit, credit_account, credit = LAYOUTS[software]
    rows = list(csv.reader(io.StringIO(journal_csv(software=software, **period).decode(encoding))))[header:]
    net: dict[str, int] = defaultdict(int)
    for row in rows:
        if row[debit_account]:
            net[row[debit_account]] += int(row[debit])
        if row[credit_account]:
            net[row[credit_account]] -= int(row[credit])
    return rows, net


def _trial_balance_by_name(software, as_of) -> dict[str, int]:
    names = {account.code: account.name for account in Account.objects.all()}
    expected: dict[str, int] = defaultdict(int)
    for row in trial_balance(as_of=as_of).rows:
        name = DEFAULT_ACCOUNT_NAMES[software].get(row["code"]) or names[row["code"]]
        expected[name] += row["debit_balance"] - row["credit_balance"]
    return {name: amount for name, amount in expected.items() if amount}


@pytest.mark.parametrize("software", list(LAYOUTS))
def test_the_file_balances_and_matches_the_trial_balance(april_books, software):
    rows, net = _read(software, **APRIL)
    assert sum(net.values()) == 0
    assert {name: amount for name, amount in net.items() if amount} == _trial_balance_by_name(software, april(30))
    number_column = 0 if software == "moneyforward" else 1
    assert len({row[number_column] for row in rows}) == 9


def test_yayoi_flags_single_and_compound_entries(april_books):
    rows, _net = _read("yayoi", **APRIL)
    capital = rows[0]
    assert capital[0] == "2111" and capital[3] == "2026/04/01" and (capital[4], capital[10]) == ("普通預金", "資本金")
    first_sale = next(row for row in rows if row[16] == "売上")
    sale = [row for row in rows if row[1] == first_sale[1]]
    assert [row[0] for row in sale][0] == "2110" and sale[-1][0] == "2101"
    assert {row[0] for row in sale[1:-1]} == {"2100"}
    assert "課税売上込軽減8%" in {row[13] for row in sale}


def test_account_names_come_from_settings(april_books, settings):
    settings.ACCOUNTING_EXPORT_ACCOUNT_NAMES = {"freee": {"6020": "支払手数料（AI）"}}
    _rows, net = _read("freee", **APRIL)
    assert net["支払手数料（AI）"] == 500


def test_a_closed_year_marks_its_closing_entry(fiscal_2025_books, manager_user):
    fiscal_year_close(year_end=FISCAL_2025_END, actor=manager_user)
    rows, net = _read("yayoi", date_from=FISCAL_2025_END, date_to=FISCAL_2025_END)
    assert any(row[2] == "本決" for row in rows)
    assert sum(net.values()) == 0


def test_a_memo_shift_jis_cannot_hold_still_exports(db):
    journal_entry_post(
        date=april(9),
        memo="𠮷野家で会議",
        lines=[LineSpec(account="1001", debit=1), LineSpec(account="1002", credit=1)],
    )
    rows, _net = _read("yayoi", **APRIL)
    assert rows[0][16] == "?野家で会議"


def test_export_api(april_books, manager_user, staff_user):
    url = reverse("accounting-journal-export", args=["yayoi"])
    params = {"date_from": "2026-04-01", "date_to": "2026-04-30"}
    staff = api_client(staff_user)
    assert staff.get(url, params).status_code == 403
    client = api_client(manager_user)
    response = client.get(url, params)
    assert response.status_code == 200 and "shift_jis" in response["Content-Type"]
    assert response["Content-Disposition"] == 'attachment; filename="journal_yayoi_20260401_20260430.csv"'
    assert "普通預金".encode("cp932") in response.content
    assert client.get(reverse("accounting-journal-export", args=["excel"]), params).status_code == 404
