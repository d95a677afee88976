"""Tests of how the shop runs as processes: graceful stops, several processes side by side, backups. They start real
web servers and Celery workers (tests/processes.py) on this test's PostgreSQL database and a Redis of their own."""

import http.client
import json
import uuid
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from apps.inventory.services import device_token_issue
from tests.agents.conftest import cola, machine, shop, shopkeeper, tea  # noqa: F401  (a shop for the processes)
from tests.chats.live_line import line  # noqa: F401  (LINE for the processes)

# The marks of a test with live processes: they run in the PostgreSQL pass, see the rows the test commits, and the test
# publishes to their broker (its own settings run tasks eagerly, which send_task ignores).
LIVE_PROCESSES = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]


@pytest.fixture
def device_token(shop):  # noqa: F811  (the fixture imported above)
    return device_token_issue(machine=shop)


def buy(base_url: str, token: str, key: str, *, slot: str = "A1", timeout: float = 30) -> tuple[int, dict]:
    """One item through the API, as the tablet sends it: `POST /api/machines/HQ-1F/purchases/` with its key."""
    conn = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=timeout)
    try:
        conn.request(
            "POST",
            "/api/machines/HQ-1F/purchases/",
            body=json.dumps({"items": [{"slot": slot, "quantity": 1}], "payment_method": "card"}),
            headers={"Authorization": f"Device {token}", "Content-Type": "application/json", "Idempotency-Key": key},
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def new_key() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def manager_cookie(manager_user) -> str:
    """The Cookie header of a signed-in Manager (the dashboard socket's login)."""
    browser = Client()
    browser.force_login(manager_user)
    return f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
