"""振替伝票 in the admin: drafted on a form with its lines (posted at once, or waiting for a second Manager), and
approved or rejected on its own page. Rows are never edited here; the services write them."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounting.models import Account, ManualEntry, ManualEntryLine, TaxCategory
from apps.accounting.services.manual_entries import (
    ManualLine,
    manual_entry_approve,
    manual_entry_create,
    manual_entry_reject,
)
from apps.core.admin_tools import ReadOnlyAdminMixin
from apps.core.errors import ApplicationError

LINE_ROWS = 8


class ManualEntryForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("日付"), widget=forms.DateInput(attrs={"type": "date"}))
    memo = forms.CharField(label=gettext_lazy("摘要"), max_length=300)
    reason = forms.CharField(label=gettext_lazy("理由"), widget=forms.Textarea(attrs={"rows": 2}))


class ManualLineForm(forms.Form):
    account = forms.ModelChoiceField(
        Account.objects.filter(allows_posting=True), label=gettext_lazy("勘定科目"), required=False
    )
    debit = forms.IntegerField(label=gettext_lazy("借方"), min_value=0, required=False)
    credit = forms.IntegerField(label=gettext_lazy("貸方"), min_value=0, required=False)
    tax_category = forms.ChoiceField(
        choices=TaxCategory.choices, initial=TaxCategory.OUT_OF_SCOPE, label=gettext_lazy("税区分")
    )


ManualLineFormSet = forms.formset_factory(ManualLineForm, extra=LINE_ROWS, max_num=100)


class ManualEntryLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ManualEntryLine
    fields = ["account", "debit", "credit", "tax_category"]
    readonly_fields = fields
    extra = 0


@admin.register(ManualEntry)
class ManualEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "date", "memo", "total_yen", "status", "created_by", "decided_by", "entry"]
    list_filter = ["status"]
    readonly_fields = [
        "date", "memo", "reason", "total_yen", "status", "created_by", "created_at",
        "decided_by", "decided_at", "decision_note", "entry", "decision",
    ]  # fmt: skip
    inlines = [ManualEntryLineInline]

    def has_add_permission(self, request, obj=None):
        # Drafting goes through the form below (manual_entry_create), never the model form.
        return request.user.has_perm("accounting.add_manualentry")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/decide/", view(self.decide_view), name="accounting_manualentry_decide"),
            *super().get_urls(),
        ]

    @admin.display(description=gettext_lazy("承認"))
    def decision(self, manual_entry: ManualEntry):
        if manual_entry.status != ManualEntry.Status.PENDING:
            return "-"
        url = reverse("admin:accounting_manualentry_decide", args=[manual_entry.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("承認・却下する"))

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ManualEntryForm(request.POST or None, initial={"date": timezone.localdate()})
        lines = ManualLineFormSet(request.POST or None, prefix="lines")
        error = None
        if request.method == "POST" and form.is_valid() and lines.is_valid():
            try:
                manual_entry = manual_entry_create(actor=request.user, lines=_lines(lines), **form.cleaned_data)
            except ApplicationError as exc:
                error = exc.message
            else:
                self.message_user(request, _status_message(manual_entry))
                return redirect("admin:accounting_manualentry_change", manual_entry.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("振替伝票の起票"),
            "form": form,
            "lines": lines,
            "error": error,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/accounting/manual_entry_form.html", context)

    def decide_view(self, request, pk: int):
        if not request.user.has_perm("accounting.approve_manualentry"):
            raise PermissionDenied
        manual_entry = get_object_or_404(ManualEntry, pk=pk)
        if request.method == "POST":
            note = request.POST.get("note", "")
            decide = manual_entry_approve if request.POST.get("action") == "approve" else manual_entry_reject
            try:
                manual_entry = decide(manual_entry=manual_entry, actor=request.user, note=note)
            except ApplicationError as exc:
                self.message_user(request, exc.message, level="ERROR")
            else:
                self.message_user(request, _status_message(manual_entry))
                return redirect("admin:accounting_manualentry_change", manual_entry.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("振替伝票の承認"),
            "manual_entry": manual_entry,
            "lines": manual_entry.lines.select_related("account"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/accounting/manual_entry_decide.html", context)


def _lines(formset) -> list[ManualLine]:
    return [
        ManualLine(
            account=data["account"].code,
            debit=data.get("debit") or 0,
            credit=data.get("credit") or 0,
            tax_category=data["tax_category"],
        )
        for data in formset.cleaned_data
        if data.get("account")
    ]


def _status_message(manual_entry: ManualEntry) -> str:
    if manual_entry.status == ManualEntry.Status.POSTED:
        return _("仕訳 #%(number)s として記帳しました。") % {"number": manual_entry.entry.number}
    if manual_entry.status == ManualEntry.Status.PENDING:
        return _("承認の上限額を超えるため、別のマネージャーの承認を待っています。")
    return _("振替伝票を却下しました。")
