import logging

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from apps.core.models import AuditEntry, Heartbeat
from apps.core.roles import ROLE_PERMISSIONS

logger = logging.getLogger(__name__)


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Make sure each role group exists and holds exactly its permissions that exist so far."""
    wanted = {dotted: tuple(dotted.split(".", 1)) for perms in ROLE_PERMISSIONS.values() for dotted in perms}
    # One query for every role's permissions (one per permission was 150 queries at every migrate and test flush).
    existing = {}  # (app label, codename) -> the first such permission's pk, as `.first()` chose before
    for pk, app_label, codename in (
        Permission.objects.filter(codename__in={codename for _app, codename in wanted.values()})
        .values_list("pk", "content_type__app_label", "codename")
        .order_by("pk")
    ):
        existing.setdefault((app_label, codename), pk)
    counts = {}
    for group_name, dotted_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        perms = [existing[wanted[dotted]] for dotted in dotted_names if wanted[dotted] in existing]
        group.permissions.set(perms)
        counts[group_name] = len(perms)
    return counts


def heartbeat_record(*, name: str, detail: dict | None = None) -> Heartbeat:
    heartbeat, _ = Heartbeat.objects.update_or_create(
        name=name, defaults={"seen_at": timezone.now(), "detail": detail or {}}
    )
    return heartbeat


def audit_record(
    *,
    target: models.Model,
    action: str,
    actor=None,
    actor_label: str = "",
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict | None = None,
) -> AuditEntry:
    """Append one audit entry; call it inside the transaction that makes the change it records."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label,
        action=action,
        content_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        object_id=str(target.pk),
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data or {},
    )
