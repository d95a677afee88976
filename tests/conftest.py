import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection, connections

from apps.core.roles import MANAGER, STAFF
from tests.factories import UserFactory

# Every app's admin module registered, as the URLconf leaves them in a running site (vendbot/admin_config.py): tests
# that visit every admin page read the registry, some while they are collected.
admin.autodiscover()


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.postgres` tests need real row locks; they run in .ci/run's PostgreSQL pass."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: run with DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def staff_user(db):
    user = UserFactory(username="staff-member", is_staff=True)
    user.groups.add(Group.objects.get(name=STAFF))
    return user


@pytest.fixture
def manager_user(db):
    user = UserFactory(username="manager-member", is_staff=True)
    user.groups.add(Group.objects.get(name=MANAGER))
    return user


METRICS_TOKEN = "test-metrics-token"


@pytest.fixture
def metrics_page(client, settings):
    """Reads /metrics as Prometheus does in production: with the bearer token."""
    settings.METRICS_TOKEN = METRICS_TOKEN

    def read() -> str:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
        assert response.status_code == 200, response.content
        return response.content.decode()

    return read


def _use_database(name):
    """In the server process: the test database this session created (already named so, whichever start method)."""
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = name


@pytest.fixture
def asgi_live_server(transactional_db):
    """The real ASGI application (HTTP and WebSockets) served by daphne in a child process on the test database."""
    from functools import partial

    from asgiref.sync import SyncToAsync
    from channels.layers import channel_layers
    from channels.testing.live import make_application
    from daphne.testing import DaphneProcess
    from django.conf import settings
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    # The daphne child is forked from this process. Earlier async tests leave asgiref's one-thread executor (used
    # by `database_sync_to_async` outside a request) with a worker thread a fork does not copy, so the child's
    # database calls would wait forever; and their channel layer is bound to finished event loops. Fresh ones of both.
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    channel_layers.backends.clear()
    process = DaphneProcess(
        "127.0.0.1",
        partial(make_application, static_wrapper=ASGIStaticFilesHandler),
        setup=partial(_use_database, settings.DATABASES["default"]["NAME"]),
    )
    process.start()
    if not process.ready.wait(timeout=30):
        process.terminate()
        detail = "" if process.errors.empty() else process.errors.get(False)[1]
        raise RuntimeError(f"daphne did not start within 30 s {detail}")
    try:
        yield f"http://127.0.0.1:{process.port.value}"
    finally:
        process.terminate()
        process.join(timeout=10)
        channel_layers.backends.clear()


CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def screenshots_dir() -> Path:
    """Where the browser tests keep the screenshots the README links to: test-artifacts/screenshots/ on every run,
    docs/screenshots/ when `make screenshots` asks for new ones (UPDATE_SCREENSHOTS=1), so a test run leaves the
    committed pictures alone."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        directory = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    else:
        directory = ARTIFACTS / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def browser_page(request, monkeypatch):
    """A headless Debian chromium page driven by Playwright; a screenshot of the last state is kept as an artifact."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            yield page
        finally:
            # Playwright's sync API switches greenlets, and with them the context Django keys its connections by:
            # close the ones this test opened, or dropping the test database finds them still in use.
            connections.close_all()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
            context.close()
            browser.close()


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port, so a fault test can kill and restart it without
    touching the shared Redis other tests (and other test runs) use. Nothing is persisted between its lives."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = None

    def start(self) -> None:
        import shutil
        import subprocess
        import time

        import redis

        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server not found: install it (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not answer on port {self.port} within 10 s") from None
                time.sleep(0.05)
            finally:
                client.close()

    def pause(self) -> None:
        """SIGSTOP: connections are still accepted (by the kernel), nothing is answered until `resume`."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would: no goodbye to connected clients."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis():
    """A Redis this test may kill (`.kill()`) and bring back (`.start()`, same port and URL)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = PrivateRedis(port)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def process_env(private_redis):
    """Environment for real processes (tests/processes.py): this test database, the private Redis, a queue of their own."""
    from tests.processes import environment_for_processes

    return environment_for_processes(private_redis.url)


@pytest.fixture
def processes(tmp_path):
    """Real web servers and Celery workers for this test (tests/processes.py), every one stopped at its end."""
    from tests.processes import Processes

    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def fresh_dependency_log(monkeypatch):
    """No failure logged yet in this process, so the next one of every dependency is logged (each test starts clean)."""
    from apps.core import logging as core_logging

    monkeypatch.setattr(core_logging, "_dependency_state", {})


@pytest.fixture
def fake_paypay(settings):
    """PayPay's API on a loopback port, with the real SDK pointed at it."""
    from tests.fake_paypay import API_KEY, API_SECRET, MERCHANT_ID, FakePayPay

    fake = FakePayPay().start()
    settings.PAYPAY_API_BASE_URL = fake.url
    settings.PAYPAY_API_KEY = API_KEY
    settings.PAYPAY_API_SECRET = API_SECRET
    settings.PAYPAY_MERCHANT_ID = MERCHANT_ID
    settings.PAYMENT_PROVIDERS = ["terminal", "paypay", "stripe"]
    yield fake
    fake.stop()


@pytest.fixture
def fake_stripe(settings):
    """Stripe's API on a loopback port, with the real SDK pointed at it, and its webhook secret."""
    from tests.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe

    fake = FakeStripe().start()
    settings.STRIPE_API_BASE_URL = fake.url
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PAYMENT_PROVIDERS = ["terminal", "paypay", "stripe"]
    yield fake
    fake.stop()
