"""Real processes for tests: the web server (`python -m vendbot.server`, as production runs it) and Celery workers,
on this test's PostgreSQL database and a Redis of the test's own, each started with a deadline and always stopped
(SIGKILL if it does not stop in time).

A test asks for `process_env` (the processes' environment, extended by the test) and `processes` (starts them and
cleans up; both fixtures in tests/conftest.py); it runs under `@pytest.mark.postgres` and
`django_db(transaction=True)`, so the processes see the rows the test writes and the test sees theirs."""

import base64
import http.client
import json
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 60  # a deadline for a loaded machine (2 CPUs shared), not a speed target
STOP_TIMEOUT_SECONDS = 10


def free_port() -> int:
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


def environment_for_processes(redis_url: str) -> dict:
    """This test database, `redis_url` as broker, cache and channel layer, a Celery queue of their own, and the
    simulated terminal's books the test process keeps (so the test can read what was charged)."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vendbot.settings.base",
        "DEBUG": "1",
        "LOG_LEVEL": "INFO",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": f"processes-{uuid.uuid4().hex[:8]}",
        "PAYMENT_TERMINAL_DB": settings.PAYMENT_TERMINAL_DB,
    }


class WebSocketClient:
    """A WebSocket to a live server, opened by hand (HTTP/1.1 upgrade), held open and read frame by frame."""

    def __init__(self, server: str, path: str, *, cookie: str = ""):
        host, port = server.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: {server}\r\nCookie: {cookie}\r\n\r\n"
            ).encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += self.sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 101"), answer
        self.buffered = answer.split(b"\r\n\r\n", 1)[1]

    def _read_exactly(self, count: int) -> bytes:
        while len(self.buffered) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection without a close frame")
            self.buffered += chunk
        data, self.buffered = self.buffered[:count], self.buffered[count:]
        return data

    def next_frame(self) -> tuple[int, bytes]:
        """The next frame the server sent: (opcode, payload); 1 is text, 8 close (its payload starts with the
        two-byte close code). Server frames are never masked."""
        first, second = self._read_exactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exactly(8))
        return first & 0x0F, self._read_exactly(length)

    def next_json(self) -> dict:
        """The next text message, decoded (fails on a close frame)."""
        opcode, payload = self.next_frame()
        assert opcode == 1, (opcode, payload)
        return json.loads(payload)

    def close_code(self) -> int:
        """Reads frames until the server's close frame and returns its code."""
        while True:
            opcode, payload = self.next_frame()
            if opcode == 8:
                return struct.unpack("!H", payload[:2])[0]

    def close(self) -> None:
        self.sock.close()


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

    def web(self, env: dict) -> tuple[str, subprocess.Popen]:
        """The ASGI application as production serves it (daphne with the graceful stop of vendbot/server.py);
        returns its base URL, once it answers, and its process."""
        port = free_port()
        command = [sys.executable, "-m", "vendbot.server", "-b", "127.0.0.1", "-p", str(port)]
        process = self._start("web", [*command, "vendbot.asgi:application"], env)

        def answers():
            if process.poll() is not None:
                pytest.fail(f"the web server exited with {process.returncode}: {self.log_text(process)}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/line/webhook/")
                return conn.getresponse().status == 405
            except OSError:
                return False

        wait_for(answers, timeout=START_TIMEOUT_SECONDS, what="the web server answering")
        return f"http://127.0.0.1:{port}", process

    def daphne(self, env: dict) -> str:
        return self.web(env)[0]

    def worker(self, env: dict, *, pool: tuple[str, ...] = ("--pool", "solo")) -> subprocess.Popen:
        """A Celery worker on the environment's queue: by default one process (`--pool solo`, so `kill -9` of it is
        the death of the worker); `pool=("--pool", "prefork", "--concurrency", "1")` runs it as `make run` does."""
        name = f"worker-{secrets.token_hex(4)}@%h"
        command = [sys.executable, "-m", "celery", "-A", "vendbot", "worker", "-Q", env["CELERY_TASK_DEFAULT_QUEUE"]]
        command += [*pool, "-n", name, "-l", "info", "--without-gossip", "--without-mingle"]
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
        process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            process.log.close()
