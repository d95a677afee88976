"""Broadcasts from one process reach a page in the order they were made, without the sender waiting for the layer:
an experiment's progress bar never steps back and its "finished" never arrives before its last progress. The sends
made while the process's loop is busy go out together, as one message of the channel layer."""

import asyncio
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from apps.core.broadcast import BATCH_TYPE, _background_loop, group_send_soon, unbatched

EVENTS = 60


@pytest.fixture
def listener(settings):
    """A channel of the Redis layer in the group "broadcast-order", and a function receiving `count` messages."""
    settings.CHANNEL_LAYERS = {"default": settings.REDIS_CHANNEL_LAYER}
    channel_layers.backends.clear()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("broadcast-order", channel)

    def receive_until(count: int) -> list[dict]:
        async def receive():
            messages, carried = [], 0
            while carried < count:
                messages.append(await asyncio.wait_for(layer.receive(channel), 10))
                carried += len(unbatched(messages[-1]))
            return messages

        return async_to_sync(receive)()

    yield receive_until
    async_to_sync(layer.group_discard)("broadcast-order", channel)
    channel_layers.backends.clear()


def send_events(count: int) -> None:
    for number in range(count):  # an experiment writing its progress, each send a hand-off
        group_send_soon("broadcast-order", {"type": "progress", "number": number}, what=f"event {number}")


def test_sends_handed_off_one_after_another_arrive_in_that_order(listener):
    send_events(EVENTS)

    received = [each["number"] for message in listener(EVENTS) for each in unbatched(message)]

    assert received == list(range(EVENTS))


def test_sends_handed_off_while_the_loop_is_busy_go_out_as_one_message(listener):
    # The loop is busy (daphne's, serving other requests) while a request thread hands off its sends.
    loop, busy = _background_loop(), threading.Event()
    loop.call_soon_threadsafe(lambda: (busy.set(), time.sleep(0.5)))
    busy.wait(5)
    send_events(EVENTS)

    (message,) = listener(EVENTS)

    assert message["type"] == BATCH_TYPE
    assert [each["number"] for each in unbatched(message)] == list(range(EVENTS))
