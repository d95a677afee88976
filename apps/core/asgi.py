"""Django's HTTP handler under daphne, with the whole request on one kept thread; the WebSockets' session and user."""

import itertools
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware
from django.core.handlers.asgi import ASGIHandler


class RequestThreads:
    """The threads that run requests' sync code, one request at a time each, kept for later requests.

    Django's handler gives every request a new thread (a one-thread executor in the request's `ThreadSensitiveContext`)
    and starts another to join it at the end: two thread starts per request, each with the event loop waiting for the
    new thread to run, and on the new thread a new database connection object. A kept thread keeps its connection
    object; the connection itself still goes back to the pool (or is closed) at the end of every request, as Django
    does. The most recently used thread is taken first; beyond IDLE_KEPT idle threads, the rest end."""

    IDLE_KEPT = 64

    def __init__(self):
        # Appended to on the event loop or by a thread itself (a request cut off), popped on the event loop: a deque's append
        # and pop are atomic.
        self._idle: deque[ThreadPoolExecutor] = deque()
        self._numbers = itertools.count(1)
        # A forked child has none of these threads: an executor whose thread is gone would queue its request forever
        # (the test suite's live server is forked from a process that served requests).
        os.register_at_fork(after_in_child=self._idle.clear)

    def take(self) -> ThreadPoolExecutor:
        try:
            return self._idle.pop()
        except IndexError:
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-{next(self._numbers)}")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        """For a request that ran to its end: everything it queued on the thread has run (the handler awaited it)."""
        if len(self._idle) < self.IDLE_KEPT:
            self._idle.append(executor)
        else:
            executor.shutdown(wait=False)

    def give_back_when_done(self, executor: ThreadPoolExecutor) -> None:
        """For a request cut off (cancelled, failed): its view may still be running; given back once it has finished,
        by the thread itself."""
        executor.submit(self.give_back, executor)


class SyncRequestHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain built as under WSGI: a request crosses to its thread once.

    Django's own handler builds the chain in async mode: every `MiddlewareMixin` hook then hops to a thread and back
    (about twenty hops per request), and even behind a sync-only middleware the view is reached through one more
    round trip to the event loop. Measured in docs/performance.md. All our views are sync; the LINE webhook, which
    must answer fastest, is a Channels HTTP consumer routed ahead of Django (`vendbot/routing.py`)."""

    def __init__(self):
        # Not ASGIHandler.__init__: it would build the chain in async mode first.
        self.load_middleware(is_async=False)
        self.threads = RequestThreads()

    async def __call__(self, scope, receive, send):
        """ASGIHandler's, with the request's sync code on a kept thread (`RequestThreads`) instead of a new one."""
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self.threads.take()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        except BaseException:
            self.threads.give_back_when_done(executor)
            raise
        self.threads.give_back(executor)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


class WebSocketSessionMiddleware(SessionMiddleware):
    """Channels' session middleware without its wrapper around `send`, for WebSockets.

    The wrapper saves a modified session when an HTTP response starts, which a WebSocket never sends (a consumer that
    changes the session saves it itself, as Channels documents), yet it read the session, through a lazy object, on
    every message a socket sent: a fifth of what a sale's fan-out to 500 dashboard sockets cost per socket
    (docs/performance.md)."""

    async def __call__(self, scope, receive, send):
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)


def websocket_auth_stack(inner):
    """Channels' `AuthMiddlewareStack` (cookies, the session, `scope["user"]`) with the session middleware above."""
    return CookieMiddleware(WebSocketSessionMiddleware(AuthMiddleware(inner)))
