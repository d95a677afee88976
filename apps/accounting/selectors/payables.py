"""What the shop owes: every credit to 買掛金 or 未払金 is a payable (a supplier's goods, a machine's fee, a day's AI
usage, a manual entry), open until paid.

A payable is paid by `payables_pay` (linked to it by `PayablePayment`; a purchase order's pay action uses it too) or
by a payment the books hold without a link (a manual entry debiting the account, an order paid before links existed): those are applied to the oldest open
payables first, so the open amounts always add up to the account's balance. A reversed entry and its reversal leave
the list together.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from apps.accounting import chart
from apps.accounting.models import EntryKind, JournalEntry, JournalLine, PayablePayment
from apps.accounting.selectors import Report

PAYABLE_ACCOUNTS = (chart.ACCOUNTS_PAYABLE, chart.ACCRUED_EXPENSES)
AGE_BUCKETS = ((30, "days_0_30"), (60, "days_31_60"), (90, "days_61_90"), (None, "days_over_90"))


@dataclass
class OpenPayable:
    entry: JournalEntry
    account_id: int
    account_code: str
    account_name: str
    amount: int
    open_amount: int


def _net_by_entry(as_of: datetime.date | None) -> list[dict]:
    lines = JournalLine.objects.filter(account__code__in=PAYABLE_ACCOUNTS)
    if as_of is not None:
        lines = lines.filter(date__lte=as_of)
    # An entry that was reversed and its reversal cancel out; neither is a payable nor a payment.
    lines = lines.exclude(Q(entry__reversed_by__isnull=False) | Q(entry__kind=EntryKind.REVERSAL))
    return list(
        lines.values("entry_id", "account_id", "account__code", "account__name")
        .annotate(net=Sum("credit") - Sum("debit"))
        .exclude(net=0)
        .order_by("date", "entry_id")
    )


def open_payables(*, as_of: datetime.date | None = None) -> list[OpenPayable]:
    """Every payable with something left to pay (through `as_of`; all when None), oldest first."""
    rows = _net_by_entry(as_of)
    payments = PayablePayment.objects.all()
    if as_of is not None:
        payments = payments.filter(payment_entry__date__lte=as_of)
    linked = defaultdict(int)
    for row in payments.values("payable_entry_id", "account__code").annotate(paid=Sum("amount_yen")):
        linked[(row["payable_entry_id"], row["account__code"])] += row["paid"]
    linked_payment_entries = set(payments.values_list("payment_entry_id", flat=True))
    unlinked_paid = defaultdict(int)
    items = []
    for row in rows:
        key = (row["entry_id"], row["account__code"])
        if row["net"] > 0:
            items.append((key, row))
        elif row["entry_id"] not in linked_payment_entries:
            unlinked_paid[row["account__code"]] -= row["net"]
    entries = JournalEntry.objects.in_bulk([key[0] for key, _row in items])
    result = []
    for key, row in items:
        open_amount = row["net"] - linked[key]
        applied = min(open_amount, unlinked_paid[row["account__code"]])
        unlinked_paid[row["account__code"]] -= applied
        open_amount -= applied
        if open_amount > 0:
            result.append(
                OpenPayable(entries[key[0]], row["account_id"], key[1], row["account__name"], row["net"], open_amount)
            )
    return result


def _bucket(age_days: int) -> str:
    for limit, key in AGE_BUCKETS:
        if limit is None or age_days <= limit:
            return key
    raise AssertionError("the last bucket has no limit")


def aged_payables(*, as_of: datetime.date) -> Report:
    """買掛金・未払金の年齢表: each open payable through `as_of` with its age in days and bucket (0–30, 31–60, 61–90,
    over 90 days); the totals per account equal the account's balance on `as_of`."""
    rows = []
    for item in open_payables(as_of=as_of):
        age = (as_of - item.entry.date).days
        row = {
            "entry_number": item.entry.number,
            "date": item.entry.date.isoformat(),
            "account_code": item.account_code,
            "account_name": item.account_name,
            "kind": item.entry.get_kind_display(),
            "memo": item.entry.memo,
            "amount": item.amount,
            "open_amount": item.open_amount,
            "age_days": age,
            **{key: 0 for _limit, key in AGE_BUCKETS},
        }
        row[_bucket(age)] = item.open_amount
        rows.append(row)
    totals = {key: sum(row[key] for row in rows) for key in ["open_amount", *(key for _limit, key in AGE_BUCKETS)]}
    for code in PAYABLE_ACCOUNTS:
        totals[f"account_{code}"] = sum(row["open_amount"] for row in rows if row["account_code"] == code)
    return Report(
        title=_("買掛金・未払金の年齢表"),
        columns=[
            ("entry_number", _("仕訳番号")),
            ("date", _("日付")),
            ("account_name", _("勘定科目")),
            ("kind", _("種類")),
            ("memo", _("摘要")),
            ("amount", _("計上額")),
            ("open_amount", _("未払残高")),
            ("age_days", _("経過日数")),
            ("days_0_30", _("30日以内")),
            ("days_31_60", _("31〜60日")),
            ("days_61_90", _("61〜90日")),
            ("days_over_90", _("90日超")),
        ],
        rows=rows,
        totals=totals,
        parameters={"as_of": as_of.isoformat()},
    )
