"""Reads of the books. Every report aggregates in the database (a fixed handful of queries whatever the number of
lines) and returns a `Report`: columns, rows and totals, which the admin renders as a table and the API as JSON or CSV.
"""

import datetime
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Max, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.translation import gettext as _

from apps.accounting import chart
from apps.accounting.models import Account, AccountType, EntryKind, JournalEntry, JournalLine, Ledger, NormalSide
from apps.core.errors import NotFound, ValidationError


@dataclass
class Report:
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict]
    totals: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "title": self.title,
            "parameters": self.parameters,
            "columns": [{"key": key, "label": label} for key, label in self.columns],
            "rows": self.rows,
            "totals": self.totals,
        }


DEBIT_MINUS_CREDIT = F("debit") - F("credit")
CREDIT_MINUS_DEBIT = F("credit") - F("debit")


def _sum(expression, **filters):
    return Coalesce(Sum(expression, filter=Q(**filters) if filters else None), Value(0))


def _check_range(date_from: datetime.date, date_to: datetime.date) -> None:
    if date_from > date_to:
        raise ValidationError(_("開始日は終了日以前にしてください。"), code="invalid_range")


def _account_ids(*codes: str) -> dict[str, int]:
    return dict(Account.objects.filter(code__in=codes).values_list("code", "id"))


def _natural(account: Account, debit: int, credit: int) -> int:
    return debit - credit if account.normal_side == NormalSide.DEBIT else credit - debit


def _totals_by_account(lines) -> dict[int, tuple[int, int]]:
    return {
        row["account_id"]: (row["debit"], row["credit"])
        for row in lines.values("account_id").annotate(debit=_sum("debit"), credit=_sum("credit")).order_by()
    }


def _without_closing_entries(lines, **entry_filters):
    """`lines` less those of year-end closing entries (dated fiscal year ends, so few: a subquery, no join)."""
    closing = JournalEntry.objects.filter(kind=EntryKind.YEAR_END_CLOSING, **entry_filters).values("id")
    return lines.exclude(entry_id__in=closing)


def ledger_state() -> Ledger:
    return Ledger.objects.get(pk=1)


def journal_entries_for_source(source) -> list[JournalEntry]:
    """The entries posted for one business object (a sale, a receipt...), oldest first."""
    content_type = ContentType.objects.get_for_model(source, for_concrete_model=False)
    return list(JournalEntry.objects.filter(source_type=content_type, source_id=str(source.pk)).order_by("number"))


def entry_dates(*, kind: str, date_from: datetime.date, date_to: datetime.date) -> set[datetime.date]:
    """The dates from `date_from` to `date_to` that have an entry of `kind`: a daily posting is made once a day."""
    return set(JournalEntry.objects.filter(kind=kind, date__range=(date_from, date_to)).values_list("date", flat=True))


def trial_balance(*, as_of: datetime.date, before_closing: bool = False) -> Report:
    """残高試算表: per account, debit and credit totals through `as_of` and the balance on its side.

    Year-end closing entries count (after closing, a closed year's revenue and expense accounts are at zero and its
    profit is in 繰越利益剰余金). `before_closing` leaves out the closing entry dated `as_of`: on a closed year's last
    day that is the trial balance the closing was made from; on any other day it changes nothing."""
    lines = JournalLine.objects.filter(date__lte=as_of)
    if before_closing:
        lines = _without_closing_entries(lines, date=as_of)
    totals = _totals_by_account(lines)
    rows = []
    for account in Account.objects.filter(allows_posting=True):
        debit, credit = totals.get(account.id, (0, 0))
        rows.append(
            {
                "code": account.code,
                "name": account.name,
                "beancount_name": account.beancount_name,
                "debit_total": debit,
                "credit_total": credit,
                "debit_balance": max(debit - credit, 0),
                "credit_balance": max(credit - debit, 0),
            }
        )
    sums = {
        key: sum(row[key] for row in rows) for key in ("debit_total", "credit_total", "debit_balance", "credit_balance")
    }
    return Report(
        title=_("残高試算表（決算振替前）") if before_closing else _("残高試算表"),
        columns=[
            ("code", _("科目コード")),
            ("name", _("勘定科目")),
            ("debit_total", _("借方合計")),
            ("credit_total", _("貸方合計")),
            ("debit_balance", _("借方残高")),
            ("credit_balance", _("貸方残高")),
        ],
        rows=rows,
        totals=sums,
        parameters={"as_of": as_of.isoformat(), "before_closing": before_closing},
    )


def _profit_and_loss(lines) -> tuple[list[dict], dict]:
    totals = _totals_by_account(lines)
    accounts = Account.objects.filter(account_type__in=[AccountType.REVENUE, AccountType.EXPENSE], allows_posting=True)
    amounts = {account.code: _natural(account, *totals.get(account.id, (0, 0))) for account in accounts}
    names = {account.code: account.name for account in accounts}
    sga_codes = [code for code in names if code.startswith("6")]
    net_sales = amounts[chart.SALES] - amounts[chart.SALES_DISCOUNTS]
    gross_profit = net_sales - amounts[chart.COST_OF_GOODS_SOLD]
    sga = sum(amounts[code] for code in sga_codes)
    figures = {
        "sales": amounts[chart.SALES],
        "sales_discounts": amounts[chart.SALES_DISCOUNTS],
        "net_sales": net_sales,
        "cost_of_goods_sold": amounts[chart.COST_OF_GOODS_SOLD],
        "gross_profit": gross_profit,
        "sga": sga,
        "net_income": gross_profit - sga,
    }

    def account_row(code):
        return {"code": code, "name": names[code], "amount": amounts[code]}

    def subtotal(key, label):
        return {"code": "", "name": label, "amount": figures[key]}

    rows = [
        account_row(chart.SALES),
        account_row(chart.SALES_DISCOUNTS),
        subtotal("net_sales", _("純売上高")),
        account_row(chart.COST_OF_GOODS_SOLD),
        subtotal("gross_profit", _("売上総利益")),
        *[account_row(code) for code in sga_codes],
        subtotal("sga", _("販売費及び一般管理費 計")),
        subtotal("net_income", _("当期純利益")),
    ]
    return rows, figures


def income_statement(*, date_from: datetime.date, date_to: datetime.date) -> Report:
    """損益計算書 for the period (both days included). 売上値引 is shown as a positive deduction.

    Year-end closing entries are left out: they empty the revenue and expense accounts into 繰越利益剰余金, so
    counted here they would make a closed year's revenue, expenses and profit zero."""
    _check_range(date_from, date_to)
    lines = _without_closing_entries(
        JournalLine.objects.filter(date__gte=date_from, date__lte=date_to), date__range=(date_from, date_to)
    )
    rows, figures = _profit_and_loss(lines)
    return Report(
        title=_("損益計算書"),
        columns=[("code", _("科目コード")), ("name", _("科目")), ("amount", _("金額"))],
        rows=rows,
        totals=figures,
        parameters={"date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
    )


def balance_sheet(*, as_of: datetime.date) -> Report:
    """貸借対照表 as of a date. Profit not yet closed into 繰越利益剰余金 is shown as its own equity row: closing
    entries count, so for a closed year (as of its last day or later) that row holds only later years' profit."""
    lines = JournalLine.objects.filter(date__lte=as_of)
    totals = _totals_by_account(lines)
    sections = {AccountType.ASSET: _("資産"), AccountType.LIABILITY: _("負債"), AccountType.EQUITY: _("純資産")}
    rows = []
    sums = dict.fromkeys(sections, 0)
    for account in Account.objects.filter(account_type__in=list(sections), allows_posting=True):
        amount = _natural(account, *totals.get(account.id, (0, 0)))
        sums[account.account_type] += amount
        rows.append(
            {"section": sections[account.account_type], "code": account.code, "name": account.name, "amount": amount}
        )
    unclosed_profit = _profit_and_loss(lines)[1]["net_income"]
    rows.append(
        {
            "section": sections[AccountType.EQUITY],
            "code": "",
            "name": _("当期純利益（未振替）"),
            "amount": unclosed_profit,
        }
    )
    equity = sums[AccountType.EQUITY] + unclosed_profit
    return Report(
        title=_("貸借対照表"),
        columns=[("section", _("区分")), ("code", _("科目コード")), ("name", _("科目")), ("amount", _("金額"))],
        rows=rows,
        totals={
            "total_assets": sums[AccountType.ASSET],
            "total_liabilities": sums[AccountType.LIABILITY],
            "total_equity": equity,
            "total_liabilities_and_equity": sums[AccountType.LIABILITY] + equity,
        },
        parameters={"as_of": as_of.isoformat()},
    )


def general_ledger(*, account_code: str, date_from: datetime.date, date_to: datetime.date) -> Report:
    """総勘定元帳 of one account: opening balance, each line of the period with its running balance, closing."""
    _check_range(date_from, date_to)
    account = Account.objects.filter(code=account_code).first()
    if account is None:
        raise NotFound(_("勘定科目 %(code)s は存在しません。") % {"code": account_code})
    account_lines = JournalLine.objects.filter(account=account)
    before = account_lines.filter(date__lt=date_from).aggregate(debit=_sum("debit"), credit=_sum("credit"))
    balance = opening = _natural(account, before["debit"], before["credit"])
    rows = []
    period_lines = (
        account_lines.filter(date__gte=date_from, date__lte=date_to)
        .select_related("entry")
        .order_by("date", "entry__number", "id")
    )
    for line in period_lines:
        balance += _natural(account, line.debit, line.credit)
        rows.append(
            {
                "date": line.date.isoformat(),
                "entry_number": line.entry.number,
                "memo": line.entry.memo,
                "product": line.product_label,
                "debit": line.debit,
                "credit": line.credit,
                "balance": balance,
            }
        )
    return Report(
        title=_("総勘定元帳: %(account)s") % {"account": account},
        columns=[
            ("date", _("日付")),
            ("entry_number", _("仕訳番号")),
            ("memo", _("摘要")),
            ("product", _("商品")),
            ("debit", _("借方")),
            ("credit", _("貸方")),
            ("balance", _("残高")),
        ],
        rows=rows,
        totals={
            "opening_balance": opening,
            "debit": sum(row["debit"] for row in rows),
            "credit": sum(row["credit"] for row in rows),
            "closing_balance": balance,
        },
        parameters={"account": account.code, "date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
    )


def _margin_pct(margin: int, revenue: int) -> float | None:
    return round(margin * 100 / revenue, 1) if revenue else None


def product_profitability(*, date_from: datetime.date, date_to: datetime.date) -> Report:
    """Per product: net revenue (売上高 − 売上値引, excluding tax), cost of goods sold, gross margin and margin %."""
    _check_range(date_from, date_to)
    ids = _account_ids(chart.SALES, chart.SALES_DISCOUNTS, chart.COST_OF_GOODS_SOLD)
    revenue_ids = [ids[chart.SALES], ids[chart.SALES_DISCOUNTS]]
    grouped = (
        JournalLine.objects.filter(date__gte=date_from, date__lte=date_to, account_id__in=list(ids.values()))
        .exclude(product_ref="")
        .values("product_ref")
        .annotate(
            product_label=Max("product_label"),
            revenue=_sum(CREDIT_MINUS_DEBIT, account_id__in=revenue_ids),
            cost=_sum(DEBIT_MINUS_CREDIT, account_id=ids[chart.COST_OF_GOODS_SOLD]),
        )
        .order_by("product_ref")
    )
    rows = []
    for row in grouped:
        margin = row["revenue"] - row["cost"]
        rows.append({**row, "gross_margin": margin, "margin_pct": _margin_pct(margin, row["revenue"])})
    rows.sort(key=lambda row: (-row["gross_margin"], row["product_ref"]))
    revenue = sum(row["revenue"] for row in rows)
    cost = sum(row["cost"] for row in rows)
    return Report(
        title=_("商品別収益性"),
        columns=[
            ("product_ref", _("商品コード")),
            ("product_label", _("商品名")),
            ("revenue", _("売上（税抜・値引後）")),
            ("cost", _("売上原価")),
            ("gross_margin", _("粗利")),
            ("margin_pct", _("粗利率（%）")),
        ],
        rows=rows,
        totals={
            "revenue": revenue,
            "cost": cost,
            "gross_margin": revenue - cost,
            "margin_pct": _margin_pct(revenue - cost, revenue),
        },
        parameters={"date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
    )


def _turnover(cogs: int, opening: int, closing: int, days: int) -> dict:
    average = (opening + closing) / 2
    turnover = cogs / average if average > 0 else None
    return {
        "opening_inventory": opening,
        "closing_inventory": closing,
        "average_inventory": round(average),
        "cost_of_goods_sold": cogs,
        "turnover": round(turnover, 2) if turnover else None,
        "days_on_hand": round(days / turnover, 1) if turnover else None,
    }


def inventory_turnover(*, date_from: datetime.date, date_to: datetime.date) -> Report:
    """在庫回転率 per product and overall: 売上原価 of the period ÷ average of opening and closing 商品 at cost."""
    _check_range(date_from, date_to)
    ids = _account_ids(chart.INVENTORY, chart.COST_OF_GOODS_SOLD)
    days = (date_to - date_from).days + 1
    grouped = (
        JournalLine.objects.filter(date__lte=date_to, account_id__in=list(ids.values()))
        .exclude(product_ref="")
        .values("product_ref")
        .annotate(
            product_label=Max("product_label"),
            opening=_sum(DEBIT_MINUS_CREDIT, account_id=ids[chart.INVENTORY], date__lt=date_from),
            closing=_sum(DEBIT_MINUS_CREDIT, account_id=ids[chart.INVENTORY]),
            cogs=_sum(DEBIT_MINUS_CREDIT, account_id=ids[chart.COST_OF_GOODS_SOLD], date__gte=date_from),
        )
        .order_by("product_ref")
    )
    rows = [
        {
            "product_ref": row["product_ref"],
            "product_label": row["product_label"],
            **_turnover(row["cogs"], row["opening"], row["closing"], days),
        }
        for row in grouped
    ]
    totals = _turnover(
        sum(row["cost_of_goods_sold"] for row in rows),
        sum(row["opening_inventory"] for row in rows),
        sum(row["closing_inventory"] for row in rows),
        days,
    )
    return Report(
        title=_("在庫回転率"),
        columns=[
            ("product_ref", _("商品コード")),
            ("product_label", _("商品名")),
            ("opening_inventory", _("期首在庫（原価）")),
            ("closing_inventory", _("期末在庫（原価）")),
            ("average_inventory", _("平均在庫")),
            ("cost_of_goods_sold", _("売上原価")),
            ("turnover", _("回転率（回）")),
            ("days_on_hand", _("在庫日数")),
        ],
        rows=rows,
        totals=totals,
        parameters={"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "days": days},
    )


def _sales_by(period_expression, *, date_from, date_to, title) -> Report:
    _check_range(date_from, date_to)
    ids = _account_ids(chart.SALES, chart.SALES_DISCOUNTS, chart.TAX_RECEIVED)
    grouped = (
        JournalLine.objects.filter(
            date__gte=date_from, date__lte=date_to, account_id__in=list(ids.values()), tax_rate__isnull=False
        )
        .annotate(period=period_expression)
        .values("period", "tax_rate")
        .annotate(
            sales=_sum(CREDIT_MINUS_DEBIT, account_id=ids[chart.SALES]),
            discounts=_sum(DEBIT_MINUS_CREDIT, account_id=ids[chart.SALES_DISCOUNTS]),
            tax=_sum(CREDIT_MINUS_DEBIT, account_id=ids[chart.TAX_RECEIVED]),
        )
        .order_by("period", "tax_rate")
    )
    rows = []
    for row in grouped:
        net_sales = row["sales"] - row["discounts"]
        period = row["period"]
        rows.append(
            {
                "period": period.isoformat() if hasattr(period, "isoformat") else str(period),
                "tax_rate": row["tax_rate"],
                "sales": row["sales"],
                "discounts": row["discounts"],
                "net_sales": net_sales,
                "tax": row["tax"],
                "total_including_tax": net_sales + row["tax"],
            }
        )
    sums = {
        key: sum(row[key] for row in rows) for key in ("sales", "discounts", "net_sales", "tax", "total_including_tax")
    }
    return Report(
        title=title,
        columns=[
            ("period", _("期間")),
            ("tax_rate", _("税率（%）")),
            ("sales", _("売上（税抜）")),
            ("discounts", _("値引（税抜）")),
            ("net_sales", _("純売上（税抜）")),
            ("tax", _("消費税")),
            ("total_including_tax", _("税込合計")),
        ],
        rows=rows,
        totals=sums,
        parameters={"date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
    )


def sales_daily(*, date_from: datetime.date, date_to: datetime.date) -> Report:
    """日次売上 per tax rate: sales and discounts net of tax, the consumption tax, and the tax-inclusive total."""
    return _sales_by(F("date"), date_from=date_from, date_to=date_to, title=_("日次売上（税率別）"))


def sales_monthly(*, date_from: datetime.date, date_to: datetime.date) -> Report:
    """月次売上 per tax rate, as `sales_daily` but one row per month and rate."""
    return _sales_by(TruncMonth("date"), date_from=date_from, date_to=date_to, title=_("月次売上（税率別）"))
