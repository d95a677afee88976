"""The shop's events in the books, through the real services: what each event posts, a refusal by the books failing
the event with nothing written, and random sequences keeping the books equal to the shop (a property test)."""

import datetime
import uuid

import pytest
from django.db import transaction
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounting import chart
from apps.accounting.models import EntryKind, JournalEntry, JournalLine, Ledger
from apps.accounting.postings import PaidFrom, post_supplier_payment
from apps.accounting.selectors import journal_entries_for_source
from apps.accounting.services import period_close
from apps.core.errors import ApplicationError, Conflict
from apps.inventory import tasks
from apps.inventory.models import Payment, Product, Sale, Slot, StorageStock
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services import (
    purchase_create,
    sale_refund,
    stock_adjust,
    stock_receive,
    stock_transfer_to_slot,
)
from apps.inventory.services.books import sales_book_all, sales_book_pending
from apps.inventory.services.reconciliation import payments_reconcile
from tests.factories import CouponFactory, MachineFactory, ProductFactory, SlotFactory

JAMMING_DISPENSER = "tests.inventory.fakes.FirstItemOnlyDispenser"


def stock_value_yen(product: Product) -> int:
    """The product's stock (slots and back room) at its moving-average cost: what 商品 must hold for it."""
    in_slots = Slot.objects.filter(product=product).aggregate(total=Sum("quantity"))["total"] or 0
    in_storage = StorageStock.objects.filter(product=product).values_list("quantity", flat=True).first() or 0
    return (in_slots + in_storage) * product.unit_cost_yen


def balance(code: str) -> int:
    """Debit-side balance of an account."""
    totals = JournalLine.objects.filter(account__code=code).aggregate(debit=Sum("debit"), credit=Sum("credit"))
    return (totals["debit"] or 0) - (totals["credit"] or 0)


def books_stock_value() -> int:
    return sum(stock_value_yen(product) for product in Product.objects.all())


def buy(machine, *, slot="A1", quantity=1, coupon=None, method="cash"):
    return purchase_create(
        machine=machine,
        items=[{"slot": slot, "quantity": quantity}],
        coupon_code=coupon,
        payment_method=method,
        idempotency_key=uuid.uuid4().hex,
        channel="tablet",
    ).sale


@pytest.mark.django_db
class TestEventsPost:
    def test_a_card_sale_with_a_coupon_books_receivable_sales_discount_tax_and_cost(self, machine, tea_slot):
        CouponFactory(code="HALF", kind="percent", value=50)

        sale = buy(machine, quantity=2, coupon="HALF", method="card")
        sales_book_all()

        (entry,) = journal_entries_for_source(sale)
        assert entry.kind == EntryKind.SALE
        assert balance(chart.CARD_RECEIVABLE) == 150  # ¥300 less 50 %
        assert -balance(chart.TAX_RECEIVED) == sale.tax_8_yen == 11
        assert -balance(chart.SALES) - balance(chart.SALES_DISCOUNTS) == 150 - 11
        assert balance(chart.COST_OF_GOODS_SOLD) == 2 * 70
        assert balance(chart.INVENTORY) == books_stock_value() == 6 * 70

    def test_receipt_books_net_cost_input_tax_and_payable(self, machine):
        product = ProductFactory(unit_cost_yen=0, tax_rate=10)

        movement = stock_receive(product=product, quantity=3, unit_cost_yen=100)

        (entry,) = journal_entries_for_source(movement)
        assert entry.kind == EntryKind.PURCHASE_RECEIPT
        assert (balance(chart.INVENTORY), balance(chart.TAX_PAID), balance(chart.ACCOUNTS_PAYABLE)) == (300, 30, -330)

    def test_receipt_rounding_of_the_moving_average_goes_to_cost_of_goods_sold(self, machine):
        product = ProductFactory(unit_cost_yen=0)
        stock_receive(product=product, quantity=2, unit_cost_yen=100)

        stock_receive(product=product, quantity=1, unit_cost_yen=101, input_tax_yen=8)

        product.refresh_from_db()
        assert product.unit_cost_yen == 100  # 301 / 3, rounded
        assert balance(chart.INVENTORY) == books_stock_value() == 300
        assert balance(chart.COST_OF_GOODS_SOLD) == 1
        assert balance(chart.ACCOUNTS_PAYABLE) == -(301 + 16 + 8)

    def test_waste_and_count_difference_at_moving_average_cost(self, machine, tea_slot):
        stock_adjust(slot=tea_slot, quantity_delta=-1, reason="賞味期限切れ", is_waste=True)
        stock_adjust(product=tea_slot.product, quantity_delta=-2, reason="棚卸差異")

        assert balance(chart.INVENTORY_WASTE) == 70
        assert balance(chart.INVENTORY_SHRINKAGE) == 140
        assert balance(chart.INVENTORY) == books_stock_value() == 5 * 70

    def test_staff_refund_of_a_whole_sale_reverses_it(self, machine, tea_slot):
        sale = buy(machine, quantity=2)

        sale_refund(sale=sale, reason="お客様の申し出", return_to_storage=True)

        sale_entry, refund_entry = journal_entries_for_source(sale)
        assert refund_entry.reversal_of == sale_entry
        for code in (chart.CASH, chart.SALES, chart.TAX_RECEIVED, chart.COST_OF_GOODS_SOLD):
            assert balance(code) == 0
        assert balance(chart.INVENTORY) == books_stock_value() == 8 * 70

    def test_jam_refunds_only_what_did_not_come_out_then_staff_refund_the_rest(self, machine, tea_slot, settings):
        settings.DISPENSER = JAMMING_DISPENSER
        CouponFactory(code="C100", kind="yen", value=100)

        sale = buy(machine, quantity=3, coupon="C100")  # ¥450 − ¥100; two of three jam: ¥233 back

        sale_entry, jam_entry = journal_entries_for_source(sale)
        assert jam_entry.refund_of == sale_entry
        assert balance(chart.CASH) == 350 - 233 == sale.total_yen - sale.refunded_yen
        assert -balance(chart.TAX_RECEIVED) == 117 * 8 // 108
        assert balance(chart.COST_OF_GOODS_SOLD) == 70
        assert balance(chart.INVENTORY) == books_stock_value()

        sale_refund(sale=sale, reason="残りも返金", return_to_storage=False)

        for code in (chart.CASH, chart.SALES, chart.SALES_DISCOUNTS, chart.TAX_RECEIVED):
            assert balance(code) == 0
        assert balance(chart.COST_OF_GOODS_SOLD) == 70  # the item that came out is not back in stock
        assert balance(chart.INVENTORY) == books_stock_value()


@pytest.mark.django_db
class TestBooksRefusal:
    """The books refuse a date on or before the lock date. `period_close` only closes past days, so these tests
    close the books through today directly, as a sale just after midnight meets a day closed a moment earlier."""

    @pytest.fixture
    def books_closed_today(self, db):
        Ledger.objects.filter(pk=1).update(closed_through=timezone.localdate())

    def test_a_sale_completed_after_its_day_was_closed_is_booked_on_the_first_open_day(
        self, machine, tea_slot, books_closed_today, fresh_terminal
    ):
        sale = buy(machine, method="card")

        sales_book_all()

        (entry,) = journal_entries_for_source(sale)
        assert entry.date == timezone.localdate() + datetime.timedelta(days=1)
        assert f"（{timezone.localdate().isoformat()} の販売）" in entry.memo
        assert (sale.status, Payment.objects.get().status) == (Sale.Status.COMPLETED, Payment.Status.CAPTURED)
        assert fresh_terminal.totals() == (1, 150, 0)  # charged once, nothing given back

    def test_refund_receipt_and_adjustment_are_refused_with_nothing_written(self, machine, tea_slot):
        sale = buy(machine)
        Ledger.objects.filter(pk=1).update(closed_through=timezone.localdate())
        entries = JournalEntry.objects.count()

        with pytest.raises(Conflict):
            sale_refund(sale=sale, reason="返金", return_to_storage=True)
        with pytest.raises(Conflict):
            stock_receive(product=tea_slot.product, quantity=5, unit_cost_yen=80)
        with pytest.raises(Conflict):
            stock_adjust(slot=tea_slot, quantity_delta=-1, reason="破損", is_waste=True)

        sale.refresh_from_db()
        tea_slot.refresh_from_db()
        assert (sale.status, sale.refunded_yen, sale.payment.refunded_yen) == (Sale.Status.COMPLETED, 0, 0)
        assert (tea_slot.quantity, tea_slot.product.storage.quantity, tea_slot.product.unit_cost_yen) == (2, 5, 70)
        assert JournalEntry.objects.count() == entries
        assert stock_integrity_problems() == []


@pytest.mark.django_db
class TestSalesBookkeeper:
    """A sale completes without its journal entry; the bookkeeper (a beat job every 5 seconds) posts it, once."""

    def test_a_purchase_is_booked_by_the_bookkeeper_once(self, machine, tea_slot):
        sale = buy(machine, quantity=2, method="card")
        assert journal_entries_for_source(sale) == [] and balance(chart.CARD_RECEIVABLE) == 0

        assert sales_book_pending() == 1
        assert sales_book_pending() == 0

        (entry,) = journal_entries_for_source(sale)
        assert (entry.kind, entry.date, entry.memo) == (EntryKind.SALE, timezone.localdate(), f"売上 HQ-1F #{sale.pk}")
        assert balance(chart.CARD_RECEIVABLE) == 300
        assert balance(chart.INVENTORY) == books_stock_value()
        sale.refresh_from_db()
        assert sale.booked_at is not None

    def test_oldest_first_at_most_the_limit(self, machine, tea_slot):
        first, second = buy(machine), buy(machine)

        assert sales_book_pending(limit=1) == 1

        assert len(journal_entries_for_source(first)) == 1 and journal_entries_for_source(second) == []
        assert sales_book_all() == 1

    def test_a_sale_the_books_refuse_waits_without_holding_up_the_others(self, machine, tea_slot, caplog):
        refused, fine = buy(machine), buy(machine)
        Payment.objects.filter(sale=refused).update(method="bitcoin")  # no account in the books for it

        assert sales_book_pending() == 1

        assert journal_entries_for_source(refused) == [] and len(journal_entries_for_source(fine)) == 1
        assert f"Sale #{refused.pk} could not be booked (invalid_payment_method)" in caplog.text
        Payment.objects.filter(sale=refused).update(method="cash")  # mended: the next run books it
        assert sales_book_all() == 1
        assert len(journal_entries_for_source(refused)) == 1

    def test_a_refund_books_the_sale_first(self, machine, tea_slot):
        sale = buy(machine, quantity=2)

        sale_refund(sale=sale, reason="お客様の申し出", return_to_storage=True)

        sale_entry, refund_entry = journal_entries_for_source(sale)
        assert (sale_entry.kind, refund_entry.reversal_of) == (EntryKind.SALE, sale_entry)
        assert sales_book_pending() == 0
        assert balance(chart.CASH) == 0 and balance(chart.INVENTORY) == books_stock_value()

    def test_a_jam_books_the_sale_before_its_refund(self, machine, tea_slot, settings):
        settings.DISPENSER = JAMMING_DISPENSER

        sale = buy(machine, quantity=2)

        sale_entry, jam_entry = journal_entries_for_source(sale)
        assert jam_entry.refund_of == sale_entry
        assert balance(chart.CASH) == 150 and balance(chart.INVENTORY) == books_stock_value()

    def test_closing_a_period_books_the_sales_still_waiting_in_it(self, machine, tea_slot, manager_user):
        yesterday = timezone.localdate() - datetime.timedelta(days=1)
        sale = buy(machine)
        Sale.objects.filter(pk=sale.pk).update(created_at=timezone.now() - datetime.timedelta(days=1))

        period_close(through_date=yesterday, actor=manager_user)

        (entry,) = journal_entries_for_source(sale)
        assert entry.date == yesterday
        assert balance(chart.CASH) == 150

    def test_the_daily_reconciliation_books_the_sales_still_waiting(self, machine, tea_slot):
        sale = buy(machine, method="card")

        report = payments_reconcile(day=timezone.localdate())

        assert report.mismatch_count == 0
        assert len(journal_entries_for_source(sale)) == 1

    def test_beat_runs_the_bookkeeper_every_five_seconds(self, machine, tea_slot):
        job = PeriodicTask.objects.get(task="inventory.sales_book")
        assert job.enabled and (job.interval.every, job.interval.period) == (5, "seconds")
        sale = buy(machine)

        tasks.sales_book.delay()

        assert len(journal_entries_for_source(sale)) == 1


# --- random sequences through the real services ------------------------------------------------------------------

SLOTS = ["A1", "A2", "B1"]
METHODS = ["cash", "card", "ic", "qr"]
COUPONS = [None, "YEN30", "PCT15"]

purchase = st.tuples(
    st.just("purchase"), st.sampled_from(SLOTS), st.integers(1, 3), st.sampled_from(COUPONS), st.sampled_from(METHODS)
)
jammed_purchase = st.tuples(st.just("jam"), st.sampled_from(SLOTS), st.integers(2, 3), st.sampled_from(COUPONS))
refund = st.tuples(st.just("refund"), st.integers(0, 50), st.booleans())
receipt = st.tuples(st.just("receipt"), st.sampled_from(SLOTS), st.integers(1, 12), st.integers(1, 250))
transfer = st.tuples(st.just("transfer"), st.sampled_from(SLOTS), st.integers(1, 6))
adjustment = st.tuples(st.just("adjust"), st.sampled_from(SLOTS), st.integers(-3, 3), st.booleans(), st.booleans())
payment = st.tuples(st.just("pay_supplier"), st.integers(1, 3000), st.sampled_from([PaidFrom.CASH, PaidFrom.BANK]))
book = st.tuples(st.just("book"))
events = st.lists(
    st.one_of(purchase, jammed_purchase, refund, receipt, transfer, adjustment, payment, book), min_size=1, max_size=15
)


class Shop:
    """Three slots (two 8 % products, one 10 %) and what the test paid suppliers; every step calls a service."""

    def __init__(self):
        self.machine = MachineFactory(code="HQ-1F")
        products = [
            ProductFactory(sku="P-TEA", tax_rate=8, price_yen=150, unit_cost_yen=0),
            ProductFactory(sku="P-RICE", tax_rate=8, price_yen=198, unit_cost_yen=0),
            ProductFactory(sku="P-MASK", category="goods", tax_rate=10, price_yen=330, unit_cost_yen=0),
        ]
        self.slots = {
            code: SlotFactory(machine=self.machine, code=code, product=product, capacity=8)
            for code, product in zip(SLOTS, products, strict=True)
        }
        CouponFactory(code="YEN30", kind="yen", value=30, max_uses=None)
        CouponFactory(code="PCT15", kind="percent", value=15, max_uses=None)
        self.supplier_payments = 0
        # Stock to sell from the first event on (else most purchases are refused as sold out).
        for slot in self.slots.values():
            stock_receive(product=slot.product, quantity=6, unit_cost_yen=90)
            stock_transfer_to_slot(slot=slot, quantity=4)

    def purchase(self, slot, quantity, coupon, method):
        buy(self.machine, slot=slot, quantity=quantity, coupon=coupon, method=method)

    def jam(self, slot, quantity, coupon):
        with override_settings(DISPENSER=JAMMING_DISPENSER):
            buy(self.machine, slot=slot, quantity=quantity, coupon=coupon)

    def refund(self, pick, return_to_storage):
        sales = list(Sale.objects.exclude(status=Sale.Status.REFUNDED).order_by("id"))
        if sales:
            sale_refund(sale=sales[pick % len(sales)], reason="テスト返金", return_to_storage=return_to_storage)

    def receipt(self, slot, quantity, unit_cost):
        stock_receive(product=self.slots[slot].product, quantity=quantity, unit_cost_yen=unit_cost)

    def transfer(self, slot, quantity):
        stock_transfer_to_slot(slot=self.slots[slot], quantity=quantity)

    def adjust(self, slot, delta, in_back_room, waste):
        if delta == 0:
            return
        place = {"product": self.slots[slot].product} if in_back_room else {"slot": self.slots[slot]}
        stock_adjust(quantity_delta=delta, reason="棚卸", is_waste=waste and delta < 0, **place)

    def book(self):
        sales_book_pending()

    def pay_supplier(self, amount, paid_from):
        # The posting itself: procurement's `purchase_order_pay_supplier` pays only a supplier's received order.
        post_supplier_payment(date=timezone.localdate(), amount=amount, paid_from=paid_from)
        self.supplier_payments += amount


def assert_books_match(shop: Shop) -> None:
    """The books balance and the stock adds up after every event; once no sale waits for the bookkeeper, the books'
    stock and money equal the shop's."""
    totals = JournalLine.objects.aggregate(debit=Sum("debit"), credit=Sum("credit"))
    assert totals["debit"] == totals["credit"]
    assert stock_integrity_problems() == []
    if Sale.objects.filter(booked_at__isnull=True).exists():
        return
    assert balance(chart.INVENTORY) == books_stock_value()
    for product in Product.objects.all():
        tagged = JournalLine.objects.filter(account__code=chart.INVENTORY, product_ref=product.sku)
        value = tagged.aggregate(value=Sum("debit") - Sum("credit"))["value"] or 0
        assert value == stock_value_yen(product), product.sku
    payments = Payment.objects.aggregate(taken=Sum("amount_yen"), refunded=Sum("refunded_yen"))
    money = balance(chart.CASH) + balance(chart.CARD_RECEIVABLE) + balance(chart.BANK)
    assert money == (payments["taken"] or 0) - (payments["refunded"] or 0) - shop.supplier_payments


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=events)
def test_random_shop_events_keep_the_books_equal_to_the_shop(events, fresh_terminal):
    # Each example rolls back like a test case of its own, so a purchase may call the gateway inside it.
    example = transaction.atomic()
    example._from_testcase = True
    with example:
        shop = Shop()
        for kind, *args in events:
            try:
                getattr(shop, kind)(*args)
            except ApplicationError:
                pass  # sold out, over capacity, not enough stock: refused events write nothing (each is atomic)
            assert_books_match(shop)
        shop.book()
        assert not Sale.objects.filter(booked_at__isnull=True).exists()
        assert_books_match(shop)
        transaction.set_rollback(True)
