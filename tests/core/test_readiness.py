import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.core.models import Heartbeat
from apps.core.selectors import WORKER_HEARTBEAT
from apps.core.tasks import record_worker_heartbeat
from tests.processes import WebSocketClient

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_channel_layer(settings):
    """Readiness is about the real services: the Redis channel layer instead of the unit tests' in-memory one."""
    settings.CHANNEL_LAYERS = {"default": settings.REDIS_CHANNEL_LAYER}


def test_ready_when_database_redis_channel_layer_and_worker_answer(client, redis_channel_layer):
    record_worker_heartbeat.delay()
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"serving", "database", "redis", "channel_layer", "celery_worker"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["channel_layer"]["detail"] == "RedisChannelLayer"


@pytest.mark.django_db(transaction=True)
def test_ready_while_a_dashboard_socket_is_open_in_the_same_process(
    redis_channel_layer, asgi_live_server, manager_user
):
    """A consumer receiving on the Redis layer used to make the readiness round trip fail: never ready in production,
    where managers keep the dashboard open."""
    import requests

    browser = Client()
    browser.force_login(manager_user)
    Heartbeat.objects.create(name=WORKER_HEARTBEAT, seen_at=timezone.now())
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    dashboard = WebSocketClient(asgi_live_server, "/ws/dashboard/", cookie=cookie)
    try:
        for _ in range(2):
            response = requests.get(f"{asgi_live_server}/readyz", timeout=10)
            assert response.status_code == 200, response.json()
            assert response.json()["checks"]["channel_layer"]["detail"] == "RedisChannelLayer"
    finally:
        dashboard.close()


def test_503_naming_redis_when_redis_url_points_at_a_closed_port(client, settings):
    closed = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.REDIS_URL = closed
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [closed]}}
    }
    record_worker_heartbeat.delay()
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert "redis" in body["failed"]
    assert "channel_layer" in body["failed"]
    assert "database" not in body["failed"]
    assert "ConnectionError" in body["checks"]["redis"]["detail"]


def test_503_naming_the_worker_when_no_heartbeat_was_ever_recorded(client, redis_channel_layer):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["celery_worker"]


def test_503_when_the_worker_heartbeat_is_older_than_a_minute(client, redis_channel_layer):
    Heartbeat.objects.create(name=WORKER_HEARTBEAT, seen_at=timezone.now() - dt.timedelta(seconds=61))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["celery_worker"]
    # 61 s when written; a second or more later on a loaded machine by the time the page reads it.
    assert re.fullmatch(
        r"last heartbeat 6\d s ago \(limit 60 s\)", response.json()["checks"]["celery_worker"]["detail"]
    )


def test_a_web_probe_naming_its_checks_stays_ready_without_a_worker(client, redis_channel_layer):
    """Kubernetes' readiness probe of a web pod (deploy/k8s/base/web.yaml) leaves out the worker heartbeat: with no
    worker the whole page says 503, the web pod's own checks say 200."""
    assert client.get("/readyz").status_code == 503
    response = client.get("/readyz?checks=database,redis,channel_layer")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == {"database", "redis", "channel_layer"}


def test_a_probe_naming_only_a_failing_check_is_unavailable(client, redis_channel_layer):
    response = client.get("/readyz?checks=celery_worker")
    assert response.status_code == 503
    assert response.json()["failed"] == ["celery_worker"]


@pytest.mark.parametrize("checks", ["database,disk", "", "database,,redis"])
def test_an_unknown_or_empty_check_name_is_a_400_naming_it(client, checks):
    response = client.get(f"/readyz?checks={checks}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "Known: serving, database, redis, channel_layer, celery_worker" in error["message"]


def test_a_new_install_has_the_heartbeat_beat_job():
    job = PeriodicTask.objects.get(task="core.record_worker_heartbeat")
    assert job.enabled
    assert job.interval.every == 15 and job.interval.period == "seconds"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_real_beat_and_worker_processes_keep_readyz_green(client, redis_channel_layer):
    """Starts Celery beat and a worker as `make run` does, on this test database and the real Redis broker."""
    # Earlier transactional tests flush the row the migration made, so it is put back here.
    every_15s, _ = IntervalSchedule.objects.get_or_create(every=15, period="seconds")
    PeriodicTask.objects.update_or_create(
        name="Worker heartbeat", defaults={"task": "core.record_worker_heartbeat", "interval": every_15s}
    )
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    queue = f"readyz-test-{os.getpid()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vendbot.settings.base",
        "DEBUG": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    celery = [sys.executable, "-m", "celery", "-A", "vendbot"]
    processes = [
        subprocess.Popen(
            [*celery, "worker", "-Q", queue, "--pool", "solo", "-l", "warning"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [*celery, "beat", "-l", "warning", "-s", "/tmp/celerybeat-test"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and not Heartbeat.objects.filter(name=WORKER_HEARTBEAT).exists():
            time.sleep(0.5)
        response = client.get("/readyz")
        assert response.status_code == 200, response.json()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
