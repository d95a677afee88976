"""Machine fees: the contracts recorded in the admin, and the monthly charges the daily job posts to the books.

A month is charged when its due date (the fee's due day, or the month's last day) lies within the fee's active
dates; there is no pro-rating. Each charge keeps the amount it was posted at: editing a fee changes only the months
not charged yet, and a wrong month is corrected by reversing its charge, after which the next run charges it again.
"""

import datetime
from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounting.postings import PaidFrom
from apps.accounting.selectors import ledger_state
from apps.accounting.services import journal_entry_reverse
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.money import is_whole_yen
from apps.core.services import audit_record
from apps.inventory.models import MachineFee, MachineFeeCharge
from apps.inventory.selectors import machine_fee_charged_months
from apps.inventory.services.books import machine_fee_book
from apps.inventory.services.stock import acting_user, require_perm

FEE_FIELDS = (
    "machine",
    "kind",
    "payee",
    "amount_yen",
    "tax_rate",
    "paid_from",
    "due_day",
    "active_from",
    "active_until",
    "note",
)
# Another machine or kind is another contract: end this fee and record a new one.
FEE_FIXED_FIELDS = ("machine", "kind")


def _validate(fee: MachineFee) -> None:
    if fee.machine_id is None:
        raise ValidationError(_("自販機を選んでください。"), details={"field": "machine"})
    if fee.kind not in MachineFee.Kind.values:
        raise ValidationError(_("種類が正しくありません。"), details={"field": "kind"})
    if not is_whole_yen(fee.amount_yen) or fee.amount_yen <= 0:
        raise ValidationError(_("月額は1円以上の整数にしてください。"), details={"field": "amount_yen"})
    if fee.tax_rate not in MachineFee.Tax.values:
        raise ValidationError(_("税率は10%か「なし」を選んでください。"), details={"field": "tax_rate"})
    if fee.paid_from not in PaidFrom.values:
        raise ValidationError(_("支払元が正しくありません。"), details={"field": "paid_from"})
    if not isinstance(fee.due_day, int) or not 1 <= fee.due_day <= 31:
        raise ValidationError(_("支払日は1〜31日にしてください（31は月末）。"), details={"field": "due_day"})
    if not isinstance(fee.active_from, datetime.date):
        raise ValidationError(_("契約開始日を入力してください。"), details={"field": "active_from"})
    if fee.active_until is not None and fee.active_until < fee.active_from:
        raise ValidationError(_("契約終了日は開始日以降にしてください。"), details={"field": "active_until"})


@transaction.atomic
def machine_fee_save(*, fee: MachineFee | None = None, actor=None, **fields) -> MachineFee:
    """Record a new fee, or change one (needs `inventory.add_machinefee` / `change_machinefee`: Managers). Audited
    with the old and new values; months already charged keep the amount they were posted at."""
    unknown = set(fields) - set(FEE_FIELDS)
    if unknown:
        raise ValidationError(_("不明な項目です: {names}").format(names=sorted(unknown)))
    created = fee is None
    if created:
        require_perm(actor, "inventory.add_machinefee", _("機械手数料を登録する権限がありません。"))
        fee, before = MachineFee(), {}
    else:
        require_perm(actor, "inventory.change_machinefee", _("機械手数料を変更する権限がありません。"))
        if any(name in fields and fields[name] != getattr(fee, name) for name in FEE_FIXED_FIELDS):
            raise ValidationError(
                _("自販機と種類は変更できません。この契約に終了日を入れ、新しい手数料として登録してください。")
            )
        before = {name: getattr(fee, name) for name in fields}
    for name, value in fields.items():
        setattr(fee, name, value)
    _validate(fee)
    fee.save()
    audit_record(
        target=fee,
        action="machine_fee.create" if created else "machine_fee.change",
        actor=actor,
        data={
            name: str(value) if created else [str(before[name]), str(value)]
            for name, value in fields.items()
            if created or before[name] != value
        },
    )
    return fee


def _months_due(fee: MachineFee, through: datetime.date) -> Iterator[datetime.date]:
    """First days of the months whose due date lies within the fee's active dates and on or before `through`."""
    last = min(through, fee.active_until) if fee.active_until else through
    month = fee.active_from.replace(day=1)
    while month <= last:
        if fee.active_from <= fee.due_date(month) <= last:
            yield month
        month = (month + datetime.timedelta(days=32)).replace(day=1)


@transaction.atomic
def machine_fees_charge(*, through: datetime.date) -> list[MachineFeeCharge]:
    """Post every month of every fee that is due by `through` and not charged yet, each on its due date; returns
    the new charges. Idempotent: a rerun posts nothing, and a run after missed days catches up.

    A due date in a closed period is posted on the first open date instead (the memo still names the month): the
    fee was owed, and refusing would only fail every run from then on. The fee rows are locked first, in id order,
    so a concurrent run waits and then finds the months charged (one charge per fee and month is also a constraint).
    """
    fees = list(
        MachineFee.objects.select_for_update(of=("self",))
        .select_related("machine")
        .filter(active_from__lte=through)
        .order_by("pk")
    )
    charged = machine_fee_charged_months(fee_ids=[fee.pk for fee in fees])
    closed_through = ledger_state().closed_through
    first_open = closed_through + datetime.timedelta(days=1) if closed_through else datetime.date.min
    charges = []
    for fee in fees:
        for month in _months_due(fee, through):
            if (fee.pk, month) in charged:
                continue
            entry = machine_fee_book(fee=fee, month=month, date=max(fee.due_date(month), first_open))
            charges.append(
                MachineFeeCharge.objects.create(fee=fee, month=month, amount_yen=fee.amount_yen, journal_entry=entry)
            )
    return charges


@transaction.atomic
def machine_fee_charge_reverse(*, charge: MachineFeeCharge, actor, reason: str) -> MachineFeeCharge:
    """Take back a wrongly charged month (a Manager, with a reason): its entry is reversed today through the books,
    and the month counts as not charged, so the next run charges it at the fee's amount then, or not at all if the
    fee's active dates no longer cover it."""
    if acting_user(actor) is None or not actor.has_perm("inventory.change_machinefee"):
        raise PermissionDenied(_("機械手数料の計上を取り消せるのはマネージャーです。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("取消の理由を入力してください。"), details={"field": "reason"})
    charge = MachineFeeCharge.objects.select_for_update(of=("self",)).select_related("journal_entry").get(pk=charge.pk)
    if charge.reversal_entry_id:
        raise Conflict(_("{charge} はすでに取り消されています。").format(charge=charge), code="already_reversed")
    charge.reversal_entry = journal_entry_reverse(
        entry=charge.journal_entry, date=timezone.localdate(), actor=actor, reason=reason, source=charge.fee
    )
    charge.save(update_fields=["reversal_entry"])
    return charge
