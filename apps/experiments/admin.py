"""Managers create experiments and A/B tests here and start or stop them with actions; runs and exposures are
read-only records."""

from django.contrib import admin, messages
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.core.admin_tools import ReadOnlyAdminMixin, service_errors_as_messages
from apps.experiments import services
from apps.experiments.models import ABTest, ABVariant, Calibration, Experiment, Exposure, Run, Variant


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 2
    fields = ["name", "agent_kind", "persona", "provider", "step_budget", "parameters", "calibration"]


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "days", "seed_count", "progress", "page", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["status", "started_at", "finished_at", "created_by"]
    inlines = [VariantInline]
    actions = ["start"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(days_done=Sum("runs__days_done"), run_count=Count("runs"))

    @admin.display(description=_("進捗"))
    def progress(self, obj):
        total = obj.run_count * obj.days
        return f"{round(100 * (obj.days_done or 0) / total, 1) if total else 0.0}%"

    @admin.display(description=_("結果"))
    def page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("experiments:detail", args=[obj.pk]), _("比較とグラフ"))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_change_permission(self, request, obj=None):
        # Variants and seeds are fixed once runs exist, so the results always match what the page says was run.
        if obj is not None and obj.status != Experiment.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    @admin.action(description=_("選択した実験を開始"))
    def start(self, request, queryset):
        for experiment in queryset:
            with service_errors_as_messages(request, self):
                services.experiment_start(experiment=experiment, actor=request.user)
                self.message_user(request, f"「{experiment.name}」を開始しました。", level=messages.SUCCESS)


@admin.register(Run)
class RunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["experiment", "variant", "seed", "status", "days_done", "final_net_worth_yen", "bankrupt_day"]
    list_filter = ["status", "experiment"]
    exclude = ["series"]  # hundreds of numbers per series: the experiment page draws them


@admin.register(Calibration)
class CalibrationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "created_at", "days_observed", "units_observed"]


class ABVariantInline(admin.TabularInline):
    model = ABVariant
    extra = 2


@admin.register(ABTest)
class ABTestAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "channel", "machine", "winner", "started_at", "stopped_at", "page"]
    list_filter = ["status"]
    readonly_fields = ["status", "started_at", "stopped_at", "winner"]
    inlines = [ABVariantInline]
    actions = ["start", "stop_and_make_winner_default"]

    @admin.display(description=_("結果"))
    def page(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("experiments:ab_test_detail", args=[obj.pk]), _("結果"))

    @admin.action(description=_("選択したA/Bテストを開始"))
    def start(self, request, queryset):
        for test in queryset:
            with service_errors_as_messages(request, self):
                services.ab_test_start(test=test, actor=request.user)
                self.message_user(request, f"「{test.name}」を開始しました。", level=messages.SUCCESS)

    @admin.action(description=_("終了して勝者（会話あたり売上が最大）を既定のペルソナにする"))
    def stop_and_make_winner_default(self, request, queryset):
        for test in queryset:
            with service_errors_as_messages(request, self):
                test = services.ab_test_stop(test=test, actor=request.user)
                self.message_user(
                    request, f"「{test.name}」を終了し、{test.winner.persona.name}を既定にしました。", messages.SUCCESS
                )


@admin.register(Exposure)
class ExposureAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["conversation", "test", "variant", "assignment_key", "created_at"]
    list_filter = ["test"]
