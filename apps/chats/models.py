"""Conversations between customers and the shop assistant. The Customer chats issue adds customers and LINE."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.agents.models import Agent, Persona
from apps.inventory.models import Machine


class ConversationChannel(models.TextChoices):
    TABLET = "tablet", _("タブレット")
    LINE = "line", _("LINE")


class MessageSender(models.TextChoices):
    CUSTOMER = "customer", _("お客様")
    ASSISTANT = "assistant", _("アシスタント")
    TOOL = "tool", _("ツール")
    SYSTEM = "system", _("システム")


class Conversation(models.Model):
    Channel = ConversationChannel

    channel = models.CharField(max_length=8, choices=ConversationChannel.choices, default=ConversationChannel.TABLET)
    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="conversations")
    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.PROTECT, related_name="conversations")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="conversations")
    customer_key = models.CharField(max_length=100, blank=True, db_index=True)
    started_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=ConversationChannel.values), name="conversation_channel_valid"
            )
        ]

    def __str__(self):
        return f"#{self.pk} {self.machine.code} {self.get_channel_display()}"


class Message(models.Model):
    Sender = MessageSender

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(max_length=10, choices=MessageSender.choices)
    text = models.TextField(blank=True)
    tool_name = models.CharField(max_length=80, blank=True)
    data = models.JSONField(default=dict, blank=True, help_text=_("ツールの引数と結果、返信に付けたアクション。"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(sender__in=MessageSender.values), name="message_sender_valid"),
            models.CheckConstraint(condition=~Q(sender="tool") | ~Q(tool_name=""), name="message_tool_has_name"),
        ]

    def __str__(self):
        return f"{self.get_sender_display()}: {self.text[:40]}"
