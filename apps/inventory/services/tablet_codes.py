"""One-time pairing codes for a machine's tablet: what `manage.py tablet_link` (and so `make run`) prints, so a tablet
can be paired without the device token, and without rotating it, which would unpair the tablets already paired."""

import datetime
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.services import audit_record
from apps.inventory.models import Machine, TabletPairingCode
from apps.inventory.services.machines import device_token_hash, device_token_issue


@transaction.atomic
def tablet_pairing_code_issue(*, machine: Machine, actor_label: str = "") -> str:
    """A new single-use code for the machine, returned once. A machine with no device token yet gets one first (no
    tablet can be paired to it, so none is unpaired): the pairing cookie is bound to that token."""
    if not machine.device_token_hash:
        device_token_issue(machine=machine, actor_label=actor_label)
    now = timezone.now()
    TabletPairingCode.objects.filter(Q(expires_at__lte=now) | Q(used_at__isnull=False), machine=machine).delete()
    code = secrets.token_urlsafe(24)
    TabletPairingCode.objects.create(
        machine=machine,
        code_hash=device_token_hash(code),
        expires_at=now + datetime.timedelta(minutes=settings.TABLET_PAIRING_CODE_MINUTES),
    )
    audit_record(target=machine, action="machine.tablet_pairing_code_issue", actor_label=actor_label)
    return code


def tablet_pairing_code_consume(*, machine: Machine, code: str) -> bool:
    """True once for a code of this machine that has not expired; one UPDATE, so two tablets racing get one pairing."""
    now = timezone.now()
    return (
        TabletPairingCode.objects.filter(
            machine=machine, code_hash=device_token_hash(code), used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        == 1
    )
