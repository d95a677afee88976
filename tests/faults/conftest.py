"""The fault suite's harness: real processes (the web server, Celery workers; tests/processes.py) on this test's
PostgreSQL database and a Redis of the test's own.

A fault test asks for `fault_env` (settings for its processes, extended by the test) and `processes` (starts them
and cleans up; both in tests/conftest.py); it runs under `@pytest.mark.postgres` and `django_db(transaction=True)`,
so the processes see the rows the test writes and the test sees theirs."""

import pytest

from tests.agents.conftest import cola, machine, shop, shopkeeper, tea  # noqa: F401  (a shop for the processes)
from tests.chats.live_line import line  # noqa: F401  (LINE for the processes)


@pytest.fixture
def fault_env(process_env):
    """Environment of the processes: this test database, the private Redis as broker, cache and channel layer, a
    Celery queue of their own."""
    return process_env
