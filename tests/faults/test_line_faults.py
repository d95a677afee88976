"""LINE under faults, with real processes: daphne takes the webhooks, Celery workers process them, the real
line-bot-sdk talks to the loopback fake LINE API. Each test asserts that every event is answered exactly once and
every message stored once, whatever failed in between."""

import pytest
from django.utils import timezone

from apps.chats.models import LineEvent
from tests.chats.live_line import USER, all_done, assert_each_answered_once, requeue, send
from tests.processes import wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    # The test publishes to the processes' broker; its own settings run tasks eagerly, which send_task ignores.
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]


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
