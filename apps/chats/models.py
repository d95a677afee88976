"""Customers and their conversations with the shop assistant, on the machine's tablet or on LINE.

A customer is referred to in the shop's tables (sales, coupon redemptions, product requests) by the opaque key
`cust:<Customer.pk>` (`Customer.key`), never by the LINE user id, so deleting a customer's data leaves no LINE id
behind in the shop's books."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.agents.models import Agent, Persona
from apps.inventory.models import Machine

CUSTOMER_KEY_PREFIX = "cust:"


class Customer(models.Model):
    """A LINE customer (or a tablet customer who identified). Before consent only a keyed hash of the LINE user id
    (`line_user_hash`) is stored — the id and the display name are kept once the customer consents, and dropped when
    they withdraw it."""

    line_user_hash = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False, verbose_name=_("LINEユーザーIDのハッシュ")
    )
    line_user_id = models.CharField(max_length=64, null=True, blank=True, unique=True, verbose_name=_("LINEユーザーID"))
    display_name = models.CharField(max_length=100, blank=True, verbose_name=_("表示名"))
    language = models.CharField(max_length=8, default="ja", verbose_name=_("言語"))
    consent_given = models.BooleanField(default=False, help_text=_("会話の保存に同意済み"), verbose_name=_("同意済み"))
    consent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("同意日時"))
    push_opt_out = models.BooleanField(
        default=False, help_text=_("ブロック中などでプッシュ通知を送らない"), verbose_name=_("プッシュ通知を拒否")
    )
    loyalty_score = models.PositiveIntegerField(default=0, verbose_name=_("ロイヤルティスコア"))
    preferences = models.JSONField(default=dict, blank=True, verbose_name=_("好み"))
    first_seen_at = models.DateTimeField(auto_now_add=True, verbose_name=_("初回検知日時"))
    last_seen_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("最終訪問日時"))

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(consent_given=False) | Q(consent_at__isnull=False), name="consent_dated")
        ]
        verbose_name = _("顧客")
        verbose_name_plural = _("顧客")

    def __str__(self):
        return self.display_name or f"{CUSTOMER_KEY_PREFIX}{self.pk}"

    @property
    def key(self) -> str:
        """What the shop's tables store for this customer (sales, coupon uses, product requests)."""
        return f"{CUSTOMER_KEY_PREFIX}{self.pk}"


class ConversationChannel(models.TextChoices):
    TABLET = "tablet", _("タブレット")
    LINE = "line", _("LINE")


class MessageSender(models.TextChoices):
    CUSTOMER = "customer", _("お客様")
    ASSISTANT = "assistant", _("アシスタント")
    TOOL = "tool", _("ツール")
    SYSTEM = "system", _("システム")


class Conversation(models.Model):
    """A conversation is named to clients (API answers, socket messages, the tablet page) by `public_id` only, a
    random UUID nobody can guess from another; the integer pk stays internal (admin, decision log, agents)."""

    Channel = ConversationChannel

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, verbose_name=_("公開ID"))
    channel = models.CharField(
        max_length=8,
        choices=ConversationChannel.choices,
        default=ConversationChannel.TABLET,
        verbose_name=_("チャネル"),
    )
    machine = models.ForeignKey(
        Machine, on_delete=models.PROTECT, related_name="conversations", verbose_name=_("自販機")
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="conversations", verbose_name=_("顧客")
    )
    persona = models.ForeignKey(
        Persona,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conversations",
        verbose_name=_("ペルソナ"),
    )
    agent = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="conversations",
        verbose_name=_("エージェント"),
    )
    experiment_variant = models.CharField(max_length=50, blank=True, verbose_name=_("実験バリアント"))
    customer_key = models.CharField(max_length=100, blank=True, db_index=True, verbose_name=_("顧客キー"))
    summary = models.TextField(blank=True, verbose_name=_("要約"))
    started_at = models.DateTimeField(auto_now_add=True, verbose_name=_("開始日時"))
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("最終活動日時"))

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=ConversationChannel.values), name="conversation_channel_valid"
            )
        ]
        verbose_name = _("会話")
        verbose_name_plural = _("会話")

    def __str__(self):
        return f"#{self.pk} {self.machine.code} {self.get_channel_display()}"


class Message(models.Model):
    Sender = MessageSender

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", verbose_name=_("会話")
    )
    sender = models.CharField(max_length=10, choices=MessageSender.choices, verbose_name=_("送信者"))
    text = models.TextField(blank=True, verbose_name=_("本文"))
    image = models.ImageField(upload_to="chats/images/%Y/%m/", blank=True, verbose_name=_("画像"))
    tokens = models.PositiveIntegerField(
        default=0, help_text=_("この返信に使ったトークン数"), verbose_name=_("トークン数")
    )
    tool_name = models.CharField(max_length=80, blank=True, verbose_name=_("ツール名"))
    data = models.JSONField(
        default=dict, blank=True, help_text=_("ツールの引数と結果、返信に付けたアクション。"), verbose_name=_("データ")
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("作成日時"))

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(sender__in=MessageSender.values), name="message_sender_valid"),
            models.CheckConstraint(condition=~Q(sender="tool") | ~Q(tool_name=""), name="message_tool_has_name"),
        ]
        verbose_name = _("メッセージ")
        verbose_name_plural = _("メッセージ")

    def __str__(self):
        return f"{self.get_sender_display()}: {self.text[:40]}"


class ConversationTag(models.Model):
    """What a conversation was about, for search in the admin: intents, products mentioned, the customer's mood."""

    class Kind(models.TextChoices):
        INTENT = "intent", _("意図")
        PRODUCT = "product", _("商品")
        SENTIMENT = "sentiment", _("感情")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="tags", verbose_name=_("会話")
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=_("種類"))
    value = models.CharField(max_length=100, db_index=True, verbose_name=_("値"))

    class Meta:
        ordering = ["kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "kind", "value"], name="conversation_tag_unique"),
            models.CheckConstraint(condition=Q(kind__in=["intent", "product", "sentiment"]), name="tag_kind_valid"),
        ]
        verbose_name = _("会話タグ")
        verbose_name_plural = _("会話タグ")

    def __str__(self):
        return f"{self.get_kind_display()}:{self.value}"


class LineEvent(models.Model):
    """One LINE webhook event by its `webhookEventId`, written by the webhook before it answers LINE, so nothing LINE
    delivered is lost whatever fails after. Processing is a step machine, each step idempotent, so a retry or a
    redelivery continues where the last attempt stopped:

        received → processing (leased until `locked_until`) → stored (the customer and their words saved, and the
        answer when it needs no model) → answered (the reply or push sent) → done;  failed after MAX attempts.

    `payload` is LINE's event JSON (it holds the LINE user id: it is emptied once the event is done); `reply` the
    LINE messages to send, computed once. No user id is kept elsewhere here."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("受信")
        PROCESSING = "processing", _("処理中")
        STORED = "stored", _("保存済み")
        ANSWERED = "answered", _("返信済み")
        DONE = "done", _("完了")
        FAILED = "failed", _("失敗")

    webhook_event_id = models.CharField(max_length=64, unique=True, verbose_name=_("WebhookイベントID"))
    event_type = models.CharField(max_length=32, verbose_name=_("イベント種別"))
    payload = models.JSONField(default=dict, blank=True, verbose_name=_("ペイロード"))
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("顧客")
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("メッセージ")
    )
    reply = models.JSONField(null=True, blank=True, verbose_name=_("返答"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RECEIVED, verbose_name=_("ステータス")
    )
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("ロック期限"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("試行回数"))
    error = models.TextField(blank=True, verbose_name=_("エラー"))
    received_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("受信日時"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("処理日時"))

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["received", "processing", "stored", "answered", "done", "failed"]),
                name="line_event_status",
            )
        ]
        indexes = [
            models.Index(
                fields=["status", "locked_until"],
                name="line_event_open",
                condition=~Q(status__in=["done", "failed"]),
            )
        ]
        verbose_name = _("LINEイベント")
        verbose_name_plural = _("LINEイベント")

    def __str__(self):
        return f"{self.event_type} {self.webhook_event_id}"


class Rating(models.Model):
    """A customer's rating of an assistant answer or of a purchase (tablet buttons, LINE quick reply), with an
    optional comment; it names the agent turn and the persona that answered, for the dashboard and A/B tests."""

    class Subject(models.TextChoices):
        ANSWER = "answer", _("回答")
        PURCHASE = "purchase", _("購入")

    GOOD, BAD = 1, -1

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("作成日時"))
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="ratings", verbose_name=_("会話")
    )
    subject = models.CharField(max_length=10, choices=Subject.choices, verbose_name=_("対象"))
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="ratings", verbose_name=_("メッセージ")
    )
    sale_id = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("販売ID"))
    turn = models.ForeignKey(
        "agents.AgentTurn",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ratings",
        verbose_name=_("ターン"),
    )
    persona = models.ForeignKey(
        Persona, null=True, blank=True, on_delete=models.SET_NULL, related_name="ratings", verbose_name=_("ペルソナ")
    )
    score = models.SmallIntegerField(choices=[(GOOD, _("よかった")), (BAD, _("いまいち"))], verbose_name=_("評価"))
    comment = models.TextField(blank=True, verbose_name=_("コメント"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__in=[1, -1]), name="rating_score_good_or_bad"),
            models.CheckConstraint(condition=Q(subject__in=["answer", "purchase"]), name="rating_subject_valid"),
            models.UniqueConstraint(
                fields=["message"], condition=Q(message__isnull=False), name="rating_once_per_answer"
            ),
            models.UniqueConstraint(
                fields=["conversation", "sale_id"], condition=Q(sale_id__isnull=False), name="rating_once_per_sale"
            ),
        ]
        verbose_name = _("評価")
        verbose_name_plural = _("評価")

    def __str__(self):
        return f"{self.get_subject_display()} {'+' if self.score > 0 else '-'}"


class MemberCode(models.Model):
    """A short-lived number a LINE customer (who consented) gets on LINE and types on a machine's tablet, so that one
    tablet conversation knows who is there: their recommendations, their purchases under their key. Only its keyed
    hash is kept, and only until it is used or replaced."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="member_codes", verbose_name=_("顧客")
    )
    code_hash = models.CharField(max_length=64, unique=True, verbose_name=_("コードのハッシュ"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("作成日時"))
    expires_at = models.DateTimeField(db_index=True, verbose_name=_("有効期限"))

    class Meta:
        verbose_name = _("会員コード")
        verbose_name_plural = _("会員コード")

    def __str__(self):
        return f"{self.customer} ({self.expires_at:%Y-%m-%d %H:%M})"
