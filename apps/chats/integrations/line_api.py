"""The LINE Messaging API through line-bot-sdk v3: reply (falling back to push when the reply token has expired),
push (never to a customer who blocked the account), loading animation, message content. Every call is retried on 429
and 5xx, waiting what LINE's Retry-After asks (capped)."""

import logging
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
)

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
MAX_RETRY_WAIT_SECONDS = 10.0
REQUEST_TIMEOUT_SECONDS = 10
LOADING_SECONDS = 20


class LineApiUnavailable(Exception):
    """LINE kept answering 429/5xx after every retry; the Celery task retries later."""


def _retry_wait(exc: ApiException, attempt: int) -> float:
    retry_after = (exc.headers or {}).get("Retry-After") or (exc.headers or {}).get("retry-after")
    try:
        wait = float(retry_after) if retry_after is not None else 2.0**attempt * 0.5
    except ValueError:
        wait = 2.0**attempt * 0.5
    return min(max(wait, 0.0), MAX_RETRY_WAIT_SECONDS)


def _with_retries(call: Callable, *args, **kwargs):
    for attempt in range(MAX_ATTEMPTS):
        try:
            return call(*args, _request_timeout=REQUEST_TIMEOUT_SECONDS, **kwargs)
        except ApiException as exc:
            if exc.status != 429 and not (exc.status and exc.status >= 500):
                raise
            if attempt == MAX_ATTEMPTS - 1:
                raise LineApiUnavailable(f"LINE answered {exc.status} {MAX_ATTEMPTS} times") from exc
            wait = _retry_wait(exc, attempt)
            logger.warning("LINE answered %s; retrying in %.1f s", exc.status, wait)
            time.sleep(wait)


def _is_invalid_reply_token(exc: ApiException) -> bool:
    return exc.status == 400 and "reply token" in (exc.body or "").lower()


class LineMessenger:
    """One per processed event; holds the HTTP clients for the API and content hosts."""

    def __init__(self):
        token = settings.LINE_CHANNEL_ACCESS_TOKEN
        self._api_client = ApiClient(Configuration(host=settings.LINE_API_BASE_URL, access_token=token))
        self._data_client = ApiClient(Configuration(host=settings.LINE_DATA_API_BASE_URL, access_token=token))
        self.api = MessagingApi(self._api_client)
        self.blob = MessagingApiBlob(self._data_client)

    def close(self) -> None:
        self._api_client.close()
        self._data_client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def reply(self, *, reply_token: str | None, customer, messages: list) -> str:
        """Answer with the reply token; when LINE says it is invalid (expired, used), push instead. Returns how the
        messages went: "reply", "push", or "skipped" (no token and the customer opted out of pushes)."""
        if reply_token:
            try:
                _with_retries(self.api.reply_message, ReplyMessageRequest(reply_token=reply_token, messages=messages))
                return "reply"
            except ApiException as exc:
                if not _is_invalid_reply_token(exc):
                    raise
                logger.info("Reply token of %s no longer valid; pushing instead", customer.key)
        return "push" if self.push(customer=customer, messages=messages) else "skipped"

    def push(self, *, customer, messages: list) -> bool:
        if customer.push_opt_out or not customer.line_user_id:
            logger.info("No push to %s: opted out", customer.key)
            return False
        # One retry key for every attempt, so LINE never delivers a retried push twice.
        _with_retries(
            self.api.push_message,
            PushMessageRequest(to=customer.line_user_id, messages=messages),
            x_line_retry_key=str(uuid.uuid4()),
        )
        return True

    def show_loading(self, *, customer) -> None:
        """The typing dots while the agent thinks; a failure here must not cost the customer their answer."""
        try:
            _with_retries(
                self.api.show_loading_animation,
                ShowLoadingAnimationRequest(chat_id=customer.line_user_id, loading_seconds=LOADING_SECONDS),
            )
        except (ApiException, LineApiUnavailable) as exc:
            logger.warning("Loading animation for %s failed: %s", customer.key, getattr(exc, "status", exc))

    def display_name(self, *, line_user_id: str) -> str:
        try:
            return _with_retries(self.api.get_profile, line_user_id).display_name or ""
        except (ApiException, LineApiUnavailable):
            return ""

    def message_content(self, *, message_id: str) -> bytes:
        return bytes(_with_retries(self.blob.get_message_content, message_id))
