"""Postings do not wait on each other's numbering (PostgreSQL): a sale whose transaction is still open holds up
neither another sale's posting nor its number, while closing the books still waits for the postings in flight."""

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from apps.accounting.models import EntryKind, JournalEntry
from apps.accounting.postings import PaymentMethod, SoldItem, post_ai_usage, post_sale
from apps.accounting.services import period_close
from apps.accounting.services.payables import payables_pay
from apps.core.errors import Conflict

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TODAY = timezone.localdate()


def _sell(label: str) -> JournalEntry:
    return post_sale(
        date=TODAY, items=[SoldItem(label, "お茶", 8, gross=150, cost=70)], payment_method=PaymentMethod.CARD
    )


def _with_lock_timeout(work):
    """Run `work` in a transaction that gives up (OperationalError) after waiting 2 s for any lock."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
        return work()


def _hold_a_posting_open(posted: threading.Event, release: threading.Event) -> int:
    """Post a sale and keep its transaction open until `release` is set; returns its number."""
    try:
        with transaction.atomic():
            number = _sell("HELD").number
            posted.set()
            assert release.wait(timeout=20)
        return number
    finally:
        connection.close()


def _in_own_connection(work):
    try:
        return work()
    finally:
        connection.close()


def test_two_sales_post_at_once_without_waiting_on_each_others_numbering():
    posted, release = threading.Event(), threading.Event()
    with ThreadPoolExecutor(max_workers=2) as pool:
        held = pool.submit(_hold_a_posting_open, posted, release)
        assert posted.wait(timeout=20)
        try:
            other = pool.submit(_in_own_connection, lambda: _with_lock_timeout(lambda: _sell("OTHER"))).result()
        finally:
            release.set()
        held_number = held.result()

    assert other.number != held_number
    assert JournalEntry.objects.count() == 2
    assert set(JournalEntry.objects.values_list("number", flat=True)) == {held_number, other.number}


def test_closing_the_books_waits_for_a_posting_in_flight():
    posted, release = threading.Event(), threading.Event()
    yesterday = TODAY - datetime.timedelta(days=1)
    with ThreadPoolExecutor(max_workers=2) as pool:
        held = pool.submit(_hold_a_posting_open, posted, release)
        assert posted.wait(timeout=20)
        close = pool.submit(
            _in_own_connection, lambda: _with_lock_timeout(lambda: period_close(through_date=yesterday, actor=None))
        )
        try:
            with pytest.raises(OperationalError, match="lock timeout"):
                close.result()
        finally:
            release.set()
        held.result()

    assert period_close(through_date=yesterday, actor=None).closed_through == yesterday


def test_two_managers_paying_the_same_payable_at_once_pay_it_once(manager_user, second_manager):
    usage = post_ai_usage(date=TODAY, cost_yen=700)

    def pay(actor):
        return payables_pay(entry_numbers=[usage.number], paid_from="bank", date=TODAY, actor=actor)

    def hold_a_payment_open(posted: threading.Event, release: threading.Event):
        try:
            with transaction.atomic():
                pay(manager_user)
                posted.set()
                assert release.wait(timeout=20)
        finally:
            connection.close()

    posted, release = threading.Event(), threading.Event()
    with ThreadPoolExecutor(max_workers=2) as pool:
        held = pool.submit(hold_a_payment_open, posted, release)
        assert posted.wait(timeout=20)
        # The second payment sees the payable still open, posts, then waits on the first one's unique row.
        second = pool.submit(_in_own_connection, lambda: pay(second_manager))
        threading.Event().wait(0.5)
        release.set()
        held.result()
        with pytest.raises(Conflict) as refused:
            second.result()

    assert refused.value.code == "already_paid"
    assert JournalEntry.objects.filter(kind=EntryKind.PAYABLE_PAYMENT).count() == 1
