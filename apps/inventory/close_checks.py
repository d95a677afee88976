"""The shop's checks on the month-close checklist (apps.accounting.closing), registered when the app is ready."""

import datetime

from django.db.models import Sum
from django.utils.translation import gettext as _

from apps.accounting.closing import EXPECTED_CHECKS, CheckResult, register_close_check
from apps.inventory.models import ReconciliationReport


def reconciliation_check(through_date: datetime.date) -> CheckResult:
    """Every daily payment reconciliation of the month being closed found no mismatch."""
    reports = ReconciliationReport.objects.filter(day__range=(through_date.replace(day=1), through_date))
    mismatches = reports.aggregate(total=Sum("mismatch_count"))["total"] or 0
    days = reports.filter(mismatch_count__gt=0).count()
    detail = (
        _("照合の不一致が %(days)s日分、計 %(count)s件あります。") % {"days": days, "count": mismatches}
        if mismatches
        else _("照合した %(days)s日分に不一致はありません。") % {"days": reports.count()}
    )
    return CheckResult("reconciliation", str(EXPECTED_CHECKS["reconciliation"]), not mismatches, detail)


def register() -> None:
    register_close_check("reconciliation", reconciliation_check)
