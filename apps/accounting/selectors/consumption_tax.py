"""消費税の集計 for a period, the way the National Tax Agency's return computes it with 積上げ計算.

Output tax is the tax on the receipts the shop issued (適格簡易請求書), rounded down once per rate per receipt, as
posted to 仮受消費税 per rate; input tax is the tax on the invoices received, as posted to 仮払消費税 per rate. Of
either, the national consumption tax is 78/100 (7.8 of 10 %, 6.24 of 8 %), rounded down per rate. The national tax
due is output less input, rounded down to 100 yen (差引税額); the local consumption tax is 22/78 of it, rounded down
to 100 yen. Under 簡易課税 the input tax is the output tax times the deemed purchase rate
(`settings.CONSUMPTION_TAX_DEEMED_PURCHASE_RATE`). A refund (input above output) is not rounded.
"""

import datetime

from django.conf import settings
from django.db.models import Sum
from django.utils.translation import gettext as _

from apps.accounting import chart
from apps.accounting.models import AccountType, EntryKind, JournalLine
from apps.accounting.selectors import Report, _check_range
from apps.core.money import TaxRate

NATIONAL_SHARE = 78  # of every 100 yen of consumption tax, at either rate
LOCAL_PER_NATIONAL = (22, 78)
INPUT_SOURCES = {EntryKind.PURCHASE_RECEIPT: "input_tax_purchases", EntryKind.MACHINE_FEE: "input_tax_fees"}


def _floor_hundreds(amount: int) -> int:
    return amount // 100 * 100 if amount > 0 else amount


def _national(amount: int) -> int:
    return amount * NATIONAL_SHARE // 100


def _local(national_due: int) -> int:
    share, of = LOCAL_PER_NATIONAL
    if national_due <= 0:
        return -(-national_due * share // of)
    return _floor_hundreds(national_due * share // of)


def _period_lines(date_from: datetime.date, date_to: datetime.date):
    # The settlement and year-end closing only move balances between accounts; they are not transactions.
    return JournalLine.objects.filter(date__range=(date_from, date_to), tax_rate__isnull=False).exclude(
        entry__kind__in=[EntryKind.TAX_SETTLEMENT, EntryKind.YEAR_END_CLOSING]
    )


def _credits_by_rate(lines) -> dict[int, int]:
    return dict(
        lines.values("tax_rate").annotate(net=Sum("credit") - Sum("debit")).values_list("tax_rate", "net").order_by()
    )


def _rate_rows(date_from: datetime.date, date_to: datetime.date) -> list[dict]:
    lines = _period_lines(date_from, date_to)
    sales = _credits_by_rate(lines.filter(account__account_type=AccountType.REVENUE))
    output = _credits_by_rate(lines.filter(account__code=chart.TAX_RECEIVED))
    inputs = (
        lines.filter(account__code=chart.TAX_PAID)
        .values("tax_rate", "entry__kind")
        .annotate(tax=Sum("debit") - Sum("credit"))
        .order_by()
    )
    rows = []
    for rate in sorted(TaxRate.values):
        row = {"rate": rate, "sales_net": sales.get(rate, 0), "output_tax": output.get(rate, 0)}
        row["taxable_sales"] = row["sales_net"] + row["output_tax"]
        for source in ("input_tax_purchases", "input_tax_fees", "input_tax_other"):
            row[source] = sum(
                item["tax"]
                for item in inputs
                if item["tax_rate"] == rate and INPUT_SOURCES.get(item["entry__kind"], "input_tax_other") == source
            )
        row["input_tax"] = row["input_tax_purchases"] + row["input_tax_fees"] + row["input_tax_other"]
        row["national_output_tax"] = _national(row["output_tax"])
        row["national_input_tax"] = _national(row["input_tax"])
        rows.append(row)
    return rows


def _totals(rows: list[dict]) -> dict:
    totals = {
        key: sum(row[key] for row in rows)
        for key in (
            "taxable_sales",
            "sales_net",
            "output_tax",
            "input_tax",
            "national_output_tax",
            "national_input_tax",
        )
    }
    national_due = _floor_hundreds(totals["national_output_tax"] - totals["national_input_tax"])
    deemed_rate = settings.CONSUMPTION_TAX_DEEMED_PURCHASE_RATE
    deemed_input = totals["national_output_tax"] * deemed_rate // 100
    simplified_national_due = _floor_hundreds(totals["national_output_tax"] - deemed_input)
    totals.update(
        national_tax_due=national_due,
        local_tax_due=_local(national_due),
        tax_due=national_due + _local(national_due),
        books_balance=totals["output_tax"] - totals["input_tax"],
        simplified_deemed_purchase_rate=deemed_rate,
        simplified_national_input_tax=deemed_input,
        simplified_national_tax_due=simplified_national_due,
        simplified_local_tax_due=_local(simplified_national_due),
        simplified_tax_due=simplified_national_due + _local(simplified_national_due),
    )
    return totals


def consumption_tax_summary(*, date_from: datetime.date, date_to: datetime.date) -> Report:
    """Per rate (8 % reduced, 10 %): taxable sales with and without tax, output tax, input tax on purchases, on
    fees and on other entries (manual entries), and their national shares; totals: the tax due under the general
    method and under 簡易課税, and `books_balance` (仮受消費税 − 仮払消費税 of the period, which the settlement
    moves to 未払消費税; it differs from `tax_due` by the rounding of the return)."""
    _check_range(date_from, date_to)
    rows = _rate_rows(date_from, date_to)
    return Report(
        title=_("消費税の集計"),
        columns=[
            ("rate", _("税率（%）")),
            ("taxable_sales", _("課税売上（税込）")),
            ("sales_net", _("課税売上（税抜）")),
            ("output_tax", _("売上税額")),
            ("national_output_tax", _("うち国税（78/100）")),
            ("input_tax_purchases", _("仕入税額（商品）")),
            ("input_tax_fees", _("仕入税額（手数料）")),
            ("input_tax_other", _("仕入税額（その他）")),
            ("input_tax", _("仕入税額 計")),
            ("national_input_tax", _("うち国税（78/100）")),
        ],
        rows=rows,
        totals=_totals(rows),
        parameters={"date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
    )


def unsettled_tax(*, through: datetime.date) -> dict[str, dict[int | None, int]]:
    """The balances a settlement through `through` clears: 仮受消費税 (credit) and 仮払消費税 (debit) per rate."""
    lines = JournalLine.objects.filter(date__lte=through, account__code__in=(chart.TAX_RECEIVED, chart.TAX_PAID))
    balances = {chart.TAX_RECEIVED: {}, chart.TAX_PAID: {}}
    for row in lines.values("account__code", "tax_rate").annotate(balance=Sum("debit") - Sum("credit")).order_by():
        if row["balance"]:
            balances[row["account__code"]][row["tax_rate"]] = row["balance"]
    return balances
