"""Broadcasts from one process reach a page in the order they were made, without the sender waiting for the layer:
an experiment's progress bar never steps back and its "finished" never arrives before its last progress."""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from apps.core.broadcast import group_send_soon

EVENTS = 60


def test_sends_handed_off_one_after_another_arrive_in_that_order(settings):
    settings.CHANNEL_LAYERS = {"default": settings.REDIS_CHANNEL_LAYER}
    channel_layers.backends.clear()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("broadcast-order", channel)
    try:
        for number in range(EVENTS):  # an experiment writing its progress, each send a hand-off
            group_send_soon("broadcast-order", {"type": "progress", "number": number}, what=f"event {number}")

        async def receive_all():
            return [(await asyncio.wait_for(layer.receive(channel), 10))["number"] for _ in range(EVENTS)]

        received = async_to_sync(receive_all)()
    finally:
        async_to_sync(layer.group_discard)("broadcast-order", channel)
        channel_layers.backends.clear()

    assert received == list(range(EVENTS))
