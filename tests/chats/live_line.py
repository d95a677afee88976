"""LINE delivering webhooks to live processes (tests/processes.py): the loopback fake LINE API with the channel's
secrets in the processes' environment, signed one-event webhooks, and the checks that each event was answered once.
Used by the fault suite and the runtime tests; a conftest imports the `line` fixture."""

import base64
import hashlib
import hmac
import http.client
import json
import secrets
import uuid
from urllib.parse import urlsplit

import pytest

from apps.agents.models import AgentTurn
from apps.chats.models import LineEvent, Message
from apps.chats.services import customer_consent_set, customer_for_line_user
from tests.chats.fake_line import FakeLine
from vendbot.celery import app as celery_app

USER = "U" + "fa17" * 8


@pytest.fixture
def line(process_env, shop):
    """The fake LINE API, the channel's secrets in the processes' environment, and a customer who consented."""
    fake = FakeLine().start()
    secret = secrets.token_hex(16)
    process_env.update(
        LINE_CHANNEL_SECRET=secret,
        LINE_CHANNEL_ACCESS_TOKEN=secrets.token_urlsafe(32),
        LINE_API_BASE_URL=fake.url,
        LINE_DATA_API_BASE_URL=fake.url,
        LINE_RETRY_BASE_WAIT_SECONDS="0.05",
    )
    customer_consent_set(customer=customer_for_line_user(line_user_id=USER), given=True)
    fake.secret = secret
    try:
        yield fake
    finally:
        fake.stop()


def send(base_url: str, fake: FakeLine, text: str) -> dict:
    """A signed one-event webhook to daphne, as LINE sends it; LINE must get its 200."""
    event = {
        "type": "message",
        "mode": "active",
        "timestamp": 1700000000000,
        "webhookEventId": uuid.uuid4().hex[:26].upper(),
        "deliveryContext": {"isRedelivery": False},
        "source": {"type": "user", "userId": USER},
        "replyToken": fake.reply_token(uuid.uuid4().hex),
        "message": {"type": "text", "id": uuid.uuid4().hex[:12], "quoteToken": uuid.uuid4().hex, "text": text},
    }
    body = json.dumps({"destination": "Udest", "events": [event]}, ensure_ascii=False).encode()
    signature = base64.b64encode(hmac.new(fake.secret.encode(), body, hashlib.sha256).digest()).decode()
    conn = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=10)
    try:
        conn.request(
            "POST",
            "/line/webhook/",
            body=body,
            headers={"Content-Type": "application/json", "X-Line-Signature": signature},
        )
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    return event


def requeue(process_env: dict) -> None:
    """What beat runs every minute: the re-queue job, sent to the workers' queue."""
    with celery_app.connection_for_write(process_env["REDIS_URL"]) as conn:
        celery_app.send_task(
            "chats.line_events_requeue",
            kwargs={"received_grace_seconds": 0},
            queue=process_env["CELERY_TASK_DEFAULT_QUEUE"],
            connection=conn,
        )


def all_done(events: list[dict]) -> bool:
    ids = [event["webhookEventId"] for event in events]
    return LineEvent.objects.filter(webhook_event_id__in=ids, status="done").count() == len(ids)


def assert_each_answered_once(fake: FakeLine, events: list[dict]) -> None:
    replies = [r["body"]["replyToken"] for r in fake.sent("/message/reply")]
    assert sorted(replies) == sorted(event["replyToken"] for event in events)  # each once, and nothing else
    assert fake.sent("/message/push") == []
    for event in events:
        assert Message.objects.filter(sender="customer", text=event["message"]["text"]).count() == 1
    assert Message.objects.filter(sender="assistant").count() == len(events) == AgentTurn.objects.count()
