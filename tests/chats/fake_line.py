"""A loopback fake of the LINE Messaging API (the outside peer), for the real line-bot-sdk to talk to.

It records every request and answers like LINE: 400 "Invalid reply token" for a reply token it never issued, and any
scripted failure (status and Retry-After) queued with `fail_next`. The content API answers `content` with the header
`content_type` for any message id (a test may make the header lie about the bytes). For fault tests it can stop
listening and come back on the same port (`pause`/`resume`: connections are refused meanwhile), and `hold` a path:
requests to it wait, unanswered and unprocessed, until `release` (a caller killed meanwhile never sent them, as far as
LINE knows); they are listed in `held`, not `requests`. `slow` answers a path only after a delay."""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler

from tests.loopback import LoopbackServer

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class FakeLine(LoopbackServer):
    def __init__(self):
        self.requests: list[dict] = []
        self.valid_reply_tokens: set[str] = set()
        self.failures: dict[str, list[tuple[int, dict]]] = {}
        self.content = PNG
        self.content_type = "image/png"
        self.lock = threading.Lock()
        self.held: list[dict] = []
        self.hold_path: str | None = None
        self.delays: dict[str, float] = {}
        self.released = threading.Event()
        self._listen()

    def stop(self):
        self.release()
        super().stop()

    def pause(self) -> None:
        """Stop listening: every call is refused until `resume`."""
        self.stop()

    def resume(self) -> None:
        self._listen(self.server.server_address[1])
        self.start()

    def hold(self, path_suffix: str) -> None:
        self.hold_path, self.released = path_suffix, threading.Event()

    def slow(self, path_suffix: str, seconds: float) -> None:
        """Answer calls to the path only after `seconds` (a slow LINE: the caller is busy meanwhile)."""
        self.delays[path_suffix] = seconds

    def release(self) -> None:
        self.hold_path = None
        self.released.set()

    def reply_token(self, token: str) -> str:
        """A reply token LINE would have issued with an event (any other is refused as expired)."""
        self.valid_reply_tokens.add(token)
        return token

    def fail_next(self, path_suffix: str, status: int, *, retry_after: str | None = None, times: int = 1):
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.failures.setdefault(path_suffix, []).extend([(status, headers)] * times)

    def sent(self, path_suffix: str) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith(path_suffix)]

    def texts(self) -> list[str]:
        """Every text message sent to customers, replies and pushes, in order."""
        return [
            message.get("text", message.get("altText", ""))
            for r in self.requests
            if r["path"] in ("/v2/bot/message/reply", "/v2/bot/message/push")
            for message in r["body"]["messages"]
        ]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLine

    def log_message(self, *args):
        pass

    def _answer(self, status: int, body=None, headers=None, raw: bytes | None = None):
        payload = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", self.fake.content_type if raw is not None else "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = (
                json.loads(raw) if raw and self.headers.get("Content-Type", "").startswith("application/json") else {}
            )
        except ValueError:
            body = {}
        fake = self.fake
        for suffix, seconds in fake.delays.items():
            if self.path.endswith(suffix):
                time.sleep(seconds)
        if fake.hold_path and self.path.endswith(fake.hold_path):
            with fake.lock:
                fake.held.append({"method": self.command, "path": self.path, "body": body})
            fake.released.wait(timeout=60)
            self.close_connection = True
            return None
        with fake.lock:
            fake.requests.append(
                {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
            )
            for suffix, queued in fake.failures.items():
                if self.path.endswith(suffix) and queued:
                    status, headers = queued.pop(0)
                    return self._answer(status, {"message": "scripted failure"}, headers)
        if self.path == "/v2/bot/message/reply":
            if body.get("replyToken") not in fake.valid_reply_tokens:
                return self._answer(400, {"message": "Invalid reply token"})
            fake.valid_reply_tokens.discard(body["replyToken"])  # a reply token is good for one reply
            return self._answer(200, {"sentMessages": [{"id": "1"} for _ in body.get("messages", [])]})
        if self.path == "/v2/bot/message/push":
            return self._answer(200, {"sentMessages": [{"id": "1"} for _ in body.get("messages", [])]})
        if self.path == "/v2/bot/chat/loading/start":
            return self._answer(202, {})
        if match := re.fullmatch(r"/v2/bot/profile/(U[0-9a-f]{32})", self.path):
            return self._answer(200, {"userId": match.group(1), "displayName": "テスト花子"})
        if re.fullmatch(r"/v2/bot/message/\w+/content", self.path):
            return self._answer(200, raw=fake.content)
        if self.path == "/v2/bot/richmenu":
            return self._answer(200, {"richMenuId": "richmenu-fake-1"})
        if re.fullmatch(r"/v2/bot/richmenu/[\w-]+/content", self.path) or self.path.startswith("/v2/bot/user/all/"):
            return self._answer(200, {})
        return self._answer(404, {"message": "Not found"})

    do_GET = do_POST = _handle


FakeLine.handler_class = _Handler
