"""Stock writes. Every change of a quantity writes its `StockMovement` in the same transaction, under a row lock."""

import datetime

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from apps.core.errors import PermissionDenied, ValidationError
from apps.inventory.models import Product, Slot, StockLot, StockMovement, StorageStock, Supplier
from apps.inventory.services.books import receipt_book, stock_adjustment_book
from apps.inventory.services.lots import lot_receive, lots_follow, lots_into_slot, lots_take


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
    lot: StockLot | None = None,
    lots: list[tuple[StockLot, int]] | None = None,
    purchase_order=None,
) -> StockMovement:
    """Append one movement and move its lots (`lots_follow`; a receipt or transfer that placed them passes `lots`,
    a write-off of one lot passes `lot`); callers hold the lock of the quantity they change alongside it."""
    if lots is None:
        lots = lots_follow(product=product, slot=slot, kind=kind, quantity_delta=quantity_delta, sale=sale, lot=lot)
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
        lots=[[placed.pk, units] for placed, units in lots],
        purchase_order=purchase_order,
    )


def locked_storage(product: Product) -> StorageStock:
    StorageStock.objects.get_or_create(product=product)
    return StorageStock.objects.select_for_update().get(product=product)


def locked_product(product: Product) -> Product:
    """The product with its moving-average cost locked: taken after the slot or back-room lock, never before."""
    return Product.objects.select_for_update().get(pk=product.pk)


def locked_slot(slot: Slot) -> Slot:
    return Slot.objects.select_for_update(of=("self",)).select_related("product", "machine").get(pk=slot.pk)


@transaction.atomic
def stock_receive(
    *,
    product: Product,
    quantity: int,
    unit_cost_yen: int,
    input_tax_yen: int | None = None,
    actor=None,
    actor_label: str = "",
    reason: str = "",
    expires_on: datetime.date | None = None,
    date_kind: str = StockLot.DateKind.BEST_BEFORE,
    supplier: Supplier | None = None,
    purchase_order=None,
) -> StockMovement:
    """Goods arrive in the back room as one lot (date, supplier, cost): storage grows, the moving-average unit cost
    is updated, and the receipt is booked (商品 and 仮払消費税 / 買掛金) in the same transaction.

    `unit_cost_yen` is net of consumption tax; `input_tax_yen` is the tax on the supplier's invoice for these goods
    (default: quantity × unit cost × the product's rate, rounded down). Procurement calls this for received goods,
    with the `purchase_order` they were ordered on: the receipt (and so its 買掛金) belongs to that order.
    """
    if quantity <= 0:
        raise ValidationError(_("入荷数は1以上にしてください。"))
    if unit_cost_yen < 0:
        raise ValidationError(_("仕入単価は0円以上にしてください。"))
    if input_tax_yen is not None and input_tax_yen < 0:
        raise ValidationError(_("仕入の消費税額は0円以上にしてください。"))
    storage = locked_storage(product)
    product = locked_product(product)
    in_slots = Slot.objects.filter(product=product).aggregate(total=Sum("quantity"))["total"] or 0
    on_hand = storage.quantity + in_slots
    value_before = on_hand * product.unit_cost_yen
    product.unit_cost_yen = round((value_before + quantity * unit_cost_yen) / (on_hand + quantity))
    product.save(update_fields=["unit_cost_yen"])
    storage.quantity += quantity
    storage.save(update_fields=["quantity"])
    lot = lot_receive(product=product, quantity=quantity, unit_cost_yen=unit_cost_yen, expires_on=expires_on,
                      date_kind=date_kind, supplier=supplier)  # fmt: skip
    movement = movement_record(
        product=product,
        kind=StockMovement.Kind.RECEIPT,
        quantity_delta=quantity,
        actor=actor,
        actor_label=actor_label,
        reason=reason,
        lots=[(lot, quantity)],
        purchase_order=purchase_order,
    )
    invoice_net_yen = quantity * unit_cost_yen
    receipt_book(
        movement=movement,
        product=product,
        invoice_net_yen=invoice_net_yen,
        input_tax_yen=invoice_net_yen * product.tax_rate // 100 if input_tax_yen is None else input_tax_yen,
        value_change_yen=(on_hand + quantity) * product.unit_cost_yen - value_before,
        actor=actor,
    )
    return movement


@transaction.atomic
def stock_adjust(
    *,
    quantity_delta: int,
    reason: str,
    product: Product | None = None,
    slot: Slot | None = None,
    is_waste: bool = False,
    lot: StockLot | None = None,
    actor=None,
    actor_label: str = "",
) -> StockMovement:
    """Correct a count (stocktake) or write off waste, in a slot (`slot=`) or in the back room (`product=`).

    A reason is required; waste only removes, from the given `lot` or the earliest-dated ones. The change is booked
    at the moving-average cost in this transaction (棚卸減耗損 for a count difference, 商品廃棄損 for waste).
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
    movement = movement_record(
        product=product,
        slot=slot and holder,
        kind=StockMovement.Kind.WASTE if is_waste else StockMovement.Kind.ADJUSTMENT,
        quantity_delta=quantity_delta,
        actor=actor,
        actor_label=actor_label,
        reason=reason,
        lot=lot,
    )
    stock_adjustment_book(movement=movement, product=locked_product(product), actor=actor)
    return movement


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
    # First expiring, first out: the back room's earliest-dated unexpired lots go into the slot.
    taken = lots_take(product=slot.product, slot=None, quantity=quantity, sellable_only=True)
    storage.quantity -= quantity
    storage.save(update_fields=["quantity"])
    slot.quantity += quantity
    slot.save(update_fields=["quantity"])
    common = {"product": slot.product, "kind": StockMovement.Kind.TRANSFER, "actor": actor, "actor_label": actor_label}
    movement_record(quantity_delta=-quantity, reason=reason or str(slot), lots=taken, **common)
    placed = lots_into_slot(slot=slot, taken=taken)
    return movement_record(slot=slot, quantity_delta=quantity, reason=reason, lots=placed, **common)
