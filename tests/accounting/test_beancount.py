import subprocess
import sys
from collections import defaultdict
from io import StringIO
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from django.core.management import call_command

from apps.accounting.selectors import trial_balance
from apps.accounting.selectors.cash_flow import cash_flow_statement
from apps.accounting.services import LineSpec, fiscal_year_close, journal_entry_post, period_close
from tests.accounting.conftest import FISCAL_2025_END, april
from tests.terminal import TerminalOutput

pytestmark = pytest.mark.django_db

BEAN_CHECK = Path(sys.executable).with_name("bean-check")


def _export(tmp_path, *args, stderr=None) -> Path:
    out = tmp_path / "books.beancount"
    call_command("export_beancount", "--out", str(out), *args, stdout=StringIO(), stderr=stderr or StringIO())
    return out


def test_the_export_counts_its_lines_on_a_terminal_and_is_quiet_elsewhere(april_books, tmp_path):
    quiet, terminal = StringIO(), TerminalOutput()
    _export(tmp_path, stderr=quiet)
    lines = len(_export(tmp_path, stderr=terminal).read_text(encoding="utf-8").splitlines())

    assert quiet.getvalue() == ""
    assert "Beancount lines" in terminal.getvalue() and f"{lines}/?" in terminal.getvalue()


def _beancount_balances(path: Path) -> dict[str, int]:
    entries, errors, _options = loader.load_file(str(path))
    assert errors == []
    balances: dict[str, int] = defaultdict(int)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                assert posting.units.currency == "JPY"
                balances[posting.account] += int(posting.units.number)
    return balances


def _bean_check(path: Path) -> None:
    checked = subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _trial_balances(as_of) -> dict[str, int]:
    return {
        row["beancount_name"]: row["debit_balance"] - row["credit_balance"] for row in trial_balance(as_of=as_of).rows
    }


def test_bean_check_accepts_the_export_and_balances_match_the_trial_balance(april_books, tmp_path):
    # A memo with quotes and a line break must not break the file.
    journal_entry_post(
        date=april(9),
        memo='手入力 "テスト"\n二行目 \\',
        lines=[LineSpec(account="1001", debit=10), LineSpec(account="1002", credit=10)],
    )
    path = _export(tmp_path)
    _bean_check(path)

    balances = _beancount_balances(path)
    expected = _trial_balances(april(30))
    assert {name: balances.get(name, 0) for name in expected} == expected
    assert sum(balances.values()) == 0
    text = path.read_text(encoding="utf-8")
    assert 'name: "現金"' in text
    assert "reversal_of:" in text


def test_export_through_a_date_leaves_later_entries_out(april_books, tmp_path):
    balances = _beancount_balances(_export(tmp_path, "--through", "2026-04-02"))
    assert balances["Assets:Inventory"] == 3000
    assert balances.get("Income:Sales", 0) == 0


def test_a_closed_year_exports_its_closing_entry(fiscal_2025_books, april_books, manager_user, tmp_path):
    closing = fiscal_year_close(year_end=FISCAL_2025_END, actor=manager_user)
    path = _export(tmp_path)
    _bean_check(path)
    text = path.read_text(encoding="utf-8")
    assert f'entry: "{closing.entry.number}"\n  kind: "year_end_closing"' in text

    balances = _beancount_balances(path)
    expected = _trial_balances(april(30))
    assert {name: balances.get(name, 0) for name in expected} == expected
    assert balances["Equity:RetainedEarnings"] == -1301
    # Through the year end, every income and expense account is closed.
    closed_year = _beancount_balances(_export(tmp_path, "--through", "2026-03-31"))
    income_and_expenses = {
        name: amount for name, amount in closed_year.items() if name.startswith(("Income:", "Expenses:"))
    }
    assert "Income:Sales" in income_and_expenses
    assert set(income_and_expenses.values()) == {0}


def test_a_closed_month_passes_bean_check_and_its_cash_change_is_the_cash_flow_statement(
    fiscal_2025_books, april_books, manager_user, tmp_path
):
    fiscal_year_close(year_end=FISCAL_2025_END, actor=manager_user)
    period_close(through_date=april(30), actor=manager_user)
    cash = ("Assets:Cash", "Assets:Bank:Ordinary")
    before = _beancount_balances(_export(tmp_path, "--through", "2026-03-31"))
    month = _export(tmp_path, "--through", "2026-04-30")
    _bean_check(month)
    after = _beancount_balances(month)

    statement = cash_flow_statement(date_from=april(1), date_to=april(30)).totals
    assert sum(after[name] for name in cash) - sum(before[name] for name in cash) == statement["net_change"]
    assert sum(after[name] for name in cash) == statement["closing_cash"]
