"""Sales paid on the customer's phone: PayPay dynamic QR and Stripe's hosted card page (docs/payments.md).

reserved (stock held, nothing charged) → paid (the provider confirmed; booked) → dispensed, or expired / cancelled
(stock back, the code deleted at the provider) or refunded (money given back). Every transition is taken under the
sale's row lock (then the checkout's and the payment's), so two webhooks for one payment, a webhook racing the poll
or a cancel racing a payment each change the state once; the provider's payment id is unique per checkout. The
provider is only called outside any transaction, and it is the provider's own answer (asked, or signed), never a
notification's claim, that marks a checkout paid.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import Conflict, NotFound, ServiceUnavailable, ValidationError
from apps.core.services import audit_record
from apps.inventory.integrations.providers import ProviderPayment, ProviderRefused, checkout_provider
from apps.inventory.models import Checkout, Machine, Payment, PaymentRefund, Sale
from apps.inventory.services.attempts import attempt_release, payment_refunds_send, require_no_transaction
from apps.inventory.services.sales import (
    PurchaseOutcome,
    _purchase_attempt,
    _purchase_checked,
    _purchase_dispense,
    _purchase_settle,
    _sale_refund_undispensed,
)
from apps.inventory.signals import checkout_paid

logger = logging.getLogger(__name__)
LATE_PAYMENT_WINDOW = timedelta(hours=1)  # ended checkouts are still asked about late payments this long
PAID_STUCK_AFTER = timedelta(seconds=30)  # paid and no dispense command this long after: the process died


@dataclass(frozen=True)
class ConfirmOutcome:
    checkout: Checkout
    dispensed: bool  # this call sent the dispense command


def checkout_start(
    *,
    machine: Machine,
    items,
    coupon_code: str | None,
    provider: str,
    idempotency_key: str,
    channel: str,
    customer_key: str = "",
) -> Checkout:
    """Reserve the items and ask the provider for a payment of the exact total; returns the checkout whose `pay_url`
    the tablet shows as a QR code. The same Idempotency-Key again returns the same checkout.

    Raises Conflict(sold_out) when another customer holds or bought the last units, ValidationError for a provider
    this shop does not offer, ServiceUnavailable(payment_unavailable) when the provider cannot be reached (the
    reservation stays until it expires; retry with the same key)."""
    if provider not in Checkout.Provider.values or provider not in settings.PAYMENT_PROVIDERS:
        raise ValidationError(_("この支払い方法は使えません。"), details={"field": "provider"})
    purchase = _purchase_checked(
        machine=machine,
        items=items,
        coupon_code=coupon_code,
        payment_method=provider,
        idempotency_key=idempotency_key,
        channel=channel,
        customer_key=customer_key,
        actor=None,
    )
    attempt = _purchase_attempt(purchase)
    sale = attempt.sale if isinstance(attempt, PurchaseOutcome) else attempt[0]
    checkout = _checkout_record(sale_id=sale.pk, provider=provider)
    if checkout.state == Checkout.State.RESERVED and not checkout.pay_url:
        checkout = _checkout_request_payment(checkout)
    return checkout


@transaction.atomic
def _checkout_record(*, sale_id: int, provider: str) -> Checkout:
    sale = Sale.attempts.select_for_update().get(pk=sale_id)
    checkout = Checkout.objects.filter(sale=sale).first()
    if checkout is not None:
        return checkout
    if sale.status != Sale.Status.PENDING:
        raise Conflict(_("この購入はすでに終了しています。新しく購入してください。"), code="purchase_failed")
    return Checkout.objects.create(
        sale=sale,
        provider=provider,
        merchant_payment_id=f"vendbot-sale-{sale.pk}-{secrets.token_hex(4)}",
        expires_at=timezone.now() + timedelta(seconds=settings.PAYMENT_QR_EXPIRY_SECONDS),
    )


def _checkout_request_payment(checkout: Checkout) -> Checkout:
    require_no_transaction()
    sale = checkout.sale
    try:
        request = checkout_provider(checkout.provider).create(
            merchant_payment_id=checkout.merchant_payment_id,
            amount_yen=sale.total_yen,
            description=f"VendBot {sale.machine.code} #{sale.pk}",
            expires_at=int(checkout.expires_at.timestamp()),
        )
    except OSError as error:
        logger.warning("Provider %s unreachable for checkout %s: %s", checkout.provider, checkout.pk, error)
        raise ServiceUnavailable(
            _("決済サービスと通信できませんでした。同じ操作をもう一度お試しください。"), code="payment_unavailable"
        ) from error
    except ProviderRefused as error:
        logger.warning("Provider %s refused checkout %s: %s", checkout.provider, checkout.pk, error.code)
        checkout_end(checkout=checkout, state=Checkout.State.CANCELLED)
        raise Conflict(
            _("決済サービスが支払いを受け付けませんでした（{code}）。もう一度最初からお試しください。").format(
                code=error.code
            ),
            code="payment_refused",
        ) from error
    return _checkout_set_pay_request(checkout_id=checkout.pk, session_id=request.session_id, pay_url=request.pay_url)


@transaction.atomic
def _checkout_set_pay_request(*, checkout_id: int, session_id: str, pay_url: str) -> Checkout:
    checkout = Checkout.objects.select_for_update().select_related("sale__machine").get(pk=checkout_id)
    checkout.provider_session_id = session_id
    checkout.pay_url = pay_url
    checkout.save(update_fields=["provider_session_id", "pay_url"])
    return checkout


def checkout_get(*, checkout_id: int, machine: Machine | None = None) -> Checkout:
    checkout = (
        Checkout.objects.select_related("sale__machine", "sale__payment").filter(pk=checkout_id).first()
        if isinstance(checkout_id, int)
        else None
    )
    if checkout is None or (machine is not None and checkout.sale.machine_id != machine.pk):
        raise NotFound(_("この支払いは見つかりません。"))
    return checkout


def checkout_sync(*, checkout: Checkout) -> Checkout:
    """Ask the provider what became of the checkout's payment and act on its answer (the polling fallback of the
    webhook, and what a PayPay notification triggers). An open reservation past its expiry ends `expired`."""
    require_no_transaction()
    if checkout.state in (Checkout.State.PAID, Checkout.State.DISPENSED, Checkout.State.REFUNDED):
        return checkout
    answer = checkout_provider(checkout.provider).lookup(
        merchant_payment_id=checkout.merchant_payment_id, session_id=checkout.provider_session_id
    )
    if answer.state == ProviderPayment.PAID:
        return checkout_payment_confirmed(
            checkout=checkout, payment_id=answer.payment_id, amount_yen=answer.amount_yen, fee_yen=answer.fee_yen
        ).checkout
    if checkout.state == Checkout.State.RESERVED and (
        answer.state == ProviderPayment.ENDED or checkout.expires_at <= timezone.now()
    ):
        return checkout_cancel(checkout=checkout, state=Checkout.State.EXPIRED)
    return checkout


def checkout_cancel(*, checkout: Checkout, state: str = Checkout.State.CANCELLED) -> Checkout:
    """End a reservation (the customer cancelled, or it expired): the stock goes back and the provider deletes the
    code. A payment that got through first wins (its goods are dispensed); one that lands after is refunded."""
    require_no_transaction()
    checkout_end(checkout=checkout, state=state)
    provider = checkout_provider(checkout.provider)
    try:
        provider.cancel(merchant_payment_id=checkout.merchant_payment_id, session_id=checkout.provider_session_id)
        answer = provider.lookup(
            merchant_payment_id=checkout.merchant_payment_id, session_id=checkout.provider_session_id
        )
    except (OSError, ProviderRefused) as error:
        # The code expires at the provider by itself; the poll keeps asking for a late payment.
        logger.warning("Could not close checkout %s at %s: %s", checkout.pk, checkout.provider, error)
        return Checkout.objects.select_related("sale__machine").get(pk=checkout.pk)
    if answer.state == ProviderPayment.PAID:
        return checkout_payment_confirmed(
            checkout=checkout, payment_id=answer.payment_id, amount_yen=answer.amount_yen, fee_yen=answer.fee_yen
        ).checkout
    return Checkout.objects.select_related("sale__machine").get(pk=checkout.pk)


@transaction.atomic
def checkout_end(*, checkout: Checkout, state: str) -> bool:
    """Under the sale's lock: a reservation still open ends in `state` (expired or cancelled), its stock given back
    and its payment cancelled (nothing was charged). False if it was no longer open (paid meanwhile, or ended)."""
    sale = Sale.attempts.select_for_update().select_related("machine").get(pk=checkout.sale_id)
    locked = Checkout.objects.select_for_update().get(pk=checkout.pk)
    payment = Payment.objects.select_for_update().get(sale=sale)
    if locked.state != Checkout.State.RESERVED or sale.status != Sale.Status.PENDING:
        return False
    note = (
        _("お支払いの期限が過ぎたため、購入を取り消しました。")
        if state == Checkout.State.EXPIRED
        else _("お客様が購入を取り消しました。")
    )
    attempt_release(sale=sale, payment=payment, note=note, payment_status=Payment.Status.CANCELLED)
    locked.state = state
    locked.save(update_fields=["state"])
    return True


def checkout_payment_confirmed(
    *, checkout: Checkout, payment_id: str, amount_yen: int, fee_yen: int = 0
) -> ConfirmOutcome:
    """The provider says `payment_id` paid this checkout (its API answered so, or its signed webhook). Once per
    payment: the first confirmation of an open reservation completes the sale and dispenses (a LINE sale gets a
    pickup code instead); a payment for a reservation that already ended is refunded; a repeat changes nothing."""
    require_no_transaction()
    outcome = _checkout_mark_paid(
        checkout_id=checkout.pk, payment_id=payment_id, amount_yen=amount_yen, fee_yen=fee_yen
    )
    checkout = Checkout.objects.select_related("sale__machine").get(pk=checkout.pk)
    if outcome == "refund":
        payment_refunds_send(payment_id=checkout.sale.payment.pk)
    if outcome != "dispense":
        return ConfirmOutcome(checkout=checkout, dispensed=False)
    if checkout.sale.channel == Sale.Channel.LINE:
        return ConfirmOutcome(checkout=checkout_pickup_code_issue(checkout=checkout), dispensed=False)
    return ConfirmOutcome(checkout=checkout_dispense(checkout=checkout), dispensed=True)


@transaction.atomic
def _checkout_mark_paid(*, checkout_id: int, payment_id: str, amount_yen: int, fee_yen: int) -> str:
    """ "dispense" when this call completed the sale, "refund" when it recorded a refund of a late payment, "" when
    the payment was known already."""
    sale_id = Checkout.objects.values_list("sale_id", flat=True).get(pk=checkout_id)
    sale = Sale.attempts.select_for_update().select_related("machine").get(pk=sale_id)
    checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
    payment = Payment.objects.select_for_update().get(sale=sale)
    if checkout.provider_payment_id:
        if checkout.provider_payment_id != payment_id:
            logger.error("Checkout %s: second payment %s reported; the first is kept", checkout.pk, payment_id)
        return ""
    checkout.provider_payment_id = payment_id
    checkout.paid_at = timezone.now()
    checkout.fee_yen = fee_yen
    payment.gateway_reference = payment_id
    if (
        checkout.state == Checkout.State.RESERVED
        and sale.status == Sale.Status.PENDING
        and amount_yen == payment.amount_yen
    ):
        payment.status = Payment.Status.CAPTURED
        payment.save(update_fields=["status", "gateway_reference"])
        sale.status = Sale.Status.COMPLETED
        sale.save(update_fields=["status"])
        checkout.state = Checkout.State.PAID
        checkout.save(update_fields=["provider_payment_id", "paid_at", "fee_yen", "state"])
        return "dispense"
    _checkout_refund_late(sale=sale, checkout=checkout, payment=payment, amount_yen=amount_yen)
    return "refund"


def _checkout_refund_late(*, sale: Sale, checkout: Checkout, payment: Payment, amount_yen: int) -> None:
    """A payment for a reservation that is over (or for another amount): nothing is sold, all of it goes back."""
    from_state = checkout.state
    if sale.status == Sale.Status.PENDING:  # the amount differed: the reservation ends here
        attempt_release(sale=sale, payment=payment, note=_("金額が一致しないため、購入を取り消して返金しました。"))
    refund_yen = min(amount_yen, payment.amount_yen) or payment.amount_yen
    PaymentRefund.objects.create(
        payment=payment, amount_yen=refund_yen, idempotency_key=f"{payment.idempotency_key}:late"
    )
    payment.status = Payment.Status.REFUNDED
    payment.refunded_yen = payment.amount_yen
    payment.save(update_fields=["status", "refunded_yen", "gateway_reference"])
    checkout.state = Checkout.State.REFUNDED
    checkout.save(update_fields=["provider_payment_id", "paid_at", "fee_yen", "state"])
    audit_record(
        target=sale,
        action="checkout.late_payment_refunded",
        actor_label=f"provider:{checkout.provider}",
        from_state=from_state,
        to_state=checkout.state,
        data={"payment_id": checkout.provider_payment_id, "amount_yen": amount_yen},
    )


def checkout_dispense(*, checkout: Checkout) -> Checkout:
    """Send the dispense command for a paid checkout, record what came out (a jam refunds the rest through the
    provider), and mark it dispensed. Only the caller that marks the start (in its own commit, before the command)
    sends it: a second caller, or one after a refund, changes nothing."""
    require_no_transaction()
    started = Checkout.objects.filter(
        pk=checkout.pk, state=Checkout.State.PAID, dispense_started_at__isnull=True
    ).update(dispense_started_at=timezone.now())
    if not started:
        return Checkout.objects.select_related("sale__machine").get(pk=checkout.pk)
    return _checkout_send_dispense(checkout=checkout)


def _checkout_send_dispense(*, checkout: Checkout) -> Checkout:
    sale = Sale.objects.select_related("machine", "payment").get(pk=checkout.sale_id)
    lines = list(sale.lines.select_related("slot", "product"))
    dropped = _purchase_dispense(sale=sale, lines=lines)
    _purchase_settle(sale=sale, lines=lines, dropped=dropped)
    Checkout.objects.filter(pk=checkout.pk, state=Checkout.State.PAID).update(
        state=Checkout.State.DISPENSED, dispensed_at=timezone.now()
    )
    payment_refunds_send(payment_id=sale.payment.pk)
    return Checkout.objects.select_related("sale__machine").get(pk=checkout.pk)


@transaction.atomic
def checkout_pickup_code_issue(*, checkout: Checkout) -> Checkout:
    """A paid LINE purchase is dispensed only at the machine: a 6-digit code the buyer types at its tablet, valid
    PICKUP_CODE_VALID_SECONDS. Sent to the buyer by chats (signal `checkout_paid`)."""
    locked = Checkout.objects.select_for_update().select_related("sale__machine").get(pk=checkout.pk)
    if locked.pickup_code is None:
        code = f"{secrets.randbelow(10**6):06d}"
        while Checkout.objects.filter(pickup_code=code).exists():
            code = f"{secrets.randbelow(10**6):06d}"
        locked.pickup_code = code
        locked.pickup_expires_at = timezone.now() + timedelta(seconds=settings.PICKUP_CODE_VALID_SECONDS)
        locked.save(update_fields=["pickup_code", "pickup_expires_at"])
        transaction.on_commit(lambda: checkout_paid.send(sender=Checkout, checkout=locked))
    return locked


def checkout_pickup(*, machine: Machine, code: str) -> Checkout:
    """The buyer typed their pickup code at `machine`'s tablet: dispense their paid LINE purchase there, once."""
    require_no_transaction()
    checkout = _checkout_pickup_claim(machine=machine, code=(code or "").strip())
    return _checkout_send_dispense(checkout=checkout)


@transaction.atomic
def _checkout_pickup_claim(*, machine: Machine, code: str) -> Checkout:
    wrong = ValidationError(_("受け取りコードが正しくないか、期限が切れています。"), details={"field": "code"})
    checkout = (
        Checkout.objects.select_for_update()
        .select_related("sale__machine")
        .filter(pickup_code=code, sale__machine=machine)
        .first()
        if code.isdigit()
        else None
    )
    if (
        checkout is None
        or checkout.state != Checkout.State.PAID
        or checkout.dispense_started_at is not None
        or checkout.pickup_expires_at <= timezone.now()
    ):
        raise wrong
    checkout.pickup_code = None  # used: never again
    checkout.dispense_started_at = timezone.now()  # this caller sends the dispense command
    checkout.save(update_fields=["pickup_code", "dispense_started_at"])
    return checkout


def checkouts_reconcile() -> dict[str, int]:
    """The polling fallback (beat, every few seconds): ask the provider about every open reservation (which also
    expires the ones past their time) and, for an hour after they ended, about expired or cancelled ones, whose
    late payment is then refunded. One that cannot be reached is asked again next time."""
    counts = {"checked": 0, "paid": 0, "expired": 0, "refunded": 0, "unreachable": 0}
    recent = timezone.now() - LATE_PAYMENT_WINDOW
    to_ask = Checkout.objects.select_related("sale__machine").filter(
        Q(state=Checkout.State.RESERVED) | Q(state__in=Checkout.ENDED_UNPAID, expires_at__gte=recent)
    )
    for checkout in to_ask.order_by("pk"):
        before = checkout.state
        try:
            after = checkout_sync(checkout=checkout).state
        except (OSError, ProviderRefused) as error:
            logger.warning("Checkout %s not checked: %s", checkout.pk, error)
            counts["unreachable"] += 1
            continue
        counts["checked"] += 1
        if after != before:
            key = {"paid": "paid", "dispensed": "paid", "expired": "expired", "refunded": "refunded"}.get(after)
            if key:
                counts[key] += 1
    counts.update(checkouts_settle_paid())
    if any(counts[key] for key in ("paid", "expired", "refunded", "unreachable", "stuck_dispensed", "stuck_refunded")):
        logger.warning("Checkout reconciler: %s", counts)
    return counts


def checkouts_settle_paid(*, now=None) -> dict[str, int]:
    """Paid checkouts whose dispense command was never sent (the process died between the payment and the command, or
    a LINE buyer never came): the goods are still in the machine. A tablet customer who paid less than the QR's
    lifetime ago may still be standing there: dispense; later, refund everything. A LINE purchase whose code was never
    issued gets one; one whose code ran out is refunded. (Started but not finished dispensing is for a person: the
    reconciliation report lists it.)"""
    now = now or timezone.now()
    counts = {"stuck_dispensed": 0, "stuck_refunded": 0, "codes_issued": 0}
    stuck = Checkout.objects.select_related("sale__machine").filter(
        state=Checkout.State.PAID, dispense_started_at__isnull=True, paid_at__lt=now - PAID_STUCK_AFTER
    )
    for checkout in stuck.order_by("pk"):
        if checkout.sale.channel == Sale.Channel.LINE and checkout.pickup_expires_at is None:
            checkout_pickup_code_issue(checkout=checkout)
            counts["codes_issued"] += 1
        elif checkout.sale.channel == Sale.Channel.LINE:
            if checkout.pickup_expires_at <= now:
                note = _("受け取りコードの期限が過ぎたため、代金を返金しました。")
                counts["stuck_refunded"] += checkout_refund_undispensed(checkout=checkout, note=note)
        elif now - checkout.paid_at <= timedelta(seconds=settings.PAYMENT_QR_EXPIRY_SECONDS):
            counts["stuck_dispensed"] += checkout_dispense(checkout=checkout).state == Checkout.State.DISPENSED
        else:
            note = _("商品をお出しできなかったため、代金を返金しました。")
            counts["stuck_refunded"] += checkout_refund_undispensed(checkout=checkout, note=note)
    return counts


def checkout_refund_undispensed(*, checkout: Checkout, note: str) -> bool:
    """Refund a paid checkout none of whose goods left the machine (they stay in their slot), through the provider
    that took the money. False when someone dispensed or refunded it first."""
    require_no_transaction()
    if not _checkout_refund_undispensed_record(checkout_id=checkout.pk, note=note):
        return False
    payment_refunds_send(payment_id=checkout.sale.payment.pk)
    return True


@transaction.atomic
def _checkout_refund_undispensed_record(*, checkout_id: int, note: str) -> bool:
    sale_id = Checkout.objects.values_list("sale_id", flat=True).get(pk=checkout_id)
    Sale.objects.select_for_update().get(pk=sale_id)
    locked = Checkout.objects.select_for_update().get(pk=checkout_id)
    if locked.state != Checkout.State.PAID or locked.dispense_started_at is not None:
        return False
    locked.state = Checkout.State.REFUNDED
    locked.pickup_code = None
    locked.dispense_started_at = timezone.now()  # nobody dispenses it any more
    locked.save(update_fields=["state", "pickup_code", "dispense_started_at"])
    sale = _sale_refund_undispensed(sale=locked.sale)  # every line: nothing came out, all back in the slot
    sale.note = note
    sale.save(update_fields=["note"])
    audit_record(
        target=sale,
        action="checkout.undispensed_refunded",
        actor_label="system:checkout-reconciler",
        from_state=Checkout.State.PAID,
        to_state=Checkout.State.REFUNDED,
        reason=note,
        data={"amount_yen": sale.refunded_yen},
    )
    return True
