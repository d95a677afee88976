import datetime

import pytest
from django.urls import reverse

from apps.accounting.models import EntryKind, JournalEntry
from apps.accounting.postings import PaidFrom, StockItem, post_purchase_receipt, post_supplier_payment
from apps.accounting.selectors.payables import aged_payables, open_payables
from apps.accounting.services import journal_entry_reverse
from apps.accounting.services.payables import payables_pay
from apps.core.errors import Conflict, PermissionDenied
from tests.accounting.conftest import api_client, april
from tests.accounting.test_properties import balance

pytestmark = pytest.mark.django_db


def _numbers(kind):
    return list(JournalEntry.objects.filter(kind=kind).values_list("number", flat=True))


def test_aged_payables_list_what_is_owed_and_add_up_to_the_accounts(april_books):
    # 未払金 1,600: AI usage 500 (4/6) and the machine fee 1,100 (4/7); 買掛金 was paid by the 4/5 supplier payment.
    report = aged_payables(as_of=datetime.date(2026, 6, 15))
    assert [(row["kind"], row["open_amount"], row["age_days"]) for row in report.rows] == [
        ("AI利用料", 500, 70),
        ("機械手数料", 1100, 69),
    ]
    assert report.rows[0]["days_61_90"] == 500
    assert report.totals["account_2002"] == -balance("2002") == 1600
    assert report.totals["account_2001"] == -balance("2001") == 0


def test_paying_a_batch_from_the_bank_posts_one_entry_and_each_payable_is_paid_once(april_books, manager_user):
    bank_before = balance("1002")
    numbers = _numbers(EntryKind.AI_USAGE) + _numbers(EntryKind.MACHINE_FEE)
    payment = payables_pay(entry_numbers=numbers, paid_from=PaidFrom.BANK, date=april(30), actor=manager_user)

    assert payment.kind == EntryKind.PAYABLE_PAYMENT
    assert balance("2002") == 0 and balance("1002") == bank_before - 1600
    assert open_payables() == []
    with pytest.raises(Conflict) as refused:
        payables_pay(entry_numbers=numbers[:1], paid_from=PaidFrom.CASH, date=april(30), actor=manager_user)
    assert refused.value.code == "not_open_payable"


def test_only_managers_pay_and_only_open_payables(april_books, staff_user, manager_user):
    with pytest.raises(PermissionDenied):
        payables_pay(entry_numbers=_numbers(EntryKind.AI_USAGE), paid_from="bank", date=april(30), actor=staff_user)
    sale = JournalEntry.objects.filter(kind=EntryKind.SALE).first()
    with pytest.raises(Conflict):
        payables_pay(entry_numbers=[sale.number], paid_from="bank", date=april(30), actor=manager_user)


def test_payments_made_elsewhere_settle_the_oldest_supplier_invoices_first(db, manager_user):
    first = post_purchase_receipt(date=april(1), items=[StockItem("TEA", "緑茶", 1000)], tax_by_rate={8: 80})
    second = post_purchase_receipt(date=april(2), items=[StockItem("TEA", "緑茶", 500)], tax_by_rate={8: 40})
    post_supplier_payment(date=april(3), amount=1500, paid_from=PaidFrom.BANK)  # a purchase order paid in the shop
    cancelled = post_purchase_receipt(date=april(4), items=[StockItem("PEN", "ボールペン", 100)], tax_by_rate={})
    journal_entry_reverse(entry=cancelled, date=april(5), actor=manager_user, reason="誤入力")

    open_items = open_payables()
    assert [(item.entry, item.open_amount) for item in open_items] == [(second, 500 + 40 - (1500 - 1080))]
    assert sum(item.open_amount for item in open_items) == -balance("2001")
    assert first.number not in {item.entry.number for item in open_items}


def test_pay_api(april_books, manager_user):
    client = api_client(manager_user)
    url = reverse("accounting-payables-pay")
    body = {"entry_numbers": _numbers(EntryKind.AI_USAGE), "paid_from": "cash", "date": "2026-04-30"}
    response = client.post(url, body, format="json")
    assert response.status_code == 201 and response.json()["total_yen"] == 500
    assert client.post(url, body, format="json").status_code == 409
    listing = client.get(reverse("accounting-aged-payables"), {"as_of": "2026-04-30", "format": "csv"})
    assert listing.status_code == 200 and "機械手数料" in listing.content.decode("utf-8-sig")
