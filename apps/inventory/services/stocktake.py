"""Stocktaking (棚卸): count a machine's slots or the back room, compare with the book, post the differences.

Sales go on while staff count. Each count is compared with the book quantity read at the moment it is entered,
under the same lock a sale takes: a sale before the entry is in both the shelf and the book, a sale after it in
neither, so selling during a count never looks like shrinkage. The difference (counted − book at count) is posted
on approval as a stock adjustment (棚卸減耗損 at the moving-average cost) to whatever the book says by then.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.services import audit_record
from apps.inventory.models import Machine, Product, Slot, Stocktake, StocktakeLine, StorageStock
from apps.inventory.services.stock import acting_user, locked_slot, locked_storage, require_perm, stock_adjust


def _require_person(actor, perm: str, message: str):
    user = acting_user(actor)
    if user is None or not user.has_perm(perm):
        raise PermissionDenied(message)
    return user


def _counting_locked(stocktake_id: int) -> Stocktake:
    """The stocktake, locked, while it is still being counted; entries, approval and cancelling wait on each other."""
    stocktake = Stocktake.objects.select_for_update().get(pk=stocktake_id)
    if stocktake.status != Stocktake.Status.COUNTING:
        raise Conflict(_("この棚卸はもうカウント中ではありません。"), code="stocktake_closed")
    return stocktake


@transaction.atomic
def stocktake_start(*, actor, machine: Machine | None = None, note: str = "") -> Stocktake:
    """Open a count of every stocked slot of `machine`, or of every product in the back room (`machine=None`),
    with the book quantities at the start for reference. One open count per machine and one for the back room."""
    user = _require_person(actor, "inventory.adjust_stock", _("棚卸を始める権限がありません。"))
    try:
        with transaction.atomic():
            stocktake = Stocktake.objects.create(machine=machine, started_by=user, note=note)
    except IntegrityError:
        raise Conflict(_("この場所の棚卸はすでにカウント中です。"), code="stocktake_open") from None
    if machine is not None:
        places = Slot.objects.filter(machine=machine, product__isnull=False).order_by("code")
        lines = [
            StocktakeLine(stocktake=stocktake, slot=slot, product_id=slot.product_id, book_at_start=slot.quantity)
            for slot in places
        ]
    else:
        rows = StorageStock.objects.filter(product__active=True) | StorageStock.objects.filter(quantity__gt=0)
        lines = [
            StocktakeLine(stocktake=stocktake, product_id=row.product_id, book_at_start=row.quantity)
            for row in rows.order_by("product__sku")
        ]
    StocktakeLine.objects.bulk_create(lines)
    audit_record(target=stocktake, action="stocktake.start", actor=user, to_state=stocktake.status)
    return stocktake


@transaction.atomic
def stocktake_count(*, line: StocktakeLine, counted_quantity: int, actor, reason: str = "") -> StocktakeLine:
    """Enter what is on the shelf now; the book quantity is read at this moment under the place's lock. Entering a
    place again replaces its count (a recount)."""
    _require_person(actor, "inventory.adjust_stock", _("棚卸を入力する権限がありません。"))
    if counted_quantity is None or counted_quantity < 0:
        raise ValidationError(_("実数は0以上で入力してください。"), details={"field": "counted_quantity"})
    _counting_locked(line.stocktake_id)
    line = StocktakeLine.objects.select_related("slot", "product").get(pk=line.pk)
    place = locked_slot(line.slot) if line.slot_id else locked_storage(line.product)
    line.counted_quantity = counted_quantity
    line.book_at_count = place.quantity
    line.counted_at = timezone.now()
    line.reason = (reason or "").strip()
    line.save(update_fields=["counted_quantity", "book_at_count", "counted_at", "reason"])
    return line


def _approval_problems(lines: list[StocktakeLine]) -> list[str]:
    uncounted = [str(line) for line in lines if line.counted_quantity is None]
    unexplained = [str(line) for line in lines if line.difference and not line.reason]
    problems = []
    if uncounted:
        problems.append(_("未カウント: {places}").format(places=", ".join(uncounted)))
    if unexplained:
        problems.append(_("差異の理由がありません: {places}").format(places=", ".join(unexplained)))
    return problems


@transaction.atomic
def stocktake_approve(*, stocktake: Stocktake, actor) -> Stocktake:
    """A Manager approves: every place counted, every difference explained; each difference posts as a stock
    adjustment (棚卸減耗損, or a gain against it) linked to its line."""
    user = _require_person(actor, "inventory.approve_stocktake", _("棚卸を承認できるのはマネージャーだけです。"))
    require_perm(user, "inventory.adjust_stock", _("在庫調整の権限がありません。"))
    stocktake = _counting_locked(stocktake.pk)
    lines = list(stocktake.lines.select_related("slot__machine", "product").order_by("slot_id", "product_id"))
    problems = _approval_problems(lines)
    if problems:
        raise ValidationError(" ".join(problems), details={"problems": problems})
    for line in lines:
        if not line.difference:
            continue
        place = {"slot": line.slot} if line.slot_id else {"product": line.product}
        line.movement = stock_adjust(
            quantity_delta=line.difference,
            reason=_("棚卸 #{id}: {reason}").format(id=stocktake.pk, reason=line.reason),
            actor=user,
            **place,
        )
        line.difference_cost_yen = line.difference * Product.objects.get(pk=line.product_id).unit_cost_yen
        line.save(update_fields=["movement", "difference_cost_yen"])
    stocktake.status, stocktake.approved_by, stocktake.approved_at = Stocktake.Status.APPROVED, user, timezone.now()
    stocktake.save(update_fields=["status", "approved_by", "approved_at"])
    audit_record(
        target=stocktake,
        action="stocktake.approve",
        actor=user,
        from_state=Stocktake.Status.COUNTING,
        to_state=stocktake.status,
        data={"differences": {str(line): line.difference for line in lines if line.difference}},
    )
    return stocktake


@transaction.atomic
def stocktake_cancel(*, stocktake: Stocktake, actor, reason: str) -> Stocktake:
    """Drop an open count without posting anything (a reason is required)."""
    user = _require_person(actor, "inventory.adjust_stock", _("棚卸を取り消す権限がありません。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("取消の理由を入力してください。"), details={"field": "reason"})
    stocktake = _counting_locked(stocktake.pk)
    stocktake.status = Stocktake.Status.CANCELLED
    stocktake.save(update_fields=["status"])
    audit_record(
        target=stocktake,
        action="stocktake.cancel",
        actor=user,
        from_state=Stocktake.Status.COUNTING,
        to_state=stocktake.status,
        reason=reason,
    )
    return stocktake
