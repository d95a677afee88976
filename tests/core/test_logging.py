import io
import json
import logging
import os
import subprocess
import sys
import time

import pytest

from apps.core import logging as core_logging
from apps.core.logging import (
    JsonFormatter,
    RedactionFilter,
    RequestIdFilter,
    log_dependency_failure,
    pseudonymise,
    redact_text,
    request_id_var,
)
from apps.inventory.services import device_token_issue
from tests.factories import MachineFactory

# Built at run time so no secret-looking literal sits in the repository.
FAKE_API_KEY = "sk-" + "ant-api03-" + "Zx9" * 12
FAKE_CHANNEL_SECRET = "8f2c" * 8
LINE_USER_ID = "U" + "4af4980629" * 3 + "ab"


@pytest.fixture
def log_output():
    """A logger wired exactly like production: JSON formatter, request id and redaction on the handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactionFilter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def _lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_api_key_and_line_channel_secret_never_reach_the_output(log_output):
    logger, stream = log_output
    logger.info(
        "calling model with key %s",
        FAKE_API_KEY,
        extra={"settings": {"LINE_CHANNEL_SECRET": FAKE_CHANNEL_SECRET, "anthropic": {"api_key": FAKE_API_KEY}}},
    )
    logger.warning("config dump", extra={"channel_secret": FAKE_CHANNEL_SECRET})
    output = stream.getvalue()
    assert FAKE_API_KEY not in output
    assert FAKE_CHANNEL_SECRET not in output
    first, second = _lines(stream)
    assert first["message"] == "calling model with key [REDACTED:api_key]"
    assert first["settings"]["LINE_CHANNEL_SECRET"] == "[REDACTED]"
    assert first["settings"]["anthropic"]["api_key"] == "[REDACTED]"
    assert second["channel_secret"] == "[REDACTED]"


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "api_key",
        "apiKey",
        "access_token",
        "X-Device-Token",
        "secret",
        "Authorization",
        "cookie",
        "channel_secret",
        "email",
        "phone",
        "card_number",
        "csrftoken",
    ],
)
def test_values_under_sensitive_keys_are_masked_however_nested(log_output, key):
    logger, stream = log_output
    logger.info("nested", extra={"payload": {"level1": [{"level2": {key: "plain-value-123"}}]}})
    record = _lines(stream)[0]
    assert record["payload"]["level1"][0]["level2"][key] == "[REDACTED]"
    assert "plain-value-123" not in stream.getvalue()


def test_ordinary_fields_stay_readable(log_output):
    logger, stream = log_output
    logger.info("sale done", extra={"tokens_in": 523, "sale_id": 1234567890123, "author": "agent-1"})
    record = _lines(stream)[0]
    assert record["tokens_in"] == 523
    assert record["sale_id"] == 1234567890123
    assert record["author"] == "agent-1"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def.ghi123456", "abc.def.ghi123456"),
        ("contact taro.yamada@example.co.jp please", "taro.yamada@example.co.jp"),
        ("メールはtaro@example.comです", "taro@example.com"),
        ("キーはsk-live0123456789です", "sk-live0123456789"),
        ("call 090-1234-5678 now", "090-1234-5678"),
        ("call 09012345678 now", "09012345678"),
        ("office +81 3 1234 5678", "+81 3 1234 5678"),
        ("card 4242 4242 4242 4242 exp 12/30", "4242 4242 4242 4242"),
        ("card 4111-1111-1111-1111", "4111-1111-1111-1111"),
        ("card 4000 0566 5566 5556", "4000"),
    ],
)
def test_secret_values_in_message_text_are_masked(text, secret):
    assert secret not in redact_text(text)


def test_non_card_digit_runs_are_kept():
    # A LINE timestamp in milliseconds fails the Luhn check and is kept as is.
    assert redact_text("timestamp 1700000000001") == "timestamp 1700000000001"


def test_line_user_ids_are_pseudonymised_with_a_stable_keyed_hash(log_output):
    logger, stream = log_output
    logger.info("message from %s", LINE_USER_ID, extra={"event": {"source": {"userId": LINE_USER_ID}}})
    logger.info("again from %s", LINE_USER_ID)
    output = stream.getvalue()
    assert LINE_USER_ID not in output
    first, second = _lines(stream)
    token = pseudonymise(LINE_USER_ID)
    assert token.startswith("anon:")
    assert first["message"] == f"message from {token}"
    assert first["event"]["source"]["userId"] == token
    assert second["message"] == f"again from {token}"


def test_traceback_text_is_redacted(log_output):
    logger, stream = log_output
    try:
        raise RuntimeError(f"upstream refused key {FAKE_API_KEY}")
    except RuntimeError:
        logger.exception("model call failed")
    record = _lines(stream)[0]
    assert "RuntimeError" in record["exception"]
    assert FAKE_API_KEY not in stream.getvalue()


def test_log_lines_carry_the_current_request_id(log_output):
    logger, stream = log_output
    token = request_id_var.set("req-xyz-98765")
    try:
        logger.info("inside a request")
    finally:
        request_id_var.reset(token)
    logger.info("outside")
    inside, outside = _lines(stream)
    assert inside["request_id"] == "req-xyz-98765"
    assert outside["request_id"] == "-"


def test_each_request_gets_an_id_echoed_in_the_response(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="req-abc-12345")
    assert response["X-Request-ID"] == "req-abc-12345"
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32 and generated != "req-abc-12345"


def test_a_real_process_logs_through_the_redacting_handler():
    """The handler from settings.LOGGING, in a fresh process as production starts it: what really reaches stderr."""
    script = (
        "import django, logging; django.setup(); "
        f"logging.getLogger('apps.anything').error('leaked %s', {FAKE_API_KEY!r}, extra={{'token': 'abc'}})"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "vendbot.settings.test"},
    )
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert FAKE_API_KEY not in result.stderr
    assert line["message"] == "leaked [REDACTED:api_key]"
    assert line["token"] == "[REDACTED]"
    assert line["level"] == "ERROR"


@pytest.mark.django_db
def test_device_tokens_are_masked_alone_and_in_pairing_urls(log_output):
    logger, stream = log_output
    machine = MachineFactory()
    tokens = [device_token_issue(machine=machine) for _ in range(50)]
    for token in tokens:
        logger.warning(
            "Forbidden: /tablet/HQ-1F/?pair=%s", token, extra={"request": f"<GET '/tablet/HQ-1F/#pair={token}'>"}
        )
        logger.info("token was %s, then Device %s (%s)", token, token, f"'{token}'")
    output = stream.getvalue()
    assert not [token for token in tokens if token in output]
    first, second = _lines(stream)[:2]
    assert first["message"] == "Forbidden: /tablet/HQ-1F/?pair=[REDACTED]"
    assert first["request"] == "<GET '/tablet/HQ-1F/#pair=[REDACTED]'>"
    assert second["message"] == "token was [REDACTED:device_token], then Device [REDACTED] ('[REDACTED:device_token]')"


def test_ids_and_digests_that_are_not_device_tokens_stay_readable():
    readable = [
        "9ed19a92-3208-48ad-b7ba-d7935730b24c",  # a task or conversation UUID
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # a sha256
        "test_a_token_in_the_url_pairs_nothing_and_n",  # 43 characters of one case: an identifier
    ]
    for text in readable:
        assert redact_text(f"see {text} here") == f"see {text} here"


def test_task_ids_and_durations_stay_whole_while_a_number_beside_them_is_masked():
    # Celery's own lines: these digits read as a phone number inside the id, and as a card number in the duration.
    line = "Task core.record_worker_heartbeat[f6a03123-456e-4953-b475-dd5bd0800b29] succeeded in 0.0026340980002714787s"
    assert redact_text(line) == line
    masked = redact_text(f"{line}; call 090-1234-5678, card 4242 4242 4242 4242")
    assert masked.startswith(line) and "090-1234-5678" not in masked and "4242 4242" not in masked


def test_a_failing_dependency_is_logged_once_per_interval_with_the_count_of_calls_in_between(
    caplog, monkeypatch, fresh_dependency_log
):
    monkeypatch.setattr(core_logging, "DEPENDENCY_LOG_INTERVAL_SECONDS", 0.3)
    caplog.set_level(logging.ERROR, logger="vendbot.dependencies")
    down = ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    logged = [log_dependency_failure("redis", down, action="cache") for _ in range(50)]
    assert log_dependency_failure("channel_layer", down)  # another dependency has its own interval
    time.sleep(0.35)
    assert log_dependency_failure("redis", down)

    assert logged == [True] + [False] * 49
    lines = [(r.dependency, r.getMessage(), r.exc_info) for r in caplog.records]
    assert lines == [
        (
            "redis",
            "Dependency redis unavailable (cache): ConnectionError: Error 111 connecting to 127.0.0.1:6379. "
            "Connection refused. (0 more failures not logged in the last 0 s)",
            None,
        ),
        (
            "channel_layer",
            "Dependency channel_layer unavailable: ConnectionError: Error 111 connecting to "
            "127.0.0.1:6379. Connection refused. (0 more failures not logged in the last 0 s)",
            None,
        ),
        (
            "redis",
            "Dependency redis unavailable: ConnectionError: Error 111 connecting to 127.0.0.1:6379. "
            "Connection refused. (49 more failures not logged in the last 0 s)",
            None,
        ),
    ]
