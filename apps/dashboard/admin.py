from django.contrib import admin

from apps.core.admin_tools import ReadOnlyAdminMixin
from apps.dashboard.models import Alert, DailySummary, LinePush, WeeklyReport


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["kind", "subject", "severity", "state", "first_seen_at", "fired_at", "cleared_at"]
    list_filter = ["state", "kind", "severity"]
    search_fields = ["subject", "message"]


@admin.register(DailySummary)
class DailySummaryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["date", "revenue_yen", "transactions", "gross_margin_yen", "out_of_stock_slots", "ai_cost_yen"]
    date_hierarchy = "date"


@admin.register(WeeklyReport)
class WeeklyReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["week_start", "week_end", "agent_name", "created_at"]
    readonly_fields = ["week_start", "week_end", "agent_name", "text", "figures", "emailed_to", "created_at"]


@admin.register(LinePush)
class LinePushAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "customer", "kind", "subject", "status"]
    list_filter = ["status", "kind"]
