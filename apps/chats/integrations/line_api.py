"""The LINE Messaging API through line-bot-sdk v3: reply (falling back to push when the reply token has expired),
push (never to a customer who blocked the account), loading animation, message content. Every call is retried on 429,
5xx and transport errors (refused or dropped connections, timeouts), waiting what LINE's Retry-After asks (capped)."""

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
from urllib3.exceptions import HTTPError as TransportError  # MaxRetryError, NewConnectionError, ProtocolError, timeouts

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
MAX_RETRY_WAIT_SECONDS = 10.0
REQUEST_TIMEOUT_SECONDS = 10
LOADING_SECONDS = 20


class LineApiUnavailable(Exception):
    """LINE kept answering 429/5xx, or could not be reached, through every retry; the event is tried again later."""


def _retry_wait(exc: Exception, attempt: int) -> float:
    wait = 2.0**attempt * settings.LINE_RETRY_BASE_WAIT_SECONDS
    headers = getattr(exc, "headers", None) or {}
    retry_after = headers.get("Retry-After") or headers.get("retry-after")
    try:
        wait = float(retry_after) if retry_after is not None else wait
    except ValueError:
        pass
    return min(max(wait, 0.0), MAX_RETRY_WAIT_SECONDS)


def _with_retries(call: Callable, *args, **kwargs):
    for attempt in range(MAX_ATTEMPTS):
        try:
            return call(*args, _request_timeout=REQUEST_TIMEOUT_SECONDS, **kwargs)
        except ApiException as exc:
            if exc.status != 429 and not (exc.status and exc.status >= 500):
                raise
            failure, cause = f"answered {exc.status}", exc
        except (TransportError, OSError) as exc:
            # The exception's text names the URL, which may hold a LINE user id: only its type is told.
            failure, cause = f"unreachable ({type(exc).__name__})", exc
        if attempt == MAX_ATTEMPTS - 1:
            raise LineApiUnavailable(f"LINE {failure} {MAX_ATTEMPTS} times") from cause
        wait = _retry_wait(cause, attempt)
        logger.warning("LINE %s; retrying in %.1f s", failure, wait)
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

    def reply(self, *, reply_token: str | None, customer, messages: list, retry_key: str | None = None) -> str:
        """Answer with the reply token; when LINE says it is invalid (expired, used), or there is none (too late for
        one), push instead, with `retry_key` when given (the same key for every try of one answer: LINE delivers it
        once). Returns how the messages went: "reply", "push", or "skipped" (the customer opted out of pushes)."""
        if reply_token:
            try:
                _with_retries(self.api.reply_message, ReplyMessageRequest(reply_token=reply_token, messages=messages))
                return "reply"
            except ApiException as exc:
                if not _is_invalid_reply_token(exc):
                    raise
                logger.info("Reply token of %s no longer valid; pushing instead", customer.key)
        return "push" if self.push(customer=customer, messages=messages, retry_key=retry_key) else "skipped"

    def push(self, *, customer, messages: list, retry_key: str | None = None, transactional: bool = False) -> bool:
        """Push to the customer. Opting out stops every push but `transactional` ones, which carry what the customer
        asked for themselves (the pickup code of a purchase they paid)."""
        if (customer.push_opt_out and not transactional) or not customer.line_user_id:
            logger.info("No push to %s: opted out", customer.key)
            return False
        # One retry key for every attempt, so LINE never delivers a retried push twice.
        try:
            _with_retries(
                self.api.push_message,
                PushMessageRequest(to=customer.line_user_id, messages=messages),
                x_line_retry_key=retry_key or str(uuid.uuid4()),
            )
        except ApiException as exc:
            if exc.status != 409:  # 409: a push with this retry key was already accepted
                raise
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
        """The customer's LINE display name; "" when LINE cannot tell (a name is nice to have, never required)."""
        try:
            return _with_retries(self.api.get_profile, line_user_id).display_name or ""
        except (ApiException, LineApiUnavailable) as exc:
            logger.warning("Profile fetch failed: %s", getattr(exc, "status", exc))
            return ""

    def message_content(self, *, message_id: str) -> bytes:
        return bytes(_with_retries(self.blob.get_message_content, message_id))
