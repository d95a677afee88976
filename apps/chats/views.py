"""Plain Django views of the chats app: the tablet page. (The LINE webhook is a Channels HTTP consumer, in
`consumers.py`.)"""

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from apps.chats.export import customer_data_export, export_customer, export_json
from apps.chats.selectors import tablet_greeting
from apps.core.errors import NotFound
from apps.core.exceptions import error_body
from apps.inventory.integrations.payments import PROVIDER_METHODS
from apps.inventory.selectors import machine_get, machine_products
from apps.inventory.services import tablet_pairing_code_consume
from apps.inventory.services.machines import device_token_hash
from apps.inventory.tablet_pairing import PAIRING_COOKIE, TABLET_PAIRING_MAX_AGE, paired_machine, pairing_cookie_value


@require_http_methods(["GET", "POST"])
def tablet_page(request, code):
    """The customer's tablet next to the machine. Unpaired, it shows a small form where a staff member types or pastes
    the machine's device token or a one-time pairing code (`manage.py tablet_link`), or opens
    `/tablet/<code>/#pair=<token or code>`: the page's script posts the fragment, which browsers never send in the
    URL); the POST (CSRF-protected) checks the token, pairs this browser (a signed,
    HttpOnly cookie bound to the machine and its current token) and redirects to the page. The token never travels
    in a URL, so no access log or error log sees it; a `?pair=` query is not read. After that the cookie is the
    credential, for the page and its socket. Issuing a new device token unpairs every tablet of the machine."""
    try:
        machine = machine_get(code=code)
    except NotFound as exc:
        return render(request, "chats/tablet_unpaired.html", {"message": exc.message}, status=404)
    if request.method == "POST":
        return _tablet_pair(request, machine)
    if paired_machine(request.COOKIES.get(PAIRING_COOKIE, "")) != machine:
        return _unpaired(request, _("このタブレットはまだペアリングされていません。管理者にお問い合わせください。"))
    return render(
        request,
        "chats/tablet.html",
        {
            "machine": machine,
            "products": machine_products(machine_code=machine.code),
            "idle_reset_seconds": settings.TABLET_IDLE_RESET_SECONDS,
            "receipt_reset_seconds": settings.TABLET_RECEIPT_RESET_SECONDS,
            "greeting": tablet_greeting(),
            "payment_providers": settings.PAYMENT_PROVIDERS,
            "phone_payments": bool(set(settings.PAYMENT_PROVIDERS) & set(PROVIDER_METHODS)),
        },
    )


def _tablet_pair(request, machine):
    token = request.POST.get("token", "").strip()
    if not machine.device_token_hash or not (
        device_token_hash(token) == machine.device_token_hash
        or tablet_pairing_code_consume(machine=machine, code=token)
    ):
        return _unpaired(request, _("ペアリング用のトークンが正しくありません。管理者にお問い合わせください。"))
    response = HttpResponseRedirect(request.path, status=303)
    response.set_cookie(
        PAIRING_COOKIE,
        pairing_cookie_value(machine),
        max_age=TABLET_PAIRING_MAX_AGE,
        httponly=True,
        secure=request.is_secure(),
        samesite="Strict",
    )
    return response


def _unpaired(request, message):
    """The unpaired page of a machine that exists, with the pairing form."""
    return render(request, "chats/tablet_unpaired.html", {"message": message, "pairing_form": True}, status=403)


@require_http_methods(["GET", "POST"])
def customer_export(request):
    """`/me/export/`: the page a customer's export link opens (its script posts the token from the link's fragment)
    and, on that POST, the JSON file of everything held about them. A wrong or expired token: 404 JSON."""
    if request.method == "GET":
        return render(request, "chats/export.html")
    customer = export_customer(token=request.POST.get("token", ""))
    if customer is None:
        return JsonResponse(
            error_body(
                code="not_found",
                message=_("リンクが無効か、期限が切れています。もう一度「データ確認」と送ってください。"),
            ),
            status=404,
        )
    response = HttpResponse(
        export_json(customer_data_export(customer=customer, now=timezone.now())), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="vendbot-my-data.json"'
    return response
