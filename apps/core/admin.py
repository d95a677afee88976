from django.contrib import admin

from apps.core.admin_tools import ReadOnlyAdminMixin
from apps.core.models import AuditEntry, Heartbeat


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "actor",
        "actor_label",
        "action",
        "content_type",
        "object_id",
        "from_state",
        "to_state",
    ]
    list_filter = ["action", "content_type"]
    search_fields = ["object_id", "reason", "actor__username", "actor_label"]
    date_hierarchy = "created_at"


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "seen_at", "detail"]
