"""Phone payments in the admin: checkouts (read only; what the providers and the reconciler did), staff partial
refunds of a sale (the sale admin's action), provider payouts (PayPay's settlement file imported here) and the daily
reconciliation reports."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from apps.core.admin_tools import ReadOnlyAdminMixin, service_errors_as_messages
from apps.inventory.admin.base import ServiceForm, ServiceFormAdmin
from apps.inventory.models import Checkout, ProviderPayout, ProviderTransaction, ReconciliationReport
from apps.inventory.services.payouts import paypay_settlement_import
from apps.inventory.services.refunds import sale_refund_partial


@admin.register(Checkout)
class CheckoutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every PayPay / card checkout and its state; the pickup code itself is not shown (it is the buyer's)."""

    list_display = ["id", "created_at", "provider", "state", "sale", "fee_yen", "paid_at", "dispensed_at"]
    list_filter = ["state", "provider"]
    search_fields = ["merchant_payment_id", "provider_payment_id", "provider_session_id", "sale__id"]
    list_select_related = ["sale"]
    date_hierarchy = "created_at"
    exclude = ["pickup_code"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Checkout._meta.fields if field.name != "pickup_code"]


def partial_refund_step(modeladmin, request, queryset):
    """The admin action's page: one sale's lines with how many of each to refund, a reason, and whether the returned
    goods go back to the back room; applying it calls `sale_refund_partial`."""
    if queryset.count() != 1:
        modeladmin.message_user(request, _("一部返金は1件ずつ選んでください。"), messages.WARNING)
        return None
    sale = queryset.select_related("payment").get()
    lines = list(sale.lines.select_related("product").order_by("pk"))
    if "apply" in request.POST:
        quantities = {line.pk: _int(request.POST.get(f"qty-{line.pk}")) for line in lines}
        refunded_before = sale.refunded_yen
        with service_errors_as_messages(request, modeladmin):
            sale = sale_refund_partial(
                sale=sale,
                quantities=quantities,
                reason=request.POST.get("reason", ""),
                return_to_storage=request.POST.get("return_to_storage") == "1",
                actor=request.user,
            )
            modeladmin.message_user(
                request,
                _("{yen}円を返金しました。").format(yen=f"{sale.refunded_yen - refunded_before:,}"),
                messages.SUCCESS,
            )
        return None
    for line in lines:
        line.left = line.quantity - line.refunded_quantity
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("一部返金"),
        "sale": sale,
        "lines": lines,
        "action": request.POST["action"],
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/inventory/sale/partial_refund.html", context)


def _int(value) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return -1  # refused by the service with a clear message


class PayPaySettlementForm(ServiceForm):
    """A PayPay deposit imported by staff: its transaction file and the figures of its breakdown."""

    file = forms.FileField(
        label=_("対象取引のファイル（CSV）"), help_text=_("PayPay for Business の入金詳細からダウンロード")
    )

    class Meta:
        model = ProviderPayout
        fields = ["payout_id", "paid_on", "net_yen", "fee_yen"]
        help_texts = {"payout_id": _("空欄なら入金日から作ります（PAYPAY-年月日）")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "payout_id" in self.fields:
            self.fields["payout_id"].required = False

    def run_service(self, data):
        return paypay_settlement_import(
            content=data["file"].read(),
            payout_id=data.get("payout_id") or "",
            paid_on=data["paid_on"],
            net_yen=data["net_yen"],
            fee_yen=data["fee_yen"],
            actor=self.request.user,
        )


class ProviderTransactionInline(admin.TabularInline):
    model = ProviderTransaction
    fields = ["kind", "reference", "payment_reference", "merchant_payment_id", "amount_yen", "fee_yen", "occurred_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ProviderPayout)
class ProviderPayoutAdmin(ServiceFormAdmin):
    """Payouts from Stripe (recorded by its webhook) and PayPay (imported here from its settlement file); booked."""

    form = PayPaySettlementForm
    list_display = ["paid_on", "provider", "payout_id", "gross_yen", "refunds_yen", "fee_yen", "net_yen"]
    list_filter = ["provider"]
    search_fields = ["payout_id", "transactions__payment_reference", "transactions__merchant_payment_id"]
    date_hierarchy = "paid_on"
    inlines = [ProviderTransactionInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [f.name for f in ProviderPayout._meta.fields]


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The daily phone-payment reconciliation: every mismatch between the providers, the sales and the books."""

    list_display = ["day", "mismatch_count", "created_at"]
    fields = ["day", "mismatch_count", "mismatch_list", "figures", "created_at"]
    readonly_fields = fields
    date_hierarchy = "day"

    @admin.display(description=_("不一致の一覧"))
    def mismatch_list(self, obj):
        if not obj.mismatches:
            return _("不一致はありません。")
        return format_html_join(
            "\n", "<p>{} {} {}</p>", ((m["provider"], m["reference"], m["message"]) for m in obj.mismatches)
        )
