"""A loopback stand-in for the Anthropic Messages API, speaking its wire format, for the real SDK to talk to.

Each request to POST /v1/messages takes the next scripted answer: a reply (content blocks, usage, stop reason — as
JSON, or as the SSE stream of message_start, content_block_start/delta/stop, message_delta, message_stop when the
request asks to stream, optionally cut by an SSE `error` event), an error status (429/500/529, with retry-after), or
a hung connection. An answer may also be a function of the request (an adversarial model that reacts to what it is
sent).

The fixtures `fake_anthropic` (the server, with the settings pointing the real SDK at it) and `redis_prefix` are
defined here once and imported by the conftest of each test package that talks to the model (agents, experiments).
"""

import json
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.agents.shared_limits import shared_redis


def text(value: str) -> dict:
    return {"type": "text", "text": value}


def tool_use(name: str, arguments, call_id: str = "") -> dict:
    return {"type": "tool_use", "id": call_id or f"toolu_{name}", "name": name, "input": arguments}


@dataclass
class Reply:
    blocks: list[dict]
    input_tokens: int = 100
    output_tokens: int = 20
    delay_before_text: float = 0.0  # seconds between message_start and the first content block
    chunk_chars: int = 6  # text deltas this long
    # An SSE `error` event of this type (e.g. "overloaded_error") after this many content blocks, ending the stream.
    sse_error: str = ""
    sse_error_after_blocks: int = 0


@dataclass
class Error:
    status: int
    retry_after: str | None = None


@dataclass
class Hang:
    """Accept the request and send nothing until the server closes."""


@dataclass
class FakeAnthropic:
    script: deque = field(default_factory=deque)
    requests: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)

    def __post_init__(self):
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # Each SSE event is its own small write: without this, Nagle and delayed ACKs hold them ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                fake.requests.append(body)
                fake.headers.append({name.lower(): value for name, value in self.headers.items()})
                answer = fake.script.popleft() if fake.script else Error(500)
                if callable(answer):
                    answer = answer(body)
                if isinstance(answer, Hang):
                    fake.release.wait(30)
                    self.close_connection = True
                    return
                if isinstance(answer, Error):
                    self._error(answer)
                elif body.get("stream"):
                    self._stream(body, answer)
                else:
                    self._json(body, answer)

            def _send(self, status: int, payload: bytes, content_type: str, extra: dict | None = None):
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _error(self, error: Error):
                kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(error.status, "api_error")
                payload = json.dumps({"type": "error", "error": {"type": kind, "message": f"fake {error.status}"}})
                extra = {"retry-after": error.retry_after} if error.retry_after is not None else {}
                # The SDK retries by itself when told to; the provider must do its own retrying.
                extra["x-should-retry"] = "false"
                self._send(error.status, payload.encode(), "application/json", extra)

            def _message(self, body: dict, reply: Reply, content: list) -> dict:
                return {
                    "id": f"msg_{len(fake.requests)}",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": content,
                    "stop_reason": "tool_use" if any(b["type"] == "tool_use" for b in reply.blocks) else "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
                }

            def _json(self, body: dict, reply: Reply):
                self._send(200, json.dumps(self._message(body, reply, reply.blocks)).encode(), "application/json")

            def _event(self, name: str, data: dict):
                chunk = f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()

            def _sse_error(self, kind: str):
                self._event("error", {"type": "error", "error": {"type": kind, "message": f"fake {kind}"}})
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def _stream(self, body: dict, reply: Reply):
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                start = self._message(body, reply, [])
                start.update(stop_reason=None, usage={"input_tokens": reply.input_tokens, "output_tokens": 1})
                self._event("message_start", {"type": "message_start", "message": start})
                self._event("ping", {"type": "ping"})
                if reply.delay_before_text:
                    time.sleep(reply.delay_before_text)
                for index, block in enumerate(reply.blocks):
                    if reply.sse_error and index == reply.sse_error_after_blocks:
                        return self._sse_error(reply.sse_error)
                    if block["type"] == "text":
                        opening, pieces = {"type": "text", "text": ""}, block["text"]
                        deltas = [
                            {"type": "text_delta", "text": pieces[i : i + reply.chunk_chars]}
                            for i in range(0, len(pieces), reply.chunk_chars)
                        ]
                    else:
                        opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
                        raw = json.dumps(block["input"], ensure_ascii=False)
                        deltas = [
                            {"type": "input_json_delta", "partial_json": raw[i : i + 10]}
                            for i in range(0, len(raw), 10)
                        ]
                    self._event(
                        "content_block_start", {"type": "content_block_start", "index": index, "content_block": opening}
                    )
                    for delta in deltas:
                        self._event(
                            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
                        )
                    self._event("content_block_stop", {"type": "content_block_stop", "index": index})
                if reply.sse_error:
                    return self._sse_error(reply.sse_error)
                stop = self._message(body, reply, [])["stop_reason"]
                self._event(
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": stop, "stop_sequence": None},
                        "usage": {"output_tokens": reply.output_tokens},
                    },
                )
                self._event("message_stop", {"type": "message_stop"})
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address
        return f"http://{host}:{port}"

    def then(self, *answers) -> "FakeAnthropic":
        self.script.extend(answers)
        return self

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def redis_prefix(settings):
    """Shared limits and the breaker under a key prefix of this test's own, removed afterwards."""
    prefix = f"vendbot-test:llm:{uuid.uuid4().hex}"
    settings.LLM_REDIS_PREFIX = prefix
    yield prefix
    client = shared_redis()
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def fake_anthropic(settings, redis_prefix):
    """The loopback Messages API, with the settings pointing the real SDK at it; fast retries for tests."""
    fake = FakeAnthropic()
    settings.ANTHROPIC_API_KEY = "test-" + uuid.uuid4().hex  # a dummy made at run time
    settings.ANTHROPIC_BASE_URL = fake.base_url
    settings.LLM_RETRY_BASE_SECONDS = 0.01
    settings.LLM_RETRY_MAX_SECONDS = 0.05
    yield fake
    fake.close()
