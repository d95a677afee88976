"""Plain Django views of the chats app: the LINE webhook (kept off DRF: it must answer LINE within milliseconds and
speaks LINE's protocol, not our API's) and the tablet page."""

import json
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhook import WebhookParser

from apps.chats.tablet_pairing import PAIRING_COOKIE, TABLET_PAIRING_MAX_AGE, paired_machine, pairing_cookie_value
from apps.chats.tasks import line_event_process
from apps.core.errors import NotFound
from apps.inventory.selectors import machine_get, machine_products
from apps.inventory.services.machines import device_token_hash

logger = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


@csrf_exempt
@require_POST
async def line_webhook(request):
    """Check LINE's signature, queue each event for Celery, answer 200 at once. A queueing or processing failure is
    logged and still answered 200: the event row and the task's retries own recovery, not LINE's redelivery.

    Async, and publishing to the broker runs off Django's one sync thread, so a broker round trip never holds up
    other requests behind it. Eager tasks (tests) run the processing itself, which uses the database: they stay on
    Django's thread, like every other database call."""
    if not settings.LINE_CHANNEL_SECRET:
        return _error(503, "line_not_configured", "LINE_CHANNEL_SECRET is not set.")
    body = request.body.decode("utf-8", errors="replace")
    try:
        WebhookParser(settings.LINE_CHANNEL_SECRET).parse(body, request.headers.get("X-Line-Signature", ""))
    except InvalidSignatureError:
        return _error(400, "invalid_signature", "X-Line-Signature does not match the body.")
    except ValueError:
        return _error(400, "invalid", "The body is not a LINE webhook.")
    events = [event for event in json.loads(body).get("events", []) if event.get("webhookEventId")]
    if events:
        eager = getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
        await sync_to_async(_events_queue, thread_sensitive=eager)(events)
    return JsonResponse({})


def _events_queue(events: list[dict]) -> None:
    for event in events:
        try:
            line_event_process.delay(event)
        except Exception:
            logger.exception("LINE event %s of type %s failed", event["webhookEventId"], event.get("type"))


@require_GET
def tablet_page(request, code):
    """The customer's tablet next to the machine. `?pair=<device token>` pairs this browser once (a signed, HttpOnly
    cookie bound to the machine and its current token) and redirects to the clean URL; after that the cookie is the
    credential, for the page and its socket. Issuing a new device token unpairs every tablet of the machine."""
    try:
        machine = machine_get(code=code)
    except NotFound as exc:
        return render(request, "chats/tablet_unpaired.html", {"message": exc.message}, status=404)
    token = request.GET.get("pair")
    if token is not None:
        if not machine.device_token_hash or device_token_hash(token) != machine.device_token_hash:
            return render(
                request,
                "chats/tablet_unpaired.html",
                {"message": _("ペアリング用のトークンが正しくありません。管理者にお問い合わせください。")},
                status=403,
            )
        response = HttpResponseRedirect(request.path)
        response.set_cookie(
            PAIRING_COOKIE,
            pairing_cookie_value(machine),
            max_age=TABLET_PAIRING_MAX_AGE,
            httponly=True,
            secure=request.is_secure(),
            samesite="Strict",
        )
        return response
    if paired_machine(request.COOKIES.get(PAIRING_COOKIE, "")) != machine:
        return render(
            request,
            "chats/tablet_unpaired.html",
            {"message": _("このタブレットはまだペアリングされていません。管理者にお問い合わせください。")},
            status=403,
        )
    return render(
        request,
        "chats/tablet.html",
        {
            "machine": machine,
            "products": machine_products(machine_code=machine.code),
            "idle_reset_seconds": settings.TABLET_IDLE_RESET_SECONDS,
        },
    )
