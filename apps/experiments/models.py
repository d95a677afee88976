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

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    name = models.CharField(max_length=100, verbose_name=_("名前"))
    parameters = models.JSONField(
        help_text=_("商品ごとの基本需要・価格弾力性、曜日係数。"), verbose_name=_("パラメータ")
    )
    days_observed = models.PositiveIntegerField(verbose_name=_("観測日数"))
    units_observed = models.PositiveIntegerField(verbose_name=_("観測販売数"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("キャリブレーション")
        verbose_name_plural = _("キャリブレーション")

    def __str__(self):
        return f"{self.name} ({self.created_at:%Y-%m-%d})"


class ExperimentStatus(models.TextChoices):
    DRAFT = "draft", _("下書き")
    RUNNING = "running", _("実行中")
    FINISHED = "finished", _("完了")
    FAILED = "failed", _("失敗あり")


class Experiment(models.Model):
    Status = ExperimentStatus

    name = models.CharField(max_length=100, verbose_name=_("名前"))
    description = models.TextField(blank=True, verbose_name=_("説明"))
    days = models.PositiveIntegerField(default=365, verbose_name=_("日数"))
    seed_count = models.PositiveIntegerField(default=10, verbose_name=_("シード数"))
    first_seed = models.PositiveIntegerField(
        default=1, help_text=_("シードは「最初のシード」から連番。"), verbose_name=_("最初のシード")
    )
    status = models.CharField(
        max_length=10, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT, verbose_name=_("ステータス")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("作成者")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("開始日時"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("終了日時"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(days__gte=1, days__lte=MAX_DAYS), name="experiment_days_in_range"),
            models.CheckConstraint(
                condition=Q(seed_count__gte=1, seed_count__lte=MAX_SEEDS), name="experiment_seed_count_in_range"
            ),
            models.CheckConstraint(condition=Q(status__in=ExperimentStatus.values), name="experiment_status_valid"),
        ]
        verbose_name = _("実験")
        verbose_name_plural = _("実験")

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

    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="variants", verbose_name=_("実験")
    )
    name = models.CharField(max_length=60, verbose_name=_("名前"))
    agent_kind = models.CharField(
        max_length=12, choices=AgentKind.choices, default=AgentKind.HEURISTIC, verbose_name=_("エージェントの種類")
    )
    persona = models.ForeignKey(
        Persona, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("ペルソナ")
    )
    provider = models.CharField(
        max_length=12, choices=Agent.Provider.choices, default=Agent.Provider.OFFLINE, verbose_name=_("プロバイダー")
    )
    step_budget = models.PositiveIntegerField(
        default=2000, help_text=_("LLMエージェントの1回の実行でのモデル呼び出し上限。"), verbose_name=_("ステップ上限")
    )
    parameters = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("LLMエージェントの設定: オフラインは markup_permille・cover_days、モデルは model_name。"),
        verbose_name=_("パラメータ"),
    )
    calibration = models.ForeignKey(
        Calibration,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="variants",
        help_text=_("指定するとこの店の実績から推定したツインの世界で実行。"),
        verbose_name=_("キャリブレーション"),
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="variant_name_unique_in_experiment"),
            models.CheckConstraint(condition=Q(agent_kind__in=AgentKind.values), name="variant_agent_kind_valid"),
        ]
        verbose_name = _("バリアント")
        verbose_name_plural = _("バリアント")

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

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="runs", verbose_name=_("実験"))
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="runs", verbose_name=_("バリアント"))
    seed = models.PositiveIntegerField(verbose_name=_("シード"))
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, verbose_name=_("ステータス")
    )
    days_done = models.PositiveIntegerField(default=0, verbose_name=_("完了日数"))
    final_net_worth_yen = models.BigIntegerField(null=True, blank=True, verbose_name=_("最終純資産（円）"))
    bankrupt_day = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("破綻日"))
    series = models.JSONField(
        default=dict, blank=True, help_text=_("系列名 → 日ごとの値の配列。"), verbose_name=_("系列")
    )
    summary = models.JSONField(default=dict, blank=True, verbose_name=_("要約"))
    error = models.TextField(blank=True, verbose_name=_("エラー"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("開始日時"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("終了日時"))

    class Meta:
        ordering = ["variant_id", "seed"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "seed"], name="run_one_per_variant_and_seed"),
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="run_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="finished") | Q(final_net_worth_yen__isnull=False), name="finished_run_has_result"
            ),
        ]
        verbose_name = _("実行")
        verbose_name_plural = _("実行")

    def __str__(self):
        return f"{self.variant.name} seed {self.seed}"


class ABTestStatus(models.TextChoices):
    DRAFT = "draft", _("下書き")
    RUNNING = "running", _("実施中")
    STOPPED = "stopped", _("終了")


class ABTest(models.Model):
    """Personas tried on live customers. At most one test runs at a time, so a conversation meets one test."""

    Status = ABTestStatus

    name = models.CharField(max_length=100, verbose_name=_("名前"))
    channel = models.CharField(
        max_length=8,
        choices=Conversation.Channel.choices,
        blank=True,
        help_text=_("空欄ならタブレットとLINEの両方。"),
        verbose_name=_("チャネル"),
    )
    machine = models.ForeignKey(
        Machine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("空欄なら全台。"),
        verbose_name=_("自販機"),
    )
    agent = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("勝者のペルソナを既定にする店番エージェント。空欄ならチャットを担当する店番。"),
        verbose_name=_("エージェント"),
    )
    status = models.CharField(
        max_length=8, choices=ABTestStatus.choices, default=ABTestStatus.DRAFT, verbose_name=_("ステータス")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("開始日時"))
    stopped_at = models.DateTimeField(null=True, blank=True, verbose_name=_("停止日時"))
    winner = models.ForeignKey(
        "ABVariant", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("勝者")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ABTestStatus.values), name="abtest_status_valid"),
            models.UniqueConstraint(fields=["status"], condition=Q(status="running"), name="one_running_abtest"),
        ]
        verbose_name = _("A/Bテスト")
        verbose_name_plural = _("A/Bテスト")

    def __str__(self):
        return self.name


class ABVariant(models.Model):
    test = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="variants", verbose_name=_("A/Bテスト"))
    persona = models.ForeignKey(Persona, on_delete=models.PROTECT, related_name="+", verbose_name=_("ペルソナ"))
    weight = models.PositiveSmallIntegerField(default=1, verbose_name=_("重み"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["test", "persona"], name="abvariant_persona_once_per_test"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="abvariant_weight_positive"),
        ]
        verbose_name = _("A/Bテストのバリアント")
        verbose_name_plural = _("A/Bテストのバリアント")

    def __str__(self):
        return self.persona.name


class Exposure(models.Model):
    """A conversation that met a variant of a test: the unit the results count."""

    test = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="exposures", verbose_name=_("A/Bテスト"))
    variant = models.ForeignKey(
        ABVariant, on_delete=models.CASCADE, related_name="exposures", verbose_name=_("バリアント")
    )
    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="+", verbose_name=_("会話")
    )
    assignment_key = models.CharField(
        max_length=100, help_text=_("お客様のキー、匿名なら conv:<会話ID>。"), verbose_name=_("割当キー")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("露出")
        verbose_name_plural = _("露出")

    def __str__(self):
        return f"{self.conversation_id} → {self.variant}"


class ArenaLeaderboard(models.Model):
    """One leaderboard of the agent arena: every entrant (agent × persona × policy) on the same seeds, and its rows
    (mean final net worth with its 95% interval, bankruptcy rate, refusals, tool calls, model cost)."""

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    name = models.CharField(max_length=200, verbose_name=_("名前"))
    days = models.PositiveIntegerField(verbose_name=_("日数"))
    first_seed = models.PositiveIntegerField(verbose_name=_("最初のシード"))
    seed_count = models.PositiveIntegerField(verbose_name=_("シード数"))
    rows = models.JSONField(default=list, blank=True, verbose_name=_("順位表"))
    elapsed_seconds = models.FloatField(default=0, verbose_name=_("所要時間（秒）"))
    estimated_model_cost_yen = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, verbose_name=_("モデル費用の見積り（円）")
    )
    model_budget_yen = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("モデル費用の上限（円）"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("アリーナの順位表")
        verbose_name_plural = _("アリーナの順位表")

    def __str__(self):
        return self.name


class ArenaRun(models.Model):
    """One entrant on one seed of a leaderboard: the result, the daily series, the events, and the trace (gzip'd
    JSON: each day's state, tool calls with the policy's decisions, messages and actions) any day replays from."""

    leaderboard = models.ForeignKey(
        ArenaLeaderboard, on_delete=models.CASCADE, related_name="runs", verbose_name=_("順位表")
    )
    entrant = models.CharField(max_length=200, verbose_name=_("参加者"))
    agent = models.CharField(max_length=20, verbose_name=_("エージェント"))
    persona = models.ForeignKey(
        Persona, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("ペルソナ")
    )
    policy = models.CharField(max_length=10, blank=True, verbose_name=_("ポリシー"))
    seed = models.PositiveIntegerField(verbose_name=_("シード"))
    days = models.PositiveIntegerField(verbose_name=_("日数"))
    final_net_worth_yen = models.BigIntegerField(verbose_name=_("最終純資産（円）"))
    bankrupt_day = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("破綻日"))
    summary = models.JSONField(default=dict, blank=True, verbose_name=_("要約"))
    series = models.JSONField(default=dict, blank=True, verbose_name=_("系列"))
    events = models.JSONField(default=list, blank=True, verbose_name=_("出来事"))
    trace = models.BinaryField(blank=True, default=b"", verbose_name=_("トレース"))

    class Meta:
        ordering = ["leaderboard_id", "entrant", "seed"]
        constraints = [
            models.UniqueConstraint(
                fields=["leaderboard", "entrant", "seed"], name="arena_run_one_per_entrant_and_seed"
            )
        ]
        verbose_name = _("アリーナの実行")
        verbose_name_plural = _("アリーナの実行")

    def __str__(self):
        return f"{self.entrant} seed {self.seed}"
