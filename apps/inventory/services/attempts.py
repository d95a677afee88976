"""Purchase attempts: what happens to a purchase whose charge did not end in a sale, and the reconciler.

A purchase is recorded (pending sale, pending payment, stock reserved) and committed before the card is charged, so
a process that dies between the charge and the sale's commit leaves a trace. An attempt that fails (declined, refused
by the books, or abandoned) gives its stock back and becomes a `failed` sale that no report counts; its payment ends
`declined`, `cancelled` (never charged) or `refunded` (charged, then paid back). The gateway is never called inside a
database transaction: its answer must not be lost with a rollback.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.services import audit_record
from apps.inventory.integrations.payments import ChargeResult, payment_gateway, refund_gateway
from apps.inventory.models import CouponRedemption, Payment, PaymentRefund, Sale, Slot, StockMovement
from apps.inventory.services.stock import locked_storage, movement_record

logger = logging.getLogger(__name__)
RECONCILER = "job:purchase_reconciler"


def require_no_transaction() -> None:
    """Refuse to call the payment gateway while a transaction is open: a rollback would forget what it answered.
    (The test case's own wrapping transaction does not count: it never commits, so nothing waits on it.)"""
    if any(not block._from_testcase for block in transaction.get_connection().atomic_blocks):
        raise RuntimeError("The payment gateway is never called inside a database transaction.")


def not_completed_message() -> str:
    """What a customer is told of an attempt given up after its charge may have gone through."""
    return _("購入を完了できませんでした。ご請求があった場合は全額返金しました。")


def attempt_release(*, sale: Sale, payment: Payment, note: str, payment_status: str = "", decline_reason: str = ""):
    """Give a pending attempt's stock back and mark it failed; call with the sale and payment rows locked.

    The reserved items go back into their slot (or, if the slot was refilled to capacity meanwhile, into the back
    room); the coupon use is freed and the lines are dropped, so no report counts what was never sold (the audit entry
    keeps them). `payment_status` closes the payment now (a decline); empty leaves it pending for `payment_resolve`.
    """
    actor_label = f"machine:{sale.machine.code}"
    lines = list(sale.lines.select_related("product", "slot"))
    locked = Slot.objects.select_for_update().filter(pk__in=[line.slot_id for line in lines]).order_by("id")
    slots = {slot.pk: slot for slot in locked}
    for line in lines:
        slot = slots[line.slot_id]
        into_slot = min(line.quantity, slot.capacity - slot.quantity) if slot.product_id == line.product_id else 0
        # Into the slot as far as it has room for them, the rest into the back room (None: the product's storage).
        for place, quantity, where in (
            (slot, into_slot, {"slot": slot}),
            (None, line.quantity - into_slot, {}),
        ):
            if quantity:
                place = place or locked_storage(line.product)
                place.quantity += quantity
                place.save(update_fields=["quantity"])
                movement_record(
                    product=line.product,
                    kind=StockMovement.Kind.RELEASE,
                    quantity_delta=quantity,
                    actor_label=actor_label,
                    reason=note,
                    sale=sale,
                    **where,
                )
    CouponRedemption.objects.filter(sale=sale).delete()
    sale.lines.all().delete()
    sale.status = Sale.Status.FAILED
    sale.note = note
    sale.save(update_fields=["status", "note"])
    if payment_status:
        payment.status = payment_status
        payment.decline_reason = decline_reason
        payment.save(update_fields=["status", "decline_reason"])
    audit_record(
        target=sale,
        action="sale.attempt_failed",
        actor_label=actor_label,
        from_state=Sale.Status.PENDING,
        to_state=Sale.Status.FAILED,
        reason=note,
        data={
            "items": {line.slot.code: line.quantity for line in lines},
            "total_yen": sale.total_yen,
            "payment": payment.status,
        },
    )


@transaction.atomic
def attempt_give_up(*, sale_id: int, note: str, charged_before: datetime | None = None) -> bool:
    """Fail the attempt if it is still pending (stock back, payment left for `payment_resolve`) and, with
    `charged_before`, if no retry renewed its lease since; False if it was left alone."""
    sale = Sale.attempts.select_for_update().select_related("machine").get(pk=sale_id)
    payment = Payment.objects.select_for_update().get(sale=sale)
    if sale.status != Sale.Status.PENDING:
        return False
    if charged_before is not None and payment.charge_started_at >= charged_before:
        return False
    attempt_release(sale=sale, payment=payment, note=note)
    return True


def payment_resolve(*, payment_id: int, charge: ChargeResult | None = None) -> Payment:
    """Close the payment of a failed attempt: ask the gateway what became of its charge (unless `charge` is that
    answer already), pay a capture back, and record the end state. Safe to repeat and to run twice at once: the end
    state is written under the payment's lock, and the refund is sent by key."""
    require_no_transaction()
    payment = Payment.objects.select_related("sale").get(pk=payment_id)
    if payment.sale.status != Sale.Status.FAILED or payment.status in (
        Payment.Status.DECLINED,
        Payment.Status.REFUNDED,
    ):
        return payment
    if charge is None and payment.amount_yen:
        charge = payment_gateway().charge_lookup(idempotency_key=payment.idempotency_key)
    payment = _payment_close(payment_id=payment_id, charge=charge)
    payment_refunds_send(payment_id=payment_id)
    return payment


@transaction.atomic
def _payment_close(*, payment_id: int, charge: ChargeResult | None) -> Payment:
    payment = Payment.objects.select_for_update().select_related("sale").get(pk=payment_id)
    from_state = payment.status
    if charge is not None and charge.captured and payment.status != Payment.Status.REFUNDED:
        # A refund wins over an earlier "never charged": a charge that landed late was found and is paid back.
        payment.status = Payment.Status.REFUNDED
        payment.refunded_yen = payment.amount_yen
        payment.gateway_reference = charge.reference
        PaymentRefund.objects.create(
            payment=payment, amount_yen=payment.amount_yen, idempotency_key=f"{payment.idempotency_key}:not-sold"
        )
    elif payment.status == Payment.Status.PENDING:
        declined = charge is not None
        payment.status = Payment.Status.DECLINED if declined else Payment.Status.CANCELLED
        payment.decline_reason = charge.decline_reason if declined else ""
    else:
        return payment
    payment.save(update_fields=["status", "refunded_yen", "gateway_reference", "decline_reason"])
    audit_record(
        target=payment.sale,
        action="payment.resolve",
        actor_label=RECONCILER,
        from_state=from_state,
        to_state=payment.status,
        data={"amount_yen": payment.amount_yen, "refunded_yen": payment.refunded_yen},
    )
    return payment


def payment_refunds_send(*, payment_id: int | None = None, created_before: datetime | None = None) -> int:
    """Pay back, through the gateway, the refunds recorded and not yet sent (of one payment, or all recorded before
    `created_before`); returns how many went. One that fails to reach the gateway stays for the next call."""
    require_no_transaction()
    unsent = PaymentRefund.objects.filter(sent_at__isnull=True).select_related("payment").order_by("pk")
    if payment_id is not None:
        unsent = unsent.filter(payment_id=payment_id)
    if created_before is not None:
        unsent = unsent.filter(created_at__lt=created_before)
    sent = 0
    for refund in unsent:
        try:
            result = refund_gateway(refund.payment.method).refund(
                charge_reference=refund.payment.gateway_reference,
                amount_yen=refund.amount_yen,
                idempotency_key=refund.idempotency_key,
            )
        except OSError as error:
            logger.warning("Refund %s not sent yet: %s", refund.pk, type(error).__name__)
            continue
        sent += PaymentRefund.objects.filter(pk=refund.pk, sent_at__isnull=True).update(
            sent_at=timezone.now(), gateway_reference=result.reference
        )
    return sent


def purchase_attempts_reconcile() -> dict[str, int]:
    """Settle every purchase attempt left pending past the lease (its process died or lost its database between
    recording the purchase and completing it): the stock goes back, and a charge the gateway captured is refunded.

    Refunded rather than completed: the customer was told the purchase failed (or heard nothing) and has walked away
    without the goods, so completing the sale would keep money for items nobody took. Race-safe against a late retry
    of the same Idempotency-Key: a retry renews the lease (`Payment.charge_started_at`) under the sale's lock before
    it charges; this job gives an attempt up only under the same lock and only if the lease is still over; and a
    retry that finds its attempt failed after charging pays its own charge back with the same refund key. Gateway
    calls must take less than the lease (PURCHASE_ATTEMPT_LEASE_SECONDS) for "not charged" to be final. Refunds
    recorded longer ago than the lease and still not sent (the gateway was unreachable, or the process died after
    the refund's commit) are sent again. Returns counts by outcome.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.PURCHASE_ATTEMPT_LEASE_SECONDS)
    counts = {"released": 0, Payment.Status.CANCELLED: 0, Payment.Status.DECLINED: 0, Payment.Status.REFUNDED: 0}
    # A phone payment's reservation has its own expiry (services/checkout.py), not this lease.
    stale = Payment.objects.filter(
        status=Payment.Status.PENDING, charge_started_at__lt=cutoff, sale__checkout__isnull=True
    )
    for payment_id, sale_id in stale.values_list("pk", "sale_id").order_by("pk"):
        counts["released"] += attempt_give_up(sale_id=sale_id, note=not_completed_message(), charged_before=cutoff)
        payment = payment_resolve(payment_id=payment_id)
        if payment.status in counts:
            counts[payment.status] += 1
    counts["refunds_sent"] = payment_refunds_send(created_before=cutoff)
    if any(counts.values()):
        logger.warning("Purchase reconciler: %s", counts)
    return counts
