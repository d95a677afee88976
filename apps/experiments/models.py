"""Experiments in the simulated shop (`Experiment` → `Variant` × seeds → `Run`), the fitted twin of this shop
(`Calibration`), and live A/B tests of personas (`ABTest` → `ABVariant`, `Exposure` per conversation)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.agents.models import Agent, Persona
from apps.chats.models import Conversation
from apps.inventory.models import Machine

MAX_DAYS = 3650
MAX_SEEDS = 1000


class Calibration(models.Model):
    """Demand parameters fitted from this shop's sales (`manage.py calibrate_sim`): a World for a "twin" variant."""

    created_at = models.DateTimeField(auto_now_add=True)
    name = models.CharField(max_length=100)
    parameters = models.JSONField(help_text=_("商品ごとの基本需要・価格弾力性、曜日係数。"))
    days_observed = models.PositiveIntegerField()
    units_observed = models.PositiveIntegerField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.created_at:%Y-%m-%d})"


class ExperimentStatus(models.TextChoices):
    DRAFT = "draft", _("下書き")
    RUNNING = "running", _("実行中")
    FINISHED = "finished", _("完了")
    FAILED = "failed", _("失敗あり")


class Experiment(models.Model):
    Status = ExperimentStatus

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    days = models.PositiveIntegerField(default=365)
    seed_count = models.PositiveIntegerField(default=10)
    first_seed = models.PositiveIntegerField(default=1, help_text=_("シードは first_seed から連番。"))
    status = models.CharField(max_length=10, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(days__gte=1, days__lte=MAX_DAYS), name="experiment_days_in_range"),
            models.CheckConstraint(
                condition=Q(seed_count__gte=1, seed_count__lte=MAX_SEEDS), name="experiment_seed_count_in_range"
            ),
            models.CheckConstraint(condition=Q(status__in=ExperimentStatus.values), name="experiment_status_valid"),
        ]

    def __str__(self):
        return self.name

    @property
    def seeds(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.seed_count))


class AgentKind(models.TextChoices):
    """Which policy runs the shop: a rule baseline of the simulator, or a provider through the tool adapter."""

    HEURISTIC = "heuristic", _("ヒューリスティック（定率マークアップ）")
    ELASTICITY = "elasticity", _("弾力性を考慮した価格設定")
    TENFOLD = "tenfold", _("10倍価格（ゲーミング検証用）")
    ONE_PRODUCT = "one_product", _("全スロット同一商品（ゲーミング検証用）")
    LLM = "llm", _("LLMエージェント（ツール経由）")


class Variant(models.Model):
    Kind = AgentKind

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=60)
    agent_kind = models.CharField(max_length=12, choices=AgentKind.choices, default=AgentKind.HEURISTIC)
    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=12, choices=Agent.Provider.choices, default=Agent.Provider.OFFLINE)
    step_budget = models.PositiveIntegerField(
        default=2000, help_text=_("LLMエージェントの1回の実行でのモデル呼び出し上限。")
    )
    parameters = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("LLMエージェントの設定: オフラインは markup_permille・cover_days、モデルは model_name。"),
    )
    calibration = models.ForeignKey(
        Calibration,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="variants",
        help_text=_("指定するとこの店の実績から推定したツインの世界で実行。"),
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="variant_name_unique_in_experiment"),
            models.CheckConstraint(condition=Q(agent_kind__in=AgentKind.values), name="variant_agent_kind_valid"),
        ]

    def __str__(self):
        return self.name


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("待機中")
    RUNNING = "running", _("実行中")
    FINISHED = "finished", _("完了")
    FAILED = "failed", _("失敗")


class Run(models.Model):
    """One variant on one seed. The daily series are JSON arrays on the row: 365 numbers per series per run,
    read whole for charts, never queried day by day."""

    Status = RunStatus

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="runs")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="runs")
    seed = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    days_done = models.PositiveIntegerField(default=0)
    final_net_worth_yen = models.BigIntegerField(null=True, blank=True)
    bankrupt_day = models.PositiveIntegerField(null=True, blank=True)
    series = models.JSONField(default=dict, blank=True, help_text=_("系列名 → 日ごとの値の配列。"))
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["variant_id", "seed"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "seed"], name="run_one_per_variant_and_seed"),
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="run_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="finished") | Q(final_net_worth_yen__isnull=False), name="finished_run_has_result"
            ),
        ]

    def __str__(self):
        return f"{self.variant.name} seed {self.seed}"


class ABTestStatus(models.TextChoices):
    DRAFT = "draft", _("下書き")
    RUNNING = "running", _("実施中")
    STOPPED = "stopped", _("終了")


class ABTest(models.Model):
    """Personas tried on live customers. At most one test runs at a time, so a conversation meets one test."""

    Status = ABTestStatus

    name = models.CharField(max_length=100)
    channel = models.CharField(
        max_length=8, choices=Conversation.Channel.choices, blank=True, help_text=_("空欄ならタブレットとLINEの両方。")
    )
    machine = models.ForeignKey(
        Machine, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text=_("空欄なら全台。")
    )
    agent = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("勝者のペルソナを既定にする店番エージェント。空欄ならチャットを担当する店番。"),
    )
    status = models.CharField(max_length=8, choices=ABTestStatus.choices, default=ABTestStatus.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    winner = models.ForeignKey("ABVariant", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ABTestStatus.values), name="abtest_status_valid"),
            models.UniqueConstraint(fields=["status"], condition=Q(status="running"), name="one_running_abtest"),
        ]

    def __str__(self):
        return self.name


class ABVariant(models.Model):
    test = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="variants")
    persona = models.ForeignKey(Persona, on_delete=models.PROTECT, related_name="+")
    weight = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["test", "persona"], name="abvariant_persona_once_per_test"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="abvariant_weight_positive"),
        ]

    def __str__(self):
        return self.persona.name


class Exposure(models.Model):
    """A conversation that met a variant of a test: the unit the results count."""

    test = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="exposures")
    variant = models.ForeignKey(ABVariant, on_delete=models.CASCADE, related_name="exposures")
    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="+")
    assignment_key = models.CharField(max_length=100, help_text=_("お客様のキー、匿名なら conv:<会話ID>。"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.conversation_id} → {self.variant}"
