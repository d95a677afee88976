"""Stock writes. Every change of a quantity writes its `StockMovement` in the same transaction, under a row lock."""

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from apps.core.errors import PermissionDenied, ValidationError
from apps.inventory.models import Product, Slot, StockMovement, StorageStock


def acting_user(actor):
    """The user to store as actor, or None for agents, machines and jobs (they are named by `actor_label`)."""
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def require_perm(actor, perm: str, message: str) -> None:
    """A person must hold `perm`; calls without a user (agents, jobs) are guarded by their own callers."""
    user = acting_user(actor)
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied(message)


def movement_record(
    *,
    product: Product,
    kind: str,
    quantity_delta: int,
    slot: Slot | None = None,
    actor=None,
    actor_label: str = "",
    reason: str = "",
    sale=None,
) -> StockMovement:
    """Append one movement; callers hold the lock of the quantity they change alongside it."""
    return StockMovement.objects.create(
        product=product,
        slot=slot,
        location=StockMovement.Location.SLOT if slot else StockMovement.Location.STORAGE,
        kind=kind,
        quantity_delta=quantity_delta,
        actor=acting_user(actor),
        actor_label=actor_label,
        reason=reason,
        sale=sale,
    )


def locked_storage(product: Product) -> StorageStock:
    StorageStock.objects.get_or_create(product=product)
    return StorageStock.objects.select_for_update().get(product=product)


def locked_slot(slot: Slot) -> Slot:
    return Slot.objects.select_for_update(of=("self",)).select_related("product", "machine").get(pk=slot.pk)


@transaction.atomic
def stock_receive(
    *, product: Product, quantity: int, unit_cost_yen: int, actor=None, actor_label: str = "", reason: str = ""
) -> StockMovement:
    """Goods arrive in the back room: storage grows and the product's moving-average unit cost is updated.

    Procurement calls this when a purchase order is received; accounting will post the receipt in this transaction.
    """
    if quantity <= 0:
        raise ValidationError(_("入荷数は1以上にしてください。"))
    if unit_cost_yen < 0:
        raise ValidationError(_("仕入単価は0円以上にしてください。"))
    storage = locked_storage(product)
    product = Product.objects.select_for_update().get(pk=product.pk)
    in_slots = Slot.objects.filter(product=product).aggregate(total=Sum("quantity"))["total"] or 0
    on_hand = storage.quantity + in_slots
    product.unit_cost_yen = round((on_hand * product.unit_cost_yen + quantity * unit_cost_yen) / (on_hand + quantity))
    product.save(update_fields=["unit_cost_yen"])
    storage.quantity += quantity
    storage.save(update_fields=["quantity"])
    return movement_record(
        product=product,
        kind=StockMovement.Kind.RECEIPT,
        quantity_delta=quantity,
        actor=actor,
        actor_label=actor_label,
        reason=reason,
    )


@transaction.atomic
def stock_adjust(
    *,
    quantity_delta: int,
    reason: str,
    product: Product | None = None,
    slot: Slot | None = None,
    is_waste: bool = False,
    actor=None,
    actor_label: str = "",
) -> StockMovement:
    """Correct a count (stocktake) or write off waste, in a slot (`slot=`) or in the back room (`product=`).

    A reason is required; waste only removes. Accounting will post the waste/adjustment in this transaction.
    """
    require_perm(actor, "inventory.adjust_stock", _("在庫調整の権限がありません。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("在庫調整には理由が必要です。"), details={"field": "reason"})
    if quantity_delta == 0:
        raise ValidationError(_("調整数が0です。"), details={"field": "quantity_delta"})
    if is_waste and quantity_delta > 0:
        raise ValidationError(_("廃棄は在庫を減らす調整です。マイナスの数を指定してください。"))
    if (slot is None) == (product is None):
        raise ValidationError(_("スロットか倉庫の商品のどちらか一方を指定してください。"))
    if slot is not None:
        holder = locked_slot(slot)
        product = holder.product
        if product is None:
            raise ValidationError(_("スロット {slot} には商品が割り当てられていません。").format(slot=holder))
        limit = holder.capacity
    else:
        holder = locked_storage(product)
        limit = None
    new_quantity = holder.quantity + quantity_delta
    if new_quantity < 0:
        raise ValidationError(
            _("在庫は{available}個しかありません。").format(available=holder.quantity),
            details={"available": holder.quantity},
        )
    if limit is not None and new_quantity > limit:
        raise ValidationError(
            _("スロットの容量（{capacity}個）を超えます。").format(capacity=limit), details={"capacity": limit}
        )
    holder.quantity = new_quantity
    holder.save(update_fields=["quantity"])
    return movement_record(
        product=product,
        slot=slot and holder,
        kind=StockMovement.Kind.WASTE if is_waste else StockMovement.Kind.ADJUSTMENT,
        quantity_delta=quantity_delta,
        actor=actor,
        actor_label=actor_label,
        reason=reason,
    )


@transaction.atomic
def stock_transfer_to_slot(
    *, slot: Slot, quantity: int, actor=None, actor_label: str = "", reason: str = ""
) -> StockMovement:
    """Move `quantity` of the slot's product from the back room into the slot; returns the slot-side movement."""
    slot = locked_slot(slot)
    if slot.product is None:
        raise ValidationError(_("スロット {slot} には商品が割り当てられていません。").format(slot=slot))
    if quantity <= 0:
        raise ValidationError(_("補充数は1以上にしてください。"))
    room = slot.capacity - slot.quantity
    if quantity > room:
        raise ValidationError(
            _("スロット {slot} にはあと{room}個しか入りません。").format(slot=slot, room=room), details={"room": room}
        )
    storage = locked_storage(slot.product)
    if quantity > storage.quantity:
        raise ValidationError(
            _("倉庫に{product}が{available}個しかありません。").format(
                product=slot.product.name_ja, available=storage.quantity
            ),
            details={"available": storage.quantity},
        )
    storage.quantity -= quantity
    storage.save(update_fields=["quantity"])
    slot.quantity += quantity
    slot.save(update_fields=["quantity"])
    common = {"product": slot.product, "kind": StockMovement.Kind.TRANSFER, "actor": actor, "actor_label": actor_label}
    movement_record(quantity_delta=-quantity, reason=reason or str(slot), **common)
    return movement_record(slot=slot, quantity_delta=quantity, reason=reason, **common)
