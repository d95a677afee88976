"""Shop admin. Every change goes through a service: add forms run theirs while validating (a refusal is shown on the
form), actions wrap theirs in `service_errors_as_messages`. Stock quantities are never edited by hand."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.core.admin_tools import ReadOnlyAdminMixin, service_errors_as_messages
from apps.inventory import allergens, services
from apps.inventory.admin.base import ServiceForm, ServiceFormAdmin, reason_step
from apps.inventory.admin.payments import partial_refund_step
from apps.inventory.models import (
    Coupon,
    Machine,
    Payment,
    PaymentRefund,
    PriceChange,
    Product,
    ProductRequest,
    RestockTask,
    Sale,
    SaleLine,
    Slot,
    StockMovement,
    StorageStock,
)
from apps.inventory.selectors import receipt_invoice_lines, sale_receipt


class StockMovementInline(admin.TabularInline):
    model = StockMovement
    fk_name = "slot"
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at"]
    fields = ["created_at", "kind", "quantity_delta", "actor", "actor_label", "reason", "sale"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "sale")


class ProductForm(ServiceForm):
    allergens = forms.MultipleChoiceField(
        choices=allergens.CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("アレルゲン"),
        help_text=_("特定原材料8品目（えび〜落花生）と準ずる20品目。表示ラベルのとおりに。"),
    )

    class Meta:
        model = Product
        fields = ["sku", "name_ja", "name_en", "description", "category", "image", "tax_rate", "price_yen", "active",
                  "allergens", "allergens_checked", "calories_kcal", "ingredients"]  # fmt: skip

    def run_service(self, data):
        if self.instance.pk:
            editable = {name: data[name] for name in services.catalogue.PRODUCT_EDITABLE_FIELDS if name in data}
            return services.product_update(product=self.instance, **editable)
        return services.product_create(**data)


@admin.register(Product)
class ProductAdmin(ServiceFormAdmin):
    form = ProductForm
    list_display = [
        "sku",
        "name_ja",
        "category",
        "price_yen",
        "tax_rate",
        "unit_cost_yen",
        "storage_quantity",
        "active",
    ]
    list_filter = ["category", "tax_rate", "active"]
    search_fields = ["sku", "name_ja", "name_en", "description"]
    list_select_related = ["storage"]

    def get_readonly_fields(self, request, obj=None):
        # The price changes through PriceChange (the price guard); the cost through receipts.
        return ["sku", "price_yen", "unit_cost_yen"] if obj else ["unit_cost_yen"]

    @admin.display(description=_("倉庫在庫"))
    def storage_quantity(self, product):
        storage = getattr(product, "storage", None)
        return storage.quantity if storage else 0


class SlotInline(admin.TabularInline):
    model = Slot
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["code", "product", "quantity", "capacity", "par_level"]
    readonly_fields = fields


class MachineForm(ServiceForm):
    class Meta:
        model = Machine
        fields = ["code", "name", "location", "status"]

    def run_service(self, data):
        # The code is read-only once the machine exists, so the form no longer carries it.
        return services.machine_configure(**{"code": self.instance.code, **data})


@admin.register(Machine)
class MachineAdmin(ServiceFormAdmin):
    form = MachineForm
    list_display = ["code", "name", "location", "status", "last_heartbeat_at"]
    list_filter = ["status"]
    search_fields = ["code", "name", "location"]
    inlines = [SlotInline]
    actions = ["plan_restock"]

    def get_readonly_fields(self, request, obj=None):
        return ["code", "last_heartbeat_at"] if obj else ["last_heartbeat_at"]

    @admin.action(description=_("補充計画を作成"), permissions=["change"])
    def plan_restock(self, request, queryset):
        for machine in queryset:
            with service_errors_as_messages(request, self):
                tasks = services.restock_plan(machine=machine)
                self.message_user(
                    request, _("{machine}: 補充タスク{count}件").format(machine=machine, count=len(tasks))
                )


class SlotForm(ServiceForm):
    class Meta:
        model = Slot
        fields = ["machine", "code", "product", "capacity", "par_level"]

    def run_service(self, data):
        # Machine and code are read-only once the slot exists, so the form no longer carries them.
        if self.instance.pk:
            data = {"machine": self.instance.machine, "code": self.instance.code, **data}
        return services.slot_configure(**data)


@admin.register(Slot)
class SlotAdmin(ServiceFormAdmin):
    form = SlotForm
    list_display = ["__str__", "product", "quantity", "capacity", "par_level"]
    list_filter = ["machine"]
    search_fields = ["code", "product__sku", "product__name_ja"]
    list_select_related = ["machine", "product"]
    inlines = [StockMovementInline]
    actions = ["fill_from_storage"]

    def get_readonly_fields(self, request, obj=None):
        return ["machine", "code", "quantity"] if obj else ["quantity"]

    @admin.action(description=_("倉庫から満杯まで補充"), permissions=["change"])
    def fill_from_storage(self, request, queryset):
        for slot in queryset.select_related("product__storage"):
            storage = getattr(slot.product, "storage", None) if slot.product else None
            quantity = min(slot.capacity - slot.quantity, storage.quantity if storage else 0)
            with service_errors_as_messages(request, self):
                services.stock_transfer_to_slot(slot=slot, quantity=quantity, actor=request.user)
                self.message_user(request, _("{slot}: {count}個補充しました。").format(slot=slot, count=quantity))


@admin.register(StorageStock)
class StorageStockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["product", "quantity"]
    search_fields = ["product__sku", "product__name_ja"]
    list_select_related = ["product"]


class StockAdjustmentForm(ServiceForm):
    """Adding a movement here is a stock adjustment or a waste write-off (sales and transfers have their own paths)."""

    is_waste = forms.BooleanField(label=_("廃棄"), required=False)

    class Meta:
        model = StockMovement
        fields = ["slot", "product", "quantity_delta", "is_waste", "reason"]
        help_texts = {"product": _("倉庫の在庫を調整するときだけ指定（スロットの場合は空欄）")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "product" in self.fields:  # not on the read-only view of a recorded movement
            self.fields["product"].required = False

    def run_service(self, data):
        return services.stock_adjust(
            slot=data["slot"],
            product=None if data["slot"] else data["product"],
            quantity_delta=data["quantity_delta"],
            is_waste=data["is_waste"],
            reason=data["reason"],
            actor=self.request.user,
        )


@admin.register(StockMovement)
class StockMovementAdmin(ServiceFormAdmin):
    form = StockAdjustmentForm
    list_display = ["created_at", "kind", "product", "location", "slot", "quantity_delta", "actor", "actor_label"]
    list_filter = ["kind", "location", "slot__machine"]
    search_fields = ["product__sku", "product__name_ja", "reason", "actor_label"]
    list_select_related = ["product", "slot__machine", "actor"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return request.user.has_perm("inventory.adjust_stock")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SaleLineInline(admin.TabularInline):
    model = SaleLine
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["slot", "product", "quantity", "unit_price_yen", "tax_rate", "discount_yen", "total_yen",
              "unit_cost_yen", "dispensed_quantity", "refunded_quantity"]  # fmt: skip
    readonly_fields = fields


class PaymentInline(admin.StackedInline):
    model = Payment
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["method", "amount_yen", "status", "refunded_yen", "gateway_reference", "created_at"]
    readonly_fields = fields


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "machine", "channel", "total_yen", "discount_yen", "status", "customer_key"]
    list_filter = ["status", "channel", "machine"]
    search_fields = ["id", "customer_key", "coupon__code", "lines__product__name_ja"]
    list_select_related = ["machine"]
    date_hierarchy = "created_at"
    inlines = [SaleLineInline, PaymentInline]
    actions = ["refund", "refund_part"]

    def get_queryset(self, request):
        # Staff see purchase attempts too (決済中, 不成立: declined or given up by the reconciler), not only sales.
        return Sale.attempts.all()

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Sale._meta.fields] + ["printable_receipt"]

    @admin.display(description=_("レシート"))
    def printable_receipt(self, sale: Sale):
        url = reverse("admin:inventory_sale_receipt", args=[sale.pk])
        return format_html('<a class="button" href="{}" target="_blank">{}</a>', url, _("適格簡易請求書を印刷"))

    def get_urls(self):
        receipt = self.admin_site.admin_view(self.receipt_view)
        return [path("<int:pk>/receipt/", receipt, name="inventory_sale_receipt"), *super().get_urls()]

    def receipt_view(self, request, pk: int):
        """The sale's receipt as a 適格簡易請求書, on a page made for the browser's print dialog."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        sale = get_object_or_404(Sale.attempts.select_related("machine", "coupon", "payment"), pk=pk)
        context = {"sale": sale, "lines": receipt_invoice_lines(sale_receipt(sale))}
        return TemplateResponse(request, "admin/inventory/sale/receipt.html", context)

    def has_refund_permission(self, request):
        return request.user.has_perm("inventory.refund_sale")

    @admin.action(description=_("返金する（理由を入力）"), permissions=["refund"])
    def refund(self, request, queryset):
        return reason_step(
            self,
            request,
            queryset,
            title=_("返金の理由"),
            apply=lambda sale, reason: services.sale_refund(sale=sale, reason=reason, actor=request.user),
        )

    @admin.action(description=_("一部返金する（商品と数量を選ぶ）"), permissions=["refund"])
    def refund_part(self, request, queryset):
        return partial_refund_step(self, request, queryset)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["sale", "method", "amount_yen", "status", "refunded_yen", "created_at"]
    list_filter = ["status", "method"]
    search_fields = ["sale__id", "gateway_reference"]


@admin.register(PaymentRefund)
class PaymentRefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Money owed back (jams, staff refunds, charges with no sale); an empty 送金日時 is waiting for the terminal."""

    list_display = ["idempotency_key", "payment", "amount_yen", "created_at", "sent_at"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["idempotency_key", "gateway_reference"]
    list_select_related = ["payment"]


class CouponForm(ServiceForm):
    valid_days = forms.IntegerField(label=_("有効日数"), min_value=1, required=False, initial=30)

    class Meta:
        model = Coupon
        fields = ["code", "kind", "value", "valid_days", "max_uses", "max_uses_per_customer", "note"]
        help_texts = {"code": _("空欄なら自動で発行（VB-XXXXXX）")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "code" in self.fields:  # not on the read-only view of an issued coupon
            self.fields["code"].required = False

    def run_service(self, data):
        return services.coupon_issue(actor=self.request.user, **data)


@admin.register(Coupon)
class CouponAdmin(ServiceFormAdmin):
    form = CouponForm
    list_display = ["code", "kind", "value", "valid_until", "max_uses", "max_uses_per_customer", "active",
                    "issued_by", "issued_by_label"]  # fmt: skip
    list_filter = ["kind", "active"]
    search_fields = ["code", "issued_by_label", "note"]
    actions = ["deactivate"]

    def has_change_permission(self, request, obj=None):
        # Issued coupons are not edited (customers already hold them); they can only be switched off.
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(description=_("無効にする"), permissions=["view"])
    def deactivate(self, request, queryset):
        for coupon in queryset:
            with service_errors_as_messages(request, self):
                services.coupon_deactivate(coupon=coupon, actor=request.user)


class PriceChangeForm(ServiceForm):
    override = forms.BooleanField(label=_("価格ガードを解除（マネージャー・理由必須）"), required=False)

    class Meta:
        model = PriceChange
        fields = ["product", "new_price_yen", "reason", "override"]

    def run_service(self, data):
        return services.price_change(actor=self.request.user, **data)


@admin.register(PriceChange)
class PriceChangeAdmin(ServiceFormAdmin):
    form = PriceChangeForm
    list_display = [
        "created_at",
        "product",
        "old_price_yen",
        "new_price_yen",
        "guard_overridden",
        "actor",
        "actor_label",
    ]
    list_filter = ["guard_overridden"]
    search_fields = ["product__sku", "product__name_ja", "reason"]
    list_select_related = ["product", "actor"]

    def has_add_permission(self, request):
        return request.user.has_perm("inventory.change_price")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RestockTask)
class RestockTaskAdmin(admin.ModelAdmin):
    list_display = ["slot", "product", "quantity", "priority", "status", "created_at", "done_by"]
    list_filter = ["status", "priority", "slot__machine"]
    search_fields = ["slot__code", "product__name_ja"]
    list_select_related = ["slot__machine", "product", "done_by"]
    actions = ["complete", "cancel"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in RestockTask._meta.fields]

    @admin.action(description=_("補充完了（倉庫からスロットへ移動）"), permissions=["change"])
    def complete(self, request, queryset):
        for task in queryset:
            with service_errors_as_messages(request, self):
                services.restock_task_complete(task=task, actor=request.user)

    @admin.action(description=_("取り消す"), permissions=["change"])
    def cancel(self, request, queryset):
        for task in queryset:
            with service_errors_as_messages(request, self):
                services.restock_task_cancel(task=task, actor=request.user)


@admin.register(ProductRequest)
class ProductRequestAdmin(admin.ModelAdmin):
    list_display = ["name", "times_requested", "customer_key", "channel", "product", "status", "updated_at"]
    list_filter = ["status", "channel"]
    search_fields = ["name", "description", "note"]
    actions = ["mark_planned", "mark_rejected", "mark_fulfilled"]

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in ProductRequest._meta.fields]

    def _set_status(self, request, queryset, status):
        for product_request in queryset:
            with service_errors_as_messages(request, self):
                services.product_request_set_status(product_request=product_request, status=status, actor=request.user)

    @admin.action(description=_("入荷予定にする"), permissions=["view"])
    def mark_planned(self, request, queryset):
        self._set_status(request, queryset, ProductRequest.Status.PLANNED)

    @admin.action(description=_("見送りにする"), permissions=["view"])
    def mark_rejected(self, request, queryset):
        self._set_status(request, queryset, ProductRequest.Status.REJECTED)

    @admin.action(description=_("入荷済みにする"), permissions=["view"])
    def mark_fulfilled(self, request, queryset):
        self._set_status(request, queryset, ProductRequest.Status.FULFILLED)
