"""PayPay dynamic QR through the official SDK (`paypayopa`), pointed at PAYPAY_API_BASE_URL.

The sale is the `merchantPaymentId`. PayPay answers every call with `{"resultInfo": {"code", "message", "codeId"},
"data": {...}}`; "SUCCESS" is the only good code. Before anyone pays, "get payment details" answers 400
DYNAMIC_QR_PAYMENT_NOT_FOUND; deleting a code already paid answers DYNAMIC_QR_ALREADY_PAID. Only a payment whose
status is COMPLETED counts as paid.
"""

import hashlib
import logging

import paypayopa
import requests
from django.conf import settings

from apps.inventory.integrations.payments import RefundResult
from apps.inventory.integrations.providers import PayRequest, ProviderPayment, ProviderRefused, ProviderUnavailable

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10
ENDED_STATUSES = {"FAILED", "CANCELED", "EXPIRED", "REFUNDED"}
NOT_PAID_YET = "DYNAMIC_QR_PAYMENT_NOT_FOUND"
ALREADY_PAID = "DYNAMIC_QR_ALREADY_PAID"


def paypay_id(key: str) -> str:
    """PayPay's merchant ids are at most 64 characters: a longer key of ours is replaced by its hash."""
    return key if len(key) <= 64 else hashlib.sha256(key.encode()).hexdigest()


class PayPayProvider:
    def __init__(self):
        self.client = paypayopa.Client(
            auth=(settings.PAYPAY_API_KEY, settings.PAYPAY_API_SECRET),
            production_mode=False,
            base_url=settings.PAYPAY_API_BASE_URL.rstrip("/"),
        )
        self.client.set_assume_merchant(settings.PAYPAY_MERCHANT_ID)

    def _call(self, method, *args) -> dict:
        """One SDK call: its JSON answer; ProviderUnavailable when PayPay could not be reached or failed itself."""
        try:
            answer = method(*args, timeout=TIMEOUT_SECONDS)
        except (requests.RequestException, ValueError) as error:  # ValueError: a body that is not JSON
            raise ProviderUnavailable(f"PayPay unreachable: {type(error).__name__}") from error
        info = answer.get("resultInfo") or {}
        code = info.get("code", "")
        if code in {"INTERNAL_SERVER_ERROR", "SERVICE_ERROR", "MAINTENANCE_MODE", "TOO_MANY_REQUESTS"}:
            raise ProviderUnavailable(f"PayPay {code}")
        return answer

    def create(self, *, merchant_payment_id: str, amount_yen: int, description: str, expires_at: int) -> PayRequest:
        answer = self._call(
            self.client.Code.create_qr_code,
            {
                "merchantPaymentId": merchant_payment_id,
                "amount": {"amount": amount_yen, "currency": "JPY"},
                "codeType": "ORDER_QR",
                "orderDescription": description[:255],
                "isAuthorization": False,
                "expiryDate": expires_at,
            },
        )
        _require_success(answer)
        data = answer["data"]
        return PayRequest(session_id=data["codeId"], pay_url=data["url"])

    def lookup(self, *, merchant_payment_id: str, session_id: str) -> ProviderPayment:
        answer = self._call(self.client.Code.get_payment_details, merchant_payment_id)
        code = answer.get("resultInfo", {}).get("code")
        if code == NOT_PAID_YET:
            return ProviderPayment(state=ProviderPayment.OPEN)
        _require_success(answer)
        data = answer["data"]
        status = data.get("status", "")
        if status == "COMPLETED":
            return ProviderPayment(
                state=ProviderPayment.PAID, payment_id=data["paymentId"], amount_yen=int(data["amount"]["amount"])
            )
        if status in ENDED_STATUSES:
            return ProviderPayment(state=ProviderPayment.ENDED, payment_id=data.get("paymentId") or "")
        return ProviderPayment(state=ProviderPayment.OPEN)

    def cancel(self, *, merchant_payment_id: str, session_id: str) -> None:
        """Delete the QR code so nobody can pay it any more; a code already paid stays (the caller looks it up)."""
        if not session_id:
            return
        answer = self._call(self.client.Code.delete_qr_code, session_id)
        code = answer.get("resultInfo", {}).get("code")
        if code not in {"SUCCESS", ALREADY_PAID, "DYNAMIC_QR_NOT_FOUND"}:
            _require_success(answer)

    def refund(self, *, charge_reference: str, amount_yen: int, idempotency_key: str) -> RefundResult:
        refund_id = paypay_id(idempotency_key)
        answer = self._call(
            self.client.Payment.refund_payment,
            {
                "merchantRefundId": refund_id,
                "paymentId": charge_reference,
                "amount": {"amount": amount_yen, "currency": "JPY"},
            },
        )
        if answer.get("resultInfo", {}).get("code") != "SUCCESS":
            # Sent before (a retry after a lost answer): the refund under our id is the one that counts.
            known = self._call(self.client.Payment.refund_details, refund_id)
            if known.get("resultInfo", {}).get("code") != "SUCCESS":
                _require_success(answer)
            answer = known
        return RefundResult(reference=answer["data"].get("merchantRefundId") or refund_id)


def _require_success(answer: dict) -> None:
    info = answer.get("resultInfo") or {}
    if info.get("code") != "SUCCESS":
        raise ProviderRefused(info.get("code", "UNKNOWN"), info.get("message", ""))
