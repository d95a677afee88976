"""Django's HTTP handler under daphne, with the whole request on one thread."""

from asgiref.sync import sync_to_async
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
