"""What the monitoring jobs leave behind: alerts, the daily close and the weekly report."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Alert(models.Model):
    """One episode of a monitored condition for one subject (a machine, a product, an agent, the shop).

    pending → firing once the condition has held for its rule's duration → cleared when it stops holding. A condition
    that ends while still pending is cleared without ever firing. At most one open (pending or firing) alert per
    kind and subject, so each anomaly detection run updates the episode instead of piling up rows.
    """

    class Kind(models.TextChoices):
        SALES_ANOMALY = "sales_anomaly", _("売上の異常")
        MACHINE_SILENT = "machine_silent", _("自販機の応答なし")
        ERROR_RATE = "error_rate", _("AIエラー率")
        AI_SPEND = "ai_spend", _("AI利用料の予算超過")
        STOCKOUT_EXPECTED = "stockout_expected", _("欠品の見込み")
        EXPIRY_SOON = "expiry_soon", _("期限間近・期限切れ")
        SHRINKAGE = "shrinkage", _("棚卸減耗率の超過")

    class Severity(models.TextChoices):
        WARNING = "warning", _("注意")
        CRITICAL = "critical", _("重大")

    class State(models.TextChoices):
        PENDING = "pending", _("様子見")
        FIRING = "firing", _("発生中")
        CLEARED = "cleared", _("解消")

    kind = models.CharField(max_length=24, choices=Kind.choices, verbose_name=_("種類"))
    severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.WARNING, verbose_name=_("重大度")
    )
    subject = models.CharField(
        max_length=100, help_text=_("自販機コード、SKU、エージェント名など"), verbose_name=_("対象")
    )
    message = models.TextField(verbose_name=_("メッセージ"))
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, verbose_name=_("状態"))
    first_seen_at = models.DateTimeField(db_index=True, verbose_name=_("初回検知日時"))
    last_seen_at = models.DateTimeField(verbose_name=_("最終訪問日時"))
    fired_at = models.DateTimeField(null=True, blank=True, verbose_name=_("発報日時"))
    cleared_at = models.DateTimeField(null=True, blank=True, verbose_name=_("解除日時"))

    class Meta:
        ordering = ["-first_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=Q(state__in=["pending", "firing"]),
                name="alert_one_open_per_subject",
            ),
            models.CheckConstraint(
                condition=~Q(state="firing") | Q(fired_at__isnull=False), name="alert_firing_has_fired_at"
            ),
            models.CheckConstraint(
                condition=~Q(state="cleared") | Q(cleared_at__isnull=False), name="alert_cleared_has_cleared_at"
            ),
        ]
        verbose_name = _("アラート")
        verbose_name_plural = _("アラート")

    def __str__(self):
        return f"{self.get_kind_display()} {self.subject} ({self.get_state_display()})"


class DailySummary(models.Model):
    """The day's figures, written by the daily close at 23:55 (JST) and rewritten if the close runs again."""

    date = models.DateField(unique=True, verbose_name=_("日付"))
    revenue_yen = models.IntegerField(verbose_name=_("売上（円）"))
    transactions = models.PositiveIntegerField(verbose_name=_("取引数"))
    gross_margin_yen = models.IntegerField(verbose_name=_("粗利（円）"))
    refunds_yen = models.PositiveIntegerField(verbose_name=_("返金額（円）"))
    out_of_stock_slots = models.PositiveIntegerField(verbose_name=_("欠品スロット数"))
    ai_turns = models.PositiveIntegerField(verbose_name=_("AI応答数"))
    ai_tokens = models.PositiveBigIntegerField(verbose_name=_("AIトークン数"))
    ai_cost_yen = models.PositiveIntegerField(verbose_name=_("AI費用（円）"))
    alerts_fired = models.PositiveIntegerField(verbose_name=_("発報アラート数"))
    created_at = models.DateTimeField(auto_now=True, verbose_name=_("作成日時"))

    class Meta:
        ordering = ["-date"]
        verbose_name = _("日次サマリー")
        verbose_name_plural = _("日次サマリー")

    def __str__(self):
        return f"{self.date} ¥{self.revenue_yen:,}"


class WeeklyReport(models.Model):
    """The analytics agent's short Japanese summary of one week, kept here and e-mailed to the managers."""

    week_start = models.DateField(unique=True, help_text=_("月曜日"), verbose_name=_("週の始まり"))
    week_end = models.DateField(verbose_name=_("週の終わり"))
    agent_name = models.CharField(max_length=80, blank=True, verbose_name=_("エージェント名"))
    figures = models.JSONField(default=dict, verbose_name=_("数値"))
    text = models.TextField(verbose_name=_("本文"))
    emailed_to = models.JSONField(default=list, blank=True, verbose_name=_("メール送信先"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))

    class Meta:
        ordering = ["-week_start"]
        constraints = [
            models.CheckConstraint(condition=Q(week_end__gte=models.F("week_start")), name="weekly_report_week_ordered")
        ]
        verbose_name = _("週次レポート")
        verbose_name_plural = _("週次レポート")

    def __str__(self):
        return f"{self.week_start}〜{self.week_end}"


class LinePush(models.Model):
    """One engagement message pushed (or being pushed) to one customer on LINE. Every one not known to have failed
    counts toward the weekly cap of its customer and the LINE plan's monthly quota, also after the customer's data is
    deleted (the row stays, without the customer)."""

    class Kind(models.TextChoices):
        NEW_PRODUCT = "new_product", _("新商品のお知らせ")
        FAVOURITE_RESTOCKED = "favourite_restocked", _("お気に入りの入荷")
        LOYALTY_COUPON = "loyalty_coupon", _("常連さん向けクーポン")
        WELCOME = "welcome", _("友だち追加のあいさつ")
        IDLE_NUDGE = "idle_nudge", _("しばらくぶりのお誘い")
        MANAGER_ALERT = "manager_alert", _("店長へのアラート通知")

    class Status(models.TextChoices):
        QUEUED = "queued", _("送信待ち")
        SENT = "sent", _("送信済み")
        FAILED = "failed", _("送信失敗")

    created_at = models.DateTimeField(db_index=True, verbose_name=_("作成日時"))
    customer = models.ForeignKey(
        "chats.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="line_pushes",
        verbose_name=_("顧客"),
    )
    kind = models.CharField(max_length=24, choices=Kind.choices, verbose_name=_("種類"))
    subject = models.CharField(
        max_length=64, blank=True, help_text=_("商品のSKU、あいさつの回など"), verbose_name=_("対象")
    )
    text = models.TextField(verbose_name=_("本文"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED, verbose_name=_("ステータス"))
    error = models.TextField(blank=True, verbose_name=_("エラー"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="line_push_has_text")]
        verbose_name = _("LINEプッシュ通知")
        verbose_name_plural = _("LINEプッシュ通知")

    def __str__(self):
        return f"{self.get_kind_display()} → {self.customer_id} ({self.get_status_display()})"
