"""LINE events survive faults: stored before the webhook answers, continued step by step after a broker outage, a
dead worker, LINE refusing connections or answering 500, never stored or answered twice."""

import datetime as dt
import json
import logging
import socket
import time
import uuid

import pytest
import redis
from asgiref.sync import async_to_sync
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.agents.models import AgentTurn
from apps.chats.models import Customer, LineEvent, Message
from apps.chats.services import LINE_EVENT_MAX_ATTEMPTS, line_user_hash
from apps.chats.tasks import line_event_process, line_events_requeue
from tests.agents.fake_anthropic import Reply, text
from tests.chats import test_line
from tests.chats.test_line import USER, event, post_webhook, text_event, webhook_request
from vendbot.celery import app as celery_app

consenting = test_line.consenting  # the fixture: a customer who consented to the chat

OFFLINE_GREETING = "こんにちは"


def closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def requeue() -> int:
    """What beat runs every minute (and a worker at start), without the grace it gives freshly received events."""
    return line_events_requeue(received_grace_seconds=0)


def successful_replies(fake_line) -> list[dict]:
    """Replies and pushes LINE accepted (a scripted failure is recorded too, so it is told apart by its answer)."""
    return [r for r in fake_line.requests if r["path"] in ("/v2/bot/message/reply", "/v2/bot/message/push")]


@pytest.fixture
def line_down(fake_line, settings):
    """LINE refusing connections: the SDK points at a port nothing listens on. `line_down.recover()` points it back."""

    class LineDown:
        def recover(self):
            settings.LINE_API_BASE_URL = settings.LINE_DATA_API_BASE_URL = fake_line.url

    settings.LINE_API_BASE_URL = settings.LINE_DATA_API_BASE_URL = closed_url()
    return LineDown()


@pytest.fixture
def broker(private_redis):
    """Celery publishing to a Redis of this test's own (killable), not running tasks in the caller. (Django's
    setting stays eager: the webhook keeps its database work on the test's own connection.)"""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager
    conf.broker_url, conf.task_always_eager = private_redis.url, False
    celery_app._after_fork()  # Celery's own reset (after a fork): connection pools for the broker now configured
    try:
        yield private_redis
    finally:
        conf.broker_url, conf.task_always_eager = saved
        celery_app._after_fork()


def test_the_webhook_stores_events_while_the_broker_is_down_and_they_are_answered_after(
    fake_line, consenting, broker, caplog, fresh_dependency_log
):
    broker.kill()
    events = [text_event(fake_line, f"{OFFLINE_GREETING}{n}") for n in range(5)]

    with caplog.at_level(logging.ERROR, logger="vendbot.dependencies"):
        started = time.monotonic()
        answers = [post_webhook(item) for item in events]
        took = time.monotonic() - started

    assert [answer.status_code for answer in answers] == [200] * 5 and took < 5  # LINE is not kept waiting
    stored = LineEvent.objects.filter(webhook_event_id__in=[item["webhookEventId"] for item in events])
    assert sorted(stored.values_list("status", flat=True)) == ["received"] * 5
    # One line for the outage, not a traceback per event.
    assert len(caplog.records) == 1 and not caplog.records[0].exc_info

    broker.start()
    celery_app.conf.task_always_eager = True
    assert requeue() == 5

    assert sorted(stored.values_list("status", flat=True)) == ["done"] * 5
    assert Message.objects.filter(sender="customer").count() == 5
    assert len(successful_replies(fake_line)) == 1 + 5  # the consent answer, then one answer per event


def test_line_has_its_answer_while_the_broker_is_slow_and_the_event_is_queued_after(fake_line, consenting, broker):
    item = text_event(fake_line, OFFLINE_GREETING)
    broker.pause()  # it takes the connection and answers nothing
    communicator = webhook_request(item)

    async def answered_while_the_broker_hangs():
        try:
            answer = await communicator.get_response(timeout=10)
            still_queueing = not communicator.future.done()
        finally:
            broker.resume()
        await communicator.wait(timeout=30)
        return answer, still_queueing

    answer, still_queueing = async_to_sync(answered_while_the_broker_hangs)()

    assert answer["status"] == 200 and still_queueing  # LINE was answered before the broker took the task
    assert LineEvent.objects.get(webhook_event_id=item["webhookEventId"]).status == "received"
    queued = redis.Redis.from_url(broker.url).lrange(celery_app.conf.task_default_queue, 0, -1)
    assert [json.loads(message)["headers"]["argsrepr"] for message in queued] == [repr((item["webhookEventId"],))]


def test_an_event_whose_worker_died_mid_event_is_taken_over_once_its_lease_runs_out(fake_line, consenting):
    item = text_event(fake_line, OFFLINE_GREETING)
    LineEvent.objects.create(
        webhook_event_id=item["webhookEventId"],
        event_type="message",
        payload=item,
        status=LineEvent.Status.PROCESSING,
        attempts=1,
        locked_until=timezone.now() + dt.timedelta(seconds=60),
    )

    # The broker redelivers the task while the dead worker's lease still runs: nobody else may take the event.
    assert line_event_process(item["webhookEventId"]) == "skipped" and requeue() == 0
    rows = LineEvent.objects.filter(webhook_event_id=item["webhookEventId"])
    rows.update(locked_until=timezone.now() - dt.timedelta(seconds=1))  # the lease ran out

    assert requeue() == 1
    assert line_event_process(item["webhookEventId"]) == "skipped"  # the redelivered task finds it done

    row = rows.get()
    assert (row.status, row.attempts, row.payload) == ("done", 2, {})
    assert Message.objects.filter(sender="customer", text=OFFLINE_GREETING).count() == 1
    assert len(successful_replies(fake_line)) == 2  # the consent answer and this one


def test_line_refusing_connections_loses_nothing_and_answers_once_it_is_back(fake_line, consenting, line_down):
    item = text_event(fake_line, "コーラありますか？")

    assert post_webhook(item).status_code == 200

    row = LineEvent.objects.get(webhook_event_id=item["webhookEventId"])
    assert row.status == "stored" and row.reply  # the words and the answer are kept
    assert row.error.startswith("LineApiUnavailable") and USER not in row.error
    assert Message.objects.filter(sender="customer", text="コーラありますか？").count() == 1
    assert requeue() == 1 and LineEvent.objects.get(pk=row.pk).status == "stored"  # still down

    line_down.recover()
    requeue()

    assert LineEvent.objects.get(pk=row.pk).status == "done"
    assert (
        Message.objects.filter(sender="customer").count() == 1
        and Message.objects.filter(sender="assistant").count() == 1
    )
    replies = fake_line.sent("/message/reply")
    assert len(replies) == 2 and replies[-1]["body"]["replyToken"] == item["replyToken"]
    assert AgentTurn.objects.count() == 1
    assert requeue() == 0 and len(fake_line.sent("/message/reply")) == 2


def test_a_follow_while_line_is_unreachable_is_recorded_and_welcomed_later(fake_line, shop, line_down):
    follow = event("follow", reply_token=fake_line.reply_token("follow-token"))

    post_webhook(follow)

    customer = Customer.objects.get(line_user_hash=line_user_hash(USER))
    assert customer.display_name == "" and not customer.push_opt_out
    line_down.recover()
    requeue()
    assert len(fake_line.texts()) == 1 and "友だち追加ありがとうございます" in fake_line.texts()[0]
    assert Customer.objects.get().display_name == ""  # not before consent


def test_reply_api_answering_500_a_while_stores_once_and_answers_once(fake_line, consenting):
    fake_line.fail_next("/message/reply", 500, retry_after="0", times=6)  # one attempt's 4 tries, and 2 more

    post_webhook(text_event(fake_line, OFFLINE_GREETING))
    assert LineEvent.objects.filter(status="stored").count() == 1
    requeue()

    assert LineEvent.objects.filter(status="done").count() == 2
    assert Message.objects.filter(sender="customer").count() == 1
    assert Message.objects.filter(sender="assistant").count() == 1 and AgentTurn.objects.count() == 1
    replies = fake_line.sent("/message/reply")
    assert len(replies) == 1 + 4 + 3
    assert len({json.dumps(r["body"]["messages"]) for r in replies[1:]}) == 1  # the same stored answer each time


def test_an_answer_sent_after_the_reply_token_is_too_old_is_pushed_once(fake_line, consenting, line_down):
    item = text_event(fake_line, OFFLINE_GREETING)
    post_webhook(item)
    LineEvent.objects.filter(webhook_event_id=item["webhookEventId"]).update(
        received_at=timezone.now() - dt.timedelta(minutes=5)
    )

    line_down.recover()
    requeue()

    assert len(fake_line.sent("/message/reply")) == 1  # the consent answer only
    pushes = fake_line.sent("/message/push")
    assert len(pushes) == 1 and pushes[0]["body"]["to"] == USER
    key = pushes[0]["headers"]["X-Line-Retry-Key"]
    assert str(uuid.UUID(key)) == key  # the same key for every try of this answer


def test_an_event_failing_every_time_is_given_up_after_the_last_attempt(fake_line, consenting):
    fake_line.fail_next("/message/reply", 500, retry_after="0", times=1000)
    fake_line.fail_next("/message/push", 500, retry_after="0", times=1000)

    response = post_webhook(text_event(fake_line, OFFLINE_GREETING))

    assert response.status_code == 200
    row = LineEvent.objects.get(status="stored")
    LineEvent.objects.filter(pk=row.pk).update(attempts=LINE_EVENT_MAX_ATTEMPTS - 1)
    requeue()
    row.refresh_from_db()
    assert (row.status, row.payload) == ("failed", {}) and "500" in row.error
    assert requeue() == 0


def test_a_long_text_with_control_characters_is_stored_whole_and_the_model_sees_it_clipped(
    fake_line, consenting, model_shopkeeper, fake_anthropic
):
    fake_anthropic.then(Reply([text("長いご質問ありがとうございます。")]))
    words = "コーラ\x00の" + "あ" * 3996 + "\x07"

    post_webhook(text_event(fake_line, words))

    assert Message.objects.get(sender="customer").text == "コーラの" + "あ" * 3996
    seen = fake_anthropic.requests[0]["messages"][-1]["content"]
    seen_text = seen if isinstance(seen, str) else "".join(b.get("text", "") for b in seen)
    assert seen_text.startswith("コーラの") and len(seen_text) <= 2001
    assert fake_line.texts()[-1] == "長いご質問ありがとうございます。"
    assert LineEvent.objects.filter(status="done").count() == 2


@pytest.mark.parametrize("depth", [900, 100_000], ids=["parsable", "beyond-the-parser"])
def test_a_signed_deeply_nested_body_gets_a_json_400(fake_line, shop, depth):
    item = json.dumps(text_event(fake_line, OFFLINE_GREETING))
    nested = item[:-1] + ', "extra": ' + "[" * depth + "]" * depth + "}"
    body = ('{"destination": "U1", "events": [' + nested + "]}").encode()

    answer = post_webhook(body=body)

    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid"
    assert not LineEvent.objects.exists() and fake_line.requests == []


def test_events_that_cannot_be_stored_get_a_500_so_line_delivers_them_again(fake_line, shop):
    with connection.cursor() as cursor:  # the table gone: every INSERT fails (the test's transaction undoes this)
        cursor.execute("ALTER TABLE chats_lineevent RENAME TO chats_lineevent_away")

    answer = post_webhook(text_event(fake_line, OFFLINE_GREETING))

    assert answer.status_code == 500 and answer.json()["error"]["code"] == "server_error"
    assert fake_line.requests == []


@pytest.mark.django_db
def test_a_new_install_re_queues_line_events_every_minute():
    job = PeriodicTask.objects.get(task="chats.line_events_requeue")
    assert job.enabled and (job.interval.every, job.interval.period) == (1, "minutes")
