"""キャッシュ・フロー計算書 by the indirect method: the period's profit, adjusted by the change of every other
balance-sheet account, reconciles exactly to the change of cash and bank (現金 + 普通預金).

Every entry balances, so the change of cash equals minus the change of all other accounts: profit is minus the change
of revenue and expense accounts, and each balance-sheet account's change is one adjusting row. Year-end closing
entries are left out (they only move profit into 繰越利益剰余金 and would count it twice).
"""

import datetime

from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounting import chart
from apps.accounting.models import Account, AccountType, JournalLine
from apps.accounting.selectors import Report, _check_range, _without_closing_entries

CASH_ACCOUNTS = (chart.CASH, chart.BANK)
SECTION_LABELS = {
    "operating": gettext_lazy("営業活動によるキャッシュ・フロー"),
    "financing": gettext_lazy("財務活動によるキャッシュ・フロー"),
}


def cash_balance(*, as_of: datetime.date) -> int:
    """現金 + 普通預金 at the end of `as_of`."""
    sums = JournalLine.objects.filter(account__code__in=CASH_ACCOUNTS, date__lte=as_of).aggregate(
        debit=Sum("debit"), credit=Sum("credit")
    )
    return (sums["debit"] or 0) - (sums["credit"] or 0)


def _section(account: Account) -> str:
    # The chart has no fixed assets or loans: assets and liabilities are working capital (operating); capital and
    # retained earnings moved by entries other than profit (a dividend, a capital payment) are financing.
    return "financing" if account.account_type == AccountType.EQUITY else "operating"


def _row(section: str, label: str, account_code: str, amount: int) -> dict:
    return {
        "section": section,
        "section_label": str(SECTION_LABELS[section]),
        "label": label,
        "account_code": account_code,
        "amount": amount,
    }


def _changes(date_from: datetime.date, date_to: datetime.date) -> dict[int, int]:
    lines = _without_closing_entries(JournalLine.objects.filter(date__range=(date_from, date_to)))
    return {
        row["account_id"]: row["change"]
        for row in lines.values("account_id").annotate(change=Sum("debit") - Sum("credit")).order_by()
    }


def cash_flow_statement(*, date_from: datetime.date, date_to: datetime.date) -> Report:
    """Operating (profit, then each working-capital account's change: an asset growing uses cash, a liability
    growing keeps it), investing (none in this chart) and financing flows; their sum is the change of 現金 +
    普通預金 from the day before `date_from` to `date_to` (totals `opening_cash`, `net_change`, `closing_cash`)."""
    _check_range(date_from, date_to)
    changes = _changes(date_from, date_to)
    accounts = list(Account.objects.filter(allows_posting=True))
    profit = -sum(
        changes.get(account.id, 0)
        for account in accounts
        if account.account_type in (AccountType.REVENUE, AccountType.EXPENSE)
    )
    rows = [_row("operating", _("当期純利益"), "", profit)]
    for account in accounts:
        balance_sheet = account.account_type not in (AccountType.REVENUE, AccountType.EXPENSE)
        change = changes.get(account.id, 0)
        if balance_sheet and account.code not in CASH_ACCOUNTS and change:
            label = _("%(account)s の増減") % {"account": account.name}
            rows.append(_row(_section(account), label, account.code, -change))
    sections = {key: sum(row["amount"] for row in rows if row["section"] == key) for key in ("operating", "financing")}
    opening = cash_balance(as_of=date_from - datetime.timedelta(days=1))
    net_change = sections["operating"] + sections["financing"]
    return Report(
        title=_("キャッシュ・フロー計算書（間接法）"),
        columns=[
            ("section_label", _("区分")),
            ("label", _("項目")),
            ("account_code", _("科目コード")),
            ("amount", _("金額")),
        ],
        rows=rows,
        totals={
            "operating": sections["operating"],
            "investing": 0,
            "financing": sections["financing"],
            "net_change": net_change,
            "amount": net_change,
            "opening_cash": opening,
            "closing_cash": opening + net_change,
        },
        parameters={"date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
    )
