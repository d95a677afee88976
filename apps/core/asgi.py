"""Django's HTTP handler under daphne, with the whole request on one thread; the WebSockets' session and user."""

from asgiref.sync import sync_to_async
from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware
from django.core.handlers.asgi import ASGIHandler


class SyncRequestHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain built as under WSGI: a request crosses to its thread once.

    Django's own handler builds the chain in async mode: every `MiddlewareMixin` hook then hops to a thread and back
    (about twenty hops per request), and even behind a sync-only middleware the view is reached through one more
    round trip to the event loop. Measured in docs/performance.md. All our views are sync; the LINE webhook, which
    must answer fastest, is a Channels HTTP consumer routed ahead of Django (`vendbot/routing.py`)."""

    def __init__(self):
        # Not ASGIHandler.__init__: it would build the chain in async mode first.
        self.load_middleware(is_async=False)

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
