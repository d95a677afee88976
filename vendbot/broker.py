"""kombu's Redis transport, with one redis-py client per channel for what it sends.

kombu's Redis channel builds a new `redis.Redis` for every publish (`conn_or_acquire` without a client), and redis-py's
constructor fills a table of about 170 response callbacks each time: half of a task's publish, which the LINE webhook
and every task sent pay (docs/performance.md). The client holds no connection of its own (each command takes one from
the channel's pool, as before), so one per channel serves every publish; a new one is made when kombu replaces the
channel's pool (after a fork or a reconnect). Settings select this transport for `redis://` broker URLs only.
"""

from contextlib import contextmanager

from kombu.transport import redis


class Channel(redis.Channel):
    _sender = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client is None:
            client = self._sender
            if client is None or client.connection_pool is not self.pool:
                with super().conn_or_acquire() as client:
                    self._sender = client
        yield client


class Transport(redis.Transport):
    Channel = Channel
