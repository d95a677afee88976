"""Year-end closing (決算振替) on the hand-computed fiscal year of `fiscal_2025_books` (tests/accounting/conftest.py)."""

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models import F, Sum
from django.test import override_settings
from django.utils import timezone

from apps.accounting import chart, fiscal_year
from apps.accounting.models import AccountType, EntryKind, JournalEntry, JournalLine, Ledger
from apps.accounting.postings import (
    PaymentMethod,
    SoldItem,
    StockItem,
    post_ai_usage,
    post_capital_contribution,
    post_purchase_receipt,
    post_sale,
)
from apps.accounting.selectors import (
    balance_sheet,
    general_ledger,
    income_statement,
    product_profitability,
    trial_balance,
)
from apps.accounting.services import fiscal_year_close, journal_entry_reverse, period_close
from apps.core.errors import Conflict, ValidationError
from apps.core.models import AuditEntry
from tests.accounting.conftest import FISCAL_2025_END, april

pytestmark = pytest.mark.django_db

FISCAL_2025_START = datetime.date(2025, 4, 1)
FISCAL_2025_INCOME = {
    "sales": 6000,
    "sales_discounts": 200,
    "net_sales": 5800,
    "cost_of_goods_sold": 3500,
    "gross_profit": 2300,
    "sga": 999,
    "net_income": 1301,
}
# Debit − credit of each revenue and expense account of fiscal 2025 before closing.
FISCAL_2025_PROFIT_AND_LOSS = {
    chart.SALES: -6000,
    chart.SALES_DISCOUNTS: 200,
    chart.COST_OF_GOODS_SOLD: 3500,
    chart.MACHINE_FEES: 0,
    chart.AI_USAGE: 800,
    chart.INVENTORY_SHRINKAGE: 100,
    chart.INVENTORY_WASTE: 0,
    chart.PAYMENT_FEES: 99,
}


def _by(rows, key):
    return {row[key]: row for row in rows}


def _balances(as_of, **options) -> dict[str, int]:
    """Debit − credit per account code from the trial balance."""
    rows = trial_balance(as_of=as_of, **options).rows
    return {row["code"]: row["debit_balance"] - row["credit_balance"] for row in rows}


def _close_2025(actor):
    return fiscal_year_close(year_end=FISCAL_2025_END, actor=actor)


def _entry_lines(entry) -> list[tuple[str, int, int]]:
    return sorted((line.account.code, line.debit, line.credit) for line in entry.lines.select_related("account"))


class TestClosingEntry:
    def test_one_entry_on_the_year_end_moves_every_revenue_and_expense_balance_into_retained_earnings(
        self, fiscal_2025_books, manager_user
    ):
        closing = _close_2025(manager_user)

        assert (closing.year_start, closing.year_end, closing.net_income) == (FISCAL_2025_START, FISCAL_2025_END, 1301)
        entry = closing.entry
        assert (entry.kind, entry.date, entry.created_by) == (EntryKind.YEAR_END_CLOSING, FISCAL_2025_END, manager_user)
        assert "2025-04-01" in entry.memo and "2026-03-31" in entry.memo
        assert _entry_lines(entry) == [
            (chart.RETAINED_EARNINGS, 0, 1301),
            (chart.SALES, 6000, 0),
            (chart.SALES_DISCOUNTS, 0, 200),
            (chart.COST_OF_GOODS_SOLD, 0, 3500),
            (chart.AI_USAGE, 0, 800),
            (chart.INVENTORY_SHRINKAGE, 0, 100),
            (chart.PAYMENT_FEES, 0, 99),
        ]
        assert JournalEntry.objects.get(kind=EntryKind.YEAR_END_CLOSING, date=FISCAL_2025_END) == entry
        ledger = Ledger.objects.get()
        assert (ledger.closed_through, ledger.fiscal_year_closed_through) == (FISCAL_2025_END, FISCAL_2025_END)
        audit = AuditEntry.objects.get(action="fiscal_year.close")
        assert (audit.actor, audit.to_state) == (manager_user, "2026-03-31")
        assert (audit.data["entry"], audit.data["net_income"]) == (entry.number, 1301)

    @override_settings(FISCAL_YEAR_END_MONTH_DAY="12-31")
    def test_a_net_loss_is_debited_to_retained_earnings_in_a_calendar_fiscal_year(self, manager_user):
        post_capital_contribution(date=datetime.date(2025, 1, 6), amount=100_000)
        post_purchase_receipt(
            date=datetime.date(2025, 2, 1), items=[StockItem("TEA", "緑茶", 1000)], tax_by_rate={8: 80}
        )
        # Sold below cost: 売上高 500 (540 with 40 tax) against 売上原価 600; then AI利用料 300 on the last day.
        post_sale(
            date=datetime.date(2025, 6, 1),
            items=[SoldItem("TEA", "緑茶", 8, gross=540, cost=600)],
            payment_method=PaymentMethod.CASH,
        )
        year_end = datetime.date(2025, 12, 31)
        post_ai_usage(date=year_end, cost_yen=300)

        closing = fiscal_year_close(year_end=year_end, actor=manager_user)

        assert (closing.year_start, closing.net_income) == (datetime.date(2025, 1, 1), -400)
        assert _entry_lines(closing.entry) == [
            (chart.RETAINED_EARNINGS, 400, 0),
            (chart.SALES, 500, 0),
            (chart.COST_OF_GOODS_SOLD, 0, 600),
            (chart.AI_USAGE, 0, 300),
        ]
        sheet = balance_sheet(as_of=year_end)
        rows = _by(sheet.rows, "name")
        assert (rows["繰越利益剰余金"]["amount"], rows["当期純利益（未振替）"]["amount"]) == (-400, 0)
        assert sheet.totals == {
            "total_assets": 101_020,
            "total_liabilities": 1420,
            "total_equity": 99_600,
            "total_liabilities_and_equity": 101_020,
        }
        assert income_statement(date_from=closing.year_start, date_to=year_end).totals["net_income"] == -400

    def test_a_year_without_revenue_or_expenses_is_closed_without_an_entry(self, manager_user):
        post_capital_contribution(date=datetime.date(2025, 3, 1), amount=10_000)
        closing = fiscal_year_close(year_end=datetime.date(2025, 3, 31), actor=manager_user)
        assert (closing.entry, closing.net_income) == (None, 0)
        assert not JournalEntry.objects.filter(kind=EntryKind.YEAR_END_CLOSING).exists()
        assert Ledger.objects.get().fiscal_year_closed_through == datetime.date(2025, 3, 31)
        assert AuditEntry.objects.get(action="fiscal_year.close").data["entry"] is None

    def test_a_year_already_locked_past_its_end_can_still_be_closed(self, fiscal_2025_books, manager_user):
        # Monthly closes went on into the next year before the year-end closing was made.
        period_close(through_date=april(30), actor=manager_user)
        closing = _close_2025(manager_user)
        assert (closing.entry.date, closing.net_income) == (FISCAL_2025_END, 1301)
        assert Ledger.objects.get().closed_through == april(30)

    def test_after_a_year_end_change_the_next_year_runs_from_the_last_closed_year_end(self, manager_user):
        post_ai_usage(date=datetime.date(2025, 3, 15), cost_yen=100)
        post_ai_usage(date=datetime.date(2025, 6, 1), cost_yen=200)
        assert fiscal_year_close(year_end=datetime.date(2025, 3, 31), actor=manager_user).net_income == -100
        with override_settings(FISCAL_YEAR_END_MONTH_DAY="12-31"):
            short_year = fiscal_year_close(year_end=datetime.date(2025, 12, 31), actor=manager_user)
        assert (short_year.year_start, short_year.net_income) == (datetime.date(2025, 4, 1), -200)

    @override_settings(FISCAL_YEAR_END_MONTH_DAY="02-29")
    def test_a_february_year_end_is_the_last_day_of_february(self):
        assert fiscal_year.year_end_in(2024) == datetime.date(2024, 2, 29)
        assert fiscal_year.year_end_in(2025) == datetime.date(2025, 2, 28)
        assert fiscal_year.year_start(datetime.date(2025, 2, 28)) == datetime.date(2024, 3, 1)


class TestRefusals:
    @pytest.mark.parametrize("day", [datetime.date(2026, 3, 30), datetime.date(2025, 12, 31), april(1)])
    def test_a_day_that_is_not_a_fiscal_year_end_is_refused(self, fiscal_2025_books, manager_user, day):
        with pytest.raises(ValidationError) as refused:
            fiscal_year_close(year_end=day, actor=manager_user)
        assert refused.value.code == "not_fiscal_year_end"
        assert "03-31" in refused.value.message
        assert Ledger.objects.get().fiscal_year_closed_through is None

    def test_a_year_not_over_yet_is_refused(self, manager_user):
        post_ai_usage(date=timezone.localdate(), cost_yen=100)
        current = fiscal_year.year_end_on_or_after(timezone.localdate())
        with pytest.raises(Conflict) as refused:
            fiscal_year_close(year_end=current, actor=manager_user)
        assert refused.value.code == "fiscal_year_not_over"
        assert not JournalEntry.objects.filter(kind=EntryKind.YEAR_END_CLOSING).exists()
        assert Ledger.objects.get().closed_through is None

    def test_a_year_cannot_be_closed_twice_nor_an_earlier_year_afterwards(self, fiscal_2025_books, manager_user):
        _close_2025(manager_user)
        for day in (FISCAL_2025_END, datetime.date(2025, 3, 31)):
            with pytest.raises(Conflict) as refused:
                fiscal_year_close(year_end=day, actor=manager_user)
            assert refused.value.code == "fiscal_year_already_closed"
        assert JournalEntry.objects.filter(kind=EntryKind.YEAR_END_CLOSING).count() == 1
        assert AuditEntry.objects.filter(action="fiscal_year.close").count() == 1

    def test_an_earlier_year_with_entries_must_be_closed_first(self, fiscal_2025_books, manager_user):
        post_capital_contribution(date=datetime.date(2023, 5, 1), amount=1000)
        with pytest.raises(Conflict) as refused:
            _close_2025(manager_user)
        assert refused.value.code == "previous_fiscal_year_open"
        assert refused.value.details == {"close_first": "2024-03-31"}
        assert Ledger.objects.get().closed_through is None

        fiscal_year_close(year_end=datetime.date(2024, 3, 31), actor=manager_user)
        # The year in between (2024-04-01 to 2025-03-31) has no entries, so it need not be closed.
        assert _close_2025(manager_user).net_income == 1301

    def test_the_closing_entry_cannot_be_reversed_and_the_closed_year_takes_no_more_entries(
        self, fiscal_2025_books, manager_user
    ):
        closing = _close_2025(manager_user)
        with pytest.raises(Conflict) as refused:
            journal_entry_reverse(entry=closing.entry, date=timezone.localdate(), actor=manager_user)
        assert refused.value.code == "closing_not_reversible"
        with pytest.raises(Conflict) as refused:
            post_ai_usage(date=FISCAL_2025_END, cost_yen=10)
        assert refused.value.code == "period_closed"


class TestReportsAfterClosing:
    def test_income_statement_of_the_closed_year_still_shows_its_revenue_and_expenses(
        self, fiscal_2025_books, manager_user
    ):
        before = income_statement(date_from=FISCAL_2025_START, date_to=FISCAL_2025_END)
        assert before.totals == FISCAL_2025_INCOME
        _close_2025(manager_user)
        after = income_statement(date_from=FISCAL_2025_START, date_to=FISCAL_2025_END)
        assert after.totals == FISCAL_2025_INCOME
        assert after.rows == before.rows
        # The year-end day alone: its card sale, not the closing.
        assert income_statement(date_from=FISCAL_2025_END, date_to=FISCAL_2025_END).totals["net_sales"] == 3000
        assert product_profitability(date_from=FISCAL_2025_START, date_to=FISCAL_2025_END).totals["revenue"] == 5800

    def test_balance_sheet_of_the_closed_year_has_its_profit_in_retained_earnings(
        self, fiscal_2025_books, manager_user
    ):
        totals = {
            "total_assets": 502_661,
            "total_liabilities": 1360,
            "total_equity": 501_301,
            "total_liabilities_and_equity": 502_661,
        }
        before = balance_sheet(as_of=FISCAL_2025_END)
        rows = _by(before.rows, "name")
        assert (rows["繰越利益剰余金"]["amount"], rows["当期純利益（未振替）"]["amount"]) == (0, 1301)
        assert before.totals == totals

        _close_2025(manager_user)
        after = balance_sheet(as_of=FISCAL_2025_END)
        rows = _by(after.rows, "name")
        assert (rows["繰越利益剰余金"]["amount"], rows["当期純利益（未振替）"]["amount"]) == (1301, 0)
        assert after.totals == totals

    def test_trial_balance_after_closing_and_before_closing(self, fiscal_2025_books, manager_user):
        _close_2025(manager_user)
        after = _balances(FISCAL_2025_END)
        before = _balances(FISCAL_2025_END, before_closing=True)

        assert {code: after[code] for code in FISCAL_2025_PROFIT_AND_LOSS} == dict.fromkeys(
            FISCAL_2025_PROFIT_AND_LOSS, 0
        )
        assert after[chart.RETAINED_EARNINGS] == -1301
        assert {code: before[code] for code in FISCAL_2025_PROFIT_AND_LOSS} == FISCAL_2025_PROFIT_AND_LOSS
        assert before[chart.RETAINED_EARNINGS] == 0
        unchanged = set(after) - set(FISCAL_2025_PROFIT_AND_LOSS) - {chart.RETAINED_EARNINGS}
        assert {code: after[code] for code in unchanged} == {code: before[code] for code in unchanged}
        assert after[chart.BANK] == 497_741
        for report in (
            trial_balance(as_of=FISCAL_2025_END),
            trial_balance(as_of=FISCAL_2025_END, before_closing=True),
        ):
            assert report.totals["debit_balance"] == report.totals["credit_balance"]
        assert trial_balance(as_of=FISCAL_2025_END, before_closing=True).title == "残高試算表（決算振替前）"
        # On a later day the closing is history either way.
        assert _balances(april(1), before_closing=True) == _balances(april(1))

    def test_general_ledger_of_sales_ends_the_year_at_zero_through_the_closing_line(
        self, fiscal_2025_books, manager_user
    ):
        _close_2025(manager_user)
        report = general_ledger(account_code=chart.SALES, date_from=FISCAL_2025_START, date_to=FISCAL_2025_END)
        assert report.totals == {"opening_balance": 0, "debit": 6000, "credit": 6000, "closing_balance": 0}
        assert "決算振替" in report.rows[-1]["memo"]

    def test_the_next_year_reports_its_own_profit_and_carries_the_closed_one(
        self, fiscal_2025_books, april_books, manager_user
    ):
        _close_2025(manager_user)
        assert income_statement(date_from=april(1), date_to=april(30)).totals["net_income"] == -1450
        assert _balances(april(30))[chart.SALES] == -1500
        sheet = balance_sheet(as_of=april(30))
        rows = _by(sheet.rows, "name")
        assert (rows["繰越利益剰余金"]["amount"], rows["当期純利益（未振替）"]["amount"]) == (1301, -1450)
        assert sheet.totals == {
            "total_assets": 1_502_947,
            "total_liabilities": 3096,
            "total_equity": 1_499_851,
            "total_liabilities_and_equity": 1_502_947,
        }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postings_dated_on_the_year_end_are_either_in_the_closing_or_refused(manager_user):
    """Three postings race the closing on their own connections: each lands before it (and is closed) or after it
    (and is refused by the lock), never in between."""
    post_ai_usage(date=datetime.date(2025, 6, 1), cost_yen=100)
    start = threading.Barrier(4)

    def close():
        try:
            start.wait()
            return fiscal_year_close(year_end=FISCAL_2025_END, actor=manager_user).net_income
        finally:
            connection.close()

    def post():
        try:
            start.wait()
            post_ai_usage(date=FISCAL_2025_END, cost_yen=10)
            return 10
        except Conflict as refused:
            assert refused.code == "period_closed"
            return 0
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        closing = pool.submit(close)
        posted = [pool.submit(post) for _ in range(3)]
        net_income, posted = closing.result(), sum(future.result() for future in posted)

    assert net_income == -(100 + posted)
    left = JournalLine.objects.filter(
        date__lte=FISCAL_2025_END, account__account_type__in=[AccountType.REVENUE, AccountType.EXPENSE]
    ).aggregate(balance=Sum(F("debit") - F("credit")))["balance"]
    assert left == 0
