"""Card payments through Stripe (the `stripe` SDK), pointed at STRIPE_API_BASE_URL.

A Checkout Session in JPY for the sale's exact total: Stripe hosts the card page the customer's phone opens from the
tablet's QR code (no card data touches VendBot) and creates the PaymentIntent, which carries the sale's
`merchant_payment_id` in its metadata. Confirmed by the signed `payment_intent.succeeded` webhook, or by retrieving the
session (`payment_status == "paid"`); a session still open when the reservation ends is expired at Stripe.
"""

import datetime

import stripe
from django.conf import settings

from apps.inventory.integrations.payments import RefundResult
from apps.inventory.integrations.providers import (
    Payout,
    PayoutLine,
    PayRequest,
    ProviderPayment,
    ProviderRefused,
    ProviderUnavailable,
)

TIMEOUT_SECONDS = 10
UNAVAILABLE = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


class StripeProvider:
    def __init__(self):
        self.client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE_URL.rstrip("/")},
            http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
            max_network_retries=1,
        )

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except UNAVAILABLE as error:
            raise ProviderUnavailable(f"Stripe unreachable: {type(error).__name__}") from error
        except stripe.StripeError as error:
            raise ProviderRefused(error.code or type(error).__name__, error.user_message or "") from error

    def create(self, *, merchant_payment_id: str, amount_yen: int, description: str, expires_at: int) -> PayRequest:
        base = settings.PAYMENTS_PUBLIC_BASE_URL.rstrip("/")
        session = self._call(
            self.client.v1.checkout.sessions.create,
            params={
                "mode": "payment",
                "payment_method_types": ["card"],
                "line_items": [
                    {
                        "price_data": {
                            "currency": "jpy",
                            "unit_amount": amount_yen,
                            "product_data": {"name": description},
                        },
                        "quantity": 1,
                    }
                ],
                "client_reference_id": merchant_payment_id,
                "metadata": {"merchant_payment_id": merchant_payment_id},
                "payment_intent_data": {"metadata": {"merchant_payment_id": merchant_payment_id}},
                "success_url": f"{base}/payments/thanks/",
                "cancel_url": f"{base}/payments/thanks/",
            },
            options={"idempotency_key": f"{merchant_payment_id}:session"},
        )
        return PayRequest(session_id=session.id, pay_url=session.url)

    def lookup(self, *, merchant_payment_id: str, session_id: str) -> ProviderPayment:
        if not session_id:
            return ProviderPayment(state=ProviderPayment.OPEN)
        session = self._call(self.client.v1.checkout.sessions.retrieve, session_id)
        if session.payment_status == "paid" and session.payment_intent:
            intent = session.payment_intent
            intent_id = intent if isinstance(intent, str) else intent.id
            return ProviderPayment(state=ProviderPayment.PAID, payment_id=intent_id, amount_yen=session.amount_total)
        if session.status == "expired":
            return ProviderPayment(state=ProviderPayment.ENDED)
        return ProviderPayment(state=ProviderPayment.OPEN)

    def cancel(self, *, merchant_payment_id: str, session_id: str) -> None:
        """Expire the session so its page takes no payment; one already complete stays (the caller looks it up)."""
        if not session_id:
            return
        try:
            self._call(self.client.v1.checkout.sessions.expire, session_id)
        except ProviderRefused:
            pass  # already complete or expired: Stripe refuses to expire it, and lookup tells which

    def refund(self, *, charge_reference: str, amount_yen: int, idempotency_key: str) -> RefundResult:
        refund = self._call(
            self.client.v1.refunds.create,
            params={"payment_intent": charge_reference, "amount": amount_yen},
            options={"idempotency_key": idempotency_key},
        )
        return RefundResult(reference=refund.id)

    def payout(self, payout_id: str) -> Payout:
        """A paid payout and what it is made of: its balance transactions (charges, refunds, their fees), each with
        the PaymentIntent it belongs to (the `source` expanded)."""
        payout = self._call(self.client.v1.payouts.retrieve, payout_id)
        listing = self._call(
            self.client.v1.balance_transactions.list,
            params={"payout": payout_id, "expand": ["data.source"], "limit": 100},
        )
        lines = [
            _payout_line(txn) for txn in self._call(lambda: list(listing.auto_paging_iter())) if txn.type != "payout"
        ]
        paid_on = datetime.datetime.fromtimestamp(payout.arrival_date, tz=datetime.UTC).date()
        return Payout(payout_id=payout.id, paid_on=paid_on.isoformat(), net_yen=payout.amount, lines=tuple(lines))


def _payout_line(txn) -> PayoutLine:
    source = txn.source
    intent = getattr(source, "payment_intent", None) if source is not None and not isinstance(source, str) else None
    kind = {"charge": "payment", "payment": "payment", "refund": "refund", "payment_refund": "refund"}.get(
        txn.type, "other"
    )
    return PayoutLine(
        kind=kind,
        reference=txn.id,
        payment_reference=intent if isinstance(intent, str) else getattr(intent, "id", "") or "",
        amount_yen=txn.amount,
        fee_yen=txn.fee,
        occurred_at=txn.created,
    )
