"""A loopback fake of PayPay's Open Payment API (dynamic QR), for the real `paypayopa` SDK to talk to.

It checks what PayPay checks: the `Authorization: hmac OPA-Auth:<key>:<mac>:<nonce>:<epoch>:<hash>` header (HMAC-SHA256
over path, method, nonce, epoch, content type and the base64 MD5 of content type + body, with the API secret), the
`X-ASSUME-MERCHANT` header, and the bodies' fields. It answers in PayPay's shape, `{"resultInfo": {"code", "message",
"codeId"}, "data"}`, with PayPay's error codes: 401 UNAUTHORIZED, 400 DUPLICATE_DYNAMIC_QR_REQUEST,
DYNAMIC_QR_PAYMENT_NOT_FOUND (nobody paid yet), DYNAMIC_QR_ALREADY_PAID (delete after payment), 400 INVALID_PARAMS.

A test plays the customer with `pay(merchant_payment_id)`, which completes the payment as PayPay would once the app
scans the code, and returns the notification PayPay would post to our webhook (or posts it to `webhook_url`).
`fail_next(path_suffix, status)` makes the next call to a path fail (503 MAINTENANCE_MODE by default)."""

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

import requests

from tests.loopback import LoopbackServer

API_KEY = "a_test_paypay_key"  # scan-secrets: ignore
API_SECRET = "test-paypay-secret"  # scan-secrets: ignore
MERCHANT_ID = "123456789012345678"


def _result(code: str, code_id: str = "08100001", message: str = "") -> dict:
    return {"code": code, "message": message or code.replace("_", " ").capitalize(), "codeId": code_id}


class FakePayPay(LoopbackServer):
    def __init__(self):
        self.codes: dict[str, dict] = {}  # codeId → the code
        self.by_merchant_id: dict[str, str] = {}  # merchantPaymentId → codeId
        self.payments: dict[str, dict] = {}  # merchantPaymentId → the payment once paid
        self.refunds: dict[str, dict] = {}  # merchantRefundId → the refund
        self.requests: list[dict] = []
        self.failures: dict[str, list[int]] = {}
        self.webhook_url: str | None = None
        self.lock = threading.Lock()
        self._listen()

    def fail_next(self, path_suffix: str, status: int = 503, *, times: int = 1) -> None:
        self.failures.setdefault(path_suffix, []).extend([status] * times)

    def calls(self, method: str, path_prefix: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(path_prefix)]

    # --- the customer's side ---

    def pay(self, merchant_payment_id: str, *, post: bool = False) -> dict:
        """The customer's app pays the code: the payment is COMPLETED. Returns PayPay's notification body."""
        with self.lock:
            code = self.codes[self.by_merchant_id[merchant_payment_id]]
            if code["deleted"]:
                raise ValueError("the code was deleted")
            payment = self.payments.get(merchant_payment_id)
            if payment is None:
                payment = {
                    "paymentId": str(uuid.uuid4().int)[:19],
                    "status": "COMPLETED",
                    "acceptedAt": int(time.time()),
                    "merchantPaymentId": merchant_payment_id,
                    "amount": code["amount"],
                    "requestedAt": code["requestedAt"],
                    "orderDescription": code.get("orderDescription", ""),
                    "refunds": {"data": []},
                }
                self.payments[merchant_payment_id] = payment
        notification = self.notification(merchant_payment_id)
        if post and self.webhook_url:
            requests.post(self.webhook_url, json=notification, timeout=10)
        return notification

    def notification(self, merchant_payment_id: str, state: str = "COMPLETED") -> dict:
        payment = self.payments.get(merchant_payment_id) or {}
        code = self.codes[self.by_merchant_id[merchant_payment_id]]
        return {
            "notification_type": "Transaction",
            "merchant_id": MERCHANT_ID,
            "store_id": None,
            "pos_id": None,
            "order_id": payment.get("paymentId", ""),
            "merchant_order_id": merchant_payment_id,
            "authorization_id": None,
            "expires_at": None,
            "paid_at": "2026-01-01T00:00:00Z",
            "order_amount": code["amount"]["amount"],
            "state": state,
        }

    def refunded_yen(self) -> int:
        return sum(refund["amount"]["amount"] for refund in self.refunds.values())

    def paid_yen(self) -> int:
        return sum(payment["amount"]["amount"] for payment in self.payments.values())

    # --- PayPay's API ---

    def handle(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        if method == "POST" and path == "/v2/codes":
            return self._code_create(body)
        if method == "GET" and path.startswith("/v2/codes/payments/"):
            return self._payment_details(path.rsplit("/", 1)[1])
        if method == "DELETE" and path.startswith("/v2/codes/"):
            return self._code_delete(path.rsplit("/", 1)[1])
        if method == "POST" and path.rstrip("/") == "/v2/refunds":
            return self._refund(body)
        if method == "GET" and path.startswith("/v2/refunds/"):
            refund = self.refunds.get(path.rsplit("/", 1)[1])
            if refund is None:
                return 400, {"resultInfo": _result("NO_SUCH_REFUND_ORDER", "00200018"), "data": None}
            return 200, {"resultInfo": _result("SUCCESS"), "data": refund}
        return 404, {"resultInfo": _result("NOT_FOUND", "08100004"), "data": None}

    def _code_create(self, body: dict) -> tuple[int, dict]:
        amount = body.get("amount") or {}
        if (
            not body.get("merchantPaymentId")
            or body.get("codeType") != "ORDER_QR"
            or not isinstance(amount.get("amount"), int)
            or amount.get("currency") != "JPY"
        ):
            return 400, {"resultInfo": _result("INVALID_PARAMS", "08100006"), "data": None}
        with self.lock:
            if body["merchantPaymentId"] in self.by_merchant_id:
                return 400, {"resultInfo": _result("DUPLICATE_DYNAMIC_QR_REQUEST", "01652073"), "data": None}
            code_id = f"04-{uuid.uuid4().hex[:16]}"
            code = {
                **body,
                "codeId": code_id,
                "url": f"https://qr-stg.sandbox.paypay.ne.jp/{uuid.uuid4().hex[:24]}",
                "deeplink": f"paypay://payment?link_key={uuid.uuid4().hex[:24]}",
                "expiryDate": body.get("expiryDate") or int(time.time()) + 300,
                "deleted": False,
            }
            self.codes[code_id] = code
            self.by_merchant_id[body["merchantPaymentId"]] = code_id
        data = {key: value for key, value in code.items() if key != "deleted"}
        return 201, {"resultInfo": _result("SUCCESS"), "data": data}

    def _payment_details(self, merchant_payment_id: str) -> tuple[int, dict]:
        payment = self.payments.get(merchant_payment_id)
        if payment is None:
            return 400, {"resultInfo": _result("DYNAMIC_QR_PAYMENT_NOT_FOUND", "01652075"), "data": None}
        return 200, {"resultInfo": _result("SUCCESS"), "data": payment}

    def _code_delete(self, code_id: str) -> tuple[int, dict]:
        with self.lock:
            code = self.codes.get(code_id)
            if code is None:
                return 400, {"resultInfo": _result("DYNAMIC_QR_NOT_FOUND", "01652076"), "data": None}
            if code["merchantPaymentId"] in self.payments:
                return 400, {"resultInfo": _result("DYNAMIC_QR_ALREADY_PAID", "01652074"), "data": None}
            code["deleted"] = True
        return 200, {"resultInfo": _result("SUCCESS"), "data": None}

    def _refund(self, body: dict) -> tuple[int, dict]:
        with self.lock:
            refund_id = body.get("merchantRefundId")
            payment = next((p for p in self.payments.values() if p["paymentId"] == body.get("paymentId")), None)
            if payment is None or not refund_id:
                return 400, {"resultInfo": _result("INVALID_PARAMS", "08100006"), "data": None}
            if refund_id in self.refunds:
                return 400, {"resultInfo": _result("DUPLICATE_REFUND_REQUEST", "00200007"), "data": None}
            already = sum(
                r["amount"]["amount"] for r in self.refunds.values() if r["paymentId"] == payment["paymentId"]
            )
            if already + body["amount"]["amount"] > payment["amount"]["amount"]:
                return 400, {"resultInfo": _result("INVALID_REFUND_AMOUNT", "00200025"), "data": None}
            refund = {
                "status": "CREATED",
                "acceptedAt": int(time.time()),
                "merchantRefundId": refund_id,
                "paymentId": payment["paymentId"],
                "amount": body["amount"],
                "requestedAt": body.get("requestedAt"),
                "reason": body.get("reason", ""),
            }
            self.refunds[refund_id] = refund
        return 200, {"resultInfo": _result("SUCCESS"), "data": refund}


def _expected_auth(method: str, path: str, header: str, body: bytes) -> bool:
    """PayPay's HMAC OPA-Auth check, recomputed from what arrived."""
    if not header.startswith("hmac OPA-Auth:"):
        return False
    parts = header[len("hmac OPA-Auth:") :].split(":")
    if len(parts) != 5 or parts[0] != API_KEY:
        return False
    _key, mac, nonce, epoch, body_hash = parts
    content_type = "application/json;charset=UTF-8" if body else "empty"
    expected_hash = "empty"
    if body:
        digest = hashlib.md5(content_type.encode() + body).digest()  # noqa: S324  (PayPay's scheme)
        expected_hash = base64.b64encode(digest).decode()
    if body_hash != expected_hash or abs(time.time() - int(epoch)) > 120:
        return False
    signed = "\n".join([path, method, nonce, epoch, content_type, expected_hash])
    expected = base64.b64encode(hmac.new(API_SECRET.encode(), signed.encode(), hashlib.sha256).digest()).decode()
    return hmac.compare_digest(mac, expected)


class _Handler(BaseHTTPRequestHandler):
    fake: FakePayPay

    def log_message(self, *args):
        pass

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        body = json.loads(raw) if raw else None
        self.fake.requests.append({"method": method, "path": path, "body": body})
        for suffix, queued in self.fake.failures.items():
            if path.endswith(suffix) and queued:
                status = queued.pop(0)
                return self._answer(status, {"resultInfo": _result("MAINTENANCE_MODE", "08100999"), "data": None})
        if not _expected_auth(method, path, self.headers.get("Authorization", ""), raw):
            return self._answer(401, {"resultInfo": _result("UNAUTHORIZED", "08100016"), "data": None})
        if self.headers.get("X-ASSUME-MERCHANT") != MERCHANT_ID:
            return self._answer(400, {"resultInfo": _result("INVALID_HEADER_REQUEST", "08100007"), "data": None})
        status, answer = self.fake.handle(method, path, body)
        self._answer(status, answer)

    def _answer(self, status: int, answer: dict) -> None:
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):  # noqa: N802
        self._serve("GET")

    def do_POST(self):  # noqa: N802
        self._serve("POST")

    def do_DELETE(self):  # noqa: N802
        self._serve("DELETE")


FakePayPay.handler_class = _Handler
