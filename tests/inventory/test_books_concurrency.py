"""The bookkeeper on PostgreSQL, each side on its own connection: two bookkeepers at once post each sale once, and a
sale a refund holds is skipped, not waited for, and booked by the refund itself."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from apps.accounting import chart
from apps.accounting.models import EntryKind, JournalEntry
from apps.inventory.models import Sale
from apps.inventory.services import sale_refund
from apps.inventory.services.books import sales_book_all, sales_book_pending
from tests.inventory.test_books import balance, books_stock_value, buy

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _sale_entries_per_sale() -> list[int]:
    return sorted(
        Counter(JournalEntry.objects.filter(kind=EntryKind.SALE).values_list("source_id", flat=True)).values()
    )


def _in_own_connection(work):
    try:
        return work()
    finally:
        connection.close()


def test_two_bookkeepers_at_once_post_each_sale_once(machine, tea_slot):
    sales = [buy(machine) for _ in range(3)]
    start = threading.Barrier(2)

    def bookkeeper():
        start.wait()
        return sales_book_pending(limit=2)

    with ThreadPoolExecutor(max_workers=2) as pool:
        booked = list(pool.map(lambda _: _in_own_connection(bookkeeper), range(2)))

    assert sum(booked) == 3 and sorted(booked) in ([1, 2], [0, 2])
    sales_book_all()
    assert _sale_entries_per_sale() == [1] * len(sales)
    assert balance(chart.CASH) == 450 and balance(chart.INVENTORY) == books_stock_value()


def test_a_sale_held_by_a_refund_is_skipped_without_waiting_and_booked_by_the_refund(machine, tea_slot):
    held, other = buy(machine), buy(machine)
    locked, release = threading.Event(), threading.Event()

    def refund_after_holding_the_sale():
        with transaction.atomic():  # as a refund's record step holds it (the gateway is called after its commit)
            Sale.objects.select_for_update().get(pk=held.pk)
            locked.set()
            assert release.wait(timeout=20)
        sale_refund(sale=held, reason="返品", return_to_storage=True)

    with ThreadPoolExecutor(max_workers=1) as pool:
        refund = pool.submit(_in_own_connection, refund_after_holding_the_sale)
        assert locked.wait(timeout=20)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")  # a wait would fail the test, not hang it
            assert sales_book_pending() == 1
            assert JournalEntry.objects.get(kind=EntryKind.SALE).source_id == str(other.pk)
        release.set()
        refund.result(timeout=20)

    assert sales_book_pending() == 0
    assert _sale_entries_per_sale() == [1, 1]
    assert JournalEntry.objects.filter(kind=EntryKind.REFUND, reversal_of__source_id=str(held.pk)).count() == 1
    assert balance(chart.CASH) == 150 and balance(chart.INVENTORY) == books_stock_value()
