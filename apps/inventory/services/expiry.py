"""Expiry: stock past its date is written off as waste (商品廃棄損), and goods about to expire may be marked down.

A sale never takes units past their date (`sales._slots_in_stock`, `lots.lots_take`), from midnight on; the nightly
write-off (`inventory.expired_stock_write_off`, 00:05) then takes them out of the count and the books.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import PermissionDenied, ValidationError
from apps.inventory.models import PriceChange, StockLot, StockMovement
from apps.inventory.services.catalogue import price_change
from apps.inventory.services.stock import acting_user, locked_slot, locked_storage, stock_adjust

WRITE_OFF_LABEL = "expiry-job"


def _expired_reason(lot: StockLot) -> str:
    return _("期限切れ（{kind} {date}）").format(kind=lot.get_date_kind_display(), date=lot.expires_on.isoformat())


@transaction.atomic
def expired_stock_write_off(*, today: datetime.date | None = None) -> list[StockMovement]:
    """Write off every lot past its date as waste, each a movement and a 商品廃棄損 entry at the moving-average
    cost. Idempotent: an emptied lot is never written off twice, so a rerun or a second worker posts nothing."""
    today = today or timezone.localdate()
    lot_ids = list(
        StockLot.objects.filter(quantity__gt=0, expires_on__lt=today)
        .order_by("slot_id", "id")
        .values_list("pk", flat=True)
    )
    movements = []
    for lot in StockLot.objects.select_related("product", "slot").filter(pk__in=lot_ids).order_by("slot_id", "id"):
        # stock_adjust locks the slot or back room first, then the lot: the order every other stock write takes.
        if lot.slot_id:
            place = {"slot": locked_slot(lot.slot)}
        else:
            place = {"product": locked_storage(lot.product).product}
        fresh = StockLot.objects.get(pk=lot.pk)
        if fresh.quantity == 0:  # a concurrent run wrote it off while this one waited for the lock
            continue
        movements.append(
            stock_adjust(
                quantity_delta=-fresh.quantity,
                reason=_expired_reason(lot),
                is_waste=True,
                lot=lot,
                actor_label=WRITE_OFF_LABEL,
                **place,
            )
        )
    return movements


@dataclass(frozen=True)
class MarkdownProposal:
    """A price for goods expiring today or tomorrow: `percent` off the price, never below cost (`floor_yen`)."""

    lot: StockLot
    price_yen: int
    proposed_price_yen: int
    percent: int
    floor_yen: int


def markdown_propose(*, lot: StockLot, today: datetime.date | None = None) -> MarkdownProposal | None:
    """EXPIRY_MARKDOWN_PERCENT[days left] off, rounded down to ¥10 and kept at cost or above; None when the lot is
    not due today or tomorrow, is past its date, or cannot go lower without a clearance below cost."""
    today = today or timezone.localdate()
    if lot.expires_on is None or lot.quantity == 0:
        return None
    days_left = (lot.expires_on - today).days
    percent = settings.EXPIRY_MARKDOWN_PERCENT.get(days_left)
    if percent is None:
        return None
    product = lot.product
    floor = product.unit_cost_yen
    proposed = max(product.price_yen * (100 - percent) // 100 // 10 * 10, floor)
    if proposed >= product.price_yen:
        return None
    return MarkdownProposal(
        lot=lot, price_yen=product.price_yen, proposed_price_yen=proposed, percent=percent, floor_yen=floor
    )


@transaction.atomic
def markdown_apply(
    *, lot: StockLot, new_price_yen: int, actor=None, actor_label: str = "", clearance: bool = False, reason: str = ""
) -> PriceChange:
    """Mark the lot's product down for goods about to expire, inside the price policy: never below cost unless a
    Manager allows a clearance (`clearance=True`, with a reason), and never for goods past their date (use-by goods
    past it may not be sold at all; best-before goods past it are blocked from sale in an unattended shop)."""
    lot = StockLot.objects.select_related("product").get(pk=lot.pk)
    if lot.is_expired(timezone.localdate()):
        if lot.date_kind == StockLot.DateKind.USE_BY:
            raise ValidationError(_("消費期限を過ぎた商品は値引きしても販売できません。廃棄してください。"))
        raise ValidationError(_("賞味期限を過ぎた商品は無人販売では販売しません。廃棄してください。"))
    if lot.quantity == 0:
        raise ValidationError(_("このロットは残っていません。"))
    if new_price_yen >= lot.product.price_yen:
        raise ValidationError(_("見切り価格は今の価格より低くしてください。"), details={"field": "new_price_yen"})
    reason = (reason or "").strip()
    if new_price_yen < lot.product.unit_cost_yen:
        if not clearance:
            raise ValidationError(
                _("原価{cost}円を下回る見切りはできません。マネージャーが処分販売として許可した場合だけです。").format(
                    cost=lot.product.unit_cost_yen
                ),
                details={"reason": "below_cost", "floor_yen": lot.product.unit_cost_yen},
            )
        user = acting_user(actor)
        if user is None or not user.has_perm("core.override_price_guard"):
            raise PermissionDenied(_("原価割れの処分販売を許可できるのはマネージャーだけです。"))
        if not reason:
            raise ValidationError(_("処分販売には理由が必要です。"), details={"field": "reason"})
    note = _("見切り（{kind} {date}）").format(kind=lot.get_date_kind_display(), date=lot.expires_on.isoformat())
    return price_change(
        product=lot.product,
        new_price_yen=new_price_yen,
        actor=actor,
        actor_label=actor_label,
        reason=f"{note} {reason}".strip(),
        override=clearance,
        markdown=True,
    )
