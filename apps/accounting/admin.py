"""Read-only books in the admin, the reports for Managers (core.view_reports) and period close.

Nothing here writes rows itself: reversals and period close call the services.
"""

import datetime
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError as DRFValidationError

from apps.accounting import apis
from apps.accounting.models import Account, JournalEntry, JournalLine, Ledger
from apps.accounting.selectors import ledger_state
from apps.accounting.services import journal_entry_reverse, period_close
from apps.core.admin_tools import ReadOnlyAdminMixin, service_errors_as_messages
from apps.core.errors import ApplicationError

REPORTS = {
    "trial-balance": ("残高試算表", apis.TrialBalanceApi, "accounting-trial-balance"),
    "income-statement": ("損益計算書", apis.IncomeStatementApi, "accounting-income-statement"),
    "balance-sheet": ("貸借対照表", apis.BalanceSheetApi, "accounting-balance-sheet"),
    "general-ledger": ("総勘定元帳", apis.GeneralLedgerApi, "accounting-general-ledger"),
    "product-profitability": ("商品別収益性", apis.ProductProfitabilityApi, "accounting-product-profitability"),
    "inventory-turnover": ("在庫回転率", apis.InventoryTurnoverApi, "accounting-inventory-turnover"),
    "sales-daily": ("日次売上", apis.SalesDailyApi, "accounting-sales-daily"),
    "sales-monthly": ("月次売上", apis.SalesMonthlyApi, "accounting-sales-monthly"),
}


@admin.register(Account)
class AccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "account_type", "normal_side", "beancount_name", "parent", "allows_posting"]
    list_filter = ["account_type"]


class JournalLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = JournalLine
    fields = ["account", "debit", "credit", "product_ref", "product_label", "tax_rate"]
    readonly_fields = fields
    extra = 0


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "date", "kind", "memo", "reversal_of", "created_by", "created_at"]
    list_filter = ["kind", "date"]
    search_fields = ["memo", "number"]
    date_hierarchy = "date"
    inlines = [JournalLineInline]
    actions = ["reverse_entries"]

    @admin.action(description=_("選択した仕訳を本日付で取り消す"), permissions=["reverse"])
    def reverse_entries(self, request, queryset):
        for entry in queryset.order_by("number"):
            with service_errors_as_messages(request, self):
                reversal = journal_entry_reverse(
                    entry=entry, date=timezone.localdate(), actor=request.user, reason=_("管理画面から取消")
                )
                self.message_user(
                    request,
                    _("仕訳 #%(n)s を取消仕訳 #%(r)s で取り消しました。") % {"n": entry.number, "r": reversal.number},
                )

    def has_reverse_permission(self, request):
        # Posting a reversing entry is adding an entry; the rows themselves stay read-only.
        return request.user.has_perm("accounting.add_journalentry")

    def get_urls(self):
        return [
            path("reports/", self.admin_site.admin_view(self.reports_view), name="accounting_reports"),
            path("reports/<slug:slug>/", self.admin_site.admin_view(self.report_view), name="accounting_report"),
            path("period-close/", self.admin_site.admin_view(self.period_close_view), name="accounting_period_close"),
            *super().get_urls(),
        ]

    def _report_context(self, request, **extra):
        if not request.user.has_perm("core.view_reports"):
            raise PermissionDenied
        return {
            **self.admin_site.each_context(request),
            "title": _("会計レポート"),
            "report_links": [(slug, label) for slug, (label, _api, _url) in REPORTS.items()],
            **extra,
        }

    def reports_view(self, request):
        context = self._report_context(
            request, ledger=ledger_state(), can_close=request.user.has_perm("accounting.close_period")
        )
        return TemplateResponse(request, "admin/accounting/report.html", context)

    def report_view(self, request, slug):
        if slug not in REPORTS:
            raise Http404(slug)
        label, api, url_name = REPORTS[slug]
        context = self._report_context(request, title=label)
        # The general ledger's account is part of its path; every other parameter is in the query string.
        path_kwargs = {"account_code": request.GET.get("account_code", "1001")} if api is apis.GeneralLedgerApi else {}
        serializer = api.InputSerializer(data=request.GET)
        try:
            serializer.is_valid(raise_exception=True)
            report = api.selector(**path_kwargs, **serializer.validated_data).as_dict()
        except (DRFValidationError, ApplicationError) as exc:
            context["form_errors"] = getattr(exc, "message", None) or _("日付の形式が正しくありません（YYYY-MM-DD）。")
            return TemplateResponse(request, "admin/accounting/report.html", context)
        query = {key: value.isoformat() for key, value in serializer.validated_data.items()}
        context.update(
            report=report,
            params={**path_kwargs, **query},
            table_rows=[[row.get(column["key"]) for column in report["columns"]] for row in report["rows"]],
            csv_url=reverse(url_name, kwargs=path_kwargs) + "?" + urlencode({**query, "format": "csv"}),
        )
        return TemplateResponse(request, "admin/accounting/report.html", context)

    @staticmethod
    def _parse_date(value: str) -> datetime.date | None:
        try:
            return datetime.date.fromisoformat(value)
        except (TypeError, ValueError):
            return None

    def period_close_view(self, request):
        return require_POST(self._period_close)(request)

    def _period_close(self, request):
        if not request.user.has_perm("accounting.close_period"):
            raise PermissionDenied
        through_date = self._parse_date(request.POST.get("through_date"))
        if through_date is None:
            self.message_user(request, _("締め日を YYYY-MM-DD で入力してください。"), level=messages.ERROR)
        else:
            with service_errors_as_messages(request, self):
                period_close(through_date=through_date, actor=request.user)
                self.message_user(request, _("%(date)s まで締めました。") % {"date": through_date})
        return redirect("admin:accounting_reports")


@admin.register(Ledger)
class LedgerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["last_entry_number", "closed_through"]
