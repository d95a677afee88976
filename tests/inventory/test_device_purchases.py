"""A machine's purchase served on the event loop (`apps/inventory/consumers.py`), through the real ASGI application.

Every purchase test of the view (`test_apis.TestPurchase`) runs again here, each purchase answered by the event loop;
then what only this path has: requests it leaves to the view, concurrent buyers on one loop, the answer's headers."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.db import connection

from apps.core.sql import async_pools_close
from apps.inventory.integrations.payments import payment_gateway
from apps.inventory.metrics import DEVICE_PURCHASE_SECONDS
from apps.inventory.models import Payment, Sale
from apps.inventory.selectors import machine_for_device_token, machine_token_cache_clear, stock_integrity_problems
from apps.inventory.services import device_token_issue
from apps.inventory.services.machines import device_token_hash
from tests.factories import MachineFactory
from tests.inventory import test_apis
from vendbot.asgi import application

PURCHASES = test_apis.PURCHASES
BODY = {"items": [{"slot": "A1", "quantity": 1}], "payment_method": "card"}


class Answer:
    def __init__(self, answer: dict, served_on_loop: bool):
        self.status_code = answer["status"]
        self.headers = {name.decode().lower(): value.decode() for name, value in answer["headers"]}
        self.body = answer["body"]
        self.served_on_loop = served_on_loop

    def json(self):
        return json.loads(self.body)


def _served_count() -> float:
    return sum(
        sample.value for sample in DEVICE_PURCHASE_SECONDS.collect()[0].samples if sample.name.endswith("_count")
    )


class LoopClient:
    """`APIClient`'s `get` and `post` (as the view's tests call them), sent to the ASGI application with a device
    token. Each call runs on an event loop of its own, whose pool of connections is closed before it ends."""

    def __init__(self, token: str):
        self.token = token

    def get(self, path, **extra):
        return self.send([("GET", path, b"", self._headers(extra))])[0]

    def post(self, path, data=None, format="json", **extra):
        return self.send([("POST", path, json.dumps(data).encode(), self._headers(extra))])[0]

    def _headers(self, extra: dict) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"authorization", f"Device {self.token}".encode()),
            (b"content-type", b"application/json"),
            (b"host", b"testserver"),
        ]
        for name, value in extra.items():
            headers.append((name.removeprefix("HTTP_").replace("_", "-").lower().encode(), value.encode()))
        return headers

    def send(self, requests: list[tuple[str, str, bytes, list]]) -> list[Answer]:
        """The requests at once, on one event loop."""

        async def answers():
            try:
                return await asyncio.gather(*(answer(*request) for request in requests))
            finally:
                await async_pools_close()

        async def answer(method, path, body, headers):
            before = _served_count()
            headers = [*headers, (b"content-length", str(len(body)).encode())]
            communicator = HttpCommunicator(application, method, path, body=body, headers=headers)
            response = await communicator.get_response(timeout=30)
            return Answer(response, served_on_loop=_served_count() > before)

        return async_to_sync(answers)()


def loop_client(machine) -> LoopClient:
    """A client whose token this process already remembers, as after the machine's first request."""
    token = device_token_issue(machine=machine)
    machine_for_device_token(device_token_hash(token))
    return LoopClient(token)


@pytest.mark.postgres
class TestPurchaseOnTheEventLoop(test_apis.TestPurchase):
    """The view's purchase tests, each purchase served on the event loop (its data committed: the loop's connections
    are not the test's). Only a body the view refuses (400) is answered by the view."""

    @pytest.fixture
    def device_client(self, transactional_db, machine):
        client = loop_client(machine)
        post = client.post

        def post_on_the_loop(path, *args, **kwargs):
            answer = post(path, *args, **kwargs)
            if path == PURCHASES and answer.status_code != 400:
                assert answer.served_on_loop
            return answer

        client.post = post_on_the_loop
        return client


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestWhatTheLoopLeavesToTheView:
    def test_a_token_not_looked_up_yet_is_served_by_the_view_which_remembers_it(self, machine, tea_slot):
        client = LoopClient(device_token_issue(machine=machine))
        machine_token_cache_clear()

        first = client.post(PURCHASES, BODY, HTTP_IDEMPOTENCY_KEY="first")
        second = client.post(PURCHASES, BODY, HTTP_IDEMPOTENCY_KEY="second")

        assert (first.status_code, second.status_code) == (201, 201)
        assert (first.served_on_loop, second.served_on_loop) == (False, True)
        assert set(first.json()) == set(second.json())
        assert Sale.objects.filter(status="completed").count() == 2

    def test_a_body_the_view_refuses_gets_the_views_answer(self, machine, tea_slot):
        client = loop_client(machine)

        answers = client.send(
            [
                ("POST", PURCHASES, b"{not json", client._headers({"HTTP_IDEMPOTENCY_KEY": "a"})),
                ("POST", PURCHASES, b'{"items": "A1"}', client._headers({"HTTP_IDEMPOTENCY_KEY": "b"})),
            ]
        )

        assert [answer.status_code for answer in answers] == [400, 400]
        assert [answer.served_on_loop for answer in answers] == [False, False]
        assert answers[0].json()["error"]["code"] == "parse_error"
        assert answers[1].json()["error"]["details"] == {"field": "items"}
        assert not Sale.attempts.exists()

    def test_another_machines_token_gets_the_views_403(self, machine, tea_slot):
        other = loop_client(MachineFactory(code="HQ-2F"))

        answer = other.post(PURCHASES, BODY, HTTP_IDEMPOTENCY_KEY="k")

        assert answer.status_code == 403
        assert not answer.served_on_loop
        assert not Sale.attempts.exists()

    def test_a_slot_not_on_the_machine_is_400_naming_it(self, machine, tea_slot):
        answer = loop_client(machine).post(
            PURCHASES, {"items": [{"slot": "Z9", "quantity": 1}], "payment_method": "card"}, HTTP_IDEMPOTENCY_KEY="k"
        )

        assert answer.status_code == 400
        assert answer.served_on_loop
        assert answer.json()["error"]["details"] == {"field": "items", "slots": ["Z9"]}
        assert not Sale.attempts.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestOnTheLoop:
    def test_concurrent_buyers_of_the_last_items_never_oversell(self, machine, tea_slot, fresh_terminal):
        client = loop_client(machine)
        requests = [
            ("POST", PURCHASES, json.dumps(BODY).encode(), client._headers({"HTTP_IDEMPOTENCY_KEY": f"k{n}"}))
            for n in range(8)
        ]

        answers = client.send(requests)

        assert sorted(answer.status_code for answer in answers) == [201] * 3 + [409] * 5
        assert all(answer.served_on_loop for answer in answers)
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 0
        assert Sale.objects.filter(status="completed").count() == 3
        assert Payment.objects.filter(status="captured").count() == fresh_terminal.totals()[0] == 3
        assert stock_integrity_problems() == []

    def test_the_same_key_sent_twice_at_once_charges_once(self, machine, tea_slot, fresh_terminal):
        client = loop_client(machine)
        request = ("POST", PURCHASES, json.dumps(BODY).encode(), client._headers({"HTTP_IDEMPOTENCY_KEY": "tap"}))

        first, second = client.send([request, request])

        assert first.json() == second.json()
        assert {first.status_code, second.status_code} == {201}
        assert Sale.objects.count() == 1
        assert payment_gateway().totals()[0] == 1

    def test_the_answer_carries_the_request_id_language_and_security_headers(self, machine, tea_slot):
        client = loop_client(machine)

        answer = client.post(PURCHASES, BODY, HTTP_IDEMPOTENCY_KEY="k", HTTP_X_REQUEST_ID="tablet-req-0001")
        sold_out = client.post(
            PURCHASES,
            {"items": [{"slot": "A1", "quantity": 9}], "payment_method": "card"},
            HTTP_IDEMPOTENCY_KEY="k2",
            HTTP_ACCEPT_LANGUAGE="en",
        )

        assert answer.status_code == 201
        assert answer.headers["x-request-id"] == "tablet-req-0001"
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-language"] == "ja"
        assert sold_out.status_code == 409
        assert sold_out.headers["content-language"] == "en"
        assert sold_out.json()["error"]["message"] == "Slot A1 does not have enough stock (2 left)."

    def test_the_terminal_unreachable_is_503_and_the_same_key_later_completes_once(
        self, machine, tea_slot, settings, fresh_terminal
    ):
        client = loop_client(machine)
        settings.PAYMENT_GATEWAY = "tests.inventory.fakes.UnreachableTerminal"

        down = client.post(PURCHASES, BODY, HTTP_IDEMPOTENCY_KEY="k")
        settings.PAYMENT_GATEWAY = "apps.inventory.integrations.payments.SimulatedTerminal"
        back = client.post(PURCHASES, BODY, HTTP_IDEMPOTENCY_KEY="k")

        assert down.status_code == 503
        assert down.json()["error"]["code"] == "payment_unavailable"
        assert back.status_code == 201
        assert Sale.objects.get().status == "completed"
        assert payment_gateway().totals()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_the_route_serves_purchases_on_either_database(machine, tea_slot):
    """On SQLite (a newcomer's shop) the view answers; on PostgreSQL the event loop does. The receipt is the same."""
    answer = loop_client(machine).post(PURCHASES, BODY, HTTP_IDEMPOTENCY_KEY="k")

    assert answer.status_code == 201
    assert answer.served_on_loop == (connection.vendor == "postgresql")
    assert answer.json()["payment"] == {"method": "card", "status": "captured", "amount_yen": 150}
    assert Sale.objects.get().status == "completed"
