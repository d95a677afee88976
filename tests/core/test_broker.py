"""The Redis broker transport (vendbot.broker) on the real Redis: messages arrive as with kombu's own, each channel
sends through one client, and a pool kombu replaces (after a fork or a reconnect) gets a client of its own."""

import uuid

from django.conf import settings
from kombu import Connection


def test_messages_arrive_and_a_channel_sends_through_one_client_until_its_pool_is_replaced():
    queue_name = f"test-broker-{uuid.uuid4().hex}"
    with Connection(settings.REDIS_URL, transport="vendbot.broker:Transport") as connection:
        queue = connection.SimpleQueue(queue_name)
        try:
            channel = queue.channel
            queue.put({"n": 1})
            first_client = channel._sender
            queue.put({"n": 2})
            assert channel._sender is first_client

            channel._disconnect_pools()  # what kombu does in a forked child or after a connection error
            queue.put({"n": 3})
            assert channel._sender is not first_client
            assert channel._sender.connection_pool is channel.pool

            received = []
            for _ in range(3):
                message = queue.get(timeout=5)
                received.append(message.payload["n"])
                message.ack()
            assert received == [1, 2, 3]
        finally:
            queue.clear()
            queue.close()


def test_the_settings_choose_it_for_the_redis_broker():
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert settings.CELERY_BROKER_TRANSPORT == "vendbot.broker:Transport"
