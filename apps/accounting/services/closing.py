"""Closing a month after its checklist, and undoing the latest close."""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounting.closing import run_close_checks
from apps.accounting.models import Ledger, PeriodClose
from apps.accounting.services import period_close
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.roles import is_manager
from apps.core.services import audit_record


@transaction.atomic
def month_close(*, through_date: datetime.date, actor, confirmed: frozenset[str] = frozenset()) -> PeriodClose:
    """Run the checklist for `through_date` and, when every check passes (confirmable ones confirmed by the
    Manager), lock the books through it with `period_close`, keeping the checklist with the close.

    Refuses (403) anyone but a Manager; (409) a failed check, named in `details.failed`, and what `period_close`
    refuses."""
    if not is_manager(actor):
        raise PermissionDenied(_("月次締めはマネージャーが行います。"))
    results = run_close_checks(through_date, confirmed=frozenset(confirmed))
    failed = [result for result in results if not result.passed]
    if failed:
        raise Conflict(
            _("締めの前に確認が必要です: %(checks)s") % {"checks": "、".join(result.label for result in failed)},
            code="close_checks_failed",
            details={"failed": [result.as_dict() for result in failed]},
        )
    period_close(through_date=through_date, actor=actor, checklist=[result.as_dict() for result in results])
    return PeriodClose.objects.filter(reopened_at__isnull=True).latest("id")


@transaction.atomic
def period_reopen(*, actor, reason: str) -> PeriodClose:
    """Undo the latest close still in force: the lock date goes back to what it was before it. Only the latest can
    be undone, so no later period is ever closed over an open one; a close that is part of a closed fiscal year
    cannot be undone (its closing entry is made from those months). Audited with the reason.

    Refuses (403) anyone but a Manager; (400) an empty reason; (409) nothing to undo and a closed fiscal year."""
    if not is_manager(actor):
        raise PermissionDenied(_("締めの取消はマネージャーが行います。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("締めを取り消す理由を入力してください。"), code="reason_required")
    ledger = Ledger.objects.select_for_update().get(pk=1)
    latest = PeriodClose.objects.filter(reopened_at__isnull=True, through_date=ledger.closed_through).order_by("-id")
    close = latest.first()
    if close is None:
        raise Conflict(_("取り消せる締めはありません。"), code="nothing_to_reopen")
    if ledger.fiscal_year_closed_through and close.through_date <= ledger.fiscal_year_closed_through:
        raise Conflict(
            _("%(date)s を期末とする年度は決算振替済みのため、締めを取り消せません。")
            % {"date": ledger.fiscal_year_closed_through},
            code="fiscal_year_closed",
        )
    ledger.closed_through = close.previous_closed_through
    ledger.save(update_fields=["closed_through"])
    close.reopened_by, close.reopened_at, close.reopen_reason = actor, timezone.now(), reason
    close.save(update_fields=["reopened_by", "reopened_at", "reopen_reason"])
    audit_record(
        target=ledger,
        action="period.reopen",
        actor=actor,
        from_state=close.through_date.isoformat(),
        to_state=close.previous_closed_through.isoformat() if close.previous_closed_through else "",
        reason=reason,
    )
    return close
