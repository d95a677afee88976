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
]
