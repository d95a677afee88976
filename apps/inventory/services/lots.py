"""Lots: which dated units a place holds. Every stock movement moves lots in the same transaction, so a slot's or
the back room's quantity is always the sum of its lots (`stock_integrity_problems` checks it).

First expiring, first out: a transfer and a sale take the lots with the earliest date first; a sale never takes a
lot past its date. Units coming back (a failed purchase, a jam, a return, a count that found more) refill the lots
they were most likely taken from: the earliest-dated lot at that place with room below what it received.
"""

import datetime
from collections.abc import Iterable

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import Conflict
from apps.core.sql import Statement, batch, columns, from_row
from apps.inventory.models import Product, Slot, StockLot, StockMovement, Supplier


def lots_order(alias: str = "") -> str:
    """SQL ordering a place's lots first expiring first (`StockLot.Meta.ordering`), on table `alias` if given."""
    prefix = f"{alias}." if alias else ""
    return f"{prefix}expires_on IS NULL, {prefix}expires_on, {prefix}id"


def _place_lots(*, product: Product, slot: Slot | None, lot: StockLot | None = None) -> list[StockLot]:
    """The place's lots (or only `lot`) in first-expiring-first-out order, locked (the place's own row is locked by
    the caller)."""
    sql = (
        f"SELECT {columns(StockLot)} FROM inventory_stocklot WHERE product_id = %s AND "  # noqa: S608 (literals)
        + ("slot_id = %s" if slot is not None else "slot_id IS NULL")
        + (" AND id = %s" if lot is not None else "")
        + f" ORDER BY {lots_order()}"
        + (" FOR UPDATE" if connection.features.has_select_for_update else "")
    )
    params = [product.pk, *([slot.pk] if slot is not None else []), *([lot.pk] if lot is not None else [])]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [from_row(StockLot, row) for row in cursor.fetchall()]


def lot_quantity_statement(lot: StockLot) -> Statement:
    return "UPDATE inventory_stocklot SET quantity = %s WHERE id = %s", [lot.quantity, lot.pk]


def lot_receive(
    *,
    product: Product,
    quantity: int,
    unit_cost_yen: int,
    expires_on: datetime.date | None = None,
    date_kind: str = StockLot.DateKind.BEST_BEFORE,
    supplier: Supplier | None = None,
) -> StockLot:
    """A delivery's units arrive in the back room as one lot."""
    return StockLot.objects.create(
        product=product,
        quantity=quantity,
        received_quantity=quantity,
        unit_cost_yen=unit_cost_yen,
        expires_on=expires_on,
        date_kind=date_kind,
        supplier=supplier,
    )


def lots_take(
    *, product: Product, slot: Slot | None, quantity: int, sellable_only: bool, lot: StockLot | None = None
) -> list[tuple[StockLot, int]]:
    """Take `quantity` units out of the place's lots (one named `lot`, or earliest date first); returns what came
    from which lot. `sellable_only` skips lots past their date (a sale, a refill of a slot)."""
    taken = lots_allocate(
        _place_lots(product=product, slot=slot, lot=lot),
        quantity=quantity,
        sellable_only=sellable_only,
        product=product,
    )
    batch([lot_quantity_statement(taken_lot) for taken_lot, _units in taken])
    return taken


def lots_allocate(
    lots: Iterable[StockLot], *, quantity: int, sellable_only: bool, product: Product
) -> list[tuple[StockLot, int]]:
    """Which of `lots` (in first-expiring-first-out order) give `quantity` units, each lot's `quantity` lowered by
    what it gives; the caller writes them. Raises Conflict (`lot_short`) when they hold too few."""
    today = timezone.localdate()
    taken = []
    left = quantity
    for candidate in lots:
        if left == 0:
            break
        if candidate.quantity == 0 or (sellable_only and candidate.is_expired(today)):
            continue
        units = min(left, candidate.quantity)
        candidate.quantity -= units
        taken.append((candidate, units))
        left -= units
    if left:
        raise Conflict(
            _("{product}のロットが{missing}個足りません（期限切れは販売・補充できません）。").format(
                product=product.name_ja, missing=left
            ),
            code="lot_short",
            details={"missing": left},
        )
    return taken


def lots_put_back(*, product: Product, slot: Slot | None, quantity: int) -> list[tuple[StockLot, int]]:
    """Units coming back into a place fill the earliest-dated unexpired lots that have room; any rest (found in a
    count) joins a new lot dated like the place's latest lot."""
    today = timezone.localdate()
    lots = _place_lots(product=product, slot=slot)
    placed = []
    left = quantity
    for candidate in lots:
        room = candidate.received_quantity - candidate.quantity
        if left == 0 or room == 0 or candidate.is_expired(today):
            continue
        units = min(left, room)
        candidate.quantity += units
        candidate.save(update_fields=["quantity"])
        placed.append((candidate, units))
        left -= units
    if left:
        latest = lots[-1] if lots else None
        new_lot = StockLot.objects.create(
            product=product,
            slot=slot,
            quantity=left,
            received_quantity=left,
            unit_cost_yen=latest.unit_cost_yen if latest else product.unit_cost_yen,
            expires_on=latest.expires_on if latest else None,
            date_kind=latest.date_kind if latest else StockLot.DateKind.BEST_BEFORE,
            supplier=latest.supplier if latest else None,
            source=latest.source if latest else None,
        )
        placed.append((new_lot, left))
    return placed


def lots_into_slot(*, slot: Slot, taken: list[tuple[StockLot, int]]) -> list[tuple[StockLot, int]]:
    """Back-room units taken for a refill go into the slot as lots of their own, one per back-room lot."""
    placed = []
    for source, units in taken:
        existing = StockLot.objects.select_for_update().filter(slot=slot, source=source, product=source.product).first()
        if existing is not None:
            existing.quantity += units
            existing.received_quantity += units
            existing.save(update_fields=["quantity", "received_quantity"])
            placed.append((existing, units))
            continue
        new_lot = StockLot.objects.create(
            product=source.product,
            slot=slot,
            source=source,
            supplier=source.supplier,
            expires_on=source.expires_on,
            date_kind=source.date_kind,
            unit_cost_yen=source.unit_cost_yen,
            quantity=units,
            received_quantity=units,
        )
        placed.append((new_lot, units))
    return placed


def _put_back_where_sold(*, movement: StockMovement) -> list[tuple[StockLot, int]]:
    """Units of a sale coming back (a failed purchase, a jam, a return) refill the very lots the sale took them from;
    into the back room, the back-room lots those came from."""
    drawn = [
        pair
        for sold in movement.sale.movements.filter(kind=StockMovement.Kind.SALE, product=movement.product)
        for pair in sold.lots
    ]
    sold_lots = StockLot.objects.in_bulk([lot_id for lot_id, _units in drawn])
    placed = []
    left = movement.quantity_delta
    for lot_id, units in reversed(drawn):
        lot = sold_lots.get(lot_id)
        if movement.slot is None:
            lot = lot.source if lot is not None else None
        if lot is None or lot.slot_id != movement.slot_id or left == 0:
            continue
        lot = StockLot.objects.select_for_update().get(pk=lot.pk)
        back = min(left, units, lot.received_quantity - lot.quantity)
        if back:
            lot.quantity += back
            lot.save(update_fields=["quantity"])
            placed.append((lot, back))
            left -= back
    if left:
        placed += lots_put_back(product=movement.product, slot=movement.slot, quantity=left)
    return placed


def lots_follow(
    *, product: Product, slot: Slot | None, kind: str, quantity_delta: int, sale=None, lot: StockLot | None = None
) -> list[tuple[StockLot, int]]:
    """Move the lots of a movement other than a receipt or a transfer (which place their lots themselves); returns
    the lots and units, for the movement to keep."""
    if quantity_delta > 0:
        if sale is not None:
            return _put_back_where_sold(
                movement=StockMovement(product=product, slot=slot, kind=kind, quantity_delta=quantity_delta, sale=sale)
            )
        return lots_put_back(product=product, slot=slot, quantity=quantity_delta)
    return lots_take(
        product=product,
        slot=slot,
        quantity=-quantity_delta,
        sellable_only=kind == StockMovement.Kind.SALE,
        lot=lot,
    )
