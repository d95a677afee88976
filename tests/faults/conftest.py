"""The fault suite's harness: real processes (daphne, Celery workers) on this test's PostgreSQL database and a Redis
of the test's own, each started with a deadline and always stopped (SIGKILL if it does not stop in time).

A fault test asks for `fault_env` (settings for its processes, extended by the test) and `processes` (starts them
and cleans up); it runs under `@pytest.mark.postgres` and `django_db(transaction=True)`, so the processes see the
rows the test writes and the test sees theirs."""

import http.client
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.agents.conftest import cola, machine, shop, shopkeeper, tea  # noqa: F401  (a shop for the processes)

ROOT = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT_SECONDS = 30


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, *, timeout: float, interval: float = 0.2, what: str = "the condition"):
    """Poll `condition` until it returns something truthy (returned) or `timeout` seconds pass (the test fails)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout:g} s")
        time.sleep(interval)


@pytest.fixture
def fault_env(private_redis):
    """Environment of the processes: this test database, the private Redis as broker, cache and channel layer, a
    Celery queue of their own."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vendbot.settings.base",
        "DEBUG": "1",
        "LOG_LEVEL": "INFO",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": private_redis.url,
        "CELERY_TASK_DEFAULT_QUEUE": f"faults-{uuid.uuid4().hex[:8]}",
    }


class Processes:
    """Starts the processes of one test; `stop_all` ends every one (the fixture calls it whatever happened)."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[subprocess.Popen] = []

    def _start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}-{len(self.started)}.log", "wb")  # noqa: SIM115  (closed with the process)
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        process.log = log
        self.started.append(process)
        return process

    def daphne(self, env: dict) -> str:
        """The ASGI application as production serves it; returns its base URL once it answers."""
        port = free_port()
        daphne = str(Path(sys.executable).with_name("daphne"))
        process = self._start("daphne", [daphne, "-b", "127.0.0.1", "-p", str(port), "vendbot.asgi:application"], env)

        def answers():
            if process.poll() is not None:
                pytest.fail(f"daphne exited with {process.returncode}: {self.log_text(process)}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/line/webhook/")
                return conn.getresponse().status == 405
            except OSError:
                return False

        wait_for(answers, timeout=START_TIMEOUT_SECONDS, what="daphne answering")
        return f"http://127.0.0.1:{port}"

    def worker(self, env: dict) -> subprocess.Popen:
        """A Celery worker (one process, `--pool solo`, so `kill -9` of it is the death of the worker) on the
        environment's queue."""
        name = f"faults-{secrets.token_hex(4)}@%h"
        command = [sys.executable, "-m", "celery", "-A", "vendbot", "worker", "-Q", env["CELERY_TASK_DEFAULT_QUEUE"]]
        command += ["--pool", "solo", "-n", name, "-l", "info", "--without-gossip", "--without-mingle"]
        process = self._start("worker", command, env)
        wait_for(
            lambda: process.poll() is not None or b" ready." in Path(process.log.name).read_bytes(),
            timeout=START_TIMEOUT_SECONDS,
            what="the Celery worker ready",
        )
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode}: {self.log_text(process)}")
        return process

    @staticmethod
    def log_text(process: subprocess.Popen) -> str:
        return Path(process.log.name).read_text(errors="replace")[-3000:]

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """kill -9: no goodbye, no acknowledgement, no cleanup."""
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            process.log.close()


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()
