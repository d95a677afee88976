"""Accounting API for Managers: reports (JSON, or CSV with `?format=csv`), period close, year-end closing,
reversing entries, the card processor's payouts, manual entries, paying payables, the consumption-tax settlement,
the month-close checklist and the accounting-software exports."""

import datetime

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounting import exports, selectors
from apps.accounting.closing import run_close_checks
from apps.accounting.models import JournalEntry, ManualEntry, TaxCategory
from apps.accounting.postings import PaidFrom, post_card_settlement
from apps.accounting.renderers import ReportCSVRenderer
from apps.accounting.selectors.cash_flow import cash_flow_statement
from apps.accounting.selectors.consumption_tax import consumption_tax_summary
from apps.accounting.selectors.payables import aged_payables
from apps.accounting.services import fiscal_year_close, journal_entry_reverse, period_close
from apps.accounting.services.closing import month_close, period_reopen
from apps.accounting.services.consumption_tax import consumption_tax_settle
from apps.accounting.services.manual_entries import (
    ManualLine,
    manual_entry_approve,
    manual_entry_create,
    manual_entry_reject,
)
from apps.accounting.services.payables import payables_pay


def has_permission(codename: str) -> type[BasePermission]:
    class HasPermission(BasePermission):
        message = "この操作を行う権限がありません。"

        def has_permission(self, request, view):
            return request.user.has_perm(codename)

    return HasPermission


CanViewReports = has_permission("core.view_reports")


def _month_start() -> datetime.date:
    return timezone.localdate().replace(day=1)


class AsOfInput(serializers.Serializer):
    as_of = serializers.DateField(default=timezone.localdate)


class TrialBalanceInput(AsOfInput):
    before_closing = serializers.BooleanField(
        default=False, help_text="Leave out the year-end closing entry dated as_of (the balances it closed)."
    )


class RangeInput(serializers.Serializer):
    date_from = serializers.DateField(default=_month_start)
    date_to = serializers.DateField(default=timezone.localdate)


class ReportColumn(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class ReportOutput(serializers.Serializer):
    """Every report: its parameters, its columns (key and Japanese label), rows keyed by column, and totals."""

    title = serializers.CharField()
    parameters = serializers.DictField()
    columns = ReportColumn(many=True)
    rows = serializers.ListField(child=serializers.DictField())
    totals = serializers.DictField()


def report_schema(input_serializer, summary: str):
    return extend_schema(parameters=[input_serializer], responses=ReportOutput, summary=summary)


class ReportApi(APIView):
    """GET only; the query string is validated by `InputSerializer` and passed to the report's `selector`."""

    permission_classes = [IsAuthenticated, CanViewReports]
    renderer_classes = [JSONRenderer, ReportCSVRenderer]
    InputSerializer: type[serializers.Serializer] = RangeInput
    selector: staticmethod
    filename: str

    def get(self, request, **kwargs):
        serializer = self.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        report = self.selector(**kwargs, **serializer.validated_data)
        response = Response(report.as_dict())
        if request.accepted_renderer.format == "csv":
            # A flag that is on names itself (…_before_closing.csv); one that is off is left out.
            suffix = "_".join(
                key if value is True else str(value) for key, value in report.parameters.items() if value is not False
            )
            response["Content-Disposition"] = f'attachment; filename="{self.filename}_{suffix}.csv"'
        return response


@report_schema(TrialBalanceInput, "残高試算表 as of a date, after or before year-end closing")
class TrialBalanceApi(ReportApi):
    InputSerializer = TrialBalanceInput
    filename = "trial_balance"
    selector = staticmethod(selectors.trial_balance)


@report_schema(RangeInput, "損益計算書 for a period")
class IncomeStatementApi(ReportApi):
    filename = "income_statement"
    selector = staticmethod(selectors.income_statement)


@report_schema(AsOfInput, "貸借対照表 as of a date")
class BalanceSheetApi(ReportApi):
    InputSerializer = AsOfInput
    filename = "balance_sheet"
    selector = staticmethod(selectors.balance_sheet)


@report_schema(RangeInput, "総勘定元帳 of one account")
class GeneralLedgerApi(ReportApi):
    filename = "general_ledger"
    selector = staticmethod(selectors.general_ledger)


@report_schema(RangeInput, "Revenue, cost and margin per product")
class ProductProfitabilityApi(ReportApi):
    filename = "product_profitability"
    selector = staticmethod(selectors.product_profitability)


@report_schema(RangeInput, "Inventory turnover per product")
class InventoryTurnoverApi(ReportApi):
    filename = "inventory_turnover"
    selector = staticmethod(selectors.inventory_turnover)


@report_schema(RangeInput, "Daily sales and tax per rate")
class SalesDailyApi(ReportApi):
    filename = "sales_daily"
    selector = staticmethod(selectors.sales_daily)


@report_schema(RangeInput, "Monthly sales and tax per rate")
class SalesMonthlyApi(ReportApi):
    filename = "sales_monthly"
    selector = staticmethod(selectors.sales_monthly)


@report_schema(RangeInput, "キャッシュ・フロー計算書 (indirect method) for a period")
class CashFlowApi(ReportApi):
    filename = "cash_flow"
    selector = staticmethod(cash_flow_statement)


@report_schema(RangeInput, "Consumption tax for a period: sales and output tax, input tax by rate, tax due")
class ConsumptionTaxSummaryApi(ReportApi):
    filename = "consumption_tax"
    selector = staticmethod(consumption_tax_summary)


@report_schema(AsOfInput, "Open 買掛金 and 未払金 by age")
class AgedPayablesApi(ReportApi):
    InputSerializer = AsOfInput
    filename = "aged_payables"
    selector = staticmethod(aged_payables)


class PeriodCloseApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("accounting.close_period")]

    class InputSerializer(serializers.Serializer):
        through_date = serializers.DateField()

    class OutputSerializer(serializers.Serializer):
        closed_through = serializers.DateField()
        last_entry_number = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Close the books through a date")
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ledger = period_close(actor=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(ledger).data)


class FiscalYearCloseApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("accounting.close_period")]

    class InputSerializer(serializers.Serializer):
        year_end = serializers.DateField(help_text="The fiscal year's last day (settings.FISCAL_YEAR_END_MONTH_DAY).")

    class OutputSerializer(serializers.Serializer):
        year_start = serializers.DateField()
        year_end = serializers.DateField()
        net_income = serializers.IntegerField(help_text="Moved into 繰越利益剰余金; negative for a loss.")
        entry_number = serializers.IntegerField(
            source="entry.number", allow_null=True, help_text="The closing entry; null when nothing was to move."
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer},
        summary="Close a fiscal year: revenue and expenses into 繰越利益剰余金, books locked through its end",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        closing = fiscal_year_close(actor=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(closing).data, status=201)


class JournalEntryReverseApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("accounting.add_journalentry")]

    class InputSerializer(serializers.Serializer):
        date = serializers.DateField(default=timezone.localdate)
        reason = serializers.CharField(max_length=500)

    class OutputSerializer(serializers.Serializer):
        number = serializers.IntegerField()
        date = serializers.DateField()
        memo = serializers.CharField()
        reversal_of = serializers.IntegerField(source="reversal_of.number")

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, summary="Post a reversing entry")
    def post(self, request, number: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = get_object_or_404(JournalEntry, number=number)
        reversal = journal_entry_reverse(entry=entry, actor=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(reversal).data, status=201)


class CardSettlementCreateApi(APIView):
    """The card/IC processor paid out: what it took for the shop (売掛金) arrives in the bank less its fee."""

    permission_classes = [IsAuthenticated, has_permission("accounting.add_journalentry")]

    class InputSerializer(serializers.Serializer):
        date = serializers.DateField(help_text="The day the payout reached the bank.")
        gross_yen = serializers.IntegerField(min_value=1, help_text="Card and IC sales the payout settles.")
        fee_yen = serializers.IntegerField(min_value=0, help_text="The processor's fee kept from them (決済手数料).")

    class OutputSerializer(serializers.Serializer):
        entry_number = serializers.IntegerField(source="number")

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer},
        summary="Record a card processor's payout: 普通預金 and 決済手数料 against 売掛金",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entry = post_card_settlement(
            date=data["date"], gross=data["gross_yen"], fee=data["fee_yen"], created_by=request.user
        )
        return Response(self.OutputSerializer(entry).data, status=201)


class ManualEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    memo = serializers.CharField()
    reason = serializers.CharField()
    total_yen = serializers.IntegerField()
    status = serializers.CharField()
    entry_number = serializers.IntegerField(source="entry.number", allow_null=True, default=None)


class ManualEntryCreateApi(APIView):
    """A Manager's 振替伝票: posted at once up to MANUAL_ENTRY_APPROVAL_THRESHOLD_YEN, otherwise pending."""

    permission_classes = [IsAuthenticated, has_permission("accounting.add_manualentry")]

    class LineInput(serializers.Serializer):
        account = serializers.CharField(max_length=10, help_text="Account code of the chart, e.g. 6020.")
        debit = serializers.IntegerField(default=0)
        credit = serializers.IntegerField(default=0)
        tax_category = serializers.ChoiceField(choices=TaxCategory.choices, default=TaxCategory.OUT_OF_SCOPE)

    class InputSerializer(serializers.Serializer):
        date = serializers.DateField()
        memo = serializers.CharField(max_length=300)
        reason = serializers.CharField(max_length=2000)
        lines = serializers.ListField(child=serializers.DictField(), max_length=100)

    @extend_schema(request=InputSerializer, responses={201: ManualEntryOutput}, summary="Post a manual entry")
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lines = self.LineInput(data=serializer.validated_data["lines"], many=True)
        lines.is_valid(raise_exception=True)
        manual_entry = manual_entry_create(
            date=serializer.validated_data["date"],
            memo=serializer.validated_data["memo"],
            reason=serializer.validated_data["reason"],
            lines=[ManualLine(**line) for line in lines.validated_data],
            actor=request.user,
        )
        return Response(ManualEntryOutput(manual_entry).data, status=201)


class ManualEntryDecideApi(APIView):
    """A second Manager approves (posts) or rejects a pending manual entry."""

    permission_classes = [IsAuthenticated, has_permission("accounting.approve_manualentry")]
    approve = True

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses=ManualEntryOutput)
    def post(self, request, pk: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        manual_entry = get_object_or_404(ManualEntry, pk=pk)
        decide = manual_entry_approve if self.approve else manual_entry_reject
        manual_entry = decide(manual_entry=manual_entry, actor=request.user, note=serializer.validated_data["note"])
        return Response(ManualEntryOutput(manual_entry).data)


class PayablesPayApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("accounting.add_journalentry")]

    class InputSerializer(serializers.Serializer):
        entry_numbers = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1)
        paid_from = serializers.ChoiceField(choices=[PaidFrom.BANK, PaidFrom.CASH], default=PaidFrom.BANK)
        date = serializers.DateField(default=timezone.localdate)

    class OutputSerializer(serializers.Serializer):
        entry_number = serializers.IntegerField(source="number")
        total_yen = serializers.SerializerMethodField()

        def get_total_yen(self, entry) -> int:
            return sum(line.credit for line in entry.lines.all())

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer},
        summary="Pay open payables (the entries that posted them) from the bank or cash, in one entry",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = payables_pay(actor=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(payment).data, status=201)


class ConsumptionTaxSettleApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("accounting.close_period")]

    class InputSerializer(serializers.Serializer):
        through_date = serializers.DateField(help_text="The tax period's last day; the entry is dated it.")

    class OutputSerializer(serializers.Serializer):
        entry_number = serializers.IntegerField(source="number")

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer},
        summary="Settle consumption tax: 仮受消費税 − 仮払消費税 into 未払消費税",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = consumption_tax_settle(actor=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(entry).data, status=201)


class CloseCheckOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    passed = serializers.BooleanField()
    detail = serializers.CharField()
    confirmable = serializers.BooleanField()


class MonthCloseApi(APIView):
    """GET: the checklist for closing through a date. POST: close after it (confirming the confirmable checks)."""

    permission_classes = [IsAuthenticated, has_permission("accounting.close_period")]

    class QueryInput(serializers.Serializer):
        through_date = serializers.DateField()

    class InputSerializer(serializers.Serializer):
        through_date = serializers.DateField()
        confirmed = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)

    @extend_schema(parameters=[QueryInput], responses=CloseCheckOutput(many=True), summary="Month-close checklist")
    def get(self, request):
        serializer = self.QueryInput(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        results = run_close_checks(serializer.validated_data["through_date"])
        return Response(CloseCheckOutput([result.as_dict() for result in results], many=True).data)

    @extend_schema(request=InputSerializer, responses={201: CloseCheckOutput(many=True)}, summary="Close the month")
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        close = month_close(
            through_date=serializer.validated_data["through_date"],
            confirmed=frozenset(serializer.validated_data["confirmed"]),
            actor=request.user,
        )
        return Response(CloseCheckOutput(close.checklist, many=True).data, status=201)


class PeriodReopenApi(APIView):
    permission_classes = [IsAuthenticated, has_permission("accounting.reopen_period")]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)

    class OutputSerializer(serializers.Serializer):
        reopened_through = serializers.DateField(source="through_date")
        closed_through = serializers.DateField(source="previous_closed_through", allow_null=True)

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Undo the latest period close")
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        close = period_reopen(actor=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(close).data)


class JournalExportApi(APIView):
    """The journal of a period as 弥生会計 (Shift_JIS), freee or Money Forward (UTF-8) import CSV."""

    permission_classes = [IsAuthenticated, CanViewReports]

    @extend_schema(
        parameters=[RangeInput], responses={(200, "text/csv"): bytes}, summary="Journal for accounting software"
    )
    def get(self, request, software: str):
        if software not in exports.SOFTWARE:
            raise Http404(software)
        serializer = RangeInput(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        content = exports.journal_csv(software=software, **data)
        charset = "shift_jis" if exports.ENCODINGS[software] == "cp932" else "utf-8"
        response = HttpResponse(content, content_type=f"text/csv; charset={charset}")
        filename = f"journal_{software}_{data['date_from']:%Y%m%d}_{data['date_to']:%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
