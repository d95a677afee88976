"""Read-only books in the admin, the reports for Managers (core.view_reports), period close and year-end closing,
manual entries (`manual_entries`), and the month-close pages (`books`).

Nothing here writes rows itself: reversals, period close and year-end closing call the services.
"""

import datetime
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError as DRFValidationError

from apps.accounting import fiscal_year
from apps.accounting.admin import manual_entries  # noqa: F401  (registers ManualEntryAdmin)
from apps.accounting.admin.books import BooksAdminViews
from apps.accounting.models import Account, JournalEntry, JournalLine, Ledger, PayablePayment, PeriodClose
from apps.accounting.selectors import ledger_state
from apps.accounting.services import fiscal_year_close, journal_entry_reverse, period_close
from apps.core.admin_tools import ReadOnlyAdminMixin, service_errors_as_messages
from apps.core.errors import ApplicationError

REPORTS = {
    "trial-balance": ("残高試算表", "TrialBalanceApi", "accounting-trial-balance"),
    "income-statement": ("損益計算書", "IncomeStatementApi", "accounting-income-statement"),
    "balance-sheet": ("貸借対照表", "BalanceSheetApi", "accounting-balance-sheet"),
    "general-ledger": ("総勘定元帳", "GeneralLedgerApi", "accounting-general-ledger"),
    "product-profitability": ("商品別収益性", "ProductProfitabilityApi", "accounting-product-profitability"),
    "inventory-turnover": ("在庫回転率", "InventoryTurnoverApi", "accounting-inventory-turnover"),
    "sales-daily": ("日次売上", "SalesDailyApi", "accounting-sales-daily"),
    "sales-monthly": ("月次売上", "SalesMonthlyApi", "accounting-sales-monthly"),
    "cash-flow": ("キャッシュ・フロー計算書", "CashFlowApi", "accounting-cash-flow"),
    "consumption-tax": ("消費税の集計", "ConsumptionTaxSummaryApi", "accounting-consumption-tax"),
    "aged-payables": ("買掛金・未払金の年齢表", "AgedPayablesApi", "accounting-aged-payables"),
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
class JournalEntryAdmin(BooksAdminViews, ReadOnlyAdminMixin, admin.ModelAdmin):
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
            path(
                "fiscal-year-close/",
                self.admin_site.admin_view(self.fiscal_year_close_view),
                name="accounting_fiscal_year_close",
            ),
            *self.books_urls(),
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
            request,
            ledger=ledger_state(),
            can_close=request.user.has_perm("accounting.close_period"),
            closable_year_end=fiscal_year.last_year_end_before(timezone.localdate()),
        )
        return TemplateResponse(request, "admin/accounting/report.html", context)

    def report_view(self, request, slug):
        if slug not in REPORTS:
            raise Http404(slug)
        # The report APIs bring drf-spectacular (about 0.2 s to import): loaded on the first report, not at start-up
        # (the start-up rule in docs/architecture.md).
        from apps.accounting import apis

        label, api_name, url_name = REPORTS[slug]
        api = getattr(apis, api_name)
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
        query = {
            key: value.isoformat() if isinstance(value, datetime.date) else value
            for key, value in serializer.validated_data.items()
        }
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

    def _dated_close(self, request, *, field: str, missing_message, close) -> HttpResponse:
        """A closing form of the reports page (POST, Managers who may close periods): `close(date)` with the date in
        `field`, its message shown on the reports page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("accounting.close_period"):
            raise PermissionDenied
        day = self._parse_date(request.POST.get(field))
        if day is None:
            self.message_user(request, missing_message, level=messages.ERROR)
        else:
            with service_errors_as_messages(request, self):
                self.message_user(request, close(day))
        return redirect("admin:accounting_reports")

    def period_close_view(self, request):
        def close(through_date):
            period_close(through_date=through_date, actor=request.user)
            return _("%(date)s まで締めました。") % {"date": through_date}

        return self._dated_close(
            request, field="through_date", missing_message=_("締め日を YYYY-MM-DD で入力してください。"), close=close
        )

    def fiscal_year_close_view(self, request):
        def close(year_end):
            closing = fiscal_year_close(year_end=year_end, actor=request.user)
            return _("%(start)s〜%(end)s の年度を締め、当期純利益 %(amount)s円を繰越利益剰余金に振り替えました。") % {
                "start": closing.year_start,
                "end": closing.year_end,
                "amount": f"{closing.net_income:,}",
            }

        return self._dated_close(
            request, field="year_end", missing_message=_("期末日を YYYY-MM-DD で入力してください。"), close=close
        )


@admin.register(Ledger)
class LedgerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["last_entry_number", "closed_through", "fiscal_year_closed_through"]

    @admin.display(description=_("最終仕訳番号"))
    def last_entry_number(self, ledger: Ledger) -> int:
        return ledger.last_entry_number


@admin.register(PeriodClose)
class PeriodCloseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every close with its checklist, and who undid it and why (the month-close page does both)."""

    list_display = ["through_date", "closed_by", "closed_at", "reopened_by", "reopened_at", "reopen_reason"]


@admin.register(PayablePayment)
class PayablePaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["payable_entry", "account", "amount_yen", "payment_entry", "created_at"]
    list_select_related = ["payable_entry", "account", "payment_entry"]
