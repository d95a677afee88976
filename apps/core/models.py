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

    name = models.CharField(max_length=100, unique=True, verbose_name=_("名前"))
    seen_at = models.DateTimeField(verbose_name=_("確認日時"))
    detail = models.JSONField(default=dict, blank=True, verbose_name=_("詳細"))

    class Meta:
        verbose_name = _("ハートビート")
        verbose_name_plural = _("ハートビート")

    def __str__(self):
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class AuditEntry(models.Model):
    """Append-only record of who changed what state, when and why (order approvals, price overrides, ...)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("作成日時"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("実行者"),
    )
    actor_label = models.CharField(
        max_length=150, blank=True, help_text=_("Agent or job name when no user acted."), verbose_name=_("実行者ラベル")
    )
    action = models.CharField(max_length=100, verbose_name=_("操作"))
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, verbose_name=_("コンテンツタイプ"))
    object_id = models.CharField(max_length=64, verbose_name=_("オブジェクトID"))
    from_state = models.CharField(max_length=50, blank=True, verbose_name=_("変更前の状態"))
    to_state = models.CharField(max_length=50, blank=True, verbose_name=_("変更後の状態"))
    reason = models.TextField(blank=True, verbose_name=_("理由"))
    data = models.JSONField(default=dict, blank=True, verbose_name=_("データ"))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        verbose_name = _("監査ログ")
        verbose_name_plural = _("監査ログ")

    def __str__(self):
        who = self.actor or self.actor_label or "system"
        return f"{self.created_at:%Y-%m-%d %H:%M} {who}: {self.action} {self.from_state}→{self.to_state}"
