"""The tablet's credential: a signed cookie naming the machine and a fingerprint of its device token at pairing time,
so a new token (or a forged cookie) is refused by the page, its socket and the machine's HTTP APIs (the page's
fallback when the socket cannot open; see `authentication.TabletCookieAuthentication`)."""

from django.core import signing

from apps.inventory.models import Machine

PAIRING_COOKIE = "vendbot_tablet"
TABLET_PAIRING_MAX_AGE = 365 * 24 * 3600
_SALT = "chats.tablet-pairing"


def pairing_cookie_value(machine: Machine) -> str:
    return signing.dumps({"machine": machine.pk, "token": machine.device_token_hash[:16]}, salt=_SALT)


def paired_machine(cookie: str) -> Machine | None:
    """The machine this cookie pairs, if its signature holds and the machine's token is still the one paired."""
    if not cookie:
        return None
    try:
        data = signing.loads(cookie, salt=_SALT, max_age=TABLET_PAIRING_MAX_AGE)
    except signing.BadSignature:
        return None
    machine = Machine.objects.filter(pk=data.get("machine")).first()
    if machine is None or not machine.device_token_hash or machine.device_token_hash[:16] != data.get("token"):
        return None
    return machine
