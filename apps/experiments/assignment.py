"""Deterministic A/B assignment: a keyed hash of the test and the unit (customer or conversation) picks the variant.

HMAC-SHA256 keyed with the project's SECRET_KEY: stable for a unit for the life of the test, unpredictable to someone
who does not know the key (so nobody can pick a persona by choosing a key), and uniform, so the split follows the
weights.
"""

import hashlib
import hmac

from django.conf import settings

_SCALE = 2**64


def assignment_key(*, customer_key: str, conversation_id: int) -> str:
    """Known customers keep their variant across conversations; anonymous tablet users get one per conversation."""
    return customer_key or f"conv:{conversation_id}"


def bucket(*, test_id: int, key: str) -> float:
    """A number in [0, 1) fixed by (test, key)."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"abtest:{test_id}:{key}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def choose(*, test_id: int, key: str, weights: list[int]) -> int:
    """The index of the variant for this unit, with probability weight / sum(weights)."""
    point = bucket(test_id=test_id, key=key) * sum(weights)
    for index, weight in enumerate(weights):
        if point < weight:
            return index
        point -= weight
    return len(weights) - 1
