"""Fresh food and counting: lots with their dates (expiring today or tomorrow first, with a markdown proposal) and
stocktakes (棚卸) — started from the add form, counted on a page made for a phone, approved by a Manager."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.admin_tools import ReadOnlyAdminMixin, service_errors_as_messages
from apps.inventory.admin.base import ServiceForm, ServiceFormAdmin, reason_step
from apps.inventory.models import StockLot, Stocktake, StocktakeLine
from apps.inventory.selectors import lots_expiring, stocktake_lines
from apps.inventory.services.expiry import markdown_apply, markdown_propose
from apps.inventory.services.stocktake import stocktake_approve, stocktake_cancel, stocktake_count, stocktake_start


class ExpiryFilter(admin.SimpleListFilter):
    title = _("期限")
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        return [("soon", _("今日・明日まで")), ("expired", _("期限切れ（未廃棄）")), ("in_stock", _("在庫あり"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "soon":
            return queryset.filter(
                quantity__gt=0, expires_on__gte=today, expires_on__lte=today + datetime.timedelta(days=1)
            )
        if self.value() == "expired":
            return queryset.filter(quantity__gt=0, expires_on__lt=today)
        if self.value() == "in_stock":
            return queryset.filter(quantity__gt=0)
        return queryset


@admin.register(StockLot)
class StockLotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["expires_on", "date_kind", "product", "place", "quantity", "supplier", "markdown"]
    list_filter = [ExpiryFilter, "date_kind", "slot__machine"]
    search_fields = ["product__sku", "product__name_ja"]
    list_select_related = ["product", "slot__machine", "supplier"]
    actions = ["apply_markdown"]

    @admin.display(description=_("場所"))
    def place(self, lot):
        return lot.slot or _("倉庫")

    @admin.display(description=_("見切り案"))
    def markdown(self, lot):
        proposal = markdown_propose(lot=lot)
        if proposal is None:
            return ""
        return _("¥{old} → ¥{new}（{percent}%引き）").format(
            old=proposal.price_yen, new=proposal.proposed_price_yen, percent=proposal.percent
        )

    def changelist_view(self, request, extra_context=None):
        soon = len(lots_expiring())
        title = _("ロット — 期限間近 {count}件").format(count=soon) if soon else _("ロット")
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    def has_markdown_permission(self, request):
        return request.user.has_perm("inventory.change_price")

    @admin.action(description=_("見切り案の価格にする"), permissions=["markdown"])
    def apply_markdown(self, request, queryset):
        for lot in queryset.select_related("product"):
            proposal = markdown_propose(lot=lot)
            if proposal is None:
                self.message_user(request, _("{lot}: 見切り案はありません。").format(lot=lot), messages.WARNING)
                continue
            with service_errors_as_messages(request, self):
                markdown_apply(lot=lot, new_price_yen=proposal.proposed_price_yen, actor=request.user)
                self.message_user(
                    request,
                    _("{product}を¥{price}にしました。").format(
                        product=lot.product.name_ja, price=proposal.proposed_price_yen
                    ),
                    messages.SUCCESS,
                )


class StocktakeStartForm(ServiceForm):
    class Meta:
        model = Stocktake
        fields = ["machine", "note"]

    def run_service(self, data):
        return stocktake_start(machine=data["machine"], note=data["note"], actor=self.request.user)


class StocktakeLineInline(admin.TabularInline):
    model = StocktakeLine
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["slot", "product", "book_at_start", "counted_quantity", "book_at_count", "difference", "reason",
              "difference_cost_yen", "counted_at"]  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("差異"))
    def difference(self, line):
        return line.difference


class CountForm(forms.Form):
    """One number (and a reason) per place; the keyboard a phone shows is the number pad."""

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"count_{line.pk}"] = forms.IntegerField(
                min_value=0,
                required=False,
                label=str(line.slot.code if line.slot_id else line.product.sku),
                initial=line.counted_quantity,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "count-input"}),
            )
            self.fields[f"reason_{line.pk}"] = forms.CharField(
                required=False, max_length=200, label=_("差異の理由"), initial=line.reason
            )

    def entered(self):
        """[(line, counted, reason)] for the places given a number in this submission that changed."""
        changed = []
        for line in self.lines:
            counted = self.cleaned_data.get(f"count_{line.pk}")
            reason = self.cleaned_data.get(f"reason_{line.pk}", "")
            if counted is not None and (counted, reason) != (line.counted_quantity, line.reason):
                changed.append((line, counted, reason))
        return changed


@admin.register(Stocktake)
class StocktakeAdmin(ServiceFormAdmin):
    form = StocktakeStartForm
    list_display = ["started_at", "__str__", "status", "started_by", "approved_by", "approved_at"]
    list_filter = ["status", "machine"]
    list_select_related = ["machine", "started_by", "approved_by"]
    inlines = [StocktakeLineInline]
    actions = ["approve", "cancel"]
    change_form_template = "admin/inventory/stocktake/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return ["machine", "note", "status", "started_by", "approved_by", "approved_at"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False

    def get_inlines(self, request, obj):
        # The add form only starts the count; its lines exist once the service has made them.
        return self.inlines if obj else []

    def has_approve_permission(self, request):
        return request.user.has_perm("inventory.approve_stocktake")

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(reverse("admin:inventory_stocktake_count", args=[obj.pk]))

    @admin.action(description=_("承認して差異を計上する"), permissions=["approve"])
    def approve(self, request, queryset):
        for stocktake in queryset:
            with service_errors_as_messages(request, self):
                stocktake_approve(stocktake=stocktake, actor=request.user)
                self.message_user(
                    request, _("{stocktake}を承認しました。").format(stocktake=stocktake), messages.SUCCESS
                )

    @admin.action(description=_("取り消す…"), permissions=["change"])
    def cancel(self, request, queryset):
        return reason_step(
            self,
            request,
            queryset,
            title=_("棚卸の取消"),
            apply=lambda stocktake, reason: stocktake_cancel(stocktake=stocktake, actor=request.user, reason=reason),
        )

    def get_urls(self):
        count = self.admin_site.admin_view(self.count_view)
        return [path("<path:object_id>/count/", count, name="inventory_stocktake_count"), *super().get_urls()]

    def count_view(self, request, object_id):
        stocktake = get_object_or_404(Stocktake.objects.select_related("machine"), pk=object_id)
        lines = stocktake_lines(stocktake=stocktake)
        form = CountForm(request.POST or None, lines=lines)
        if request.method == "POST" and form.is_valid():
            with service_errors_as_messages(request, self):
                for line, counted, reason in form.entered():
                    stocktake_count(line=line, counted_quantity=counted, reason=reason, actor=request.user)
                self.message_user(request, _("カウントを保存しました。"), messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:inventory_stocktake_count", args=[stocktake.pk]))
        rows = [(line, form[f"count_{line.pk}"], form[f"reason_{line.pk}"]) for line in lines]
        context = {
            **self.admin_site.each_context(request),
            "title": _("棚卸 {stocktake}").format(stocktake=stocktake),
            "stocktake": stocktake,
            "rows": rows,
            "form": form,
            "is_counting": stocktake.status == Stocktake.Status.COUNTING,
            "can_approve": self.has_approve_permission(request),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/inventory/stocktake/count_form.html", context)
