"""The model provider on the anthropic SDK: the Messages API with the registry's tools, streamed.

The SDK's own retries are off (`max_retries=0`): this provider retries 429, 5xx and 529 itself, with exponential
backoff and jitter, honouring `retry-after`, and never past the first-words deadline. Each call that still fails counts
towards the shared circuit breaker (`shared_limits.CircuitBreaker`); an open breaker refuses before any network.
"""

import base64
import json
import logging
import random
import time
from functools import cache

import anthropic
import httpx2  # the SDK's HTTP client: errors while reading a stream arrive unwrapped
from django.conf import settings

from apps.agents import metrics
from apps.agents.providers.base import ChatMessage, ProviderError, ProviderReply, ProviderRequest, ToolCall
from apps.agents.shared_limits import CircuitBreaker

logger = logging.getLogger(__name__)

_RETRYABLE_STATUS = {408, 409, 429, 529}


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, anthropic.APIStatusError):
        return exc.status_code in _RETRYABLE_STATUS or exc.status_code >= 500
    return isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError)  # includes timeouts


def _retry_after_seconds(exc: Exception) -> float | None:
    if not isinstance(exc, anthropic.APIStatusError):
        return None
    value = exc.response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """Exponential with full jitter, never shorter than the server's retry-after."""
    ceiling = min(settings.LLM_RETRY_MAX_SECONDS, settings.LLM_RETRY_BASE_SECONDS * 2**attempt)
    jittered = random.uniform(ceiling / 2, ceiling)
    return max(jittered, retry_after) if retry_after is not None else jittered


def _tool_input(arguments) -> dict:
    return arguments if isinstance(arguments, dict) else {"raw": arguments}


def _text_content(message: ChatMessage) -> list[dict]:
    """A message's text, after the customer's picture as a base64 image block (a picture it may not be sent is
    replaced by a line that says so)."""
    image = message.image
    if image is None:
        return [{"type": "text", "text": message.text}]
    if image.problem:
        return [{"type": "text", "text": f"{message.text}\n{image.note}"}]
    source = {"type": "base64", "media_type": image.media_type, "data": base64.b64encode(image.data).decode()}
    return [{"type": "image", "source": source}, {"type": "text", "text": message.text}]


def messages_param(messages: list[ChatMessage]) -> list[dict]:
    """Our chat history in the Messages API's shape: tool results go back as a user turn of tool_result blocks."""
    out: list[dict] = []
    for message in messages:
        if message.role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": json.dumps(message.result, ensure_ascii=False),
                "is_error": not message.result.get("ok", False),
            }
            role, content = "user", [block]
        elif message.role == "assistant" and message.tool_calls:
            role = "assistant"
            content = ([{"type": "text", "text": message.text}] if message.text else []) + [
                {"type": "tool_use", "id": call.id, "name": call.name, "input": _tool_input(call.arguments)}
                for call in message.tool_calls
            ]
        else:
            role, content = message.role, _text_content(message)
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(content)  # the API wants user and assistant turns to alternate
        else:
            out.append({"role": role, "content": content})
    return out


@cache
def _client(api_key: str, base_url: str) -> anthropic.Anthropic:
    """One client per key and server for the process: it keeps its connections (and their TLS setup) alive."""
    return anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0)


class AnthropicProvider:
    name = "anthropic"
    accepts_images = True  # JPEG, PNG, GIF and WebP as image content blocks

    def __init__(self, *, model_name: str, breaker: CircuitBreaker | None = None):
        self.model_name = model_name
        self.breaker = breaker or CircuitBreaker()
        self.client = _client(settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL)

    def complete(self, request: ProviderRequest) -> ProviderReply:
        if not self.breaker.allow():
            raise ProviderError("the model's circuit breaker is open", reason="breaker_open")
        try:
            reply = self._complete_with_retries(request)
        except ProviderError:
            self.breaker.record_failure()
            raise
        self.breaker.record_success()
        return reply

    def _timeout(self, request: ProviderRequest) -> anthropic.Timeout:
        read = settings.LLM_REQUEST_TIMEOUT_SECONDS
        if request.deadline is not None:
            read = min(read, request.deadline - time.monotonic())
            if read <= 0:
                raise ProviderError("no words before the deadline", reason="deadline")
        return anthropic.Timeout(read, connect=min(read, settings.LLM_CONNECT_TIMEOUT_SECONDS))

    def _complete_with_retries(self, request: ProviderRequest) -> ProviderReply:
        attempt = 0
        while True:
            streamed = []
            try:
                return self._stream(request, streamed)
            except (anthropic.APIError, httpx2.TransportError) as exc:
                status = getattr(exc, "status_code", None) or type(exc).__name__
                if streamed:  # words already reached the customer: a retry would repeat them
                    raise ProviderError(f"stream broke after text: {exc}", reason="stream_broken") from exc
                timed_out = isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException)
                if timed_out and request.deadline is not None:
                    if time.monotonic() >= request.deadline - 0.05:
                        raise ProviderError("no words before the deadline", reason="deadline") from exc
                if not _retryable(exc) or attempt >= settings.LLM_MAX_RETRIES:
                    raise ProviderError(
                        f"{status}: {exc}", reason=f"http_{status}" if isinstance(status, int) else "network"
                    ) from exc
                wait = backoff_seconds(attempt, _retry_after_seconds(exc))
                if request.deadline is not None and time.monotonic() + wait >= request.deadline:
                    raise ProviderError(f"{status}; retrying would pass the deadline", reason="deadline") from exc
                metrics.PROVIDER_RETRIES.labels(status=str(status)).inc()
                logger.info("Model call failed (%s); retry %d in %.2fs", status, attempt + 1, wait)
                time.sleep(wait)
                attempt += 1

    def _stream(self, request: ProviderRequest, streamed: list[str]) -> ProviderReply:
        """One streamed Messages call; text deltas go to `request.on_text` as they arrive.

        Through the SDK's low-level `client.post`, not `client.messages.create`: the same client, headers, timeouts and
        error classes (an SSE `error` event still raises `APIStatusError`), but the body is our own wire-format dict
        and each SSE event arrives as the plain dict the server sent (`cast_to=object`), not as a pydantic model built
        per event, which costs the caller noticeably less CPU per call (bench/llm_overhead.py).
        """
        body = {
            "max_tokens": request.max_output_tokens,
            "messages": messages_param(request.messages),
            "model": self.model_name,
            "stream": True,
            "system": request.system,
        }
        if request.tools:
            body["tools"] = request.tools
        message, sdk = _StreamedMessage(), _SdkClock()
        try:
            stream = sdk.call(
                self.client.post,
                "/v1/messages",
                body=body,
                cast_to=object,
                stream=True,
                stream_cls=anthropic.Stream[object],
                options={"timeout": self._timeout(request)},
            )
            try:
                events = iter(stream)
                while (event := sdk.call(next, events, None)) is not None:
                    piece = message.take(event)
                    if piece is not None:
                        streamed.append(piece)
                        if request.on_text is not None:
                            request.on_text(piece)
                    if request.deadline is not None and not streamed and time.monotonic() > request.deadline:
                        raise ProviderError("no words before the deadline", reason="deadline")
            finally:
                sdk.call(stream.close)
        finally:
            metrics.MODEL_SDK_SECONDS.inc(sdk.seconds)
        return message.reply()


class _SdkClock:
    """Adds up the time spent inside the SDK's calls (our own work on each event in between is not counted)."""

    def __init__(self):
        self.seconds = 0.0

    def call(self, function, *args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


class _StreamedMessage:
    """A Messages API reply put together from its SSE events: content blocks by index, and the token counts."""

    def __init__(self):
        self.blocks: dict[int, dict] = {}
        self.input_tokens = self.output_tokens = 0

    def take(self, event: dict) -> str | None:
        """Take one event in; returns the text it adds (None if it adds none)."""
        kind = event["type"]
        if kind == "content_block_delta":
            return self._delta(event["delta"], self.blocks.get(event["index"]))
        if kind == "content_block_start":
            block = event["content_block"]
            if block["type"] == "tool_use":
                self.blocks[event["index"]] = {"type": "tool_use", "id": block["id"], "name": block["name"], "json": ""}
            elif block["type"] == "text":
                self.blocks[event["index"]] = {"type": "text", "text": ""}
        elif kind == "message_start":
            usage = event["message"]["usage"]
            self.input_tokens = usage.get("input_tokens") or 0
            self.output_tokens = usage.get("output_tokens") or 0
        elif kind == "message_delta":
            final = (event.get("usage") or {}).get("output_tokens")
            if final is not None:  # the final count (0 is a count too)
                self.output_tokens = final
        return None

    @staticmethod
    def _delta(delta: dict, block: dict | None) -> str | None:
        if block is None:
            return None
        if delta["type"] == "text_delta":
            block["text"] += delta["text"]
            return delta["text"]
        if delta["type"] == "input_json_delta":
            block["json"] += delta["partial_json"]
        return None

    def reply(self) -> ProviderReply:
        calls = []
        for block in (self.blocks[index] for index in sorted(self.blocks)):
            if block["type"] == "tool_use":
                try:
                    arguments = json.loads(block["json"]) if block["json"] else {}
                except json.JSONDecodeError:
                    arguments = block["json"]  # the policy refuses a non-object with a reason the model can read
                calls.append(ToolCall(id=block["id"], name=block["name"], arguments=arguments))
        text = "".join(block["text"] for index, block in sorted(self.blocks.items()) if block["type"] == "text")
        return ProviderReply(
            text=text, tool_calls=tuple(calls), input_tokens=self.input_tokens, output_tokens=self.output_tokens
        )
