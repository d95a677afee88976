"""Run in a separate process by test_shared_limits: count messages, add tokens and fail model calls against the real
Redis, then print what this process was admitted."""

import json
import os
import sys

import django


def main(customer_key: str, messages: int, tokens_each: int, failures: int, now: float) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendbot.settings.test")
    django.setup()
    from apps.agents.shared_limits import CircuitBreaker, customer_tokens_add, customer_turn_admit

    admitted = sum(customer_turn_admit(customer_key, now=now) == "" for _ in range(messages))
    totals = [customer_tokens_add(customer_key, tokens_each) for _ in range(messages)]
    breaker = CircuitBreaker()
    for _ in range(failures):
        breaker.record_failure()
    print(json.dumps({"admitted": admitted, "last_total": max(totals)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
