import re
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from apps.core.logging import request_id_var

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_for(incoming: str) -> str:
    """The request's id: the caller's `X-Request-ID` when sane, else a new one."""
    return incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex


def _request_id_from(request) -> str:
    return request_id_for(request.headers.get("X-Request-ID", ""))


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
