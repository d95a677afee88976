"""Limits and the breaker live in Redis, so they hold across processes: two real processes share one budget."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from apps.agents.shared_limits import CircuitBreaker, customer_tokens_add, customer_turn_admit, shared_redis

ROOT = Path(__file__).resolve().parents[2]


def worker(
    prefix: str, customer_key: str, messages: int, tokens_each: int, failures: int, now: float
) -> subprocess.Popen:
    env = {**os.environ, "LLM_REDIS_PREFIX": prefix, "DJANGO_SETTINGS_MODULE": "vendbot.settings.test"}
    args = [
        sys.executable,
        "-m",
        "tests.agents.limits_worker",
        customer_key,
        str(messages),
        str(tokens_each),
        str(failures),
        repr(now),
    ]
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)


def test_limits_hold_across_two_processes(redis_prefix, settings):
    settings.LLM_CUSTOMER_MESSAGES_PER_MINUTE = 60
    settings.LLM_CUSTOMER_TOKENS_PER_DAY = 100_000
    now = time.time()  # one minute for both processes, whatever the wall clock does meanwhile
    processes = [
        worker(redis_prefix, "line:U-two", 40, 1_500, 3, now),
        worker(redis_prefix, "line:U-two", 40, 1_500, 2, now),
    ]
    results = [json.loads(process.communicate(timeout=60)[0]) for process in processes]

    # 80 messages in the same minute from two processes: exactly 60 admitted, none lost to a race.
    assert sum(result["admitted"] for result in results) == 60
    # 80 × 1,500 tokens added concurrently: the shared total is exact, and the customer is over the day's limit.
    assert max(result["last_total"] for result in results) == 120_000
    assert customer_tokens_add("line:U-two", 0) == 120_000
    assert customer_turn_admit("line:U-two", now=now) == "customer_rate_limit"
    # Next minute: messages are welcome again, but the day's tokens are spent.
    assert customer_turn_admit("line:U-two", now=now + 60) == "customer_token_limit"
    # Three failures in one process and two in the other: five in a row, the breaker is open for everyone.
    assert CircuitBreaker().state() == "open"


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def test_the_breaker_opens_after_five_failures_and_half_opens_after_thirty_seconds(redis_prefix):
    clock = Clock()
    breaker = CircuitBreaker(clock=clock)

    for _ in range(4):
        breaker.record_failure()
    assert breaker.state() == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state() == "open" and not breaker.allow()

    clock.now += 29.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.state() == "half_open"
    assert breaker.allow()  # one trial call ...
    assert not CircuitBreaker(clock=clock).allow()  # ... and only one, whichever process asks

    breaker.record_failure()  # the trial failed: open again for another 30 s
    assert breaker.state() == "open"
    clock.now += 30
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state() == "closed" and breaker.allow()


def test_a_success_resets_the_count_of_failures_in_a_row(redis_prefix):
    breaker = CircuitBreaker(clock=Clock())
    for _ in range(4):
        breaker.record_failure()
    breaker.record_success()
    for _ in range(4):
        breaker.record_failure()

    assert breaker.state() == "closed"


@pytest.fixture
def redis_commands(monkeypatch):
    """The names of the commands sent to the shared Redis from here on."""
    client, sent = shared_redis(), []
    send = client.execute_command

    def counting(*args, **options):
        sent.append(args[0])
        return send(*args, **options)

    monkeypatch.setattr(client, "execute_command", counting)
    return sent


def test_a_success_on_a_closed_breaker_with_nothing_to_clear_costs_one_round_trip(redis_prefix, redis_commands):
    breaker = CircuitBreaker(clock=Clock())

    assert breaker.allow()
    breaker.record_success()

    assert redis_commands == ["MGET"]


def test_a_success_clears_failures_recorded_by_another_process(redis_prefix, redis_commands):
    clock = Clock()
    for _ in range(4):
        CircuitBreaker(clock=clock).record_failure()  # another process's breaker: same Redis keys
    breaker = CircuitBreaker(clock=clock)

    redis_commands.clear()
    assert breaker.allow()
    breaker.record_success()

    assert redis_commands == ["MGET", "DEL"]
    breaker.record_failure()
    assert breaker.state() == "closed"  # one failure since the success, not five in a row


def test_each_thread_records_its_success_against_its_own_read(redis_prefix, redis_commands):
    clock = Clock()
    other = CircuitBreaker(clock=clock)
    other.record_failure()
    shared = CircuitBreaker(clock=clock)

    assert shared.allow()  # this thread sees the failure ...

    def clean_call_elsewhere():
        other.record_success()
        assert shared.allow()  # ... another thread, later, sees nothing to clear
        shared.record_success()

    thread = threading.Thread(target=clean_call_elsewhere)
    thread.start()
    thread.join()
    redis_commands.clear()
    shared.record_success()

    assert redis_commands == ["DEL"]  # this thread's read found something, so its success deletes
