"""The live push leaves the request: a purchase answers without waiting for the channel layer."""

import logging
import socket
import time

import pytest
from channels.layers import channel_layers
from rest_framework.test import APIClient

from apps.inventory.services import device_token_issue

LAYER_TIMEOUT_SECONDS = 3


@pytest.fixture
def silent_redis():
    """A Redis address that accepts connections and never answers (a hung Redis), closed afterwards."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


@pytest.fixture
def layer_on(settings):
    def use(url: str) -> None:
        host = {"address": url, "socket_timeout": LAYER_TIMEOUT_SECONDS}
        settings.CHANNEL_LAYERS = {"default": {**settings.REDIS_CHANNEL_LAYER, "CONFIG": {"hosts": [host]}}}
        channel_layers.backends.clear()

    yield use
    channel_layers.backends.clear()


@pytest.mark.django_db(transaction=True)
def test_a_purchase_answers_while_the_channel_layer_hangs(
    machine, tea_slot, silent_redis, layer_on, caplog, fresh_dependency_log
):
    layer_on(silent_redis)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token_issue(machine=machine)}")
    caplog.set_level(logging.INFO)

    started = time.monotonic()
    bought = client.post(
        "/api/machines/HQ-1F/purchases/",
        {"items": [{"slot": "A1", "quantity": 1}], "payment_method": "card"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="hung-layer-1",
    )
    answered_in = time.monotonic() - started

    assert bought.status_code == 201, bought.json()
    assert answered_in < LAYER_TIMEOUT_SECONDS / 2, answered_in
    # The push was made all the same, after the answer: it fails when the layer times out, and says so once.
    deadline = time.monotonic() + LAYER_TIMEOUT_SECONDS * 3
    while time.monotonic() < deadline and not any(r.name == "vendbot.dependencies" for r in caplog.records):
        time.sleep(0.1)
    failures = [r for r in caplog.records if r.name == "vendbot.dependencies"]
    assert [r.dependency for r in failures] == ["channel_layer"]
