"""Django's PostgreSQL backend, whose connection pool checks a connection it hands out without a round trip.

With `CONN_HEALTH_CHECKS` on, Django gives the pool psycopg_pool's check: an empty query on every connection it hands
out, one round trip per request that touches the database, about a twentieth of a purchase's server time
(docs/performance.md). A connection that the server ended while it waited in the pool (a restart,
`pg_terminate_backend`, an idle timeout) has the server's last message or the end of the stream waiting on its
socket; a live idle one has nothing to read (the shop never LISTENs). So the pool only looks at the socket, and sends
the empty query only when something is there to read (TLS can leave a session ticket there too): a connection that
fails it is dropped and replaced, as before. What no check short of a timeout sees, a network that silently drops
packets, the empty query did not see either: it waited as long as the request's first query will.
"""

import select

from django.db.backends.postgresql import base
from psycopg_pool import AsyncConnectionPool, ConnectionPool


def check_idle_connection(conn) -> None:
    """psycopg_pool's `check`: return if `conn` can be handed out, raise if not (a closed one raises in `fileno`)."""
    if _something_to_read(conn):
        ConnectionPool.check_connection(conn)


async def check_idle_async_connection(conn) -> None:
    """The same for the pool of async connections (`apps.core.sql.async_batch`)."""
    if _something_to_read(conn):
        await AsyncConnectionPool.check_connection(conn)


def _something_to_read(conn) -> bool:
    poller = select.poll()  # not select(): a server with many sockets open has descriptors past its limit
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        pool = super().pool
        # Django passes psycopg_pool's own check when CONN_HEALTH_CHECKS is on, and no check when it is off; it offers
        # no way to pass another, so the pool's check (its `_check`) is replaced once the pool exists.
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = check_idle_connection
        return pool
