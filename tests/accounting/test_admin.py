import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounting import fiscal_year
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
    entry = JournalEntry.objects.order_by("number").first()
    change_url = reverse("admin:accounting_journalentry_change", args=[entry.pk])
    response = client.get(change_url)
    assert response.status_code == 200
    client.post(change_url, {"memo": "書き換え"})
    assert client.get(reverse("admin:accounting_journalentry_delete", args=[entry.pk])).status_code == 403
    assert JournalEntry.objects.get(number=entry.number).memo == entry.memo


def test_reverse_action_posts_a_reversing_entry(april_books, client, manager_user):
    client.force_login(manager_user)
    entry = JournalEntry.objects.order_by("number")[1]
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


def test_fiscal_year_close_from_the_admin(fiscal_2025_books, client, manager_user, staff_user):
    url = reverse("admin:accounting_fiscal_year_close")
    client.force_login(staff_user)
    assert client.post(url, {"year_end": "2026-03-31"}).status_code == 403
    client.force_login(manager_user)
    page = client.get(reverse("admin:accounting_reports")).content.decode()
    suggested = fiscal_year.last_year_end_before(timezone.localdate()).isoformat()
    assert f'name="year_end" value="{suggested}"' in page

    done = client.post(url, {"year_end": "2026-03-31"}, follow=True).content.decode()
    assert "1,301円を繰越利益剰余金に振り替えました" in done
    assert "決算振替済み: 2026年3月31日 を期末とする年度まで" in done
    assert Ledger.objects.get().fiscal_year_closed_through == datetime.date(2026, 3, 31)
    again = client.post(url, {"year_end": "2026-03-31"}, follow=True).content.decode()
    assert "決算振替済みです" in again
    assert JournalEntry.objects.filter(kind="year_end_closing").count() == 1
    assert client.get(url).status_code == 405


def test_trial_balance_page_can_show_the_balances_before_closing(fiscal_2025_books, client, manager_user):
    client.force_login(manager_user)
    client.post(reverse("admin:accounting_fiscal_year_close"), {"year_end": "2026-03-31"})
    page = client.get(
        reverse("admin:accounting_report", args=["trial-balance"]), {"as_of": "2026-03-31", "before_closing": "true"}
    ).content.decode()
    assert "残高試算表（決算振替前）" in page
    assert 'name="before_closing" value="true" checked' in page
    assert "before_closing=True" in page  # the CSV link keeps the option
