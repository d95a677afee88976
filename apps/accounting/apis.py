"""Accounting API for Managers: reports (JSON, or CSV with `?format=csv`), period close, year-end closing,
reversing entries and the card processor's payouts."""

import datetime

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounting import selectors
from apps.accounting.models import JournalEntry
from apps.accounting.postings import post_card_settlement
from apps.accounting.renderers import ReportCSVRenderer
from apps.accounting.services import fiscal_year_close, journal_entry_reverse, period_close


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
