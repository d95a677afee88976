"""Machine fees: Staff see them, Managers record and change them; the charges the daily job posts, with their reversal."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.core.admin_tools import ReadOnlyAdminMixin
from apps.inventory import services
from apps.inventory.admin.base import ServiceForm, ServiceFormAdmin, reason_step
from apps.inventory.models import MachineFee, MachineFeeCharge
from apps.inventory.services.fees import FEE_FIELDS, FEE_FIXED_FIELDS


class MachineFeeChargeInline(admin.TabularInline):
    model = MachineFeeCharge
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-month"]
    fields = ["month", "amount_yen", "journal_entry", "reversal_entry", "created_at"]
    readonly_fields = fields


class MachineFeeForm(ServiceForm):
    class Meta:
        model = MachineFee
        fields = list(FEE_FIELDS)

    def run_service(self, data):
        fee = self.instance if self.instance.pk else None
        return services.machine_fee_save(fee=fee, actor=self.request.user, **data)


@admin.register(MachineFee)
class MachineFeeAdmin(ServiceFormAdmin):
    """Staff see the fees; Managers (add/change permission) record and change them. The charges are posted by the
    daily job and listed on the fee's page."""

    form = MachineFeeForm
    list_display = ["machine", "kind", "payee", "amount_yen", "tax_rate", "paid_from", "due_day", "active_from",
                    "active_until"]  # fmt: skip
    list_filter = ["kind", "paid_from", "machine"]
    search_fields = ["machine__code", "payee", "note"]
    list_select_related = ["machine"]
    inlines = [MachineFeeChargeInline]

    def get_readonly_fields(self, request, obj=None):
        return list(FEE_FIXED_FIELDS) if obj else []

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MachineFeeCharge)
class MachineFeeChargeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["month", "fee", "amount_yen", "journal_entry", "reversal_entry", "created_at"]
    list_filter = ["fee__kind", "fee__machine"]
    search_fields = ["fee__machine__code", "fee__payee"]
    list_select_related = ["fee__machine", "journal_entry", "reversal_entry"]
    date_hierarchy = "month"
    actions = ["reverse"]

    def has_reverse_permission(self, request):
        return request.user.has_perm("inventory.change_machinefee")

    @admin.action(description=_("計上を取り消す（理由を入力）"), permissions=["reverse"])
    def reverse(self, request, queryset):
        return reason_step(
            self,
            request,
            queryset,
            title=_("計上を取り消す理由（次回の計上でその月を現在の金額で計上し直します）"),
            apply=lambda charge, reason: services.machine_fee_charge_reverse(
                charge=charge, actor=request.user, reason=reason
            ),
        )
