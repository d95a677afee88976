"""Demo books for `seed_demo`: the owner's opening capital, so the balance sheet starts from something real."""

import datetime

from django.utils import timezone

from apps.accounting.models import EntryKind, JournalEntry
from apps.accounting.postings import post_capital_contribution

OPENING_CAPITAL_YEN = 1_000_000
# Before any demo history the shop apps may seed (they go back at most a few weeks).
OPENING_DAYS_AGO = 90


def seed(*, stdout, options: dict) -> None:
    if JournalEntry.objects.filter(kind=EntryKind.CAPITAL).exists():
        return
    date = timezone.localdate() - datetime.timedelta(days=OPENING_DAYS_AGO)
    entry = post_capital_contribution(date=date, amount=OPENING_CAPITAL_YEN)
    stdout.write(f"  accounting: opening capital ¥{OPENING_CAPITAL_YEN:,} posted as entry #{entry.number} on {date}")
