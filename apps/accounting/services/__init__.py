"""Writes to the books: the one posting function, reversals, period close and year-end closing.

Shop events do not call `journal_entry_post` directly; they call the event functions in `apps.accounting.postings`.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounting import chart, fiscal_year
from apps.accounting.models import (
    ENTRY_NUMBER_SEQUENCE,
    Account,
    AccountType,
    EntryKind,
    JournalEntry,
    JournalLine,
    Ledger,
    PeriodClose,
)
from apps.accounting.signals import period_closing
from apps.core.errors import Conflict, ValidationError
from apps.core.money import TaxRate, is_whole_yen
from apps.core.services import audit_record
from apps.core.sql import Statement, batch, columns, from_row, insert, joins_transaction, next_id_sql


@dataclass(frozen=True)
class LineSpec:
    """One line to post: an account code and exactly one positive side (debit or credit), in yen."""

    account: str
    debit: int = 0
    credit: int = 0
    product_ref: str = ""
    product_label: str = ""
    tax_rate: int | None = None


def signed_line(account: str, amount: int, **tags) -> list[LineSpec]:
    """A debit for a positive amount, a credit for a negative one, nothing for zero."""
    if amount > 0:
        return [LineSpec(account=account, debit=amount, **tags)]
    if amount < 0:
        return [LineSpec(account=account, credit=-amount, **tags)]
    return []


def _validate_line(index: int, line: LineSpec, accounts: dict[str, Account]) -> None:
    details = {"line": index, "account": line.account}
    if not is_whole_yen(line.debit) or not is_whole_yen(line.credit):
        raise ValidationError(_("金額は円単位の整数で入力してください。"), code="not_integer_yen", details=details)
    if line.debit < 0 or line.credit < 0:
        raise ValidationError(_("金額にマイナスは使えません。"), code="negative_amount", details=details)
    if line.debit and line.credit:
        raise ValidationError(
            _("1行に借方と貸方の両方は記入できません。行を分けてください。"), code="both_sides", details=details
        )
    if not line.debit and not line.credit:
        raise ValidationError(_("金額が0円の行は記帳できません。"), code="zero_amount", details=details)
    account = accounts.get(line.account)
    if account is None:
        raise ValidationError(_("勘定科目 %(code)s は存在しません。") % {"code": line.account}, details=details)
    if not account.allows_posting:
        raise ValidationError(
            _("%(account)s は集計用の科目です。補助科目に記帳してください。") % {"account": account},
            code="summary_account",
            details=details,
        )
    if line.tax_rate is not None and line.tax_rate not in TaxRate.values:
        raise ValidationError(_("税率は8%か10%です。"), code="invalid_tax_rate", details=details)


def validate_lines(lines: Sequence[LineSpec], accounts: dict[str, Account]) -> None:
    if len(lines) < 2:
        raise ValidationError(_("仕訳には2行以上の明細が必要です。"), code="too_few_lines")
    for index, line in enumerate(lines):
        _validate_line(index, line, accounts)
    total_debit = sum(line.debit for line in lines)
    total_credit = sum(line.credit for line in lines)
    if total_debit != total_credit:
        raise ValidationError(
            _("借方合計（%(debit)s円）と貸方合計（%(credit)s円）が一致しません。")
            % {"debit": total_debit, "credit": total_credit},
            code="unbalanced",
            details={"debit": total_debit, "credit": total_credit},
        )


@joins_transaction
def journal_entry_post(
    *,
    date: datetime.date,
    memo: str,
    lines: Sequence[LineSpec],
    kind: str = EntryKind.MANUAL,
    source: models.Model | None = None,
    created_by=None,
    reversal_of: JournalEntry | None = None,
    refund_of: JournalEntry | None = None,
) -> JournalEntry:
    """Post one balanced entry; the only code that writes journal rows.

    Refuses (ValidationError 400) fewer than two lines, a line with both sides, a zero or negative or non-integer
    amount, an unknown or summary account, an unbalanced entry; refuses (Conflict 409) a date on or before the lock
    date and a second reversal of the same entry. Numbers come from a sequence and may have gaps (`_entry_number_take`).
    The year-end closing entry alone may be dated in a locked period (see `fiscal_year_close`).

    Every sale posts through here, so it takes two round trips on PostgreSQL: the accounts with the ledger's state
    (lock date, next number and entry id), then the entry with its lines (hand-written SQL, `apps.core.sql`). Every
    refusal comes before those writes, so it joins the caller's transaction without a savepoint.
    """
    if not isinstance(date, datetime.date) or isinstance(date, datetime.datetime):
        raise ValidationError(_("日付を指定してください。"), code="invalid_date")
    memo = (memo or "").strip()
    if not memo:
        raise ValidationError(_("摘要を入力してください。"), code="memo_required")
    accounts, (closed_through, number, entry_id) = _posting_reads(lines)
    validate_lines(lines, accounts)
    entry = JournalEntry(
        pk=entry_id,
        number=_entry_number_take(
            date=date, kind=kind, reversal_of=reversal_of, closed_through=closed_through, number=number
        ),
        date=date,
        memo=memo[:300],
        kind=kind,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        reversal_of=reversal_of,
        refund_of=refund_of,
    )
    if source is not None:
        entry.source_type = ContentType.objects.get_for_model(source, for_concrete_model=False)
        entry.source_id = str(source.pk)
    journal_lines = [
        JournalLine(
            entry=entry,
            account=accounts[line.account],
            date=date,
            debit=line.debit,
            credit=line.credit,
            product_ref=line.product_ref,
            product_label=line.product_label,
            tax_rate=line.tax_rate,
        )
        for line in lines
    ]
    batch([insert([entry]), insert(journal_lines)])
    return entry


def _posting_reads(lines: Sequence[LineSpec]) -> tuple[dict[str, Account], tuple]:
    """{code: account} of the lines' accounts, and the ledger's state (`_ledger_state_for_posting`), in one batch."""
    codes = sorted({line.account for line in lines}) or [""]  # no lines: refused by `validate_lines` after
    account_rows, ledger_rows = batch(
        [
            (
                f"SELECT {columns(Account)} FROM accounting_account WHERE code IN ({', '.join(['%s'] * len(codes))})",  # noqa: S608
                codes,
            ),
            _ledger_state_for_posting(),
        ]
    )
    return {account.code: account for account in (from_row(Account, row) for row in account_rows)}, ledger_rows[0]


def _entry_number_take(
    *, date: datetime.date, kind: str, reversal_of: JournalEntry | None, closed_through, number: int | None
) -> int:
    """The entry's number (`number`, taken with the ledger's state), once the period lock and a second reversal are
    ruled out.

    The lock date is read under a shared lock of the ledger row (PostgreSQL `FOR KEY SHARE`): postings do not wait
    on each other, but `period_close` and `fiscal_year_close` (which lock the row `FOR UPDATE`) wait for the postings
    in flight and those wait for them, so no entry can slip into a period being closed. The number comes from a
    sequence (`ENTRY_NUMBER_SEQUENCE`): numbers grow in the order entries are posted and are never reused, but a
    posting whose transaction rolls back leaves a gap (a refused sale, a crash). SQLite has no sequences, and lets
    one writer at a time anyway: there the number is the highest so far plus one, read inside the write."""
    # The closing entry only moves the closed year's own balances, so it is allowed after the year's last month
    # has been locked (like the closing period after March in Japanese ledgers).
    locked = kind != EntryKind.YEAR_END_CLOSING and closed_through and date <= closed_through
    if locked:
        raise Conflict(
            _("%(closed)s までの期間は締め済みです。%(date)s の仕訳は締め日より後の日付で記帳してください。")
            % {"closed": closed_through, "date": date},
            code="period_closed",
            details={"closed_through": closed_through.isoformat(), "date": date.isoformat()},
        )
    if reversal_of is not None and JournalEntry.objects.filter(reversal_of=reversal_of).exists():
        raise Conflict(
            _("仕訳 #%(number)s はすでに取り消されています。") % {"number": reversal_of.number}, code="already_reversed"
        )
    if number is None:
        number = (JournalEntry.objects.aggregate(last=models.Max("number"))["last"] or 0) + 1
    return number


def _ledger_state_for_posting() -> Statement:
    """The lock date, the next entry number (PostgreSQL: from its sequence; SQLite: None) and the next entry id, with
    the ledger row share-locked for the caller's transaction on PostgreSQL (a refused posting leaves its number
    unused)."""
    if connection.vendor != "postgresql":
        return f"SELECT closed_through, NULL, {next_id_sql(JournalEntry)} FROM accounting_ledger WHERE id = 1", []  # noqa: S608
    return (
        f"SELECT closed_through, nextval(%s), {next_id_sql(JournalEntry)} FROM accounting_ledger WHERE id = 1"  # noqa: S608
        " FOR KEY SHARE",
        [ENTRY_NUMBER_SEQUENCE],
    )


def reversing_lines(entry: JournalEntry, *, exclude_accounts: frozenset[str] = frozenset()) -> list[LineSpec]:
    """The entry's lines with debit and credit swapped, leaving out lines on `exclude_accounts`."""
    return [
        LineSpec(
            account=line.account.code,
            debit=line.credit,
            credit=line.debit,
            product_ref=line.product_ref,
            product_label=line.product_label,
            tax_rate=line.tax_rate,
        )
        for line in entry.lines.select_related("account").order_by("id")
        if line.account.code not in exclude_accounts
    ]


@transaction.atomic
def journal_entry_reverse(
    *, entry: JournalEntry, date: datetime.date, actor=None, reason: str = "", source: models.Model | None = None
) -> JournalEntry:
    """Correct a posted entry by posting its exact opposite on `date` (which must be in an open period).

    A year-end closing entry cannot be reversed (409): its year is locked and its reversal would put the year's
    profit into another year's accounts."""
    if entry.kind == EntryKind.YEAR_END_CLOSING:
        raise Conflict(_("決算振替仕訳は取り消せません。"), code="closing_not_reversible")
    reversal = journal_entry_post(
        date=date,
        memo=_("取消: #%(number)s %(memo)s") % {"number": entry.number, "memo": entry.memo},
        lines=reversing_lines(entry),
        kind=EntryKind.REVERSAL,
        source=source,
        created_by=actor,
        reversal_of=entry,
    )
    audit_record(
        target=entry, action="journal_entry.reverse", actor=actor, reason=reason, data={"reversal": reversal.number}
    )
    return reversal


@transaction.atomic
def period_close(*, through_date: datetime.date, actor, checklist: Sequence[dict] = ()) -> Ledger:
    """Lock the books through `through_date`: no entry can be posted on or before it afterwards. Only moves forward
    here; `period_reopen` (apps.accounting.services.closing) undoes the latest close. `checklist` is the month-close
    checklist as it stood, kept with the close."""
    if through_date >= timezone.localdate():
        raise ValidationError(_("締め日は今日より前の日付にしてください。"), code="close_date_not_past")
    ledger = Ledger.objects.select_for_update().get(pk=1)
    if ledger.closed_through and through_date <= ledger.closed_through:
        raise Conflict(
            _("すでに %(closed)s まで締め済みです。締め日は後ろにしか動かせません。")
            % {"closed": ledger.closed_through},
            code="already_closed",
        )
    period_closing.send(sender=Ledger, through_date=through_date)
    previous = ledger.closed_through
    ledger.closed_through = through_date
    ledger.save(update_fields=["closed_through"])
    PeriodClose.objects.create(
        through_date=through_date,
        previous_closed_through=previous,
        closed_by=actor if getattr(actor, "is_authenticated", False) else None,
        checklist=list(checklist),
    )
    audit_record(
        target=ledger,
        action="period.close",
        actor=actor,
        from_state=previous.isoformat() if previous else "",
        to_state=through_date.isoformat(),
    )
    return ledger


@dataclass(frozen=True)
class YearEndClosing:
    """A closed fiscal year: its profit (negative for a loss) moved into 繰越利益剰余金 by `entry`, which is None
    when no revenue or expense account had a balance."""

    year_start: datetime.date
    year_end: datetime.date
    net_income: int
    entry: JournalEntry | None


def _closing_lines(year_end: datetime.date) -> list[LineSpec]:
    """Every revenue and expense balance through `year_end` reversed, and their net into 繰越利益剰余金.

    Earlier years are closed already (`fiscal_year_close` checks it), so these are the year's own balances, and
    after the entry every revenue and expense account is at zero."""
    balances = list(
        JournalLine.objects.filter(
            date__lte=year_end, account__account_type__in=[AccountType.REVENUE, AccountType.EXPENSE]
        )
        .values("account__code")
        .annotate(balance=models.Sum(models.F("debit") - models.F("credit")))
        .order_by("account__code")
    )
    lines = [line for row in balances for line in signed_line(row["account__code"], -row["balance"])]
    if lines:
        lines += signed_line(chart.RETAINED_EARNINGS, sum(row["balance"] for row in balances))
    return lines


def _require_closable_year_end(year_end: datetime.date) -> None:
    if not fiscal_year.is_year_end(year_end):
        raise ValidationError(
            _("%(date)s は期末日ではありません。期末日は毎年 %(month_day)s です。")
            % {"date": year_end, "month_day": fiscal_year.year_end_in(year_end.year).strftime("%m-%d")},
            code="not_fiscal_year_end",
        )
    if year_end >= timezone.localdate():
        raise Conflict(
            _("%(date)s に終わる年度はまだ終わっていません。") % {"date": year_end}, code="fiscal_year_not_over"
        )


def _open_year_start(year_end: datetime.date, *, last_closed: datetime.date | None) -> datetime.date:
    """The first day of the year ending `year_end`, refused when that year or an earlier one with entries is not
    the next to close."""
    if last_closed and year_end <= last_closed:
        raise Conflict(
            _("%(closed)s を期末とする年度まで決算振替済みです。") % {"closed": last_closed},
            code="fiscal_year_already_closed",
            details={"fiscal_year_closed_through": last_closed.isoformat()},
        )
    year_start = fiscal_year.year_start(year_end)
    earlier = JournalEntry.objects.filter(date__lt=year_start)
    if last_closed:
        earlier = earlier.filter(date__gt=last_closed)
        # After a change of the year-end setting the year runs from the last closed year-end (変則決算).
        year_start = max(year_start, last_closed + datetime.timedelta(days=1))
    first_open = earlier.order_by("date").values_list("date", flat=True).first()
    if first_open:
        close_first = fiscal_year.year_end_on_or_after(first_open)
        raise Conflict(
            _("%(end)s を期末とする年度に仕訳があり、まだ決算振替されていません。先にその年度を締めてください。")
            % {"end": close_first},
            code="previous_fiscal_year_open",
            details={"close_first": close_first.isoformat()},
        )
    return year_start


@transaction.atomic
def fiscal_year_close(*, year_end: datetime.date, actor) -> YearEndClosing:
    """決算振替: post one entry dated `year_end` moving every revenue and expense balance of the fiscal year into
    繰越利益剰余金 (net profit credited, net loss debited), then lock the books through `year_end`. Audited.

    Refuses a date that is not a fiscal year end (ValidationError 400); a year not over yet, a year already closed
    and a year with an earlier year still open that has entries (Conflict 409). A year with no revenue or expense
    balance is closed without an entry."""
    _require_closable_year_end(year_end)
    # The ledger row first: postings wait until the year is closed and locked, so none can slip in between.
    ledger = Ledger.objects.select_for_update().get(pk=1)
    last_closed = ledger.fiscal_year_closed_through
    year_start = _open_year_start(year_end, last_closed=last_closed)
    lines = _closing_lines(year_end)
    entry = None
    if lines:
        entry = journal_entry_post(
            date=year_end,
            memo=_("決算振替（%(start)s〜%(end)s）") % {"start": year_start, "end": year_end},
            lines=lines,
            kind=EntryKind.YEAR_END_CLOSING,
            created_by=actor,
        )
    net_income = sum(line.credit - line.debit for line in lines if line.account == chart.RETAINED_EARNINGS)
    ledger.fiscal_year_closed_through = year_end
    ledger.save(update_fields=["fiscal_year_closed_through"])
    if not ledger.closed_through or ledger.closed_through < year_end:
        period_close(through_date=year_end, actor=actor)
    audit_record(
        target=ledger,
        action="fiscal_year.close",
        actor=actor,
        from_state=last_closed.isoformat() if last_closed else "",
        to_state=year_end.isoformat(),
        data={"entry": entry.number if entry else None, "net_income": net_income, "year_start": year_start.isoformat()},
    )
    return YearEndClosing(year_start=year_start, year_end=year_end, net_income=net_income, entry=entry)
