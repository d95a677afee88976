"""A loopback fake of Stripe's API (Checkout Sessions, refunds) for the real `stripe` SDK, and Stripe's webhook signer.

It checks `Authorization: Bearer <secret key>`, reads the SDK's form-encoded bodies (`line_items[0][price_data]...`),
answers Stripe's JSON objects and error shape (`{"error": {"type", "code", "message"}}`, 401 for a wrong key, 400
`invalid_request_error`), and replays the first answer for a repeated `Idempotency-Key`. A test plays the customer with
`pay(session_id)`: the session completes, a PaymentIntent exists, and the signed `payment_intent.succeeded` event
(body and `Stripe-Signature: t=<epoch>,v1=<HMAC-SHA256 of "<t>.<body>">`) is returned for the test to post."""

import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl

from tests.loopback import LoopbackServer

SECRET_KEY = "sk_test_fake_vendbot"  # scan-secrets: ignore
WEBHOOK_SECRET = "whsec_fake_vendbot"  # scan-secrets: ignore


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _error(status: int, message: str, code: str | None = None, kind: str = "invalid_request_error"):
    return status, {"error": {"type": kind, "code": code, "message": message}}


class FakeStripe(LoopbackServer):
    def __init__(self):
        self.sessions: dict[str, dict] = {}
        self.intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.payouts: dict[str, dict] = {}
        self.balance_transactions: list[dict] = []  # each with the payout it went into, once paid out
        self.idempotent: dict[str, tuple[int, dict]] = {}
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self._listen()

    def calls(self, method: str, path_prefix: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(path_prefix)]

    def event(self, kind: str, obj: dict) -> tuple[str, str]:
        """A webhook event Stripe would send: its JSON body and its Stripe-Signature header."""
        body = {
            "id": f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": int(time.time()),
            "type": kind,
            "livemode": False,
            "data": {"object": obj},
        }
        payload = json.dumps(body)
        return payload, sign(payload)

    def pay(self, session_id: str) -> tuple[str, str]:
        """The customer pays on the hosted page: returns the signed `payment_intent.succeeded` event."""
        with self.lock:
            session = self.sessions[session_id]
            if session["status"] != "open":
                raise ValueError(f"session is {session['status']}")
            intent = {
                "id": f"pi_{uuid.uuid4().hex[:24]}",
                "object": "payment_intent",
                "amount": session["amount_total"],
                "amount_received": session["amount_total"],
                "currency": "jpy",
                "status": "succeeded",
                "metadata": session["payment_intent_metadata"],
                "latest_charge": f"ch_{uuid.uuid4().hex[:24]}",
            }
            self.intents[intent["id"]] = intent
            session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
        return self.event("payment_intent.succeeded", intent)

    def paid_yen(self) -> int:
        return sum(intent["amount"] for intent in self.intents.values())

    def payout(self, fee_per_mille: int = 36, arrival_date: int | None = None) -> tuple[str, str]:
        """Stripe pays out what it holds: every charge and refund not paid out yet becomes a balance transaction of a
        new payout (a charge's fee is `fee_per_mille` ‰ of it, rounded down, as JPY has no decimals). Returns the
        signed `payout.paid` event."""
        with self.lock:
            paid_out = {txn["source"]["id"] for txn in self.balance_transactions}
            payout_id = f"po_{uuid.uuid4().hex[:24]}"
            new = []
            for intent in self.intents.values():
                if intent["latest_charge"] not in paid_out:
                    charge = {"id": intent["latest_charge"], "object": "charge", "payment_intent": intent["id"]}
                    fee = intent["amount"] * fee_per_mille // 1000
                    new.append(self._balance_transaction("charge", intent["amount"], fee, charge, payout_id))
            for refund in self.refunds.values():
                if refund["id"] not in paid_out:
                    source = {"id": refund["id"], "object": "refund", "payment_intent": refund["payment_intent"]}
                    new.append(self._balance_transaction("refund", -refund["amount"], 0, source, payout_id))
            net = sum(txn["net"] for txn in new)
            self.balance_transactions += new
            payout = {
                "id": payout_id,
                "object": "payout",
                "amount": net,
                "currency": "jpy",
                "arrival_date": arrival_date or int(time.time()),
                "status": "paid",
                "automatic": True,
            }
            self.payouts[payout_id] = payout
            self.balance_transactions.append(
                self._balance_transaction("payout", -net, 0, {"id": payout_id, "object": "payout"}, payout_id)
            )
        return self.event("payout.paid", payout)

    @staticmethod
    def _balance_transaction(kind: str, amount: int, fee: int, source: dict, payout_id: str) -> dict:
        return {
            "id": f"txn_{uuid.uuid4().hex[:24]}",
            "object": "balance_transaction",
            "type": kind,
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "currency": "jpy",
            "created": int(time.time()),
            "source": source,
            "payout": payout_id,
        }

    def refunded_yen(self) -> int:
        return sum(refund["amount"] for refund in self.refunds.values())

    def handle(self, method: str, path: str, form: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._session_create(form)
        if path.startswith("/v1/checkout/sessions/"):
            session = self.sessions.get(path.split("/")[4])
            if session is None:
                return _error(404, "No such checkout.session", "resource_missing")
            if method == "POST" and path.endswith("/expire"):
                if session["status"] != "open":
                    return _error(400, f"This Checkout Session is {session['status']} and cannot be expired.")
                session["status"] = "expired"
            return 200, self._public(session)
        if method == "POST" and path == "/v1/refunds":
            return self._refund(form)
        if method == "GET" and path.startswith("/v1/payouts/"):
            payout = self.payouts.get(path.rsplit("/", 1)[1])
            return (200, payout) if payout else _error(404, "No such payout", "resource_missing")
        if method == "GET" and path == "/v1/balance_transactions":
            return self._balance_transactions(form)
        return _error(404, f"Unrecognized request URL ({method}: {path}).")

    @staticmethod
    def _public(session: dict) -> dict:
        return {key: value for key, value in session.items() if key != "payment_intent_metadata"}

    def _session_create(self, form: dict) -> tuple[int, dict]:
        currency = form.get("line_items[0][price_data][currency]")
        amount = form.get("line_items[0][price_data][unit_amount]", "")
        if form.get("mode") != "payment" or currency != "jpy" or not amount.isdigit():
            return _error(400, "Invalid line_items", "parameter_invalid_integer")
        session_id = f"cs_test_{uuid.uuid4().hex}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(amount) * int(form.get("line_items[0][quantity]", "1")),
            "currency": "jpy",
            "mode": "payment",
            "payment_intent": None,
            "client_reference_id": form.get("client_reference_id"),
            "metadata": {"merchant_payment_id": form.get("metadata[merchant_payment_id]", "")},
            "payment_intent_metadata": {
                "merchant_payment_id": form.get("payment_intent_data[metadata][merchant_payment_id]", "")
            },
            "success_url": form.get("success_url"),
        }
        self.sessions[session_id] = session
        return 200, self._public(session)

    def _balance_transactions(self, form: dict) -> tuple[int, dict]:
        """A list (Stripe's list object); `source` is only an id unless `expand[]=data.source` asks for the object."""
        expand = "data.source" in [value for key, value in form.items() if key.startswith("expand")]
        rows = [txn for txn in self.balance_transactions if txn["payout"] == form.get("payout")]
        data = [row if expand else {**row, "source": row["source"]["id"]} for row in rows]
        return 200, {"object": "list", "url": "/v1/balance_transactions", "has_more": False, "data": data}

    def _refund(self, form: dict) -> tuple[int, dict]:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return _error(400, "No such payment_intent", "resource_missing")
        amount = int(form.get("amount") or intent["amount"])
        refunded = sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"])
        if refunded + amount > intent["amount"]:
            return _error(400, "Refund amount is greater than unrefunded amount on charge.", "amount_too_large")
        refund = {
            "id": f"re_{uuid.uuid4().hex[:24]}",
            "object": "refund",
            "amount": amount,
            "currency": "jpy",
            "payment_intent": intent["id"],
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return 200, refund


class _Handler(BaseHTTPRequestHandler):
    fake: FakeStripe

    def log_message(self, *args):
        pass

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        path, _sep, query = self.path.partition("?")
        form = dict(parse_qsl(raw or query, keep_blank_values=True))
        self.fake.requests.append({"method": method, "path": path, "form": form})
        if self.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            return self._answer(*_error(401, "Invalid API Key provided", kind="invalid_request_error"))
        key = self.headers.get("Idempotency-Key")
        with self.fake.lock:
            if key and key in self.fake.idempotent:
                return self._answer(*self.fake.idempotent[key])
            answer = self.fake.handle(method, path, form)
            if key and method == "POST":
                self.fake.idempotent[key] = answer
        self._answer(*answer)

    def _answer(self, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):  # noqa: N802
        self._serve("GET")

    def do_POST(self):  # noqa: N802
        self._serve("POST")


FakeStripe.handler_class = _Handler
