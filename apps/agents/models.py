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

    name = models.CharField(max_length=80, unique=True, verbose_name=_("名前"))
    prompt_fragment = models.TextField(
        help_text=_("システムプロンプトに追加される文。"), verbose_name=_("プロンプト断片")
    )

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name


class Personality(Trait):
    class Meta(Trait.Meta):
        verbose_name = _("性格")
        verbose_name_plural = _("性格")


class Role(Trait):
    class Meta(Trait.Meta):
        verbose_name = _("役割")
        verbose_name_plural = _("役割")


class Tone(Trait):
    class Register(models.TextChoices):
        POLITE = "polite", _("丁寧（です・ます）")
        CASUAL = "casual", _("くだけた")

    # The offline provider has no model to imitate a tone, so it picks its reply templates by this register.
    register = models.CharField(
        max_length=10, choices=Register.choices, default=Register.POLITE, verbose_name=_("話し方")
    )

    class Meta:
        verbose_name = _("口調")
        verbose_name_plural = _("口調")


class Persona(models.Model):
    class Gender(models.TextChoices):
        FEMALE = "female", _("女性")
        MALE = "male", _("男性")
        UNSPECIFIED = "unspecified", _("指定なし")

    class Language(models.TextChoices):
        JA = "ja", _("日本語")
        EN = "en", _("English")

    name = models.CharField(max_length=80, unique=True, verbose_name=_("名前"))
    description = models.TextField(blank=True, verbose_name=_("説明"))
    gender = models.CharField(max_length=12, choices=Gender.choices, default=Gender.UNSPECIFIED, verbose_name=_("性別"))
    background = models.TextField(blank=True, verbose_name=_("背景"))
    greeting = models.CharField(max_length=300, verbose_name=_("あいさつ"))
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.JA, verbose_name=_("言語"))
    avatar = models.FileField(upload_to="personas/", blank=True, verbose_name=_("アバター"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="personas",
        verbose_name=_("所有者"),
    )
    personalities = models.ManyToManyField(Personality, blank=True, related_name="personas", verbose_name=_("性格"))
    roles = models.ManyToManyField(Role, blank=True, related_name="personas", verbose_name=_("役割"))
    tones = models.ManyToManyField(Tone, blank=True, related_name="personas", verbose_name=_("口調"))
    # A new random value whenever it or its traits change (apps.agents.receivers), so a process may keep
    # the fragments it read for a version (apps.agents.prompts). Random, not a counter: on SQLite a rolled-back
    # transaction hands its ids out again.
    traits_version = models.UUIDField(default=uuid.uuid4, editable=False, verbose_name=_("特性のバージョン"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("ペルソナ")
        verbose_name_plural = _("ペルソナ")

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

    name = models.CharField(max_length=80, unique=True, verbose_name=_("名前"))
    kind = models.CharField(max_length=12, choices=AgentKind.choices, verbose_name=_("種類"))
    persona = models.ForeignKey(
        Persona, null=True, blank=True, on_delete=models.PROTECT, related_name="agents", verbose_name=_("ペルソナ")
    )
    status = models.CharField(
        max_length=12, choices=AgentStatus.choices, default=AgentStatus.IDLE, verbose_name=_("ステータス")
    )
    last_heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("最終ハートビート日時"))
    provider = models.CharField(
        max_length=12, choices=Provider.choices, default=Provider.OFFLINE, verbose_name=_("プロバイダー")
    )
    model_name = models.CharField(max_length=100, blank=True, verbose_name=_("モデル名"))
    daily_token_budget = models.PositiveIntegerField(default=200_000, verbose_name=_("1日のトークン予算"))
    daily_yen_budget = models.PositiveIntegerField(
        default=500, help_text=_("モデル利用料の1日の上限（円）。"), verbose_name=_("1日の予算（円）")
    )
    daily_coupon_budget_yen = models.PositiveIntegerField(
        default=1_000,
        help_text=_("この店番が1日に発行できるクーポンの割引額の合計上限（円）。"),
        verbose_name=_("1日のクーポン予算（円）"),
    )
    enabled_tools = models.JSONField(
        default=list, blank=True, help_text=_("使ってよいツール名の一覧。"), verbose_name=_("有効なツール")
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AgentKind.values), name="agent_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=AgentStatus.values), name="agent_status_valid"),
        ]
        verbose_name = _("エージェント")
        verbose_name_plural = _("エージェント")

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def is_callable(self) -> bool:
        return self.status in (self.Status.IDLE, self.Status.BUSY)


class AgentTurn(models.Model):
    """Decision log: one row per agent turn — tools called with what, what came back, how long it took."""

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="turns", verbose_name=_("エージェント"))
    conversation_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True, verbose_name=_("会話ID"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("作成日時"))
    provider = models.CharField(max_length=12, verbose_name=_("プロバイダー"))
    model_name = models.CharField(max_length=100, blank=True, verbose_name=_("モデル名"))
    tool_calls = models.JSONField(default=list, blank=True, verbose_name=_("ツール呼び出し"))
    reply_filtered = models.JSONField(
        default=list, blank=True, help_text=_("返信から取り除いた内容の種類。"), verbose_name=_("返答のフィルタ済み")
    )
    input_tokens = models.PositiveIntegerField(default=0, verbose_name=_("入力トークン数"))
    output_tokens = models.PositiveIntegerField(default=0, verbose_name=_("出力トークン数"))
    latency_ms = models.PositiveIntegerField(default=0, verbose_name=_("応答時間（ミリ秒）"))
    prompt_hash = models.CharField(
        max_length=16,
        blank=True,
        help_text=_("システムプロンプトのSHA-256（先頭16桁）。"),
        verbose_name=_("プロンプトのハッシュ"),
    )
    cost_yen = models.DecimalField(max_digits=12, decimal_places=4, default=0, verbose_name=_("費用（円）"))
    time_to_first_token_ms = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("最初のトークンまでの時間（ミリ秒）")
    )
    fallback_reason = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("オフラインの応答に切り替えた理由（切り替えなければ空）。"),
        verbose_name=_("フォールバック理由"),
    )
    flags = models.JSONField(
        default=list,
        blank=True,
        help_text=_("お客様のメッセージについて：不審な指示の種類、モデルが見なかった画像。"),
        verbose_name=_("フラグ"),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("エージェントの応答")
        verbose_name_plural = _("エージェントの応答")

    def __str__(self):
        return f"turn {self.pk} of {self.agent.name}"


class GuardrailViolation(models.Model):
    """A tool call the policy refused. Append-only; staff read them in the admin."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("作成日時"))
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, related_name="violations", verbose_name=_("エージェント")
    )
    conversation_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True, verbose_name=_("会話ID"))
    turn = models.ForeignKey(
        AgentTurn, null=True, blank=True, on_delete=models.SET_NULL, related_name="violations", verbose_name=_("ターン")
    )
    tool_name = models.CharField(max_length=80, verbose_name=_("ツール名"))
    arguments = models.JSONField(default=dict, blank=True, verbose_name=_("引数"))
    rule = models.CharField(max_length=40, db_index=True, verbose_name=_("ルール"))
    reason = models.TextField(verbose_name=_("理由"))
    escalated = models.BooleanField(
        default=False,
        help_text=_("このリフューズで会話がスタッフにエスカレーションされた。"),
        verbose_name=_("エスカレーション済み"),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ガードレール違反")
        verbose_name_plural = _("ガードレール違反")

    def __str__(self):
        return f"{self.rule}: {self.tool_name}"


class Escalation(models.Model):
    """A conversation handed to staff after repeated abuse; one per conversation, so staff get one e-mail."""

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, related_name="escalations", verbose_name=_("エージェント")
    )
    conversation_id = models.PositiveBigIntegerField(unique=True, verbose_name=_("会話ID"))
    violation_count = models.PositiveIntegerField(verbose_name=_("違反件数"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("エスカレーション")
        verbose_name_plural = _("エスカレーション")

    def __str__(self):
        return f"conversation {self.conversation_id} ({self.violation_count} violations)"


class AgentNote(models.Model):
    """A note an agent leaves for staff (write_note), or a proposal waiting for a person (propose_purchase_order)."""

    class Kind(models.TextChoices):
        NOTE = "note", _("メモ")
        PURCHASE_ORDER_PROPOSAL = "po_proposal", _("発注提案（承認待ち）")

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="notes", verbose_name=_("エージェント"))
    conversation_id = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("会話ID"))
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.NOTE, verbose_name=_("種類"))
    text = models.TextField(verbose_name=_("本文"))
    data = models.JSONField(default=dict, blank=True, verbose_name=_("データ"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("エージェントのメモ")
        verbose_name_plural = _("エージェントのメモ")

    def __str__(self):
        return self.text[:60]


class AgentMemory(models.Model):
    """What an agent keeps between turns: its scratchpad (key `SCRATCHPAD_KEY`) and short values under keys of its own
    choosing (the memory tools). One row per agent and key, replaced on write."""

    SCRATCHPAD_KEY = (
        "_scratchpad"  # the tools' key pattern cannot start with "_", so only the scratchpad tools reach it
    )

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="memories", verbose_name=_("エージェント"))
    key = models.CharField(max_length=64, verbose_name=_("キー"))
    value = models.TextField(verbose_name=_("値"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("更新日時"))

    class Meta:
        ordering = ["agent", "key"]
        verbose_name = _("エージェントの記憶")
        verbose_name_plural = _("エージェントの記憶")
        constraints = [models.UniqueConstraint(fields=["agent", "key"], name="agent_memory_one_value_per_key")]

    def __str__(self):
        return f"{self.key}: {self.value[:40]}"


class CouponGrant(models.Model):
    """A coupon an agent gave a customer, with the most it can cost the shop; the daily coupon budget sums these."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("作成日時"))
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, related_name="coupon_grants", verbose_name=_("エージェント")
    )
    conversation_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True, verbose_name=_("会話ID"))
    customer_key = models.CharField(max_length=100, blank=True, verbose_name=_("顧客キー"))
    coupon_code = models.CharField(max_length=32, unique=True, verbose_name=_("クーポンコード"))
    percent = models.PositiveSmallIntegerField(verbose_name=_("割合（%）"))
    worst_case_yen = models.PositiveIntegerField(verbose_name=_("最大負担額（円）"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The policy's cap, held by the database too.
            models.CheckConstraint(
                condition=Q(percent__gte=1, percent__lte=MAX_COUPON_PERCENT), name="coupon_grant_percent_within_cap"
            ),
        ]
        verbose_name = _("クーポン付与")
        verbose_name_plural = _("クーポン付与")

    def __str__(self):
        return f"{self.coupon_code} {self.percent}%"


class LlmUsage(models.Model):
    """The usage ledger: one row per agent, model and day, added to atomically after every model call.
    Persona previews (no live agent) are booked with no agent, so they count against the budget too."""

    agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="llm_usage", verbose_name=_("エージェント")
    )
    model_name = models.CharField(max_length=100, verbose_name=_("モデル名"))
    day = models.DateField(db_index=True, verbose_name=_("日"))
    input_tokens = models.PositiveBigIntegerField(default=0, verbose_name=_("入力トークン数"))
    output_tokens = models.PositiveBigIntegerField(default=0, verbose_name=_("出力トークン数"))
    cost_yen = models.DecimalField(max_digits=14, decimal_places=4, default=0, verbose_name=_("費用（円）"))
    calls = models.PositiveIntegerField(default=0, verbose_name=_("呼び出し数"))

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
        verbose_name = _("LLM使用量")
        verbose_name_plural = _("LLM使用量")

    def __str__(self):
        return f"{self.day} {self.model_name}: {self.cost_yen} yen"


class BudgetAlert(models.Model):
    """The model budget crossed a threshold (50/80/90/100 %) for a day or a month; one row per crossing."""

    class Period(models.TextChoices):
        DAY = "day", _("日")
        MONTH = "month", _("月")

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    period = models.CharField(max_length=5, choices=Period.choices, verbose_name=_("期間"))
    period_start = models.DateField(verbose_name=_("期間開始"))
    threshold_percent = models.PositiveSmallIntegerField(verbose_name=_("しきい値（%）"))
    spent_yen = models.DecimalField(max_digits=14, decimal_places=4, verbose_name=_("使用額（円）"))
    budget_yen = models.PositiveIntegerField(verbose_name=_("予算（円）"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "period_start", "threshold_percent"], name="budget_alert_once_per_threshold"
            ),
        ]
        verbose_name = _("予算アラート")
        verbose_name_plural = _("予算アラート")

    def __str__(self):
        return f"{self.get_period_display()} {self.period_start}: {self.threshold_percent}%"


class ConversationSummary(models.Model):
    """Older messages of a long conversation folded into a few lines, so the prompt keeps within its token budget."""

    conversation_id = models.PositiveBigIntegerField(unique=True, verbose_name=_("会話ID"))
    text = models.TextField(verbose_name=_("本文"))
    folded_messages = models.PositiveIntegerField(
        help_text=_("要約に含めた先頭からのメッセージ数。"), verbose_name=_("要約済みメッセージ数")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("更新日時"))

    class Meta:
        verbose_name = _("会話の要約")
        verbose_name_plural = _("会話の要約")

    def __str__(self):
        return f"summary of conversation {self.conversation_id}"


class CaseKind(models.TextChoices):
    WRONG_ITEM = "wrong_item", _("違う商品が出た")
    NOTHING_CAME_OUT = "nothing_came_out", _("商品が出てこない")
    CHARGED_TWICE = "charged_twice", _("二重請求")
    SPOILED = "spoiled", _("傷んだ商品")
    RUDE_ANSWER = "rude_answer", _("失礼な応答")
    REFUND = "refund", _("返金の依頼")
    OTHER = "other", _("その他")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("未回答")
    ANSWERED = "answered", _("回答済み")
    RESOLVED = "resolved", _("解決済み")


class Case(models.Model):
    """A customer's complaint or problem handed to a person: opened by the assistant (`open_case`), announced to staff
    on LINE and by e-mail, answered from the admin; the answer reaches the customer on their channel.

    `text` holds the customer's words and `customer_key` names them: both go when their data is deleted."""

    Kind = CaseKind
    Status = CaseStatus

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("作成日時"))
    agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases", verbose_name=_("エージェント")
    )
    conversation_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True, verbose_name=_("会話ID"))
    customer_key = models.CharField(max_length=100, blank=True, db_index=True, verbose_name=_("顧客キー"))
    channel = models.CharField(max_length=8, blank=True, verbose_name=_("チャネル"))
    kind = models.CharField(max_length=20, choices=CaseKind.choices, verbose_name=_("種類"))
    text = models.TextField(help_text=_("お客様の申し出（お客様の言葉）。"), verbose_name=_("内容"))
    sale = models.ForeignKey(
        "inventory.Sale",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        verbose_name=_("販売"),
    )
    status = models.CharField(
        max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN, db_index=True, verbose_name=_("ステータス")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        verbose_name=_("担当者"),
    )
    sla_due_at = models.DateTimeField(verbose_name=_("回答期限"))
    first_answered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("初回回答日時"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("解決日時"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CaseKind.values), name="case_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=CaseStatus.values), name="case_status_valid"),
            # One open case per conversation: a customer repeating the complaint adds to it.
            models.UniqueConstraint(
                fields=["conversation_id"], condition=Q(status="open"), name="case_one_open_per_conversation"
            ),
        ]
        verbose_name = _("お客様対応")
        verbose_name_plural = _("お客様対応")

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()}"


class CaseReply(models.Model):
    """A staff answer to a case, and how it reached the customer (`delivered_via`: line, tablet; or why not)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="replies", verbose_name=_("お客様対応"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="case_replies",
        verbose_name=_("回答者"),
    )
    text = models.TextField(verbose_name=_("本文"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    delivered_via = models.CharField(max_length=10, blank=True, verbose_name=_("届けた経路"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("届けた日時"))
    delivery_error = models.CharField(max_length=200, blank=True, verbose_name=_("届かなかった理由"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("スタッフの回答")
        verbose_name_plural = _("スタッフの回答")

    def __str__(self):
        return self.text[:60]


class SelfServiceRefund(models.Model):
    """A refund the assistant gave within the policy (the machine recorded items it did not dispense): one per sale,
    held by the database too."""

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    sale = models.OneToOneField(
        "inventory.Sale", on_delete=models.PROTECT, related_name="self_service_refund", verbose_name=_("販売")
    )
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, related_name="self_service_refunds", verbose_name=_("エージェント")
    )
    conversation_id = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("会話ID"))
    amount_yen = models.PositiveIntegerField(verbose_name=_("返金額（円）"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("アシスタントによる返金")
        verbose_name_plural = _("アシスタントによる返金")

    def __str__(self):
        return f"sale {self.sale_id} ¥{self.amount_yen:,}"
