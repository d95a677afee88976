from django.urls import path

from apps.accounting import apis

urlpatterns = [
    path("api/accounting/trial-balance/", apis.TrialBalanceApi.as_view(), name="accounting-trial-balance"),
    path("api/accounting/income-statement/", apis.IncomeStatementApi.as_view(), name="accounting-income-statement"),
    path("api/accounting/balance-sheet/", apis.BalanceSheetApi.as_view(), name="accounting-balance-sheet"),
    path(
        "api/accounting/ledger/<str:account_code>/", apis.GeneralLedgerApi.as_view(), name="accounting-general-ledger"
    ),
    path(
        "api/accounting/product-profitability/",
        apis.ProductProfitabilityApi.as_view(),
        name="accounting-product-profitability",
    ),
    path(
        "api/accounting/inventory-turnover/", apis.InventoryTurnoverApi.as_view(), name="accounting-inventory-turnover"
    ),
    path("api/accounting/sales/daily/", apis.SalesDailyApi.as_view(), name="accounting-sales-daily"),
    path("api/accounting/sales/monthly/", apis.SalesMonthlyApi.as_view(), name="accounting-sales-monthly"),
    path("api/accounting/period-close/", apis.PeriodCloseApi.as_view(), name="accounting-period-close"),
    path("api/accounting/card-settlements/", apis.CardSettlementCreateApi.as_view(), name="accounting-card-settlement"),
    path("api/accounting/fiscal-year-close/", apis.FiscalYearCloseApi.as_view(), name="accounting-fiscal-year-close"),
    path(
        "api/accounting/entries/<int:number>/reverse/",
        apis.JournalEntryReverseApi.as_view(),
        name="accounting-entry-reverse",
    ),
    path("api/accounting/cash-flow/", apis.CashFlowApi.as_view(), name="accounting-cash-flow"),
    path(
        "api/accounting/consumption-tax/",
        apis.ConsumptionTaxSummaryApi.as_view(),
        name="accounting-consumption-tax",
    ),
    path(
        "api/accounting/consumption-tax/settle/",
        apis.ConsumptionTaxSettleApi.as_view(),
        name="accounting-consumption-tax-settle",
    ),
    path("api/accounting/payables/", apis.AgedPayablesApi.as_view(), name="accounting-aged-payables"),
    path("api/accounting/payables/pay/", apis.PayablesPayApi.as_view(), name="accounting-payables-pay"),
    path("api/accounting/manual-entries/", apis.ManualEntryCreateApi.as_view(), name="accounting-manual-entries"),
    path(
        "api/accounting/manual-entries/<int:pk>/approve/",
        apis.ManualEntryDecideApi.as_view(approve=True),
        name="accounting-manual-entry-approve",
    ),
    path(
        "api/accounting/manual-entries/<int:pk>/reject/",
        apis.ManualEntryDecideApi.as_view(approve=False),
        name="accounting-manual-entry-reject",
    ),
    path("api/accounting/month-close/", apis.MonthCloseApi.as_view(), name="accounting-month-close"),
    path("api/accounting/period-reopen/", apis.PeriodReopenApi.as_view(), name="accounting-period-reopen"),
    path("api/accounting/exports/<slug:software>/", apis.JournalExportApi.as_view(), name="accounting-journal-export"),
]
