"""A machine's purchase, `POST /api/machines/<code>/purchases/` with its device token, served on daphne's event loop.

It is the request every machine sends most. On a request thread (Django's view), a purchase handed the GIL back and
forth with the event loop and the other requests' threads at each of psycopg's calls, about ninety times, and those
hand-overs cost about as much CPU as the purchase's own work (docs/performance.md, session 17). Here the request is
read, checked and answered on the event loop, and the purchase runs as `purchase_create_async`.

Anything unusual goes on to Django's view, which answers it as it always has: a staff session or the tablet page's
cookie, a token this process has not looked up yet (the view looks it up and remembers it), a token of another
machine, a body the view would refuse, a host not allowed, SQLite. So every refusal of the request itself is the
view's; what this answers, the receipt and the purchase's own errors (sold out, declined, terminal down …), has the
view's body, rendered by DRF's JSON renderer, with the same `X-Request-ID`, language and security headers."""

import asyncio
import json
import logging
import time

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils import translation
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from apps.core.errors import ApplicationError
from apps.core.exceptions import application_error_answer, server_error_body
from apps.core.logging import request_id_var
from apps.core.middleware import request_id_for
from apps.core.sql import async_batches_available
from apps.inventory.apis import purchase_body
from apps.inventory.metrics import DEVICE_PURCHASE_SECONDS
from apps.inventory.models import Sale
from apps.inventory.selectors import machine_remembered_for_device_token
from apps.inventory.services.machines import device_token_hash
from apps.inventory.services.sales import purchase_create_async

logger = logging.getLogger(__name__)


class DevicePurchases:
    """The ASGI application of the purchase route: a machine's own purchase here, everything else to `django`."""

    def __init__(self, django):
        self.django = django

    async def __call__(self, scope, receive, send):
        headers = dict(scope["headers"])  # names are lower-case bytes
        request = _headers_request(headers)
        machine = _device_machine(scope, headers) if _served_here(scope, headers, request) else None
        if machine is None:
            return await self.django(scope, receive, send)
        body, whole = await _body(receive)
        data = _purchase_data(body) if whole else None
        if data is None:
            return await self.django(scope, _replaying(body, whole, receive), send)
        started = time.perf_counter()
        status, payload, extra_headers, language, request_id = await _answer(machine, data, headers, request)
        content = JSONRenderer().render(payload)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                    (b"content-language", language.encode()),
                    (b"vary", b"Accept-Language"),
                    (b"x-request-id", request_id.encode()),
                    *_security_headers(),
                    *((name.lower().encode(), value.encode()) for name, value in extra_headers.items()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})
        DEVICE_PURCHASE_SECONDS.labels(status=str(status)).observe(time.perf_counter() - started)


def _headers_request(headers: dict[bytes, bytes]) -> HttpRequest:
    """The request's headers and cookies as Django's own checks read them (`get_host`, the language)."""
    request = HttpRequest()
    request.META = {
        "HTTP_" + name.decode("latin-1").upper().replace("-", "_"): value.decode("latin-1")
        for name, value in headers.items()
    }
    request.COOKIES = parse_cookie(request.META.get("HTTP_COOKIE", ""))
    return request


def _served_here(scope, headers: dict[bytes, bytes], request: HttpRequest) -> bool:
    """A POST of JSON, to a host Django allows (a request without a Host header goes to the view), on PostgreSQL."""
    json_body = headers.get(b"content-type", b"").split(b";")[0].strip() == b"application/json"
    if scope["method"] != "POST" or not json_body or not async_batches_available():
        return False
    try:
        request.get_host()
    except (DisallowedHost, KeyError):
        return False
    return True


def _device_machine(scope, headers: dict[bytes, bytes]):
    """The machine of the request's device token if this process remembers it and the URL names it, else None."""
    parts = headers.get(b"authorization", b"").split()
    if len(parts) != 2 or parts[0].lower() != b"device":
        return None
    try:
        token = parts[1].decode()
    except UnicodeError:
        return None
    machine = machine_remembered_for_device_token(device_token_hash(token))
    code = scope["url_route"]["kwargs"]["code"]
    return machine if machine is not None and machine.code.upper() == code.upper() else None


async def _body(receive) -> tuple[bytes, bool]:
    """The request's body and whether it is whole (False: the client left, or it is over Django's limit)."""
    chunks, size, limit = [], 0, settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if limit is not None and size > limit:
            return b"".join(chunks), False
        if not message.get("more_body"):
            return b"".join(chunks), True


def _replaying(body: bytes, whole: bool, receive):
    """`receive` for Django's view with the body read so far given back first."""
    given = False

    async def replayed():
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": not whole}

    return replayed


def _purchase_data(body: bytes) -> tuple | None:
    """(items, coupon, payment_method) of a body the view would take, else None (the view answers it)."""
    try:
        data = json.loads(body, parse_constant=_refused if api_settings.STRICT_JSON else None)
        return purchase_body(data)
    except (ValueError, RecursionError, ApplicationError):
        return None


def _refused(constant: str):
    raise ValueError(f"{constant} is not JSON")


async def _answer(
    machine, data: tuple, headers: dict[bytes, bytes], request: HttpRequest
) -> tuple[int, dict, dict, str, str]:
    """(status, body, extra headers, language, request id) of the purchase, answered as the view answers it."""
    items, coupon, payment_method = data
    language = translation.get_language_from_request(request)  # as Django's LocaleMiddleware picks it
    request_id = request_id_for(headers.get(b"x-request-id", b"").decode("latin-1"))
    token = request_id_var.set(request_id)
    try:
        with translation.override(language):
            purchase = purchase_create_async(
                machine=machine,
                items=items,
                coupon_code=coupon,
                payment_method=payment_method,
                idempotency_key=headers.get(b"idempotency-key", b"").decode("latin-1"),
                channel=Sale.Channel.TABLET,
            )
            try:
                # Shielded: a client that leaves does not stop a purchase half-way, as it does not stop the view's.
                outcome = await asyncio.shield(purchase)
            except ApplicationError as exc:
                return *application_error_answer(exc), language, request_id
            except Exception:
                logger.exception("Unhandled error in a device purchase")
                return 500, server_error_body(), {}, language, request_id
            return 201, outcome.receipt, {}, language, request_id
    finally:
        request_id_var.reset(token)


def _security_headers() -> list[tuple[bytes, bytes]]:
    """The headers Django's security and clickjacking middleware add to the view's answers."""
    headers = [(b"x-frame-options", settings.X_FRAME_OPTIONS.encode())]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append((b"referrer-policy", settings.SECURE_REFERRER_POLICY.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    return headers
