"""The month-close checklist: a registry of checks, each run for the day the books are to be closed through.

Accounting registers its own (payables reviewed, consumption tax settled); apps above it register theirs from their
`AppConfig.ready` with `register_close_check` (the shop: payments reconciled; stocktaking: the month's count), so
accounting never imports them. A check the checklist expects but no app registered shows as not applicable.
"""

import datetime
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounting import fiscal_year
from apps.accounting.models import EntryKind, JournalEntry
from apps.accounting.selectors.payables import open_payables


@dataclass(frozen=True)
class CheckResult:
    """`passed` False blocks the close unless `confirmable` and a Manager confirms it (ticks it on the page)."""

    key: str
    label: str
    passed: bool
    detail: str
    confirmable: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


CloseCheck = Callable[[datetime.date], CheckResult]
_CHECKS: dict[str, CloseCheck] = {}
# Shown even when the app that owns them is not installed (yet): label of each.
EXPECTED_CHECKS = {
    "reconciliation": gettext_lazy("決済の照合に差異がない"),
    "stocktake": gettext_lazy("棚卸が済んでいる"),
    "payables": gettext_lazy("買掛金・未払金を確認した"),
    "consumption_tax": gettext_lazy("消費税を精算した"),
}


def register_close_check(key: str, check: CloseCheck) -> None:
    """Add (or replace, on a second `ready`) the check named `key`."""
    _CHECKS[key] = check


def run_close_checks(through_date: datetime.date, *, confirmed: frozenset[str] = frozenset()) -> list[CheckResult]:
    """Every registered check for closing through `through_date`, in the expected order then the others; a
    confirmable check the Manager confirmed passes."""
    results = []
    for key in [*EXPECTED_CHECKS, *sorted(set(_CHECKS) - set(EXPECTED_CHECKS))]:
        check = _CHECKS.get(key)
        if check is None:
            detail = _("この確認を行う機能がまだありません（対象外）。")
            results.append(CheckResult(key=key, label=str(EXPECTED_CHECKS[key]), passed=True, detail=detail))
            continue
        result = check(through_date)
        if not result.passed and result.confirmable and key in confirmed:
            result = CheckResult(result.key, result.label, True, result.detail + _("（確認済み）"), True)
        results.append(result)
    return results


def payables_check(through_date: datetime.date) -> CheckResult:
    """Open payables through the close date: a Manager confirms having reviewed them (they may stay open)."""
    items = open_payables(as_of=through_date)
    total = sum(item.open_amount for item in items)
    return CheckResult(
        key="payables",
        label=str(EXPECTED_CHECKS["payables"]),
        passed=not items,
        detail=_("未払の債務 %(count)s件、計 %(total)s円。") % {"count": len(items), "total": f"{total:,}"},
        confirmable=True,
    )


def consumption_tax_check(through_date: datetime.date) -> CheckResult:
    """At a fiscal year end (the tax period of an annual filer) the settlement entry must be posted on that day;
    in other months there is nothing to settle."""
    label = str(EXPECTED_CHECKS["consumption_tax"])
    if not fiscal_year.is_year_end(through_date):
        return CheckResult("consumption_tax", label, True, _("期末ではないため精算は不要です。"))
    settled = JournalEntry.objects.filter(kind=EntryKind.TAX_SETTLEMENT, date=through_date).exists()
    detail = _("精算仕訳があります。") if settled else _("期末日の消費税精算仕訳がありません。")
    return CheckResult("consumption_tax", label, settled, detail)
