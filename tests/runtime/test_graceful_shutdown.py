"""SIGTERM, as Kubernetes or Compose sends it on a deploy: the web server (vendbot/server.py) answers what it is
serving and tells its sockets to reconnect; a Celery worker finishes its task and leaves the rest queued."""

import base64
import http.client
import json
import signal
import threading
import time
from urllib.parse import urlsplit

import pytest
import redis

from apps.chats.models import LineEvent
from apps.inventory.models import Payment, Sale
from tests.chats.live_line import all_done, assert_each_answered_once, send
from tests.processes import WebSocketClient, wait_for
from tests.runtime.conftest import LIVE_PROCESSES, buy, new_key

pytestmark = LIVE_PROCESSES

SERVICE_RESTART = 1012
PAYMENT_SECONDS = 2


def refused(base_url: str) -> bool:
    conn = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=2)
    try:
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        return False
    except ConnectionRefusedError:
        return True
    except (ConnectionResetError, http.client.RemoteDisconnected):
        return False  # accepted into the backlog just before the listener closed: the next try is refused
    finally:
        conn.close()


def queued_line_events(process_env: dict) -> list[str]:
    """The webhook event ids of the LINE tasks waiting in the processes' Redis queue (Celery's message format)."""
    client = redis.Redis.from_url(process_env["REDIS_URL"])
    ids = []
    for raw in client.lrange(process_env["CELERY_TASK_DEFAULT_QUEUE"], 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == "chats.line_event_process":
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            ids.append(args[0])
    return ids


def test_sigterm_answers_the_purchase_in_flight_closes_sockets_with_1012_and_takes_no_new_connection(
    process_env, processes, device_token, manager_cookie
):
    process_env["PAYMENT_LATENCY_MS"] = str(PAYMENT_SECONDS * 1000)  # the card terminal takes 2 s to answer
    base_url, web = processes.web(process_env)
    dashboard = WebSocketClient(base_url, "/ws/dashboard/", cookie=manager_cookie)
    kept_alive = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=10)  # a load balancer's connection
    kept_alive.request("GET", "/healthz")
    assert kept_alive.getresponse().read()
    # The machine's first purchase: the view looks its token up, and the process serves the next one on its event
    # loop (apps/inventory/consumers.py), as it serves a machine's purchases from then on.
    assert buy(base_url, device_token, new_key())[0] == 201

    answer = {}
    purchase = threading.Thread(target=lambda: answer.update(result=buy(base_url, device_token, new_key())))
    purchase.start()
    wait_for(lambda: Payment.objects.filter(status="pending").exists(), timeout=10, what="the card being charged")
    web.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()

    assert dashboard.close_code() == SERVICE_RESTART  # the dashboard reconnects at once, to another process
    wait_for(lambda: refused(base_url), timeout=5, what="new connections refused")
    kept_alive.request("GET", "/readyz")
    readiness = kept_alive.getresponse()
    assert readiness.status == 503  # the balancer takes the process out of rotation
    assert "serving" in json.loads(readiness.read())["failed"]

    purchase.join(timeout=30)
    status, body = answer["result"]
    assert status == 201, body  # the customer got the receipt of the sale the server was finishing
    assert Sale.objects.get(pk=body["sale_id"]).status == "completed"
    assert web.wait(timeout=15) == 0
    assert time.monotonic() - stopped_at < 15  # it stopped when its work was done, not at the drain limit
    assert "every request answered" in processes.log_text(web)


@pytest.mark.parametrize("how", ["second signal", "drain time over"])
def test_a_second_sigterm_or_the_end_of_the_drain_time_stops_the_server_at_once(
    process_env, processes, device_token, how
):
    """What an impatient operator, or the drain limit, does; the purchase cut off is left to the reconciler
    (docs/shop.md), as after a crash."""
    process_env["PAYMENT_LATENCY_MS"] = "20000"
    process_env["SHUTDOWN_DRAIN_SECONDS"] = "2" if how == "drain time over" else "60"
    base_url, web = processes.web(process_env)
    answer = {}

    def purchase_cut_off():
        with pytest.raises(http.client.RemoteDisconnected):
            buy(base_url, device_token, new_key())
        answer["cut_off"] = True

    purchase = threading.Thread(target=purchase_cut_off)
    purchase.start()
    wait_for(lambda: Payment.objects.filter(status="pending").exists(), timeout=10, what="the card being charged")
    web.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert web.poll() is None  # draining: waiting for the purchase
    if how == "second signal":
        web.send_signal(signal.SIGTERM)
    assert web.wait(timeout=8) == 1  # not after the card terminal's 20 s
    assert ("stopping now" if how == "second signal" else "drain time over") in processes.log_text(web)
    purchase.join(timeout=30)
    assert answer == {"cut_off": True}


def test_sigterm_lets_the_worker_finish_its_task_and_leaves_the_queued_ones_for_the_next_worker(
    process_env, line, processes
):
    """Celery's warm shutdown with acks_late and prefetch 1: the task running ends (LINE gets its reply), the two
    waiting stay in Redis, and the next worker answers them; each event is answered once, none is lost."""
    line.slow("/message/reply", 3)  # the worker will be waiting on LINE when the signal comes
    base_url, _ = processes.web(process_env)
    worker = processes.worker(process_env, pool=("--pool", "prefork", "--concurrency", "1"))  # as `make run`
    first = send(base_url, line, "コーラありますか？")
    wait_for(
        lambda: LineEvent.objects.filter(webhook_event_id=first["webhookEventId"], status="stored").exists(),
        timeout=30,
        what="the worker sending its reply",
    )
    waiting = [send(base_url, line, f"お茶ありますか？{n}") for n in range(2)]

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert all_done([first])  # it finished the task it had started ...
    assert LineEvent.objects.filter(status="received").count() == 2  # ... and started no other
    # Their messages are in the queue, not lost with the worker. (The re-queue job a worker sends as it starts may
    # have queued the first event once more, if it ran after that event arrived: harmless, checked below.)
    assert {event["webhookEventId"] for event in waiting} <= set(queued_line_events(process_env))

    processes.worker(process_env)
    wait_for(lambda: all_done([first, *waiting]), timeout=30, what="every event answered")
    assert_each_answered_once(line, [first, *waiting])
