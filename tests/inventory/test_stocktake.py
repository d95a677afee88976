"""Stocktaking (棚卸): counts against the book, a Manager's approval, the adjustments and the books; a sale during
the count is never taken for shrinkage."""

import threading
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from apps.accounting import chart
from apps.accounting.selectors import trial_balance
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.inventory.models import Slot, StockMovement, Stocktake, StorageStock
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services import purchase_create, stock_transfer_to_slot
from apps.inventory.services.books import sales_book_all
from apps.inventory.services.stocktake import stocktake_approve, stocktake_cancel, stocktake_count, stocktake_start
from tests.inventory.test_books import balance, books_stock_value


def buy(machine, code="A1", quantity=1):
    return purchase_create(
        machine=machine,
        items=[{"slot": code, "quantity": quantity}],
        coupon_code=None,
        payment_method="cash",
        idempotency_key=uuid.uuid4().hex,
        channel="tablet",
    ).sale


def line_for(stocktake, code):
    return stocktake.lines.get(slot__code=code)


@pytest.mark.django_db
class TestStocktake:
    def test_a_count_with_a_loss_posts_shrinkage_and_the_trial_balance_still_balances(
        self, machine, tea_slot, mask_slot, staff_user, manager_user
    ):
        stocktake = stocktake_start(machine=machine, actor=staff_user)
        assert [(line.slot.code, line.book_at_start) for line in stocktake.lines.all()] == [("A1", 3), ("G1", 4)]

        stocktake_count(
            line=line_for(stocktake, "A1"), counted_quantity=2, reason="不明（盗難の疑い）", actor=staff_user
        )
        stocktake_count(line=line_for(stocktake, "G1"), counted_quantity=4, actor=staff_user)
        stocktake_approve(stocktake=stocktake, actor=manager_user)

        (adjustment,) = StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTMENT)
        assert (adjustment.slot, adjustment.quantity_delta) == (tea_slot, -1)
        assert "不明（盗難の疑い）" in adjustment.reason
        assert line_for(stocktake, "A1").difference_cost_yen == -70
        assert balance(chart.INVENTORY_SHRINKAGE) == 70
        assert balance(chart.INVENTORY) == books_stock_value()
        totals = trial_balance(as_of=timezone.localdate()).totals
        assert totals["debit_total"] == totals["credit_total"]
        assert totals["debit_balance"] == totals["credit_balance"]
        assert stock_integrity_problems() == []

    def test_sales_during_the_count_are_not_shrinkage(self, machine, tea_slot, staff_user, manager_user):
        stocktake = stocktake_start(machine=machine, actor=staff_user)
        buy(machine)  # between the start and the count: on neither the shelf nor the book when counted
        stocktake_count(line=line_for(stocktake, "A1"), counted_quantity=2, actor=staff_user)
        buy(machine)  # after the count, before the approval: off the shelf and the book alike

        stocktake_approve(stocktake=stocktake, actor=manager_user)

        assert not StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTMENT).exists()
        assert balance(chart.INVENTORY_SHRINKAGE) == 0
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 1

    def test_the_back_room_is_counted_by_product_and_found_stock_reduces_the_loss(
        self, tea_slot, staff_user, manager_user
    ):
        stocktake = stocktake_start(actor=staff_user)
        line = stocktake.lines.get(product=tea_slot.product)
        assert (line.slot, line.book_at_start) == (None, 5)

        stocktake_count(line=line, counted_quantity=6, reason="入荷時の数え違い", actor=staff_user)
        stocktake_approve(stocktake=stocktake, actor=manager_user)

        assert StorageStock.objects.get(product=tea_slot.product).quantity == 6
        assert balance(chart.INVENTORY_SHRINKAGE) == -70
        assert balance(chart.INVENTORY) == books_stock_value()
        assert stock_integrity_problems() == []

    def test_approval_needs_a_manager_every_place_counted_and_a_reason_for_each_difference(
        self, machine, tea_slot, mask_slot, staff_user, manager_user
    ):
        stocktake = stocktake_start(machine=machine, actor=staff_user)
        stocktake_count(line=line_for(stocktake, "A1"), counted_quantity=1, actor=staff_user)

        with pytest.raises(PermissionDenied):
            stocktake_approve(stocktake=stocktake, actor=staff_user)
        with pytest.raises(ValidationError) as refused:
            stocktake_approve(stocktake=stocktake, actor=manager_user)
        assert refused.value.details["problems"] == [
            "未カウント: HQ-1F/G1 G001",
            "差異の理由がありません: HQ-1F/A1 D001",
        ]
        assert not StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTMENT).exists()

    def test_one_open_count_per_place_and_a_closed_count_takes_no_entries(self, machine, tea_slot, staff_user):
        stocktake = stocktake_start(machine=machine, actor=staff_user)
        with pytest.raises(Conflict):
            stocktake_start(machine=machine, actor=staff_user)
        stocktake_start(actor=staff_user)  # the back room is another place

        stocktake_cancel(stocktake=stocktake, actor=staff_user, reason="やり直し")
        with pytest.raises(Conflict):
            stocktake_count(line=line_for(stocktake, "A1"), counted_quantity=3, actor=staff_user)
        assert stocktake_start(machine=machine, actor=staff_user).status == Stocktake.Status.COUNTING


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sales_racing_the_count_on_postgresql_post_only_the_missing_unit(machine, tea_slot, staff_user, manager_user):
    """Five customers buy while the counter enters A1. The shelf the counter sees is what the sales committed so far
    left, minus one stolen item; wherever the entry lands among the sales, the approval posts exactly that item
    (against the book at the start it would be −1 minus the earlier sales, against the book at approval −6)."""
    stock_transfer_to_slot(slot=tea_slot, quantity=4)  # 7 in the slot, 1 in the back room
    stocktake = stocktake_start(machine=machine, actor=staff_user)
    start = threading.Barrier(6)
    shelf = threading.Lock()  # the physical shelf: a sale's item leaves it when the sale commits
    errors = []

    def customer():
        try:
            start.wait()
            with shelf:
                buy(machine)
        except Exception as error:  # noqa: BLE001 — collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    def counter():
        try:
            start.wait()
            with shelf:
                on_shelf = Slot.objects.get(pk=tea_slot.pk).quantity - 1  # one item was taken without paying
                stocktake_count(
                    line=line_for(stocktake, "A1"), counted_quantity=on_shelf, reason="盗難", actor=staff_user
                )
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=customer) for _ in range(5)] + [threading.Thread(target=counter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    stocktake_approve(stocktake=stocktake, actor=manager_user)

    (adjustment,) = StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTMENT)
    assert adjustment.quantity_delta == -1
    tea_slot.refresh_from_db()
    assert tea_slot.quantity == 7 - 5 - 1
    sales_book_all()  # the bookkeeper's next run
    assert balance(chart.INVENTORY) == books_stock_value()
    assert stock_integrity_problems() == []
