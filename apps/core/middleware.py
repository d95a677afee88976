import re
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from apps.core.logging import request_id_var

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _request_id_from(request) -> str:
    incoming = request.headers.get("X-Request-ID", "")
    return incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives each request an id (the caller's `X-Request-ID` when sane), put on every log line and the response."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        request.request_id = _request_id_from(request)
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id
        return response

    async def __acall__(self, request):
        request.request_id = _request_id_from(request)
        token = request_id_var.set(request.request_id)
        try:
            response = await self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class SyncMiddlewareChain:
    """Last in MIDDLEWARE: keeps Django's whole middleware chain synchronous under ASGI.

    Django runs async-capable middleware (every `MiddlewareMixin` one) in async mode when what it wraps is async, and
    then each of their `process_request`/`process_response` hops to a thread and back: about twenty hops per request
    here, which measured twice the CPU of a bare view. A sync-only middleware innermost makes Django build every
    middleware outside it in sync mode, so a request crosses to its thread once. All our views are sync (the one
    endpoint that must be async, the LINE webhook, is a Channels consumer ahead of Django)."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
