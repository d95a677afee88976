"""What the shop needs from a phone payment provider (PayPay dynamic QR, Stripe's hosted card page).

A provider creates a payment for an exact amount that the customer's phone reaches through a QR code, tells what
became of it (polling), gives up on it (cancel/expiry), and refunds. Every call carries our own ids, so a repeated
call is harmless. The shop never calls a provider inside a database transaction (`services/checkout.py`).
"""

from dataclasses import dataclass
from typing import Protocol

from apps.inventory.integrations.payments import RefundResult


class ProviderUnavailable(OSError):
    """The provider could not be reached or answered with a server error: try again later (nothing is lost)."""


class ProviderRefused(Exception):
    """The provider answered with an error of its own (its code in `code`)."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class PayRequest:
    session_id: str  # PayPay codeId, Stripe Checkout Session id
    pay_url: str  # what the tablet's QR code holds


@dataclass(frozen=True)
class ProviderPayment:
    """The provider's word on a payment: `paid` (money taken), `open` (may still be paid) or `ended` (never will)."""

    state: str
    payment_id: str = ""
    amount_yen: int = 0
    fee_yen: int = 0

    PAID = "paid"
    OPEN = "open"
    ENDED = "ended"


@dataclass(frozen=True)
class PayoutLine:
    """One transaction of a payout as the provider reports it (amount negative for a refund)."""

    kind: str  # "payment", "refund" or "other" (ProviderTransaction.Kind)
    reference: str
    payment_reference: str
    amount_yen: int
    fee_yen: int
    occurred_at: int | None = None  # epoch seconds
    merchant_payment_id: str = ""


@dataclass(frozen=True)
class Payout:
    payout_id: str
    paid_on: str  # ISO date
    net_yen: int
    lines: tuple[PayoutLine, ...]


class CheckoutProvider(Protocol):
    def create(self, *, merchant_payment_id: str, amount_yen: int, description: str, expires_at: int) -> PayRequest: ...

    def lookup(self, *, merchant_payment_id: str, session_id: str) -> ProviderPayment: ...

    def cancel(self, *, merchant_payment_id: str, session_id: str) -> None: ...

    def refund(self, *, charge_reference: str, amount_yen: int, idempotency_key: str) -> RefundResult: ...


def checkout_provider(name: str) -> CheckoutProvider:
    """The provider named "paypay" or "stripe", configured from the settings of this moment (tests point them at
    loopback fakes)."""
    if name == "paypay":
        from apps.inventory.integrations.paypay import PayPayProvider

        return PayPayProvider()
    from apps.inventory.integrations.stripe_checkout import StripeProvider

    return StripeProvider()
