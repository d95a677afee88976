from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class Capability(models.Model):
    """Holds the permissions that belong to no table (dashboard, reports, experiments); never has rows."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", _("Can view the manager dashboard")),
            ("view_reports", _("Can view accounting reports")),
            ("run_experiments", _("Can run and stop experiments")),
            ("manage_personas", _("Can edit personas and pause agents")),
            ("override_price_guard", _("Can override the price guard with a reason")),
        ]

    def __str__(self):
        return "capability"


class Heartbeat(models.Model):
    """Last time a background process proved it was alive (the Celery worker, through a beat job)."""

    name = models.CharField(max_length=100, unique=True)
    seen_at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class AuditEntry(models.Model):
    """Append-only record of who changed what state, when and why (order approvals, price overrides, ...)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text=_("Agent or job name when no user acted."))
    action = models.CharField(max_length=100)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64)
    from_state = models.CharField(max_length=50, blank=True)
    to_state = models.CharField(max_length=50, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        verbose_name_plural = "audit entries"

    def __str__(self):
        who = self.actor or self.actor_label or "system"
        return f"{self.created_at:%Y-%m-%d %H:%M} {who}: {self.action} {self.from_state}→{self.to_state}"
