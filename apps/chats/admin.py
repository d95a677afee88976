from django.contrib import admin

from apps.chats.models import Conversation, Message
from apps.core.admin_tools import ReadOnlyAdminMixin


class MessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Message
    fields = ["created_at", "sender", "text", "tool_name", "data"]
    readonly_fields = fields
    extra = 0


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "machine", "channel", "agent", "started_at", "last_activity_at"]
    list_filter = ["channel", "machine", "agent"]
    inlines = [MessageInline]
