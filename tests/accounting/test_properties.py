"""Random sequences of shop events, posted through the posting functions and mirrored by a tiny stock model.

Events: receipts, sales with coupons, refunds, supplier payments, card settlements, stock adjustments, a day's AI
usage, a Manager's manual entry (an expense paid from the till, with its 10 % input tax), paying every open payable
from the till, and the consumption-tax settlement. After every event the books must balance, 商品 must equal the
model's stock at moving-average cost (per product and in total), 現金 the captured cash payments minus cash refunds,
supplier payments, manual cash expenses and payables paid, 売掛金 the card/IC payments not refunded or settled, the
open payables the balances of 買掛金 and 未払金, and the cash-flow statement's cash change the change of 現金 and
普通預金. (The same test through the real inventory services comes with the inventory app.)
Then the fiscal year is closed: every revenue and expense account ends at zero, 繰越利益剰余金 holds the year's profit
as the income statement still shows it, and the balance sheet and the stock model's accounts still agree.
"""

import datetime
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounting import chart
from apps.accounting.models import AccountType, JournalEntry, JournalLine, TaxCategory
from apps.accounting.postings import (
    PAYMENT_ACCOUNTS,
    PaidFrom,
    PaymentMethod,
    SoldItem,
    StockItem,
    post_ai_usage,
    post_card_settlement,
    post_purchase_receipt,
    post_refund,
    post_sale,
    post_stock_adjustment,
    post_supplier_payment,
)
from apps.accounting.selectors import balance_sheet, income_statement
from apps.accounting.selectors.cash_flow import cash_flow_statement
from apps.accounting.selectors.payables import PAYABLE_ACCOUNTS, open_payables
from apps.accounting.services import fiscal_year_close
from apps.accounting.services.consumption_tax import consumption_tax_settle
from apps.accounting.services.manual_entries import ManualLine, manual_entry_create
from apps.accounting.services.payables import payables_pay
from tests.accounting.conftest import FISCAL_2025_END

PRODUCTS = [("TEA", "緑茶", 8), ("CHIPS", "ポテトチップス", 8), ("PEN", "ボールペン", 10)]
# In the last month of a past fiscal year (default March year-end), so that each example can close its year.
DAY = datetime.date(2026, 3, 10)


@dataclass
class StockModel:
    quantity: dict = field(default_factory=lambda: {ref: 0 for ref, _, _ in PRODUCTS})
    value: dict = field(default_factory=lambda: {ref: 0 for ref, _, _ in PRODUCTS})
    cash: int = 0
    receivable: int = 0
    manager: object = None
    sales: list = field(default_factory=list)  # (entry, paid, method, [(ref, quantity, cost)])

    def cost_of(self, ref: str, quantity: int) -> int:
        """Moving-average cost of `quantity` units; the last unit out takes what value is left."""
        if quantity == self.quantity[ref]:
            return self.value[ref]
        return self.value[ref] * quantity // self.quantity[ref]

    def move(self, ref: str, quantity: int, cost: int) -> None:
        self.quantity[ref] += quantity
        self.value[ref] += cost


receipt = st.tuples(st.just("receipt"), st.integers(0, 2), st.integers(1, 20), st.integers(1, 500))
sale = st.tuples(
    st.just("sale"),
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(1, 5), st.integers(1, 400), st.integers(0, 100)),
        min_size=1,
        max_size=3,
    ),
    # The methods the model settles (cash, and the card/IC receivable); PayPay and Stripe have receivables of their
    # own, checked in tests/inventory/test_checkout_*.py.
    st.sampled_from([m for m in PaymentMethod if PAYMENT_ACCOUNTS[m] in (chart.CASH, chart.CARD_RECEIVABLE)]),
)
refund = st.tuples(st.just("refund"), st.integers(0, 50), st.booleans())
payment = st.tuples(st.just("payment"), st.integers(1, 5000))
settlement = st.tuples(st.just("settle"), st.integers(1, 100), st.integers(0, 50))
adjustment = st.tuples(st.just("adjust"), st.integers(0, 2), st.integers(-5, 5), st.booleans())
ai_usage = st.tuples(st.just("ai"), st.integers(1, 300))
manual = st.tuples(st.just("manual"), st.integers(1, 3000))
pay_payables = st.tuples(st.just("pay_payables"))
tax_settlement = st.tuples(st.just("settle_tax"))
events = st.lists(
    st.one_of(receipt, sale, refund, payment, settlement, adjustment, ai_usage, manual, pay_payables, tax_settlement),
    max_size=14,
)


def apply_receipt(model, product, quantity, unit_cost):
    ref, label, rate = PRODUCTS[product]
    cost = quantity * unit_cost
    post_purchase_receipt(date=DAY, items=[StockItem(ref, label, cost)], tax_by_rate={rate: cost * rate // 100})
    model.move(ref, quantity, cost)


def apply_sale(model, lines, method):
    items, taken = [], []
    for product, quantity, unit_price, discount_pct in lines:
        ref, label, rate = PRODUCTS[product]
        available = model.quantity[ref] - sum(q for r, q, _ in taken if r == ref)
        quantity = min(quantity, available)
        if quantity <= 0:
            continue
        cost = model.cost_of(ref, quantity)
        model.move(ref, -quantity, -cost)
        gross = quantity * unit_price
        items.append(SoldItem(ref, label, rate, gross=gross, discount=gross * discount_pct // 100, cost=cost))
        taken.append((ref, quantity, cost))
    if not items:
        return
    entry = post_sale(date=DAY, items=items, payment_method=method)
    paid = sum(item.gross - item.discount for item in items)
    if method == PaymentMethod.CASH:
        model.cash += paid
    else:
        model.receivable += paid
    model.sales.append((entry, paid, method, taken))


def apply_refund(model, pick, restocked):
    if not model.sales:
        return
    entry, paid, method, taken = model.sales.pop(pick % len(model.sales))
    post_refund(date=DAY, sale_entry=entry, restocked=restocked)
    if method == PaymentMethod.CASH:
        model.cash -= paid
    else:
        model.receivable -= paid
    if restocked:
        for ref, quantity, cost in taken:
            model.move(ref, quantity, cost)


def apply_payment(model, amount):
    post_supplier_payment(date=DAY, amount=amount, paid_from=PaidFrom.CASH)
    model.cash -= amount


def apply_settlement(model, percent, fee_per_mille):
    gross = model.receivable * percent // 100
    if gross <= 0:
        return
    post_card_settlement(date=DAY, gross=gross, fee=gross * fee_per_mille // 1000)
    model.receivable -= gross


def apply_adjustment(model, product, delta, waste):
    ref, label, _rate = PRODUCTS[product]
    if waste:
        delta = -abs(delta)
    if delta == 0 or model.quantity[ref] == 0 or -delta > model.quantity[ref]:
        return
    # Found units are valued at the current average cost, like lost ones.
    cost = model.cost_of(ref, -delta) if delta < 0 else model.value[ref] * delta // model.quantity[ref]
    signed_cost = -cost if delta < 0 else cost
    if signed_cost == 0:
        return
    post_stock_adjustment(date=DAY, product_ref=ref, product_label=label, cost_delta=signed_cost, waste=waste)
    model.move(ref, delta, signed_cost)


def apply_ai_usage(model, cost):
    post_ai_usage(date=DAY, cost_yen=cost)


def apply_manual(model, gross):
    """A receipt for office supplies paid from the till, entered by hand: 機械手数料 and 仮払消費税 / 現金."""
    tax = gross * 10 // 110
    manual_entry_create(
        date=DAY,
        memo="消耗品（手入力）",
        reason="レシートの計上漏れ",
        lines=[
            ManualLine("6010", debit=gross - tax, tax_category=TaxCategory.TAXABLE_10),
            *([ManualLine("1201", debit=tax, tax_category=TaxCategory.TAXABLE_10)] if tax else []),
            ManualLine("1001", credit=gross),
        ],
        actor=model.manager,
    )
    model.cash -= gross


def apply_pay_payables(model):
    items = open_payables()
    if not items:
        return
    payables_pay(
        entry_numbers=[item.entry.number for item in items], paid_from=PaidFrom.CASH, date=DAY, actor=model.manager
    )
    model.cash -= sum(item.open_amount for item in items)


def apply_tax_settlement(model):
    if balance(chart.TAX_RECEIVED) or balance(chart.TAX_PAID):
        consumption_tax_settle(through_date=DAY, actor=model.manager)
        assert balance(chart.TAX_RECEIVED) == balance(chart.TAX_PAID) == 0


APPLY = {
    "receipt": apply_receipt,
    "sale": apply_sale,
    "refund": apply_refund,
    "payment": apply_payment,
    "settle": apply_settlement,
    "adjust": apply_adjustment,
    "ai": apply_ai_usage,
    "manual": apply_manual,
    "pay_payables": apply_pay_payables,
    "settle_tax": apply_tax_settlement,
}


def balance(code: str, **filters) -> int:
    sums = JournalLine.objects.filter(account__code=code, **filters).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (sums["d"] or 0) - (sums["c"] or 0)


def assert_books_match(model: StockModel) -> None:
    totals = JournalLine.objects.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert totals["d"] == totals["c"]
    for ref, _label, _rate in PRODUCTS:
        assert balance(chart.INVENTORY, product_ref=ref) == model.value[ref]
    assert balance(chart.INVENTORY) == sum(model.value.values())
    assert balance(chart.CASH) == model.cash
    assert balance(chart.CARD_RECEIVABLE) == model.receivable
    items = open_payables()
    for code in PAYABLE_ACCOUNTS:
        # Payments beyond what was owed (a supplier paid in advance) leave nothing open, not a negative payable.
        assert sum(item.open_amount for item in items if item.account_code == code) == max(-balance(code), 0)
    cash_flow = cash_flow_statement(date_from=DAY, date_to=DAY).totals
    assert cash_flow["net_change"] == balance(chart.CASH) + balance(chart.BANK)


def assert_closing_keeps_the_books_true(model: StockModel) -> None:
    year = {"date_from": datetime.date(2025, 4, 1), "date_to": FISCAL_2025_END}
    income = income_statement(**year).totals
    closing = fiscal_year_close(year_end=FISCAL_2025_END, actor=None)
    assert closing.net_income == income["net_income"]
    assert income_statement(**year).totals == income
    closed = JournalLine.objects.filter(account__account_type__in=[AccountType.REVENUE, AccountType.EXPENSE])
    assert not closed.values("account").annotate(balance=Sum("debit") - Sum("credit")).exclude(balance=0).exists()
    assert balance(chart.RETAINED_EARNINGS) == -income["net_income"]
    sheet = balance_sheet(as_of=FISCAL_2025_END).totals
    assert sheet["total_assets"] == sheet["total_liabilities_and_equity"]
    assert_books_match(model)


@pytest.mark.django_db
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=events)
def test_random_shop_events_keep_the_books_true(events, manager_user):
    with transaction.atomic():
        model = StockModel(manager=manager_user)
        for kind, *args in events:
            APPLY[kind](model, *args)
            assert_books_match(model)
        assert_closing_keeps_the_books_true(model)
        # Each example starts from empty books.
        transaction.set_rollback(True)
    assert not JournalEntry.objects.exists()
