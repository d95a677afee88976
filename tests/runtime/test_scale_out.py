"""Scale-out on one machine: two web processes and two Celery workers share one PostgreSQL and one Redis, as
replicas do behind a load balancer. A sale through one process reaches a Manager's socket on the other; LINE events
spread over both workers are each answered once; a web process killed under load loses no purchase, because the
client's retry with the same Idempotency-Key on the other process gets the first answer."""

import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from apps.inventory.integrations.payments import payment_gateway
from apps.inventory.models import Sale
from tests.chats.live_line import all_done, assert_each_answered_once, send
from tests.factories import ProductFactory, SlotFactory, stock_slot
from tests.processes import WebSocketClient, wait_for
from tests.runtime.conftest import LIVE_PROCESSES, buy, new_key

pytestmark = LIVE_PROCESSES

PRICE = 150
CLIENTS = 8
PURCHASES_PER_CLIENT = 4


def next_sale(socket: WebSocketClient) -> dict:
    while True:
        event = socket.next_json()
        if event.get("type") == "sale":
            return event["sale"]


def test_a_sale_through_one_process_reaches_a_managers_socket_on_the_other(
    process_env, processes, device_token, manager_cookie
):
    a, _ = processes.web(process_env)
    b, _ = processes.web(process_env)
    dashboard = WebSocketClient(b, "/ws/dashboard/", cookie=manager_cookie)
    time.sleep(0.5)  # the consumer joins its group as the socket opens

    status, receipt = buy(a, device_token, new_key())

    assert status == 201, receipt
    sale = next_sale(dashboard)
    assert (sale["id"], sale["total_yen"]) == (receipt["sale_id"], receipt["total_yen"])


def test_line_events_spread_over_two_workers_are_each_answered_once(process_env, line, processes):
    line.slow("/message/reply", 0.5)  # each event holds its worker a moment, so the next goes to the other
    webs = [processes.web(process_env)[0] for _ in range(2)]
    workers = [processes.worker(process_env) for _ in range(2)]

    events = [send(webs[n % 2], line, f"お茶ありますか？{n}") for n in range(8)]

    wait_for(lambda: all_done(events), timeout=60, what="every event answered")
    assert_each_answered_once(line, events)
    for worker in workers:  # both took a share
        assert "chats.line_event_process" in processes.log_text(worker)


def test_a_web_process_killed_under_load_loses_no_purchase(process_env, processes, device_token, shop):
    process_env["PAYMENT_LATENCY_MS"] = "200"  # purchases are in flight when the process dies
    stock_slot(SlotFactory(machine=shop, code="B1", product=ProductFactory(price_yen=PRICE), capacity=100), 100)
    a, web_a = processes.web(process_env)
    b, _ = processes.web(process_env)
    _charges, captured_before, refunded_before = payment_gateway().totals()  # the terminal's books outlive a test
    first_answers, final_answers, retried = {}, {}, []
    lock = threading.Lock()

    def client(n: int) -> None:
        for _ in range(PURCHASES_PER_CLIENT):
            key = new_key()
            try:
                answer = buy(a, device_token, key, slot="B1")
                with lock:
                    first_answers[key] = answer
            except (ConnectionError, http.client.HTTPException):
                with lock:
                    retried.append(key)  # the tablet's retry: the same key, now answered by the other process
            final_answers[key] = buy(b, device_token, key, slot="B1")

    with ThreadPoolExecutor(CLIENTS) as pool:
        running = [pool.submit(client, n) for n in range(CLIENTS)]
        wait_for(lambda: len(first_answers) >= CLIENTS, timeout=30, what="purchases under way")
        processes.kill(web_a)
        for future in running:
            future.result(timeout=60)

    assert retried  # the kill cut purchases off mid-way ...
    assert len(final_answers) == CLIENTS * PURCHASES_PER_CLIENT
    assert all(status == 201 for status, _ in final_answers.values()), final_answers  # ... and each one was sold
    for key, answer in first_answers.items():
        assert final_answers[key] == answer  # a retry of an answered purchase gets the very same receipt
    sale_ids = {body["sale_id"] for _, body in final_answers.values()}
    assert len(sale_ids) == len(final_answers)  # one sale per purchase, none twice
    completed = Sale.objects.filter(status=Sale.Status.COMPLETED)
    assert set(completed.values_list("pk", flat=True)) == sale_ids
    _charges, captured, refunded = payment_gateway().totals()
    assert (captured - captured_before) - (refunded - refunded_before) == PRICE * len(
        sale_ids
    )  # the card was charged once per sale
