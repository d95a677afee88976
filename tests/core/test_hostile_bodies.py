"""Hostile request bodies get a 4xx in the error shape, never a 500: too large (413), nested too deep (400)."""

import json

import pytest
from channels.testing import WebsocketCommunicator
from django.db import connections
from rest_framework.test import APIClient

from apps.core.parsers import MAX_JSON_DEPTH, JSONTooDeep, json_loads_bounded
from apps.inventory.models import Sale
from apps.inventory.services import device_token_issue
from apps.inventory.tablet_pairing import PAIRING_COOKIE, pairing_cookie_value
from tests.factories import MachineFactory

TEN_MEGABYTES = 10 * 1024 * 1024
APIS = ["/api/machines/HQ-1F/purchases/", "/api/machines/HQ-1F/chat/"]


@pytest.fixture
def tablet(db):
    machine = MachineFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=machine)}", HTTP_IDEMPOTENCY_KEY="k-1")
    return client


def _error(response, status, code):
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize("path", APIS)
def test_a_ten_megabyte_body_answers_413_in_the_error_shape(tablet, path):
    body = json.dumps({"message": "x" * TEN_MEGABYTES, "items": []})
    error = _error(tablet.post(path, body, content_type="application/json"), 413, "payload_too_large")
    assert error["details"] == {"max_bytes": 2_621_440}
    assert "大きすぎます" in error["message"]
    assert not Sale.objects.exists()


@pytest.mark.parametrize("path", APIS)
@pytest.mark.parametrize("deep", ["[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000])
def test_json_nested_a_thousand_deep_answers_400(tablet, path, deep):
    error = _error(tablet.post(path, deep, content_type="application/json"), 400, "parse_error")
    assert "入れ子が深すぎます" in error["message"]


def test_a_large_form_outside_the_api_answers_413(client, db):
    response = client.post("/admin/login/", {"username": "x", "password": "y" * TEN_MEGABYTES})
    assert response.status_code == 413


def test_the_depth_limit_counts_brackets_outside_strings_only():
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert json_loads_bounded(at_limit) is not None
    with pytest.raises(JSONTooDeep):
        json_loads_bounded("[" + at_limit + "]")
    quoted = {"text": "[" * 5000 + '\\"{' * 100}
    assert json_loads_bounded(json.dumps(quoted)) == quoted


@pytest.mark.django_db(transaction=True)
async def test_a_deep_json_frame_gets_an_error_and_the_tablet_socket_stays_open():
    from asgiref.sync import sync_to_async

    from vendbot.asgi import application

    def paired():
        machine = MachineFactory()
        device_token_issue(machine=machine)
        machine.refresh_from_db()
        return pairing_cookie_value(machine)

    cookie = await sync_to_async(paired)()
    headers = [(b"origin", b"http://testserver"), (b"cookie", f"{PAIRING_COOKIE}={cookie}".encode())]
    socket = WebsocketCommunicator(application, "/ws/tablet/HQ-1F/", headers=headers)
    connected, _ = await socket.connect()
    assert connected
    try:
        assert (await socket.receive_json_from(timeout=5))["type"] == "products"
        await socket.send_to(text_data='{"type": "chat", "text": ' + "[" * 5000 + "]" * 5000 + "}")
        error = await socket.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["code"] == "invalid"
        await socket.send_json_to({"type": "products"})
        assert (await socket.receive_json_from(timeout=5))["type"] == "products"
    finally:
        await socket.disconnect()
        await sync_to_async(connections.close_all)()
