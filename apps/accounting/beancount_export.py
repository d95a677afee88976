"""The books as a Beancount ledger: every account opened in JPY, one transaction per journal entry.

Debits are positive postings, credits negative, so Beancount's balance of an account equals its trial balance
debit − credit. The Japanese account name and code travel as metadata on each `open`.
"""

import datetime
from collections.abc import Iterator

from django.db.models import Prefetch

from apps.accounting.models import Account, JournalEntry, JournalLine

CURRENCY = "JPY"


def _quoted(text: str) -> str:
    # Memos are free text from people; Beancount strings cannot hold a raw double quote or line break.
    cleaned = " ".join(str(text).split()).replace("\\", "/").replace('"', "'")
    return f'"{cleaned}"'


def beancount_lines(*, through: datetime.date | None = None) -> Iterator[str]:
    """The ledger text, line by line, for entries dated on or before `through` (all entries when None)."""
    entries = JournalEntry.objects.order_by("date", "number").select_related("reversal_of")
    if through is not None:
        entries = entries.filter(date__lte=through)
    first = entries.first()
    opened_on = first.date if first else datetime.date.today()

    yield 'option "title" "VendBot"'
    yield f'option "operating_currency" "{CURRENCY}"'
    yield ""
    for account in Account.objects.order_by("code"):
        yield f"{opened_on.isoformat()} open {account.beancount_name} {CURRENCY}"
        yield f"  code: {_quoted(account.code)}"
        yield f"  name: {_quoted(account.name)}"
    lines = Prefetch("lines", queryset=JournalLine.objects.select_related("account").order_by("id"))
    for entry in entries.prefetch_related(lines).iterator(chunk_size=2000):
        yield ""
        yield f"{entry.date.isoformat()} * {_quoted(entry.memo)}"
        yield f"  entry: {_quoted(entry.number)}"
        yield f"  kind: {_quoted(entry.kind)}"
        if entry.reversal_of_id:
            yield f"  reversal_of: {_quoted(entry.reversal_of.number)}"
        for line in entry.lines.all():
            yield f"  {line.account.beancount_name}  {line.debit - line.credit} {CURRENCY}"
            if line.product_ref:
                yield f"    product: {_quoted(line.product_ref)}"
            if line.tax_rate:
                yield f"    tax_rate: {_quoted(line.tax_rate)}"
