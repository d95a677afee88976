"""Payment providers' notifications: `POST /payments/paypay/webhook/` and `POST /payments/stripe/webhook/`.

Stripe signs its events (`Stripe-Signature`, checked with the SDK): unsigned or forged bodies are refused with 400 and
nothing is stored. PayPay's notifications carry no signature, so one is only a prompt: the payment is looked up
through PayPay's API (HMAC-authenticated) and only PayPay's own answer moves money or goods; a notification naming a
payment PayPay does not confirm is refused with 400.
"""

import logging

import stripe
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.parsers import json_loads_bounded
from apps.inventory.integrations.providers import ProviderRefused
from apps.inventory.models import Checkout
from apps.inventory.services.checkout import checkout_payment_confirmed, checkout_sync
from apps.inventory.services.payouts import stripe_payout_record

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024
SETTLED = (Checkout.State.PAID, Checkout.State.DISPENSED, Checkout.State.REFUNDED)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


@csrf_exempt
@require_POST
def paypay_webhook(request):
    if len(request.body) > MAX_BODY_BYTES:
        return _error(413, "payload_too_large", _("通知が大きすぎます。"))
    try:
        body = json_loads_bounded(request.body)
    except ValueError:
        return _error(400, "invalid", _("通知の形式が正しくありません。"))
    if not isinstance(body, dict) or body.get("merchant_id") != settings.PAYPAY_MERCHANT_ID:
        return _error(400, "invalid", _("この加盟店宛ての通知ではありません。"))
    checkout = (
        Checkout.objects.select_related("sale__machine")
        .filter(provider=Checkout.Provider.PAYPAY, merchant_payment_id=str(body.get("merchant_order_id") or ""))
        .first()
    )
    if checkout is None:
        return _error(400, "invalid", _("この支払いは見つかりません。"))
    try:
        checkout = checkout_sync(checkout=checkout)
    except (OSError, ProviderRefused) as error:
        logger.warning("PayPay notification for %s not checked yet: %s", checkout.pk, error)
        return _error(503, "payment_unavailable", _("PayPayに確認できませんでした。再送してください。"))
    if body.get("state") == "COMPLETED" and checkout.state not in SETTLED:
        return _error(400, "not_confirmed", _("PayPayはこの支払いを確認していません。"))
    return JsonResponse({"state": checkout.state})


@csrf_exempt
@require_POST
def stripe_webhook(request):
    if len(request.body) > MAX_BODY_BYTES:
        return _error(413, "payload_too_large", _("通知が大きすぎます。"))
    try:
        event = stripe.Webhook.construct_event(
            request.body, request.headers.get("Stripe-Signature"), settings.STRIPE_WEBHOOK_SECRET
        )
    except (ValueError, stripe.SignatureVerificationError):
        return _error(400, "invalid_signature", _("署名が正しくありません。"))
    if event.type == "payment_intent.succeeded":
        return _stripe_payment_succeeded(event.data.object.to_dict())
    if event.type == "payout.paid":
        return _stripe_payout_paid(event.data.object.to_dict())
    return JsonResponse({"received": event.type})


def _stripe_payout_paid(payout) -> JsonResponse:
    """Stripe paid money into the bank account: record and book the payout with what Stripe says it holds."""
    if payout.get("currency") != "jpy" or not payout.get("id"):
        return JsonResponse({"received": "payout.paid", "ignored": True})
    try:
        record = stripe_payout_record(payout_id=payout["id"])
    except (OSError, ProviderRefused) as error:
        logger.warning("Stripe payout %s not recorded yet: %s", payout.get("id"), error)
        return _error(503, "payment_unavailable", _("Stripeに確認できませんでした。再送してください。"))
    except ApplicationError as error:  # its transactions do not add up: a person looks (the reconciliation flags it)
        logger.error("Stripe payout %s refused: %s", payout.get("id"), error.message)
        return _error(400, error.code, error.message)
    return JsonResponse({"payout": record.payout_id, "net_yen": record.net_yen})


def _stripe_payment_succeeded(intent) -> JsonResponse:
    merchant_payment_id = (intent.get("metadata") or {}).get("merchant_payment_id", "")
    checkout = (
        Checkout.objects.select_related("sale__machine")
        .filter(provider=Checkout.Provider.STRIPE, merchant_payment_id=merchant_payment_id)
        .first()
    )
    if checkout is None or intent.get("currency") != "jpy":
        logger.warning("Stripe payment %s is not one of ours", intent.get("id"))
        return JsonResponse({"received": "payment_intent.succeeded", "ignored": True})
    outcome = checkout_payment_confirmed(checkout=checkout, payment_id=intent["id"], amount_yen=int(intent["amount"]))
    return JsonResponse({"state": outcome.checkout.state})


def payment_thanks(request):
    """Where Stripe's hosted page sends the customer's phone back (success and cancel alike): a plain page that
    says where the goods come out. It shows nothing of the payment (anyone may open it)."""
    return render(request, "inventory/payment_thanks.html")
