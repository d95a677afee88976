"""The approval desk: suppliers, their offers and purchase orders. Pending orders come first; the change page shows
the agent's reasoning and offer comparison with approve / reject buttons and the receiving form. Every change is a
service call (`apps.inventory.services.procurement`)."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from apps.core.admin_tools import service_errors_as_messages
from apps.core.roles import is_manager
from apps.core.selectors import audit_entries_for
from apps.inventory import services
from apps.inventory.admin.base import ServiceForm, ServiceFormAdmin, reason_step
from apps.inventory.models import PurchaseOrder, PurchaseOrderLine, StockLot, Supplier, SupplierOffer
from apps.inventory.selectors import procurement_candidates, purchase_orders_pending_count
from apps.inventory.services.procurement import OFFER_FIELDS, SUPPLIER_FIELDS, purchase_order_needs_manager

PENDING = PurchaseOrder.Status.PENDING_HUMAN_APPROVAL


class SupplierForm(ServiceForm):
    class Meta:
        model = Supplier
        fields = list(SUPPLIER_FIELDS)

    def run_service(self, data):
        return services.supplier_save(supplier=self.instance if self.instance.pk else None, **data)


@admin.register(Supplier)
class SupplierAdmin(ServiceFormAdmin):
    form = SupplierForm
    list_display = ["name", "contact_email", "lead_time_days", "minimum_order_yen", "reliability_score", "active"]
    list_filter = ["active"]
    search_fields = ["name", "contact_email"]

    def has_delete_permission(self, request, obj=None):
        return False


class SupplierOfferForm(ServiceForm):
    class Meta:
        model = SupplierOffer
        fields = list(OFFER_FIELDS)

    def run_service(self, data):
        return services.supplier_offer_save(offer=self.instance if self.instance.pk else None, **data)


@admin.register(SupplierOffer)
class SupplierOfferAdmin(ServiceFormAdmin):
    form = SupplierOfferForm
    list_display = ["supplier", "product", "new_product_description", "unit_cost_yen", "pack_size", "valid_until",
                    "source"]  # fmt: skip
    list_filter = ["supplier"]
    search_fields = ["supplier__name", "product__sku", "product__name_ja", "new_product_description"]
    list_select_related = ["supplier", "product"]
    autocomplete_fields = ["product"]

    def has_delete_permission(self, request, obj=None):
        return False


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["product", "quantity", "unit_cost_yen", "line_total", "received_quantity"]
    readonly_fields = fields

    @admin.display(description=_("金額（税抜）"))
    def line_total(self, line):
        return f"¥{line.total_yen:,}"


class ReceiveForm(forms.Form):
    """One delivered-quantity field per line still waiting for goods."""

    note = forms.CharField(label=_("メモ（納品書番号など）"), required=False)

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = [line for line in lines if line.outstanding_quantity]
        for line in self.lines:
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=f"{line.product} （{line.received_quantity}/{line.quantity}）",
                min_value=0,
                max_value=line.outstanding_quantity,
                initial=line.outstanding_quantity,
            )
            self.fields[f"expires_{line.pk}"] = forms.DateField(
                label=_("期限"), required=False, widget=forms.DateInput(attrs={"type": "date"})
            )
            self.fields[f"kind_{line.pk}"] = forms.ChoiceField(
                label=_("期限の種類"),
                choices=StockLot.DateKind.choices,
                initial=StockLot.DateKind.BEST_BEFORE,
                required=False,
            )

    def delivered(self) -> dict[int, int]:
        return {line.pk: self.cleaned_data[f"line_{line.pk}"] for line in self.lines}

    def dates(self) -> dict[int, tuple]:
        """{line id: (date, kind)} for the lines given a date on the label."""
        return {
            line.pk: (
                self.cleaned_data[f"expires_{line.pk}"],
                self.cleaned_data[f"kind_{line.pk}"] or StockLot.DateKind.BEST_BEFORE,
            )
            for line in self.lines
            if self.cleaned_data.get(f"expires_{line.pk}")
        }


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    change_form_template = "admin/inventory/purchaseorder/change_form.html"
    change_list_template = "admin/inventory/purchaseorder/change_list.html"
    list_display = ["__str__", "status", "total_yen", "over_budget", "created_at", "created_by_display", "approved_by"]
    list_filter = ["status", "over_budget", "supplier"]
    search_fields = ["id", "supplier__name", "lines__product__sku", "lines__product__name_ja"]
    list_select_related = ["supplier", "created_by", "approved_by"]
    inlines = [PurchaseOrderLineInline]
    actions = ["approve", "reject", "cancel", "pay_supplier"]

    def get_ordering(self, request):
        pending_first = Case(When(status=PENDING, then=Value(0)), default=Value(1), output_field=IntegerField())
        return [pending_first.asc(), "-created_at", "-id"]

    def get_fields(self, request, obj=None):
        # The comparison is shown as a table above the form.
        return [field.name for field in PurchaseOrder._meta.fields if field.name not in ("id", "offer_comparison")]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Orders change only through the desk's actions and the receiving form, never by editing fields.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_permission(self, request):
        return request.user.has_perm("inventory.approve_purchaseorder")

    def has_pay_permission(self, request):
        return is_manager(request.user)

    @admin.display(description=_("作成者"))
    def created_by_display(self, order):
        return order.created_by or order.created_by_label

    @admin.action(description=_("承認して仕入先に発注する"), permissions=["approve"])
    def approve(self, request, queryset):
        for order in queryset:
            with service_errors_as_messages(request, self):
                services.purchase_order_approve(order=order, actor=request.user)
                self.message_user(
                    request, _("{order} を承認し、{email} に発注しました。").format(
                        order=order, email=order.supplier.contact_email
                    ), messages.SUCCESS
                )  # fmt: skip

    @admin.action(description=_("却下する（理由を入力）"), permissions=["approve"])
    def reject(self, request, queryset):
        return reason_step(
            self,
            request,
            queryset,
            title=_("発注を却下する理由"),
            apply=lambda order, reason: services.purchase_order_reject(order=order, actor=request.user, reason=reason),
        )

    @admin.action(description=_("取り消す（理由を入力）"), permissions=["approve"])
    def cancel(self, request, queryset):
        return reason_step(
            self,
            request,
            queryset,
            title=_("発注を取り消す理由"),
            apply=lambda order, reason: services.purchase_order_cancel(order=order, actor=request.user, reason=reason),
        )

    @admin.action(description=_("入荷分を仕入先に支払う（普通預金）"), permissions=["pay"])
    def pay_supplier(self, request, queryset):
        for order in queryset:
            with service_errors_as_messages(request, self):
                order = services.purchase_order_pay_supplier(order=order, actor=request.user)
                self.message_user(request, _("{order}: 支払済み ¥{paid:,}").format(order=order, paid=order.paid_yen))

    def changelist_view(self, request, extra_context=None):
        pending = purchase_orders_pending_count()
        title = _("発注 — 承認待ち {count}件").format(count=pending) if pending else _("発注")
        context = {"title": title, "pending_count": pending, "candidates": procurement_candidates()}
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        context = {}
        if order is not None:
            context = {
                "order": order,
                "is_pending": order.status == PENDING,
                "can_approve": self.has_approve_permission(request),
                "can_receive": order.status in (PurchaseOrder.Status.ORDERED, PurchaseOrder.Status.PARTIALLY_RECEIVED)
                and request.user.has_perm("inventory.receive_purchaseorder"),
                "needs_manager": purchase_order_needs_manager(order) if order.status == PENDING else "",
                "history": audit_entries_for(target=order),
            }
        return super().change_view(request, object_id, form_url, {**context, **(extra_context or {})})

    def get_urls(self):
        receive = self.admin_site.admin_view(self.receive_view)
        return [path("<path:object_id>/receive/", receive, name="inventory_purchaseorder_receive"), *super().get_urls()]

    def receive_view(self, request, object_id):
        order = get_object_or_404(PurchaseOrder.objects.select_related("supplier"), pk=object_id)
        if not request.user.has_perm("inventory.receive_purchaseorder"):
            self.message_user(request, _("入荷を記録する権限がありません。"), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:inventory_purchaseorder_change", args=[order.pk]))
        lines = list(order.lines.select_related("product"))
        form = ReceiveForm(request.POST or None, lines=lines)
        if request.method == "POST" and form.is_valid():
            with service_errors_as_messages(request, self):
                services.purchase_order_receive(
                    order=order,
                    delivered=form.delivered(),
                    dates=form.dates(),
                    actor=request.user,
                    note=form.cleaned_data["note"],
                )
                self.message_user(request, _("{order} の入荷を記録しました。").format(order=order), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:inventory_purchaseorder_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("{order} の入荷").format(order=order),
            "order": order,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/inventory/purchaseorder/receive_form.html", context)
