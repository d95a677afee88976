"""Manual journal entries (振替伝票): a Manager's adjusting entry, posted through the one posting function.

At or below `settings.MANUAL_ENTRY_APPROVAL_THRESHOLD_YEN` (its debit total) it is posted at once; above it waits
for a second Manager, who approves (posted then) or rejects it. A posted entry is never edited: it is corrected by
its reversal (`journal_entry_reverse`).
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounting.models import (
    TAX_CATEGORY_RATES,
    Account,
    EntryKind,
    ManualEntry,
    ManualEntryLine,
    TaxCategory,
)
from apps.accounting.selectors import ledger_state
from apps.accounting.services import LineSpec, journal_entry_post, validate_lines
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.roles import is_manager
from apps.core.services import audit_record


@dataclass(frozen=True)
class ManualLine:
    """One line as the Manager typed it: an account code, one side in yen and its tax category (税区分)."""

    account: str
    debit: int = 0
    credit: int = 0
    tax_category: str = TaxCategory.OUT_OF_SCOPE


def _line_specs(lines: Sequence[ManualLine]) -> list[LineSpec]:
    specs = []
    for index, line in enumerate(lines):
        if line.tax_category not in TaxCategory.values:
            raise ValidationError(_("税区分が正しくありません。"), code="invalid_tax_category", details={"line": index})
        specs.append(
            LineSpec(
                account=line.account,
                debit=line.debit,
                credit=line.credit,
                tax_rate=TAX_CATEGORY_RATES.get(line.tax_category),
            )
        )
    return specs


def _require_manager(actor) -> None:
    if not is_manager(actor):
        raise PermissionDenied(_("振替伝票はマネージャーが起票・承認します。"))


def _require_open_date(date: datetime.date) -> None:
    closed_through = ledger_state().closed_through
    if closed_through and date <= closed_through:
        raise Conflict(
            _("%(closed)s までの期間は締め済みです。締め日より後の日付で起票してください。")
            % {"closed": closed_through},
            code="period_closed",
            details={"closed_through": closed_through.isoformat()},
        )


def _post(manual_entry: ManualEntry) -> None:
    lines = _line_specs(
        [
            ManualLine(account=line.account.code, debit=line.debit, credit=line.credit, tax_category=line.tax_category)
            for line in manual_entry.lines.select_related("account")
        ]
    )
    manual_entry.entry = journal_entry_post(
        date=manual_entry.date,
        memo=manual_entry.memo,
        lines=lines,
        kind=EntryKind.MANUAL,
        source=manual_entry,
        created_by=manual_entry.created_by,
    )
    manual_entry.status = ManualEntry.Status.POSTED


@transaction.atomic
def manual_entry_create(
    *, date: datetime.date, memo: str, reason: str, lines: Sequence[ManualLine], actor
) -> ManualEntry:
    """Record a Manager's entry; post it at once when its total is within the approval threshold.

    Refuses (400) what the posting function refuses (unbalanced, one line, both sides, summary accounts...), an
    empty reason or memo and an unknown tax category; (409) a date in a closed period; (403) anyone but a Manager."""
    _require_manager(actor)
    memo, reason = (memo or "").strip(), (reason or "").strip()
    if not memo:
        raise ValidationError(_("摘要を入力してください。"), code="memo_required")
    if not reason:
        raise ValidationError(_("振替伝票の理由を入力してください。"), code="reason_required")
    specs = _line_specs(lines)
    accounts = {account.code: account for account in Account.objects.filter(code__in={line.account for line in specs})}
    validate_lines(specs, accounts)
    _require_open_date(date)
    total = sum(spec.debit for spec in specs)
    needs_approval = total > settings.MANUAL_ENTRY_APPROVAL_THRESHOLD_YEN
    manual_entry = ManualEntry.objects.create(
        date=date,
        memo=memo[:300],
        reason=reason,
        total_yen=total,
        status=ManualEntry.Status.PENDING,
        created_by=actor,
    )
    ManualEntryLine.objects.bulk_create(
        ManualEntryLine(
            manual_entry=manual_entry,
            account=accounts[line.account],
            debit=line.debit,
            credit=line.credit,
            tax_category=line.tax_category,
        )
        for line in lines
    )
    if not needs_approval:
        _post(manual_entry)
        manual_entry.save(update_fields=["entry", "status"])
    audit_record(
        target=manual_entry,
        action="manual_entry.create",
        actor=actor,
        to_state=manual_entry.status,
        reason=reason,
        data={"total_yen": total, "entry": manual_entry.entry.number if manual_entry.entry else None},
    )
    return manual_entry


def _pending_for_decision(manual_entry: ManualEntry, actor) -> ManualEntry:
    _require_manager(actor)
    manual_entry = ManualEntry.objects.select_for_update().get(pk=manual_entry.pk)
    if manual_entry.status != ManualEntry.Status.PENDING:
        raise Conflict(
            _("この振替伝票はすでに%(status)sです。") % {"status": manual_entry.get_status_display()},
            code="not_pending",
        )
    if manual_entry.created_by_id == actor.pk:
        raise PermissionDenied(
            _("起票したマネージャー本人は承認・却下できません。別のマネージャーに依頼してください。"),
            code="same_manager",
        )
    return manual_entry


@transaction.atomic
def manual_entry_approve(*, manual_entry: ManualEntry, actor, note: str = "") -> ManualEntry:
    """A second Manager approves a pending entry: it is posted now, on its own date (409 if that date has been
    closed meanwhile). The Manager who drafted it cannot approve it (403)."""
    manual_entry = _pending_for_decision(manual_entry, actor)
    _post(manual_entry)
    return _decision_record(manual_entry, actor=actor, note=note, action="manual_entry.approve")


@transaction.atomic
def manual_entry_reject(*, manual_entry: ManualEntry, actor, note: str) -> ManualEntry:
    """A second Manager turns a pending entry down, saying why; nothing is posted."""
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("却下の理由を入力してください。"), code="reason_required")
    manual_entry = _pending_for_decision(manual_entry, actor)
    manual_entry.status = ManualEntry.Status.REJECTED
    return _decision_record(manual_entry, actor=actor, note=note, action="manual_entry.reject")


def _decision_record(manual_entry: ManualEntry, *, actor, note: str, action: str) -> ManualEntry:
    manual_entry.decided_by, manual_entry.decided_at, manual_entry.decision_note = actor, timezone.now(), note[:500]
    manual_entry.save(update_fields=["entry", "status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        target=manual_entry,
        action=action,
        actor=actor,
        from_state=ManualEntry.Status.PENDING,
        to_state=manual_entry.status,
        reason=note,
        data={"entry": manual_entry.entry.number if manual_entry.entry else None},
    )
    return manual_entry
