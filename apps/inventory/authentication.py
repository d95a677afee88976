"""`Authorization: Device <token>` for machine tablets, or the paired tablet page's cookie; reusable by any app whose
API a machine calls."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from apps.core.roles import is_staff_member
from apps.inventory.models import Machine
from apps.inventory.selectors import machine_for_device_token
from apps.inventory.services.machines import device_token_hash
from apps.inventory.tablet_pairing import PAIRING_COOKIE, paired_machine


class MachineDevice:
    """The principal of a request made by a machine's tablet (`request.user`); `request.auth` is the Machine."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, machine: Machine):
        self.machine = machine

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def __str__(self):
        return f"machine:{self.machine.code}"


class DeviceTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Device"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Authorization ヘッダーは「Device <token>」の形にしてください。"))
        try:
            token = parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("デバイストークンが正しくありません。")) from exc
        machine = machine_for_device_token(device_token_hash(token))
        if machine is None:
            raise exceptions.AuthenticationFailed(_("デバイストークンが正しくないか、無効になっています。"))
        return MachineDevice(machine), machine

    def authenticate_header(self, request):
        return self.keyword


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """Documents the device token in the OpenAPI schema (registered by being defined)."""

    target_class = DeviceTokenAuthentication
    name = "deviceToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Device <token>` — from `manage.py issue_device_token <machine code>`.",
        }


class TabletCookieAuthentication(authentication.SessionAuthentication):
    """The paired tablet page's signed cookie (`tablet_pairing`): the page calls the chat, purchase and products APIs
    over HTTP when its socket cannot open (Redis down). A cookie rides along on any request the browser makes, so like
    a session it must come with the page's CSRF token (`X-CSRFToken`)."""

    def authenticate(self, request):
        machine = paired_machine(request.COOKIES.get(PAIRING_COOKIE, ""))
        if machine is None:
            return None
        self.enforce_csrf(request)
        return MachineDevice(machine), machine


class TabletCookieScheme(OpenApiAuthenticationExtension):
    target_class = TabletCookieAuthentication
    name = "tabletCookie"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": PAIRING_COOKIE,
            "description": "The paired tablet page's cookie, with its CSRF token in `X-CSRFToken`.",
        }


class IsMachineDeviceOrStaff(permissions.BasePermission):
    """The machine named by the URL's `code` with its own token, or a signed-in Staff/Manager."""

    message = gettext_lazy("この自販機の操作は、その自販機のトークンかスタッフのログインが必要です。")

    def has_permission(self, request, view):
        if isinstance(request.auth, Machine):
            return request.auth.code.upper() == str(view.kwargs.get("code", "")).upper()
        return is_staff_member(request.user)
