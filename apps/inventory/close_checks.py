"""The shop's checks on the month-close checklist (apps.accounting.closing), registered when the app is ready."""

import datetime

from django.db.models import Sum
from django.utils.translation import gettext as _

from apps.accounting.closing import EXPECTED_CHECKS, CheckResult, register_close_check
from apps.core.clock import local_day_start
from apps.inventory.models import Machine, ReconciliationReport, Stocktake


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


def stocktake_check(through_date: datetime.date) -> CheckResult:
    """Every active machine and the back room were counted (an approved stocktake) in the month being closed, and no
    count is still open. A Manager may confirm a month without a full count (a shop that counts every quarter)."""
    start = local_day_start(through_date.replace(day=1))
    end = local_day_start(through_date + datetime.timedelta(days=1))
    counted = set(
        Stocktake.objects.filter(status=Stocktake.Status.APPROVED, approved_at__gte=start, approved_at__lt=end)
        .values_list("machine__code", flat=True)
        .distinct()
    )
    places = {None, *Machine.objects.filter(status=Machine.Status.ACTIVE).values_list("code", flat=True)}
    missing = sorted((_("倉庫") if place is None else place) for place in places - counted)
    counting = Stocktake.objects.filter(status=Stocktake.Status.COUNTING).count()
    if missing or counting:
        detail = _("棚卸が承認されていない場所：%(places)s。カウント中の棚卸：%(counting)s件。") % {
            "places": "、".join(missing) or "-",
            "counting": counting,
        }
    else:
        detail = _("%(count)s か所すべての棚卸が承認済みです。") % {"count": len(places)}
    return CheckResult(
        "stocktake", str(EXPECTED_CHECKS["stocktake"]), not (missing or counting), detail, confirmable=not counting
    )


def register() -> None:
    register_close_check("reconciliation", reconciliation_check)
    register_close_check("stocktake", stocktake_check)
