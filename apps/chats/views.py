"""Plain Django views of the chats app: the tablet page. (The LINE webhook is a Channels HTTP consumer, in
`consumers.py`.)"""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from apps.core.errors import NotFound
from apps.inventory.selectors import machine_get, machine_products
from apps.inventory.services.machines import device_token_hash
from apps.inventory.tablet_pairing import PAIRING_COOKIE, TABLET_PAIRING_MAX_AGE, paired_machine, pairing_cookie_value


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
