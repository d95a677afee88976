"""apps/core/postgresql: the pool hands out a connection without a round trip to check it, and never one the server
has ended while it waited in the pool."""

import time

import pytest
from django.db import connection
from django.db.utils import ConnectionHandler

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def pooled():
    """A second Django connection to the test database, through a pool of one (the tests run without a pool)."""
    handler = ConnectionHandler(
        {"default": {**connection.settings_dict, "OPTIONS": {"pool": {"min_size": 1, "max_size": 1}}}}
    )
    pooled = handler["default"]
    yield pooled
    pooled.close()
    pooled.close_pool()


def backend_pid(db) -> int:
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def last_query(pid: int) -> str | None:
    """What the backend `pid` ran last, as the server sees it now; None once it has ended."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else the test's transaction sees its first reading
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row[0] if row else None


def test_a_live_connection_comes_back_from_the_pool_with_no_query_sent(pooled):
    pid = backend_pid(pooled)
    pooled.close()  # back to the pool, as at the end of a request

    pooled.connect()

    assert last_query(pid) == "SELECT pg_backend_pid()"  # psycopg_pool's own check would have sent ""
    assert backend_pid(pooled) == pid


def test_a_connection_the_server_ended_in_the_pool_is_replaced_before_a_request_gets_it(pooled):
    pid = backend_pid(pooled)
    pooled.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and last_query(pid) is not None:
        time.sleep(0.05)

    pooled.connect()

    assert backend_pid(pooled) != pid
