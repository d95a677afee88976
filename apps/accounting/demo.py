"""Demo books for `seed_demo`: the owner's opening capital, the day before the shop opened, so the balance sheet
starts from something real."""

import datetime

from apps.accounting.models import EntryKind, JournalEntry
from apps.accounting.postings import post_capital_contribution
from apps.core.demo import demo_opening_day

OPENING_CAPITAL_YEN = 1_000_000


def seed(*, stdout, options: dict) -> None:
    if JournalEntry.objects.filter(kind=EntryKind.CAPITAL).exists():
        return
    date = demo_opening_day(options) - datetime.timedelta(days=1)
    entry = post_capital_contribution(date=date, amount=OPENING_CAPITAL_YEN)
    stdout.write(f"  accounting: opening capital ¥{OPENING_CAPITAL_YEN:,} posted as entry #{entry.number} on {date}")
