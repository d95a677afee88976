"""Structured JSON logs with a request id, and redaction of secrets and personal data in every record.

The redaction filter sits on the handler (see LOGGING in settings), so it sees records from every logger. It masks:
- values under sensitive keys (password, api_key, token, secret, authorization, cookie, email, phone, card, ...) in
  `extra` data and in dict/list arguments, however deeply nested;
- secret-looking values anywhere in text: `sk-...` keys, `Bearer ...` credentials, machine device tokens (43 URL-safe
  characters of mixed case, as `device_token_issue` makes them), credential query parameters (`?pair=`, `token=`,
  ...) in URLs, e-mail addresses, phone numbers and card numbers (Luhn-checked, so order numbers and timestamps stay
  readable);
- LINE user ids, replaced by a keyed hash so one customer's lines can still be followed without the raw id.

`log_dependency_failure` keeps an outage readable: one error line per failing dependency per interval, not a traceback
per call.
"""

import contextvars
import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import re
import threading
import time
import traceback
from typing import Any

from kombu.exceptions import OperationalError as BrokerError

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

MASK = "[REDACTED]"

_SENSITIVE_WORDS = {
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "authorization",
    "auth",
    "cookie",
    "apikey",
    "email",
    "mail",
    "phone",
    "tel",
    "card",
    "cvv",
    "cvc",
    "pan",
    "signature",
    "credential",
    "credentials",
    "sessionid",
    "dsn",
}
_SENSITIVE_SUFFIXES = ("token", "secret", "password", "apikey", "cookie")
_KEY_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

# re.A: word boundaries of ASCII words, so a key or an address right after Japanese text (メールはa@b.jp) is found too.
_LINE_USER_ID = re.compile(r"\b[UCR][0-9a-f]{32}\b", re.A)
_PATTERNS: list[tuple[re.Pattern, str]] = [
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        "[REDACTED:private_key]",
    ),
    (re.compile(r"\b(Bearer|Basic|Device|Token)\s+[A-Za-z0-9._~+/=-]{6,}", re.I | re.A), r"\1 [REDACTED]"),
    # A credential in a query string or fragment, whatever its shape: /tablet/HQ-1F/?pair=..., ?access_token=...
    (
        re.compile(r"([?&;#](?:pair|token|device_token|access_token|secret|api_key|signature)=)[^&#\s'\"<>]+", re.I),
        r"\1[REDACTED]",
    ),
    # A device token on its own (secrets.token_urlsafe(32)): 43 URL-safe characters with upper and lower case letters.
    (
        re.compile(
            r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*[A-Z])(?=[A-Za-z0-9_-]*[a-z])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])", re.A
        ),
        "[REDACTED:device_token]",
    ),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}", re.A), "[REDACTED:api_key]"),
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", re.A), "[REDACTED:api_key]"),
    (re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b", re.A), "[REDACTED:email]"),
    # Japanese and international phone numbers: 090-1234-5678, 03-1234-5678, +81 90 1234 5678, 09012345678.
    (re.compile(r"(?<![\d-])(?:\+81[\s-]?|0)\d{1,4}[\s-]?\d{1,4}[\s-]\d{3,4}(?![\d-])"), "[REDACTED:phone]"),
    (re.compile(r"(?<![\d-])0[5789]0\d{8}(?!\d)"), "[REDACTED:phone]"),
]
# Not after a decimal point: a duration such as 0.0026340980002714787 s is no card.
_CARD_CANDIDATE = re.compile(r"(?<![\d.])(?:\d[ -]?){12,18}\d(?!\d)")
# An id (a Celery task's, a request's): no secret, and its digits would read as a phone or card number.
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I | re.A)
# Everything `redact_text` looks for: the reply filter holds back streamed text one of them matches or could match.
REDACTED_PATTERNS: tuple[re.Pattern, ...] = (_LINE_USER_ID, *(pattern for pattern, _ in _PATTERNS), _CARD_CANDIDATE)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[REDACTED:card]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


def _pseudonym_key() -> bytes:
    from django.conf import settings

    key = getattr(settings, "LOG_PSEUDONYM_KEY", "") or f"log-pseudonym:{settings.SECRET_KEY}"
    return key.encode()


def pseudonymise(identifier: str) -> str:
    """A stable keyed hash of a customer identifier: the same person maps to the same token, the raw id never shows."""
    digest = hmac.new(_pseudonym_key(), identifier.encode(), hashlib.sha256).hexdigest()[:16]
    return f"anon:{digest}"


def redact_text(text: str) -> str:
    if not text:
        return text
    pieces, start = [], 0
    for found in _UUID.finditer(text):
        pieces += [_redact_between_ids(text[start : found.start()]), found.group(0)]
        start = found.end()
    return "".join([*pieces, _redact_between_ids(text[start:])])


def _redact_between_ids(text: str) -> str:
    text = _LINE_USER_ID.sub(lambda m: pseudonymise(m.group(0)), text)
    # Cards before phones: the last twelve digits of a card (4000 0566 5566 5556) read as a phone number too.
    text = _CARD_CANDIDATE.sub(_mask_card, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def is_sensitive_key(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    normalised = _CAMEL.sub("_", key).lower()
    if "api_key" in normalised or "channel_secret" in normalised or "set_cookie" in normalised:
        return True
    words = [w for w in _KEY_WORD_SPLIT.split(normalised) if w]
    return any(w in _SENSITIVE_WORDS or w.endswith(_SENSITIVE_SUFFIXES) for w in words)


def redact(value: Any, _depth: int = 0) -> Any:
    """Redact a value of any shape: dicts by key and value, sequences item by item, text by pattern."""
    if _depth > 20:
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: (MASK if is_sensitive_key(k) else redact(v, _depth + 1)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v, _depth + 1) for v in value)
    if isinstance(value, (set, frozenset)):
        return [redact(v, _depth + 1) for v in value]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    return redact_text(str(value))


# Attributes every LogRecord has; anything else came in through `extra=` and is redacted by key.
_STANDARD_ATTRS = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # django.request logs after the middleware has returned, but passes the request along.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or request_id_var.get()
        return True


class RedactionFilter(logging.Filter):
    """Rewrites the record in place: message, arguments, traceback and extra fields all come out masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info))
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        for key in list(vars(record)):
            if key in _STANDARD_ATTRS:
                continue
            setattr(record, key, MASK if is_sensitive_key(key) else redact(getattr(record, key)))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False, default=str)


@functools.cache
def dependency_errors() -> tuple[type[BaseException], ...]:
    """What an outside dependency being down raises: Redis (cache, channel layer, shared limits), the Celery broker, a
    socket. A function, called where an error is caught, so that loading the apps does not import the redis client
    (a tenth of a `manage.py simulate` process; docs/architecture.md)."""
    import redis

    return (redis.RedisError, BrokerError, OSError)


# One line per failing dependency per this many seconds (per process); the calls in between are only counted.
DEPENDENCY_LOG_INTERVAL_SECONDS = 30.0
_dependency_logger = logging.getLogger("vendbot.dependencies")
_dependency_lock = threading.Lock()
_dependency_state: dict[str, tuple[float, int]] = {}  # name -> (monotonic time of the last line, calls not logged)


def log_dependency_failure(name: str, exc: BaseException, *, action: str = "") -> bool:
    """Record that an outside dependency (`"redis"`, `"channel_layer"`, `"celery_broker"`, ...) failed.

    For use where the caller carries on without it (a cache miss, a push not sent): the first failure of `name` in an
    interval is logged as one ERROR line with the exception's type and message (no traceback), later ones in the same
    interval only counted and reported with the next line. Returns whether this call logged."""
    now = time.monotonic()
    with _dependency_lock:
        last, suppressed = _dependency_state.get(name, (None, 0))
        if last is not None and now - last < DEPENDENCY_LOG_INTERVAL_SECONDS:
            _dependency_state[name] = (last, suppressed + 1)
            return False
        _dependency_state[name] = (now, 0)
    _dependency_logger.error(
        "Dependency %s unavailable%s: %s: %s (%d more failures not logged in the last %.0f s)",
        name,
        f" ({action})" if action else "",
        type(exc).__name__,
        exc,
        suppressed,
        DEPENDENCY_LOG_INTERVAL_SECONDS,
        extra={"dependency": name},
    )
    return True
