"""Two workers run the daily fee charging at the same moment, each on its own PostgreSQL connection."""

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.accounting.models import EntryKind, JournalEntry
from apps.inventory.models import MachineFeeCharge
from apps.inventory.services import machine_fees_charge
from tests.factories import MachineFeeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_runs_at_once_charge_each_month_once():
    MachineFeeFactory(due_day=25)
    MachineFeeFactory(kind="connectivity", amount_yen=1078, due_day=10)
    start = threading.Barrier(2)

    def run(_):
        try:
            start.wait()
            return len(machine_fees_charge(through=datetime.date(2026, 3, 31)))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(run, range(2)))

    # The second run waits for the first one's row locks, then finds all six months charged.
    assert outcomes == [0, 6]
    assert MachineFeeCharge.objects.count() == 6
    assert JournalEntry.objects.filter(kind=EntryKind.MACHINE_FEE).count() == 6
