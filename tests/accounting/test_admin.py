import pytest
from django.urls import reverse

from apps.accounting.models import JournalEntry, Ledger

pytestmark = pytest.mark.django_db


def test_manager_sees_each_report_page_and_staff_does_not(april_books, client, manager_user, staff_user):
    url = reverse("admin:accounting_report", args=["income-statement"])
    client.force_login(staff_user)
    assert client.get(url, {"date_from": "2026-04-01", "date_to": "2026-04-30"}).status_code == 403
    client.force_login(manager_user)
    response = client.get(url, {"date_from": "2026-04-01", "date_to": "2026-04-30"})
    assert response.status_code == 200
    assert "当期純利益" in response.content.decode()
    assert "-1450" in response.content.decode()
    ledger = client.get(reverse("admin:accounting_report", args=["general-ledger"]), {"account_code": "1101"})
    assert ledger.status_code == 200
    assert "format=csv" in ledger.content.decode()


def test_bad_report_dates_show_a_message(client, manager_user):
    client.force_login(manager_user)
    response = client.get(reverse("admin:accounting_report", args=["trial-balance"]), {"as_of": "yesterday"})
    assert response.status_code == 200
    assert "errornote" in response.content.decode()


def test_entries_are_read_only_in_the_admin(april_books, client, manager_user):
    client.force_login(manager_user)
    entry = JournalEntry.objects.get(number=1)
    change_url = reverse("admin:accounting_journalentry_change", args=[entry.pk])
    response = client.get(change_url)
    assert response.status_code == 200
    client.post(change_url, {"memo": "書き換え"})
    assert client.get(reverse("admin:accounting_journalentry_delete", args=[entry.pk])).status_code == 403
    assert JournalEntry.objects.get(number=1).memo == entry.memo


def test_reverse_action_posts_a_reversing_entry(april_books, client, manager_user):
    client.force_login(manager_user)
    entry = JournalEntry.objects.get(number=2)
    client.post(
        reverse("admin:accounting_journalentry_changelist"),
        {"action": "reverse_entries", "_selected_action": [entry.pk]},
    )
    assert JournalEntry.objects.get(reversal_of=entry).kind == "reversal"


def test_period_close_from_the_admin(client, manager_user):
    client.force_login(manager_user)
    response = client.post(reverse("admin:accounting_period_close"), {"through_date": "2026-03-31"})
    assert response.status_code == 302
    assert str(Ledger.objects.get().closed_through) == "2026-03-31"
