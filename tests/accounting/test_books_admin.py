"""The month-closing pages in the admin: drafting and approving manual entries, paying payables in a batch, the
checklist with the tax settlement and undoing a close, the new reports."""

import pytest
from django.urls import reverse

from apps.accounting.models import Account, EntryKind, JournalEntry, ManualEntry
from apps.accounting.selectors import ledger_state
from tests.accounting.test_properties import balance

pytestmark = pytest.mark.django_db


def _lines(*rows):
    data = {"lines-TOTAL_FORMS": "8", "lines-INITIAL_FORMS": "0"}
    for index in range(8):
        account, debit, credit, category = rows[index] if index < len(rows) else ("", "", "", "out_of_scope")
        data |= {
            f"lines-{index}-account": account,
            f"lines-{index}-debit": debit,
            f"lines-{index}-credit": credit,
            f"lines-{index}-tax_category": category,
        }
    return data


def _account_id(code):
    return str(Account.objects.get(code=code).pk)


def test_a_manager_drafts_and_another_approves_in_the_admin(settings, client, manager_user, second_manager):
    settings.MANUAL_ENTRY_APPROVAL_THRESHOLD_YEN = 1000
    client.force_login(manager_user)
    add_url = reverse("admin:accounting_manualentry_add")
    assert client.get(add_url).status_code == 200
    form = {"date": "2026-04-20", "memo": "電気代", "reason": "請求書の遅れ"}
    unbalanced = client.post(
        add_url,
        form
        | _lines((_account_id("6010"), "2000", "", "taxable_10"), (_account_id("2002"), "", "1000", "out_of_scope")),
    )
    assert "一致しません" in unbalanced.content.decode() and not ManualEntry.objects.exists()
    lines = _lines((_account_id("6010"), "2000", "", "taxable_10"), (_account_id("2002"), "", "2000", "out_of_scope"))
    client.post(add_url, form | lines)
    manual_entry = ManualEntry.objects.get()
    assert manual_entry.status == ManualEntry.Status.PENDING

    decide_url = reverse("admin:accounting_manualentry_decide", args=[manual_entry.pk])
    response = client.post(decide_url, {"action": "approve"}, follow=True)
    assert "起票したマネージャー本人" in response.content.decode()
    client.force_login(second_manager)
    client.post(decide_url, {"action": "approve", "note": "OK"})
    manual_entry.refresh_from_db()
    assert manual_entry.status == ManualEntry.Status.POSTED and balance("6010") == 2000


def test_staff_cannot_draft(client, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse("admin:accounting_manualentry_add")).status_code == 403


def test_payables_are_paid_in_a_batch_from_the_admin(april_books, client, manager_user):
    client.force_login(manager_user)
    url = reverse("admin:accounting_payables")
    page = client.get(url, {"as_of": "2026-04-30"}).content.decode()
    assert "AI利用料" in page and "1600" in page
    numbers = JournalEntry.objects.filter(kind__in=[EntryKind.AI_USAGE, EntryKind.MACHINE_FEE]).values_list(
        "number", flat=True
    )
    client.post(url, {"entry_numbers": [str(number) for number in numbers], "paid_from": "cash", "date": "2026-04-30"})
    assert balance("2002") == 0
    assert "未払の債務はありません" in client.get(url).content.decode()


def test_month_close_page_settles_tax_closes_and_reopens(april_books, client, manager_user, staff_user):
    url = reverse("admin:accounting_month_close")
    client.force_login(staff_user)
    assert client.get(url).status_code == 403
    client.force_login(manager_user)
    page = client.get(url, {"through_date": "2026-04-30"}).content.decode()
    assert "買掛金・未払金を確認した" in page and "弥生会計" in page

    client.post(url, {"action": "settle_tax", "through_date": "2026-04-30"})
    assert JournalEntry.objects.filter(kind=EntryKind.TAX_SETTLEMENT).exists()
    client.post(url, {"action": "close", "through_date": "2026-04-30"})
    assert ledger_state().closed_through is None  # the payables (and the month without a stocktake) not confirmed
    client.post(url, {"action": "close", "through_date": "2026-04-30", "confirmed": ["payables", "stocktake"]})
    assert str(ledger_state().closed_through) == "2026-04-30"
    client.post(url, {"action": "reopen", "reason": "計上漏れ", "through_date": "2026-04-30"})
    assert ledger_state().closed_through is None


@pytest.mark.parametrize(
    ("slug", "text"), [("cash-flow", "当期純利益"), ("consumption-tax", "売上税額"), ("aged-payables", "未払残高")]
)
def test_new_reports_render(april_books, client, manager_user, slug, text):
    client.force_login(manager_user)
    params = (
        {"as_of": "2026-04-30"} if slug == "aged-payables" else {"date_from": "2026-04-01", "date_to": "2026-04-30"}
    )
    response = client.get(reverse("admin:accounting_report", args=[slug]), params)
    assert response.status_code == 200 and text in response.content.decode()
