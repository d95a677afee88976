import datetime

import pytest
from django.utils import timezone

from apps.accounting.closing import run_close_checks
from apps.inventory.models import ReconciliationReport
from apps.inventory.services.stocktake import stocktake_approve, stocktake_count, stocktake_start

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


def _stocktake_check():
    return next(result for result in run_close_checks(timezone.localdate()) if result.key == "stocktake")


def _count_everything(machine, staff_user, manager_user):
    stocktake = stocktake_start(machine=machine, actor=staff_user)
    for line in stocktake.lines.all():
        stocktake_count(line=line, counted_quantity=line.book_at_start, actor=staff_user)
    return stocktake_approve(stocktake=stocktake, actor=manager_user)


def test_the_month_close_asks_for_a_count_of_every_machine_and_the_back_room(
    machine, tea_slot, staff_user, manager_user
):
    nothing = _stocktake_check()
    assert not nothing.passed and nothing.confirmable
    assert "HQ-1F" in nothing.detail and "倉庫" in nothing.detail

    _count_everything(machine, staff_user, manager_user)
    back_room_missing = _stocktake_check()
    _count_everything(None, staff_user, manager_user)

    assert not back_room_missing.passed and "HQ-1F" not in back_room_missing.detail
    assert _stocktake_check().passed


def test_a_count_still_open_holds_the_month_close(machine, tea_slot, staff_user, manager_user):
    _count_everything(machine, staff_user, manager_user)
    _count_everything(None, staff_user, manager_user)
    stocktake_start(machine=machine, actor=staff_user)

    check = _stocktake_check()
    assert not check.passed and not check.confirmable and "1件" in check.detail
