from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.agents.models import (
    Agent,
    AgentNote,
    AgentTurn,
    BudgetAlert,
    Case,
    CaseReply,
    CouponGrant,
    Escalation,
    GuardrailViolation,
    LlmUsage,
    Persona,
    Personality,
    Role,
    SelfServiceRefund,
    Tone,
)
from apps.agents.services import (
    agent_pause,
    agent_persona_set,
    agent_resume,
    agent_tools_set,
    case_answer,
    case_assign,
    case_resolve,
)
from apps.agents.tools.registry import TOOLS, tool_names_problem
from apps.core.admin_tools import ReadOnlyAdminMixin, service_errors_as_messages

MANAGE_PERSONAS = "core.manage_personas"


class ManagerEditsMixin:
    """Personas, traits and agents are edited by Managers only (core.manage_personas); Staff may look."""

    def _manages(self, request) -> bool:
        return request.user.has_perm(MANAGE_PERSONAS)

    def has_add_permission(self, request, obj=None):
        return self._manages(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._manages(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._manages(request) and super().has_delete_permission(request, obj)


@admin.register(Personality, Role)
class TraitAdmin(ManagerEditsMixin, admin.ModelAdmin):
    list_display = ["name", "prompt_fragment"]
    search_fields = ["name", "prompt_fragment"]


@admin.register(Tone)
class ToneAdmin(ManagerEditsMixin, admin.ModelAdmin):
    list_display = ["name", "register", "prompt_fragment"]
    search_fields = ["name", "prompt_fragment"]


@admin.register(Persona)
class PersonaAdmin(ManagerEditsMixin, admin.ModelAdmin):
    list_display = ["name", "language", "gender", "owner", "preview_link"]
    list_filter = ["language", "gender"]
    search_fields = ["name", "description"]
    filter_horizontal = ["personalities", "roles", "tones"]

    @admin.display(description=_("プレビュー"))
    def preview_link(self, persona):
        return format_html('<a href="{}">{}</a>', reverse("agents-persona-preview", args=[persona.pk]), _("話してみる"))


class AgentAdminForm(forms.ModelForm):
    enabled_tools = forms.MultipleChoiceField(
        label=_("有効なツール"),
        # A callable: the admin loads before AgentsConfig.ready() has registered the tools.
        choices=lambda: [(name, name) for name in TOOLS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    persona_change_reason = forms.CharField(
        label=_("ペルソナを変える理由"),
        required=False,
        help_text=_("ペルソナを変えるときは必須です。監査ログに残ります。"),
    )

    class Meta:
        model = Agent
        fields = [
            "name",
            "kind",
            "persona",
            "provider",
            "model_name",
            "daily_token_budget",
            "daily_yen_budget",
            "daily_coupon_budget_yen",
            "enabled_tools",
        ]

    def clean(self):
        cleaned = super().clean()
        problem = tool_names_problem(kind=cleaned.get("kind", ""), tool_names=cleaned.get("enabled_tools") or [])
        if problem:
            self.add_error("enabled_tools", problem)
        reason = (cleaned.get("persona_change_reason") or "").strip()
        if self.instance.pk and "persona" in self.changed_data and not reason:
            self.add_error("persona_change_reason", _("ペルソナを変える理由を入力してください。"))
        return cleaned


@admin.register(Agent)
class AgentAdmin(ManagerEditsMixin, admin.ModelAdmin):
    form = AgentAdminForm
    list_display = ["name", "kind", "persona", "status", "last_heartbeat_at", "provider", "daily_coupon_budget_yen"]
    list_filter = ["kind", "status", "provider"]
    readonly_fields = ["status", "last_heartbeat_at"]
    actions = ["pause_agents", "resume_agents"]

    def _each(self, request, queryset, service, done_message):
        if not request.user.has_perm(MANAGE_PERSONAS):
            self.message_user(request, _("エージェントを止められるのはマネージャーだけです。"), level=messages.ERROR)
            return
        done = 0
        for agent in queryset:
            with service_errors_as_messages(request, self):
                service(agent=agent, actor=request.user, reason=_("管理画面から"))
                done += 1
        if done:
            self.message_user(request, done_message % {"count": done})

    @admin.action(description=_("一時停止（メンテナンス）"), permissions=["manage"])
    def pause_agents(self, request, queryset):
        self._each(request, queryset, agent_pause, _("%(count)d件のエージェントを停止しました。"))

    @admin.action(description=_("再開"), permissions=["manage"])
    def resume_agents(self, request, queryset):
        self._each(request, queryset, agent_resume, _("%(count)d件のエージェントを再開しました。"))

    def has_manage_permission(self, request):
        return self._manages(request)

    def save_model(self, request, obj, form, change):
        """The persona and the tools change through their audited services; the rest is a plain edit."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        persona, tool_names = obj.persona, obj.enabled_tools
        saved = Agent.objects.get(pk=obj.pk)
        obj.persona_id, obj.enabled_tools = saved.persona_id, saved.enabled_tools
        super().save_model(request, obj, form, change)
        if "enabled_tools" in form.changed_data:
            agent_tools_set(agent=obj, tool_names=tool_names, actor=request.user)
        if "persona" in form.changed_data:
            reason = form.cleaned_data["persona_change_reason"]
            obj.persona = agent_persona_set(agent=obj, persona=persona, actor=request.user, reason=reason).persona


@admin.register(GuardrailViolation)
class GuardrailViolationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "agent", "conversation_id", "tool_name", "rule", "reason", "escalated"]
    list_filter = ["rule", "escalated", "agent"]
    search_fields = ["tool_name", "reason", "conversation_id"]
    date_hierarchy = "created_at"


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "agent", "conversation_id", "violation_count"]


@admin.register(AgentTurn)
class AgentTurnAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "agent",
        "conversation_id",
        "provider",
        "model_name",
        "time_to_first_token_ms",
        "latency_ms",
        "input_tokens",
        "output_tokens",
        "cost_yen",
        "fallback_reason",
    ]
    list_filter = ["agent", "provider", "model_name"]
    readonly_fields = ["tool_calls", "reply_filtered", "flags"]


@admin.register(LlmUsage)
class LlmUsageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["day", "agent", "model_name", "calls", "input_tokens", "output_tokens", "cost_yen"]
    list_filter = ["model_name", "agent"]
    date_hierarchy = "day"


@admin.register(BudgetAlert)
class BudgetAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "period", "period_start", "threshold_percent", "spent_yen", "budget_yen"]
    list_filter = ["period", "threshold_percent"]


@admin.register(AgentNote)
class AgentNoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "agent", "kind", "text"]
    list_filter = ["kind", "agent"]


@admin.register(CouponGrant)
class CouponGrantAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "agent", "coupon_code", "percent", "worst_case_yen", "conversation_id"]
    list_filter = ["agent"]


class CaseReplyInline(admin.TabularInline):
    model = CaseReply
    extra = 0
    can_delete = False
    fields = ["created_at", "author", "text", "delivered_via", "delivered_at", "delivery_error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CaseForm(forms.ModelForm):
    answer = forms.CharField(
        label=_("お客様への回答"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("保存すると、お客様が話していたチャネル（LINE・タブレット）に届きます。"),
    )

    class Meta:
        model = Case
        fields = []


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Staff answer a case here: the answer field goes to the customer through `case_answer`; nothing else of the
    case is edited by hand."""

    form = CaseForm
    list_display = ["id", "created_at", "kind", "channel", "status", "owner", "sla_due_at", "first_answered_at"]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["text"]
    date_hierarchy = "created_at"
    inlines = [CaseReplyInline]
    readonly_fields = [
        "created_at",
        "kind",
        "status",
        "channel",
        "conversation_id",
        "text",
        "sale",
        "owner",
        "sla_due_at",
        "first_answered_at",
        "resolved_at",
    ]
    fields = [*readonly_fields, "answer"]
    actions = ["take_cases", "resolve_cases"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        text = form.cleaned_data.get("answer", "").strip()
        if text:
            with service_errors_as_messages(request, self):
                case_answer(case=obj, author=request.user, text=text)

    @admin.action(description=_("自分の担当にする"), permissions=["change"])
    def take_cases(self, request, queryset):
        with service_errors_as_messages(request, self):
            for case in queryset:
                case_assign(case=case, owner=request.user, actor=request.user)
            self.message_user(request, _("%(count)d件を担当にしました。") % {"count": queryset.count()})

    @admin.action(description=_("解決済みにする"), permissions=["change"])
    def resolve_cases(self, request, queryset):
        with service_errors_as_messages(request, self):
            for case in queryset:
                case_resolve(case=case, actor=request.user)
            self.message_user(request, _("%(count)d件を解決済みにしました。") % {"count": queryset.count()})


@admin.register(SelfServiceRefund)
class SelfServiceRefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "sale", "agent", "conversation_id", "amount_yen"]
