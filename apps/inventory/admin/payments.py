"""Phone payments in the admin: checkouts (read only; what the providers and the reconciler did) and staff partial
refunds of a sale (the sale admin's action)."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from apps.core.admin_tools import ReadOnlyAdminMixin, service_errors_as_messages
from apps.inventory.models import Checkout
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
