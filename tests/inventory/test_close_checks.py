import datetime

import pytest

from apps.accounting.closing import run_close_checks
from apps.inventory.models import ReconciliationReport

pytestmark = pytest.mark.django_db
MONTH_END = datetime.date(2026, 4, 30)


def _reconciliation():
    return next(result for result in run_close_checks(MONTH_END) if result.key == "reconciliation")


def test_the_month_close_checklist_asks_for_clean_payment_reconciliations():
    ReconciliationReport.objects.create(day=datetime.date(2026, 4, 1))
    # A mismatch in another month does not hold this one up.
    ReconciliationReport.objects.create(day=datetime.date(2026, 5, 1), mismatch_count=1)
    assert _reconciliation().passed

    ReconciliationReport.objects.create(day=datetime.date(2026, 4, 12), mismatch_count=2)
    check = _reconciliation()
    assert not check.passed and "2件" in check.detail
