"""Staff refunds of part of a sale: chosen lines and quantities, paid back through whoever took the money (PayPay,
Stripe or the terminal), with a reason, booked and audited. A whole-sale refund is `sales.sale_refund`."""

from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.errors import Conflict, ValidationError
from apps.core.services import audit_record
from apps.inventory.models import Payment, PaymentRefund, Sale, SaleLine, StockMovement
from apps.inventory.services.attempts import payment_refunds_send
from apps.inventory.services.books import sale_refund_book
from apps.inventory.services.stock import locked_product, locked_storage, movement_record, require_perm


def line_refund_yen(line: SaleLine, units: int) -> int:
    """What `units` more of `line` pay back: the line's total shared per unit the way every refund shares it
    (`total × units // quantity` of what was paid), so all the partial refunds of a line add up to its total."""
    before = line.total_yen * line.refunded_quantity // line.quantity
    after = line.total_yen * (line.refunded_quantity + units) // line.quantity
    return after - before


def sale_refund_partial(
    *, sale: Sale, quantities: dict[int, int], reason: str, return_to_storage: bool = False, actor=None
) -> Sale:
    """Refund `quantities` ({sale line id: units}) of `sale`. Needs `inventory.refund_sale`; a reason is required;
    no line can be refunded beyond what is left of it. The money goes back through the provider or terminal that
    took it, after the commit (the reconciler resends what could not be sent)."""
    sale = _sale_refund_partial_record(
        sale=sale, quantities=quantities, reason=reason, return_to_storage=return_to_storage, actor=actor
    )
    payment_refunds_send(payment_id=sale.payment.pk)
    return sale


def _checked_quantities(sale: Sale, quantities: dict[int, int]) -> tuple[dict[int, int], list[SaleLine]]:
    lines = {line.pk: line for line in sale.lines.select_related("product")}
    wanted = {int(pk): int(units) for pk, units in quantities.items() if units}
    if not wanted:
        raise ValidationError(_("返金する商品と数量を選んでください。"), details={"field": "quantities"})
    for pk, units in wanted.items():
        line = lines.get(pk)
        if line is None or units < 0 or units > line.quantity - line.refunded_quantity:
            raise ValidationError(_("返金できる数量を超えています。"), details={"field": "quantities", "line": pk})
    return wanted, list(lines.values())


@transaction.atomic
def _sale_refund_partial_record(
    *, sale: Sale, quantities: dict[int, int], reason: str, return_to_storage: bool, actor
) -> Sale:
    sale, payment, reason = refundable_sale_lock(sale=sale, reason=reason, actor=actor)
    wanted, lines = _checked_quantities(sale, quantities)
    amount = sum(line_refund_yen(line, wanted.get(line.pk, 0)) for line in lines)
    if return_to_storage:  # the back room before the product, as every stock path locks them
        returned_to_storage(sale=sale, lines=lines, units=wanted, actor=actor, reason=reason)
    unit_costs = {line.product_id: locked_product(line.product).unit_cost_yen for line in lines}
    sale_refund_book(sale=sale, refunded_now=wanted, restocked=return_to_storage, unit_costs=unit_costs, actor=actor)
    for line in lines:
        line.refunded_quantity += wanted.get(line.pk, 0)
    SaleLine.objects.bulk_update(lines, ["refunded_quantity"])
    # A sale may be refunded in parts: each part under a key of its own.
    payment_refund_owe(payment=payment, amount_yen=amount, purpose=f"part-{payment.refunds.count() + 1}")
    from_state = sale.status
    sale.refunded_yen += amount
    whole = all(line.refunded_quantity == line.quantity for line in lines)
    sale.status = Sale.Status.REFUNDED if whole else Sale.Status.PARTIALLY_REFUNDED
    sale.save(update_fields=["refunded_yen", "status"])
    audit_record(
        target=sale,
        action="sale.partial_refund",
        actor=actor,
        from_state=from_state,
        to_state=sale.status,
        reason=reason,
        data={"amount_yen": amount, "quantities": wanted, "return_to_storage": return_to_storage},
    )
    return sale


def refundable_sale_lock(*, sale: Sale, reason: str, actor) -> tuple[Sale, Payment, str]:
    """The checks every staff refund makes, under the sale's and its payment's locks: the permission, a reason, a sale
    that was sold and is not refunded whole yet. Returns the locked sale, its payment and the reason."""
    require_perm(actor, "inventory.refund_sale", _("返金の権限がありません。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("返金には理由が必要です。"), details={"field": "reason"})
    sale = Sale.attempts.select_for_update().get(pk=sale.pk)
    if sale.status in Sale.ATTEMPT_STATES:
        raise Conflict(_("この購入は成立していないため返金できません（代金は受け取っていません）。"), code="not_sold")
    if sale.status == Sale.Status.REFUNDED:
        raise Conflict(_("この販売はすでに返金済みです。"), code="already_refunded")
    return sale, Payment.objects.select_for_update().get(sale=sale), reason


def returned_to_storage(
    *, sale: Sale, lines: list[SaleLine], units: dict[int, int], actor, reason: str, actor_label: str = ""
) -> None:
    """Refunded goods the customer brought back go to the back room ({sale line id: units}), each a movement."""
    for line in lines:
        returned = units.get(line.pk, 0)
        if not returned:
            continue
        storage = locked_storage(line.product)
        storage.quantity += returned
        storage.save(update_fields=["quantity"])
        movement_record(
            product=line.product,
            kind=StockMovement.Kind.REFUND_RETURN,
            quantity_delta=returned,
            actor=actor,
            actor_label=actor_label,
            reason=reason,
            sale=sale,
        )


def payment_refund_owe(*, payment: Payment, amount_yen: int, purpose: str) -> None:
    """Owe `amount_yen` back on `payment` (call with it locked) under the key `<payment key>:<purpose>`;
    `payment_refunds_send` pays it after the commit."""
    if amount_yen and payment.gateway_reference:
        PaymentRefund.objects.create(
            payment=payment, amount_yen=amount_yen, idempotency_key=f"{payment.idempotency_key}:{purpose}"
        )
    payment.refunded_yen += amount_yen
    if payment.refunded_yen == payment.amount_yen:
        payment.status = Payment.Status.REFUNDED
    payment.save(update_fields=["refunded_yen", "status"])
