"""Phone payments in the admin: checkouts (read only; what the providers and the reconciler did)."""

from django.contrib import admin

from apps.core.admin_tools import ReadOnlyAdminMixin
from apps.inventory.models import Checkout


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
