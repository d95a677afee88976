import io

import pytest
from django.utils import timezone

from apps.accounting import chart
from apps.accounting.demo import seed
from apps.accounting.models import JournalEntry
from apps.accounting.selectors import trial_balance

pytestmark = pytest.mark.django_db


def test_demo_seed_posts_the_opening_capital_once():
    seed(stdout=io.StringIO(), options={})
    seed(stdout=io.StringIO(), options={})
    assert JournalEntry.objects.count() == 1
    rows = {row["code"]: row for row in trial_balance(as_of=timezone.localdate()).rows}
    assert rows[chart.BANK]["debit_balance"] == rows[chart.CAPITAL]["credit_balance"] == 1_000_000
