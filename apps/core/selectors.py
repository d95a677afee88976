from django.utils import timezone

from apps.core.models import AuditEntry, Heartbeat

WORKER_HEARTBEAT = "celery-worker"


def heartbeat_age_seconds(*, name: str) -> float | None:
    """Seconds since the named process last reported, or None if it never did."""
    seen_at = Heartbeat.objects.filter(name=name).values_list("seen_at", flat=True).first()
    return None if seen_at is None else (timezone.now() - seen_at).total_seconds()


def audit_entries_for(*, target):
    from django.contrib.contenttypes.models import ContentType

    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(target, for_concrete_model=False), object_id=str(target.pk)
    ).select_related("actor")
