"""`/ws/tablet/<code>/`: the tablet's chat (the assistant's reply streamed as it is written) and purchases.

The credential is the pairing cookie set by the tablet page (`tablet_pairing`), checked against the machine in the
URL; staff logins mean nothing here. Client messages:
  {"type": "chat", "conversation": "<public id of an earlier reply>"|null, "text": "..."}
  {"type": "purchase", "items": [{"slot", "quantity"}], "coupon": "", "payment_method": "card",
   "idempotency_key": "<new per attempt>"}
  {"type": "products"}
  {"type": "staff_answers", "conversation": "<public id>"}  (asked while the conversation has an open case)
  {"type": "rate", "conversation": "<public id>", "message": <answer id>|"sale": <sale id>, "score": 1|-1,
   "comment": ""}
Server messages: "products", "reply_start", "delta" (text), "reply" (final text and actions), "receipt",
"staff_answers", "rated", "error". A reply names its answer ("message") for rating. A purchase may carry "conversation": the sale is then recorded as that conversation's.

Also `POST /line/webhook/`: LINE's webhook, an HTTP consumer served by Channels ahead of Django (see
`LineWebhookConsumer`)."""

import json
import logging
import time

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError
from django.db import connection as db_connection
from django.utils.translation import gettext as _
from linebot.v3.webhook import SignatureValidator

from apps.agents.runtime import TextDelta, TurnDone, agent_turn_stream
from apps.chats.care import tablet_staff_answers
from apps.chats.metrics import LINE_WEBHOOK_SECONDS
from apps.chats.services import (
    chat_turn_begin,
    chat_turn_finish,
    line_events_store,
    tablet_purchase,
    tablet_rating_record,
)
from apps.chats.tasks import line_event_process
from apps.core.errors import ApplicationError, ServiceUnavailable, ValidationError
from apps.core.exceptions import error_body
from apps.core.logging import log_dependency_failure
from apps.core.parsers import JSONTooDeep, json_loads_bounded
from apps.inventory.selectors import machine_products
from apps.inventory.tablet_pairing import PAIRING_COOKIE, paired_machine

logger = logging.getLogger(__name__)

CLOSE_NOT_PAIRED = 4403


class TabletConsumer(AsyncJsonWebsocketConsumer):
    # Nothing reaches a tablet through the channel layer (it answers its own socket), so it joins none: its socket
    # keeps chatting and selling while Redis is down.
    channel_layer_alias = None
    machine = None

    async def connect(self):
        cookie = (self.scope.get("cookies") or {}).get(PAIRING_COOKIE, "")
        machine = await database_sync_to_async(paired_machine)(cookie)
        if machine is None or machine.code.upper() != self.scope["url_route"]["kwargs"]["code"].upper():
            await self.close(code=CLOSE_NOT_PAIRED)
            return
        self.machine = machine
        await self.accept()
        await self._send_products()

    @classmethod
    async def decode_json(cls, text_data):
        """A frame that is not JSON, or nested too deep, arrives as None: answered "invalid", the socket stays open."""
        try:
            return json_loads_bounded(text_data)
        except ValueError:
            return None

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == "chat":
                await self._chat(content)
            elif kind == "purchase":
                await self._purchase(content)
            elif kind == "products":
                await self._send_products()
            elif kind == "staff_answers":
                await self._staff_answers(content)
            elif kind == "rate":
                await self._rate(content)
            else:
                await self._send_error(kind, "invalid", _("不明なメッセージです。"))
        except ApplicationError as exc:
            await self._send_error(kind, exc.code, exc.message)
        except Exception:
            logger.exception("Tablet %s: %s failed", self.machine.code, kind)
            await self._send_error(kind, "server_error", _("エラーが発生しました。もう一度お試しください。"))

    async def _chat(self, content):
        # Only this machine's tablet conversations (`conversation_for_client`); anything else is a not_found error.
        conversation = content.get("conversation")
        turn = await database_sync_to_async(chat_turn_begin)(
            machine=self.machine,
            conversation_public_id=None if conversation is None else str(conversation),
            text=str(content.get("text") or ""),
        )
        await self.send_json({"type": "reply_start", "conversation": str(turn.conversation.public_id)})
        outcome = None
        if turn.context is not None:
            async for event in agent_turn_stream(
                agent=turn.conversation.agent, context=turn.context, history=turn.history
            ):
                if isinstance(event, TextDelta):
                    await self.send_json({"type": "delta", "text": event.text})
                elif isinstance(event, TurnDone):
                    outcome = event.outcome
        reply = await database_sync_to_async(chat_turn_finish)(turn=turn, outcome=outcome)
        # The whole reply (what the deltas spelled out) and the actions to show under it.
        await self.send_json(
            {
                "type": "reply",
                "conversation": str(reply.conversation.public_id),
                "text": reply.text,
                "actions": reply.actions,
                "agent_available": reply.agent_available,
                "message": reply.message_id,
            }
        )

    async def _purchase(self, content):
        items = content.get("items")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            await self._send_error("purchase", "invalid", _("商品を1つ以上選んでください。"))
            return
        conversation = content.get("conversation")
        outcome = await database_sync_to_async(tablet_purchase)(
            machine=self.machine,
            conversation_public_id=str(conversation) if conversation else None,
            items=items,
            coupon_code=str(content.get("coupon") or ""),
            payment_method=str(content.get("payment_method") or ""),
            idempotency_key=str(content.get("idempotency_key") or ""),
        )
        await self.send_json({"type": "receipt", "receipt": outcome.receipt, "replayed": outcome.replayed})
        await self._send_products()

    async def _rate(self, content):
        """👍/👎 (and an optional comment) on an answer (`message`) or a purchase (`sale`) of this conversation."""
        rating = await database_sync_to_async(tablet_rating_record)(
            machine=self.machine,
            conversation_public_id=str(content.get("conversation") or ""),
            score=content.get("score"),
            message_id=content.get("message") if isinstance(content.get("message"), int) else None,
            sale_id=content.get("sale") if isinstance(content.get("sale"), int) else None,
            comment=str(content.get("comment") or ""),
        )
        await self.send_json({"type": "rated", "rating": rating.pk, "score": rating.score})

    async def _staff_answers(self, content):
        """Staff answers to this conversation's cases not shown yet (the page asks while a case is open)."""
        answers = await database_sync_to_async(tablet_staff_answers)(
            machine=self.machine, conversation_public_id=str(content.get("conversation") or "")
        )
        await self.send_json({"type": "staff_answers", "answers": answers})

    async def _send_products(self):
        products = await database_sync_to_async(machine_products)(machine_code=self.machine.code)
        await self.send_json({"type": "products", "products": products})

    async def _send_error(self, request_type, code, message):
        await self.send_json({"type": "error", "request": request_type, "code": code, "message": message})


LINE_WEBHOOK_MAX_BODY_BYTES = 1024 * 1024  # LINE sends at most a few events per request: a few kilobytes
# LINE's events nest about 6 deep inside the body's object; the stored event is walked by recursive code.
LINE_WEBHOOK_MAX_DEPTH = 33


def line_webhook_events(*, body: bytes, signature: str) -> list[dict]:
    """The events of a webhook body whose signature line-bot-sdk's validator accepts (each with its `webhookEventId`).

    Not the SDK's `WebhookParser`: it builds a pydantic model of every event (a tenth of the webhook's CPU) that
    nothing reads, and it refuses none, since an event it cannot model becomes an `UnknownEvent`. The events are
    stored as LINE sent them, and processing reads them as such."""
    if not settings.LINE_CHANNEL_SECRET:
        raise ServiceUnavailable("LINE_CHANNEL_SECRET is not set.", code="line_not_configured")
    text = body.decode("utf-8", errors="replace")
    if not SignatureValidator(settings.LINE_CHANNEL_SECRET).validate(text, signature):
        raise ValidationError("X-Line-Signature does not match the body.", code="invalid_signature")
    try:
        events = json_loads_bounded(text, max_depth=LINE_WEBHOOK_MAX_DEPTH)["events"]
    except JSONTooDeep:
        raise ValidationError("The body is nested too deep for a LINE webhook.") from None
    except (ValueError, TypeError, KeyError):  # not JSON, or JSON without a list of events
        raise ValidationError("The body is not a LINE webhook.") from None
    if not isinstance(events, list):
        raise ValidationError("The body is not a LINE webhook.")
    return [
        event
        for event in events
        if isinstance(event, dict)
        and isinstance(event.get("webhookEventId"), str)
        and 0 < len(event["webhookEventId"]) <= 64
    ]


def _events_store(events: list[dict]) -> bool:
    """Store the events; False when they could not be (LINE must deliver them again).

    Runs in a thread of asgiref's pool (on SQLite, on Django's one sync thread), whose database connection stays open
    from one webhook to the next (a new PostgreSQL connection per webhook cost more than everything else here
    together); after a database error it is closed, so the next webhook connects afresh."""
    try:
        line_events_store(events=events)
    except DatabaseError as exc:
        log_dependency_failure("database", exc, action="LINE events answered 500, so LINE delivers them again")
        db_connection.close()
        return False
    return True


def _events_queue(events: list[dict]) -> None:
    """Queue each stored event; when the broker is down, fail at once (the rows are stored, and the re-queue job
    queues them once it is back) and log one line per interval, not a traceback per event."""
    app = line_event_process.app
    try:
        if app.conf.task_always_eager:  # tests: the task runs here and now
            for event in events:
                line_event_process.delay(event["webhookEventId"])
            return
        with app.producer_or_acquire() as producer:
            # One connection attempt, no publish retries: kombu's would hold LINE's answer for seconds.
            producer.connection.ensure_connection(max_retries=0)
            for event in events:
                line_event_process.apply_async(args=(event["webhookEventId"],), producer=producer, retry=False)
    except Exception as exc:
        log_dependency_failure("celery_broker", exc, action="LINE events stored; the re-queue job will queue them")


class LineWebhookConsumer(AsyncHttpConsumer):
    """`POST /line/webhook/`: check LINE's signature, store each event (one `LineEvent` row, one INSERT for the
    body), answer 200, then queue them for Celery. Once stored, a queueing or processing failure is still answered
    200: the rows and the re-queue job own recovery. When the events cannot be stored, 500, so LINE delivers them
    again.

    Served by Channels, not through Django's view and middleware chain: LINE waits on this answer at up to hundreds
    of requests a second, and that chain (sessions, CSRF, locale, auth, a thread per request) costs several times
    the work done here while nothing in it applies to a signed machine-to-machine call. The INSERT and the broker
    publish each run in a hop to a worker thread so neither stalls the event loop."""

    channel_layer_alias = None  # it answers one request; nothing sends it channel-layer messages

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.body_size = 0
        self.started = time.perf_counter()

    async def dispatch(self, message):
        # Channels closes stale database connections (a thread hop) before every handler; the one database call here
        # (the INSERT) keeps its thread's connection open and closes it after an error (`_events_store`).
        handler = getattr(self, get_handler_name(message))
        await handler(message)

    async def http_request(self, message):
        self.body_size += len(message.get("body", b""))
        if self.body_size > LINE_WEBHOOK_MAX_BODY_BYTES:
            await self._answer(413, error_body(code="too_large", message="The body is too large for a LINE webhook."))
            raise StopConsumer()
        await super().http_request(message)

    async def handle(self, body):
        if self.scope["method"] != "POST":
            await self._answer(
                405, error_body(code="method_not_allowed", message="Use POST."), extra_headers=[(b"allow", b"POST")]
            )
            return
        signature = dict(self.scope["headers"]).get(b"x-line-signature", b"").decode("latin-1")
        try:
            events = line_webhook_events(body=body, signature=signature)
        except ApplicationError as exc:
            await self._answer(exc.status_code, error_body(code=exc.code, message=exc.message))
            return
        if not events:
            await self._answer(200, {})
            return
        # Eager tasks (tests) run the processing itself, on Django's sync thread like every other database call.
        eager = getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
        # SQLite takes one writer at a time, and a connection that finds the file locked sleeps 1, 2, 5 … 100 ms
        # before it tries again: webhooks storing from several threads at once waited seconds at 200 a second
        # (docs/performance.md). On SQLite they are stored one after the other on the one sync thread instead.
        one_writer = eager or db_connection.vendor == "sqlite"
        if not await sync_to_async(_events_store, thread_sensitive=one_writer)(events):
            await self._answer(500, error_body(code="server_error", message="Try again later."))
            return
        # Stored is what LINE waits for; the broker's publish (half the work here) comes after the answer. Should this
        # process stop in between, the stored rows are queued by the re-queue job, as after a broker outage.
        await self._answer(200, {})
        await sync_to_async(_events_queue, thread_sensitive=eager)(events)

    async def _answer(self, status: int, payload: dict, *, extra_headers=()):
        headers = [(b"content-type", b"application/json"), *extra_headers]
        await self.send_response(status, json.dumps(payload).encode(), headers=headers)
        LINE_WEBHOOK_SECONDS.labels(status=str(status)).observe(time.perf_counter() - self.started)
