"""LINE under faults, with real processes: daphne takes the webhooks, Celery workers process them, the real
line-bot-sdk talks to the loopback fake LINE API. Each test asserts that every event is answered exactly once and
every message stored once, whatever failed in between."""

import base64
import hashlib
import hmac
import http.client
import json
import secrets
import uuid
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from apps.agents.models import AgentTurn
from apps.chats.models import LineEvent, Message
from apps.chats.services import customer_consent_set, customer_for_line_user
from tests.chats.fake_line import FakeLine
from tests.processes import wait_for
from vendbot.celery import app as celery_app

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    # The test publishes to the processes' broker; its own settings run tasks eagerly, which send_task ignores.
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]

USER = "U" + "fa17" * 8


@pytest.fixture
def line(fault_env, shop):
    """The fake LINE API, the channel's secrets in the processes' environment, and a customer who consented."""
    fake = FakeLine().start()
    secret = secrets.token_hex(16)
    fault_env.update(
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


def requeue(fault_env: dict) -> None:
    """What beat runs every minute: the re-queue job, sent to the workers' queue."""
    with celery_app.connection_for_write(fault_env["REDIS_URL"]) as conn:
        celery_app.send_task(
            "chats.line_events_requeue",
            kwargs={"received_grace_seconds": 0},
            queue=fault_env["CELERY_TASK_DEFAULT_QUEUE"],
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


def test_redis_killed_and_restarted_while_webhooks_arrive(fault_env, line, processes, private_redis):
    base_url = processes.daphne(fault_env)
    processes.worker(fault_env)
    before = [send(base_url, line, f"停電前{n}") for n in range(2)]
    wait_for(lambda: all_done(before), timeout=30, what="the events before the outage answered")

    private_redis.kill()
    during = [send(base_url, line, f"停電中{n}") for n in range(4)]  # each answered 200, each stored
    assert LineEvent.objects.filter(status="received").count() == 4
    private_redis.start()
    after = [send(base_url, line, f"復旧後{n}") for n in range(2)]
    requeue(fault_env)

    wait_for(lambda: all_done(before + during + after), timeout=45, what="every event answered")
    assert_each_answered_once(line, before + during + after)


def test_a_worker_killed_mid_event_leaves_it_to_the_next_worker_which_answers_once(fault_env, line, processes):
    fault_env["LINE_EVENT_LEASE_SECONDS"] = "3"
    base_url = processes.daphne(fault_env)
    first = processes.worker(fault_env)
    line.hold("/message/reply")  # the worker will be waiting on LINE's answer when it dies

    event = send(base_url, line, "コーラありますか？")
    wait_for(lambda: line.held, timeout=30, what="the worker sending its reply")
    processes.kill(first)
    line.release()  # the dead worker's request never reached LINE
    row = LineEvent.objects.get(webhook_event_id=event["webhookEventId"])
    assert row.status == "stored" and row.reply  # the answer was computed and kept before sending

    wait_for(
        lambda: LineEvent.objects.filter(pk=row.pk, locked_until__lt=timezone.now()).exists(),
        timeout=10,
        what="the dead worker's lease running out",
    )
    processes.worker(fault_env)  # a worker re-queues the unfinished events as it starts
    wait_for(lambda: all_done([event]), timeout=30, what="the event answered")
    assert_each_answered_once(line, [event])


def test_line_refusing_connections_then_recovering(fault_env, line, processes):
    base_url = processes.daphne(fault_env)
    processes.worker(fault_env)
    line.pause()

    events = [send(base_url, line, f"つながらない{n}") for n in range(2)]
    wait_for(
        lambda: LineEvent.objects.filter(status="stored").exclude(error="").count() == 2,
        timeout=30,
        what="the events stored, their sending failed",
    )
    assert not LineEvent.objects.filter(error__contains=USER).exists()
    line.resume()
    requeue(fault_env)

    wait_for(lambda: all_done(events), timeout=30, what="the events answered after LINE came back")
    assert_each_answered_once(line, events)
