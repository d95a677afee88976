from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.chats.models import Conversation, ConversationTag, Customer, LineEvent, Message
from apps.core.admin_tools import ReadOnlyAdminMixin


class MessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Message
    fields = ["created_at", "sender", "text", "image", "tokens", "tool_name", "data"]
    readonly_fields = fields
    extra = 0


class TagInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ConversationTag
    fields = ["kind", "value"]
    readonly_fields = fields
    extra = 0


class TagFilter(admin.SimpleListFilter):
    """Filter by one tag (「intent:buy」「product:COLA」「sentiment:negative」), listing the tags in use."""

    title = _("タグ")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        tags = ConversationTag.objects.values_list("kind", "value").distinct().order_by("kind", "value")
        return [(f"{kind}:{value}", f"{kind}:{value}") for kind, value in tags]

    def queryset(self, request, queryset):
        if not self.value() or ":" not in self.value():
            return queryset
        kind, value = self.value().split(":", 1)
        return queryset.filter(tags__kind=kind, tags__value=value).distinct()


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "machine", "channel", "summary", "tag_list", "customer", "agent", "last_activity_at"]
    list_filter = [TagFilter, "channel", "machine", "agent"]
    # Text of any message, or a tag value: 「返金」 finds the conversations that mention refunds.
    search_fields = ["messages__text", "tags__value", "summary"]
    inlines = [TagInline, MessageInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("machine", "customer", "agent").prefetch_related("tags")

    def get_search_results(self, request, queryset, search_term):
        queryset, _duplicates = super().get_search_results(request, queryset, search_term)
        return queryset.distinct(), False

    @admin.display(description=_("タグ"))
    def tag_list(self, conversation):
        return ", ".join(str(tag) for tag in conversation.tags.all())


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # The LINE user id stays off the list and the search: staff find customers by name or key, not by LINE id.
    list_display = ["id", "display_name", "consent_given", "push_opt_out", "loyalty_score", "last_seen_at"]
    list_filter = ["consent_given", "push_opt_out"]
    search_fields = ["display_name"]
    exclude = ["line_user_id"]


@admin.register(LineEvent)
class LineEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["webhook_event_id", "event_type", "status", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "event_type"]
    exclude = ["payload", "reply"]  # LINE's event names the LINE user, which the admin never shows
