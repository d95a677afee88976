from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.chats.export import customer_data_export, export_json
from apps.chats.models import Conversation, ConversationTag, Customer, LineEvent, Message, Rating
from apps.chats.services import customer_data_delete
from apps.core.admin_tools import ReadOnlyAdminMixin, service_errors_as_messages

# Deleting a customer's data (on their request) is a Manager's: it cannot be undone.
FORGET_CUSTOMER = "chats.delete_customer"


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
    exclude = ["line_user_id", "line_user_hash"]
    actions = ["export_data", "delete_data"]

    def has_forget_permission(self, request):
        return request.user.has_perm(FORGET_CUSTOMER)

    @admin.action(description=_("データをエクスポート（JSON）"), permissions=["view"])
    def export_data(self, request, queryset):
        """Staff answer a customer's request for their data: one JSON file of everything held about them."""
        if queryset.count() != 1:
            self.message_user(request, _("エクスポートするお客様を1人選んでください。"), level=messages.ERROR)
            return None
        customer = queryset.get()
        response = HttpResponse(
            export_json(customer_data_export(customer=customer, now=timezone.now())), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
        return response

    @admin.action(description=_("データを削除（お客様の依頼により）"), permissions=["forget"])
    def delete_data(self, request, queryset):
        """Staff carry out a customer's deletion request: the same service as LINE's 「データ削除」."""
        count = 0
        with service_errors_as_messages(request, self):
            for customer in queryset:
                customer_data_delete(customer=customer)
                count += 1
        self.message_user(request, _("%(count)d人のお客様のデータを削除しました。") % {"count": count})


@admin.register(LineEvent)
class LineEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["webhook_event_id", "event_type", "status", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "event_type"]
    exclude = ["payload", "reply"]  # LINE's event names the LINE user, which the admin never shows


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "subject", "score", "persona", "comment", "conversation"]
    list_filter = ["subject", "score", "persona"]
    search_fields = ["comment"]
