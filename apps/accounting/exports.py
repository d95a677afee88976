"""A period's journal as the CSV import formats of Japanese accounting software: 弥生会計, freee and Money Forward.

Layouts (public import specifications, read in 2026; see docs/accounting.md for the pages):
- 弥生会計 (弥生インポート形式): 25 columns, no header, Shift_JIS. A two-line entry is one row (識別フラグ 2111); a
  longer one is one row per line, flagged 2110 (first), 2100 (middle), 2101 (last), the unused side left blank
  with amount 0.
- freee (仕訳帳・振替伝票の汎用インポート): a header row, UTF-8; the lines of one entry share 日付 and 伝票番号.
- Money Forward クラウド会計 (仕訳帳インポート): a header row, UTF-8; the lines of one entry share 取引No and 取引日
  and balance, which is how it recognises a compound entry.

Amounts are the books' own: revenue and expenses net of tax, with 仮受消費税 and 仮払消費税 as lines of their own
(税抜経理), so every line is exported with the tax category 対象外 except revenue lines, which carry their sales
category per rate. Account names are the books' names unless mapped for the software in `DEFAULT_ACCOUNT_NAMES` or
`settings.ACCOUNTING_EXPORT_ACCOUNT_NAMES` (JSON, per software, account code → name).
"""

import csv
import datetime
import io
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Prefetch

from apps.accounting.models import AccountType, EntryKind, JournalEntry, JournalLine

SOFTWARE = ("yayoi", "freee", "moneyforward")

# Where the software's standard chart names an account differently from ours.
DEFAULT_ACCOUNT_NAMES = {
    "yayoi": {"1003": "売掛金", "1004": "売掛金", "1005": "売掛金", "3101": "繰越利益", "6010": "支払手数料",
              "6020": "通信費", "6050": "支払手数料", "1202": "未収還付消費税等", "2102": "未払消費税等"},
    "freee": {"1003": "売掛金", "1004": "売掛金", "1005": "売掛金", "6010": "支払手数料", "6020": "通信費",
              "6050": "支払手数料", "1202": "未収還付消費税", "2102": "未払消費税"},
    "moneyforward": {"1003": "売掛金", "1004": "売掛金", "1005": "売掛金", "6010": "支払手数料",
                     "6020": "通信費", "6050": "支払手数料", "1202": "未収還付消費税等", "2102": "未払消費税等"},
}  # fmt: skip
SALES_TAX_CATEGORIES = {
    "yayoi": {8: "課税売上込軽減8%", 10: "課税売上込10%"},
    "freee": {8: "課税売上8%（軽）", 10: "課税売上10%"},
    "moneyforward": {8: "課税売上 8%（軽）", 10: "課税売上 10%"},
}
NOT_TAXABLE = "対象外"
ENCODINGS = {"yayoi": "cp932", "freee": "utf-8-sig", "moneyforward": "utf-8-sig"}
FREEE_HEADER = [
    "日付", "伝票番号", "決算整理仕訳", "借方勘定科目", "借方税区分", "借方金額", "借方税額",
    "貸方勘定科目", "貸方税区分", "貸方金額", "貸方税額", "摘要",
]  # fmt: skip
MONEYFORWARD_HEADER = [
    "取引No", "取引日", "借方勘定科目", "借方補助科目", "借方税区分", "借方部門", "借方金額(円)", "借方税額",
    "貸方勘定科目", "貸方補助科目", "貸方税区分", "貸方部門", "貸方金額(円)", "貸方税額", "摘要", "仕訳メモ",
    "タグ", "MF仕訳タイプ", "決算整理仕訳",
]  # fmt: skip


def account_name(software: str, line: JournalLine) -> str:
    overrides = settings.ACCOUNTING_EXPORT_ACCOUNT_NAMES.get(software, {})
    code = line.account.code
    return overrides.get(code) or DEFAULT_ACCOUNT_NAMES[software].get(code) or line.account.name


def _tax_category(software: str, line: JournalLine) -> str:
    if line.account.account_type == AccountType.REVENUE and line.tax_rate:
        return SALES_TAX_CATEGORIES[software][line.tax_rate]
    return NOT_TAXABLE


def _side(software: str, line: JournalLine | None) -> tuple[str, str, int]:
    """(account, tax category, amount) of one side of a row; blank with 0 when the row has no line on that side."""
    if line is None:
        return "", "", 0
    return account_name(software, line), _tax_category(software, line), line.debit or line.credit


def _entries(date_from: datetime.date, date_to: datetime.date):
    lines = Prefetch("lines", queryset=JournalLine.objects.select_related("account").order_by("id"))
    return (
        JournalEntry.objects.filter(date__range=(date_from, date_to))
        .order_by("date", "number")
        .prefetch_related(lines)
        .iterator(chunk_size=2000)
    )


def _row_pairs(entry: JournalEntry) -> list[tuple[JournalLine | None, JournalLine | None]]:
    """(debit line, credit line) per row: one row for a simple entry, else one row per line."""
    lines = list(entry.lines.all())
    if len(lines) == 2 and lines[0].debit and lines[1].credit:
        return [(lines[0], lines[1])]
    if len(lines) == 2 and lines[0].credit and lines[1].debit:
        return [(lines[1], lines[0])]
    return [(line, None) if line.debit else (None, line) for line in lines]


def _yayoi_flag(index: int, count: int) -> str:
    if count == 1:
        return "2111"
    return "2110" if index == 0 else ("2101" if index == count - 1 else "2100")


def _rows(software: str, entries) -> Iterator[tuple]:
    """(entry, index, row count, debit side, credit side) per row, each side as `_side` gives it."""
    for entry in entries:
        pairs = _row_pairs(entry)
        for index, (debit, credit) in enumerate(pairs):
            yield entry, index, len(pairs), _side(software, debit), _side(software, credit)


def _yayoi_rows(entries) -> Iterator[list]:
    for entry, index, count, (debit_account, debit_tax, debit), (credit_account, credit_tax, credit) in _rows(
        "yayoi", entries
    ):
        closing = "本決" if entry.kind == EntryKind.YEAR_END_CLOSING else ""
        yield [
            _yayoi_flag(index, count), entry.number, closing, entry.date.strftime("%Y/%m/%d"),
            debit_account, "", "", debit_tax, debit, "",
            credit_account, "", "", credit_tax, credit, "",
            entry.memo, "", "", "0", "", "", "0", "", "no",
        ]  # fmt: skip


def _freee_rows(entries) -> Iterator[list]:
    yield FREEE_HEADER
    for entry, _index, _count, (debit_account, debit_tax, debit), (credit_account, credit_tax, credit) in _rows(
        "freee", entries
    ):
        yield [
            entry.date.strftime("%Y/%m/%d"), entry.number, _closing_flag(entry),
            debit_account, debit_tax, debit or "", "",
            credit_account, credit_tax, credit or "", "", entry.memo,
        ]  # fmt: skip


def _moneyforward_rows(entries) -> Iterator[list]:
    yield MONEYFORWARD_HEADER
    for entry, _index, _count, (debit_account, debit_tax, debit), (credit_account, credit_tax, credit) in _rows(
        "moneyforward", entries
    ):
        yield [
            entry.number, entry.date.strftime("%Y/%m/%d"),
            debit_account, "", debit_tax, "", debit or "", "",
            credit_account, "", credit_tax, "", credit or "", "",
            entry.memo, "", "", "", _closing_flag(entry),
        ]  # fmt: skip


def _closing_flag(entry: JournalEntry) -> str:
    """freee's and Money Forward's 決算整理仕訳 column: 1 for the year-end closing entry."""
    return "1" if entry.kind == EntryKind.YEAR_END_CLOSING else ""


ROWS = {"yayoi": _yayoi_rows, "freee": _freee_rows, "moneyforward": _moneyforward_rows}


def journal_csv(*, software: str, date_from: datetime.date, date_to: datetime.date) -> bytes:
    """The entries dated `date_from`..`date_to` as `software`'s import file (bytes in its encoding; a character
    Shift_JIS lacks becomes '?' in the 弥生 file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(ROWS[software](_entries(date_from, date_to)))
    return buffer.getvalue().encode(ENCODINGS[software], errors="replace")
