"""Personas (who the assistant is), agents (what runs it) and the guardrail records (what it was refused, and why).

`chats` sits above this app, so conversations are referred to here by their id (`conversation_id`), not a foreign key.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.agents.limits import MAX_COUPON_PERCENT


class Trait(models.Model):
    """A building block of a persona: its prompt fragment goes into the model's system prompt."""

    name = models.CharField(max_length=80, unique=True)
    prompt_fragment = models.TextField(help_text=_("システムプロンプトに追加される文。"))

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name


class Personality(Trait):
    class Meta(Trait.Meta):
        verbose_name_plural = "personalities"


class Role(Trait):
    pass


class Tone(Trait):
    class Register(models.TextChoices):
        POLITE = "polite", _("丁寧（です・ます）")
        CASUAL = "casual", _("くだけた")

    # The offline provider has no model to imitate a tone, so it picks its reply templates by this register.
    register = models.CharField(max_length=10, choices=Register.choices, default=Register.POLITE)


class Persona(models.Model):
    class Gender(models.TextChoices):
        FEMALE = "female", _("女性")
        MALE = "male", _("男性")
        UNSPECIFIED = "unspecified", _("指定なし")

    class Language(models.TextChoices):
        JA = "ja", _("日本語")
        EN = "en", _("English")

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    gender = models.CharField(max_length=12, choices=Gender.choices, default=Gender.UNSPECIFIED)
    background = models.TextField(blank=True)
    greeting = models.CharField(max_length=300)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.JA)
    avatar = models.FileField(upload_to="personas/", blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="personas"
    )
    personalities = models.ManyToManyField(Personality, blank=True, related_name="personas")
    roles = models.ManyToManyField(Role, blank=True, related_name="personas")
    tones = models.ManyToManyField(Tone, blank=True, related_name="personas")
    # A new random value whenever it or its traits change (apps.agents.receivers), so a process may keep
    # the fragments it read for a version (apps.agents.prompts). Random, not a counter: on SQLite a rolled-back
    # transaction hands its ids out again.
    traits_version = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class AgentKind(models.TextChoices):
    SHOPKEEPER = "shopkeeper", _("店番")
    PROCUREMENT = "procurement", _("仕入れ")
    ANALYTICS = "analytics", _("分析")


class AgentStatus(models.TextChoices):
    IDLE = "idle", _("待機中")
    BUSY = "busy", _("稼働中")
    FAILED = "failed", _("障害")
    MAINTENANCE = "maintenance", _("メンテナンス中")


class Agent(models.Model):
    Kind = AgentKind
    Status = AgentStatus

    class Provider(models.TextChoices):
        OFFLINE = "offline", _("オフライン（ルールとテンプレート）")
        ANTHROPIC = "anthropic", _("Anthropic")

    name = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=12, choices=AgentKind.choices)
    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.PROTECT, related_name="agents")
    status = models.CharField(max_length=12, choices=AgentStatus.choices, default=AgentStatus.IDLE)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=12, choices=Provider.choices, default=Provider.OFFLINE)
    model_name = models.CharField(max_length=100, blank=True)
    daily_token_budget = models.PositiveIntegerField(default=200_000)
    daily_yen_budget = models.PositiveIntegerField(default=500, help_text=_("モデル利用料の1日の上限（円）。"))
    daily_coupon_budget_yen = models.PositiveIntegerField(
        default=1_000, help_text=_("この店番が1日に発行できるクーポンの割引額の合計上限（円）。")
    )
    enabled_tools = models.JSONField(default=list, blank=True, help_text=_("使ってよいツール名の一覧。"))

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AgentKind.values), name="agent_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=AgentStatus.values), name="agent_status_valid"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def is_callable(self) -> bool:
        return self.status in (self.Status.IDLE, self.Status.BUSY)


class AgentTurn(models.Model):
    """Decision log: one row per agent turn — tools called with what, what came back, how long it took."""

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="turns")
    conversation_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    provider = models.CharField(max_length=12)
    model_name = models.CharField(max_length=100, blank=True)
    tool_calls = models.JSONField(default=list, blank=True)
    reply_filtered = models.JSONField(default=list, blank=True, help_text=_("返信から取り除いた内容の種類。"))
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    prompt_hash = models.CharField(max_length=16, blank=True, help_text=_("システムプロンプトのSHA-256（先頭16桁）。"))
    cost_yen = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    time_to_first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    fallback_reason = models.CharField(
        max_length=200, blank=True, help_text=_("オフラインの応答に切り替えた理由（切り替えなければ空）。")
    )
    flags = models.JSONField(
        default=list, blank=True, help_text=_("お客様のメッセージについて：不審な指示の種類、モデルが見なかった画像。")
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"turn {self.pk} of {self.agent.name}"


class GuardrailViolation(models.Model):
    """A tool call the policy refused. Append-only; staff read them in the admin."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="violations")
    conversation_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    turn = models.ForeignKey(AgentTurn, null=True, blank=True, on_delete=models.SET_NULL, related_name="violations")
    tool_name = models.CharField(max_length=80)
    arguments = models.JSONField(default=dict, blank=True)
    rule = models.CharField(max_length=40, db_index=True)
    reason = models.TextField()
    escalated = models.BooleanField(
        default=False, help_text=_("このリフューズで会話がスタッフにエスカレーションされた。")
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.rule}: {self.tool_name}"


class Escalation(models.Model):
    """A conversation handed to staff after repeated abuse; one per conversation, so staff get one e-mail."""

    created_at = models.DateTimeField(auto_now_add=True)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="escalations")
    conversation_id = models.PositiveBigIntegerField(unique=True)
    violation_count = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"conversation {self.conversation_id} ({self.violation_count} violations)"


class AgentNote(models.Model):
    """A note an agent leaves for staff (write_note), or a proposal waiting for a person (propose_purchase_order)."""

    class Kind(models.TextChoices):
        NOTE = "note", _("メモ")
        PURCHASE_ORDER_PROPOSAL = "po_proposal", _("発注提案（承認待ち）")

    created_at = models.DateTimeField(auto_now_add=True)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="notes")
    conversation_id = models.PositiveBigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.NOTE)
    text = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.text[:60]


class CouponGrant(models.Model):
    """A coupon an agent gave a customer, with the most it can cost the shop; the daily coupon budget sums these."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="coupon_grants")
    conversation_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    customer_key = models.CharField(max_length=100, blank=True)
    coupon_code = models.CharField(max_length=32, unique=True)
    percent = models.PositiveSmallIntegerField()
    worst_case_yen = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The policy's cap, held by the database too.
            models.CheckConstraint(
                condition=Q(percent__gte=1, percent__lte=MAX_COUPON_PERCENT), name="coupon_grant_percent_within_cap"
            ),
        ]

    def __str__(self):
        return f"{self.coupon_code} {self.percent}%"


class LlmUsage(models.Model):
    """The usage ledger: one row per agent, model and day, added to atomically after every model call.
    Persona previews (no live agent) are booked with no agent, so they count against the budget too."""

    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="llm_usage")
    model_name = models.CharField(max_length=100)
    day = models.DateField(db_index=True)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost_yen = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "agent_id", "model_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "model_name", "day"], name="llm_usage_one_row_per_agent_model_day"
            ),
            models.UniqueConstraint(
                fields=["model_name", "day"], condition=Q(agent__isnull=True), name="llm_usage_one_preview_row_per_day"
            ),
            models.CheckConstraint(condition=Q(cost_yen__gte=0), name="llm_usage_cost_not_negative"),
        ]

    def __str__(self):
        return f"{self.day} {self.model_name}: {self.cost_yen} yen"


class BudgetAlert(models.Model):
    """The model budget crossed a threshold (50/80/90/100 %) for a day or a month; one row per crossing."""

    class Period(models.TextChoices):
        DAY = "day", _("日")
        MONTH = "month", _("月")

    created_at = models.DateTimeField(auto_now_add=True)
    period = models.CharField(max_length=5, choices=Period.choices)
    period_start = models.DateField()
    threshold_percent = models.PositiveSmallIntegerField()
    spent_yen = models.DecimalField(max_digits=14, decimal_places=4)
    budget_yen = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "period_start", "threshold_percent"], name="budget_alert_once_per_threshold"
            ),
        ]

    def __str__(self):
        return f"{self.get_period_display()} {self.period_start}: {self.threshold_percent}%"


class ConversationSummary(models.Model):
    """Older messages of a long conversation folded into a few lines, so the prompt keeps within its token budget."""

    conversation_id = models.PositiveBigIntegerField(unique=True)
    text = models.TextField()
    folded_messages = models.PositiveIntegerField(help_text=_("要約に含めた先頭からのメッセージ数。"))
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"summary of conversation {self.conversation_id}"
