"""State every process shares through Redis, each change one atomic command or Lua script: the per-customer limits
and the model's circuit breaker."""

import threading
import time
from collections.abc import Callable
from functools import cache

import redis
from django.conf import settings
from django.utils import timezone

from apps.agents import metrics
from apps.core.logging import log_dependency_failure


@cache
def _redis_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def shared_redis() -> redis.Redis:
    return _redis_for(settings.REDIS_URL)


def _key(*parts: str) -> str:
    return ":".join((settings.LLM_REDIS_PREFIX, *parts))


# INCR and EXPIRE in one step, so a key never lives without its expiry (a crash between the two would keep it forever).
_INCR_WITH_EXPIRY = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return value
"""


# One round trip per turn: count the message in its minute (the key expires with the minute) and read the day's tokens.
_CUSTOMER_ADMIT = """
local messages = redis.call('INCR', KEYS[1])
if messages == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local tokens = tonumber(redis.call('GET', KEYS[2]) or '0')
return {messages, tokens}
"""


def customer_turn_admit(customer_key: str, *, now: float | None = None) -> str:
    """Count one message of this customer; "" if it may go to the model, else the limit it is over
    (`LLM_CUSTOMER_MESSAGES_PER_MINUTE`, `LLM_CUSTOMER_TOKENS_PER_DAY`). With Redis down the limits cannot be counted:
    "limits_unavailable", so the customer gets the offline answer instead of an error or an unmetered model."""
    minute = int((now if now is not None else time.time()) // 60)
    try:
        messages, tokens = shared_redis().eval(
            _CUSTOMER_ADMIT, 2, _key("customer", customer_key, "messages", str(minute)), _tokens_key(customer_key), 120
        )
    except redis.RedisError as exc:
        log_dependency_failure("redis", exc, action="customer limits")
        return "limits_unavailable"
    if messages > settings.LLM_CUSTOMER_MESSAGES_PER_MINUTE:
        return "customer_rate_limit"
    if tokens >= settings.LLM_CUSTOMER_TOKENS_PER_DAY:
        return "customer_token_limit"
    return ""


def _tokens_key(customer_key: str) -> str:
    return _key("customer", customer_key, "tokens", timezone.localdate().isoformat())


def customer_tokens_add(customer_key: str, tokens: int) -> int:
    """Add a model call's tokens to the customer's day; returns the day's total."""
    return shared_redis().eval(_INCR_WITH_EXPIRY, 1, _tokens_key(customer_key), tokens, 2 * 24 * 3600)


# A failure counts towards opening; once open (or when a half-open trial fails) the breaker (re)opens at `now`.
# Returns 1 when this failure opened a closed breaker.
_BREAKER_FAILURE = """
local failures = redis.call('INCR', KEYS[1])
local was_open = redis.call('EXISTS', KEYS[2]) == 1
if was_open or failures >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[1])
  redis.call('DEL', KEYS[3])
  if was_open then return 0 end
  return 1
end
return 0
"""


class CircuitBreaker:
    """Open after `LLM_BREAKER_FAILURES` failed calls in a row; after `LLM_BREAKER_RESET_SECONDS` let one trial call
    through (half-open): its success closes the breaker, its failure opens it again. State lives in Redis, so every
    web and worker process sees the same breaker. The clock is injectable so tests need not wait.

    A successful call in the common case (closed, no failures) costs one round trip: `allow()` reads the failures, the
    opening time and the trial together (MGET), and `record_success()` sends its DEL only when that read found
    something to clear. The half-open trial's `SET NX` is a second round trip, only in that state."""

    def __init__(self, name: str = "anthropic", *, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._failures = _key("breaker", name, "failures")
        self._opened_at = _key("breaker", name, "opened_at")
        self._trial = _key("breaker", name, "trial")
        # Whether this thread's last `allow()` found nothing to clear; taken by its next record_success/record_failure.
        # Per thread, as one breaker may serve concurrent calls (each calls allow() and then records, in one thread).
        self._read = threading.local()

    def state(self) -> str:
        return self._state_at(shared_redis().get(self._opened_at))

    def _state_at(self, opened_at: bytes | None) -> str:
        if opened_at is None:
            return "closed"
        return "half_open" if self.clock() - float(opened_at) >= settings.LLM_BREAKER_RESET_SECONDS else "open"

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one caller (across processes) gets the trial."""
        failures, opened_at, trial = shared_redis().mget(self._failures, self._opened_at, self._trial)
        self._read.clean = failures is None and opened_at is None and trial is None
        state = self._state_at(opened_at)
        if state == "closed":
            return True
        if state == "open":
            return False
        return bool(shared_redis().set(self._trial, "1", nx=True, ex=max(1, int(settings.LLM_BREAKER_RESET_SECONDS))))

    def record_success(self) -> None:
        """A success closes the breaker: clear the failures, the opening and the trial (one DEL), unless this thread's
        last `allow()` found all three absent.

        Skipping it then is the same as having sent it at that read, where it would have deleted nothing. Whatever was
        written since came from calls running alongside this one (the read precedes this call's request); sending the
        DEL always cleared those only when it happened to land after them, an order between concurrent calls that was
        never promised. So the skip can leave failures that concurrent calls recorded meanwhile (the next call's
        `allow()` sees them and its success clears them) or, if `LLM_BREAKER_FAILURES` of them failed while this call
        was in flight, the breaker they opened, which half-opens as usual. With no `allow()` before it in this thread
        (or a `record_failure()` since), it always deletes."""
        clean, self._read.clean = getattr(self._read, "clean", False), False
        if not clean:
            shared_redis().delete(self._failures, self._opened_at, self._trial)

    def record_failure(self) -> None:
        self._read.clean = False
        opened = shared_redis().eval(
            _BREAKER_FAILURE,
            3,
            self._failures,
            self._opened_at,
            self._trial,
            repr(self.clock()),
            settings.LLM_BREAKER_FAILURES,
        )
        if opened:
            metrics.BREAKER_OPENED.inc()
