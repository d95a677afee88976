import csv
import io

import pytest
from django.db.models import Sum
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounting.models import JournalEntry, JournalLine, Ledger
from tests.accounting.conftest import api_client, april

pytestmark = pytest.mark.django_db

APRIL_RANGE = {"date_from": "2026-04-01", "date_to": "2026-04-30"}


@pytest.mark.parametrize(
    ("name", "kwargs", "params"),
    [
        ("accounting-trial-balance", {}, {"as_of": "2026-04-30"}),
        ("accounting-income-statement", {}, APRIL_RANGE),
        ("accounting-balance-sheet", {}, {"as_of": "2026-04-30"}),
        ("accounting-general-ledger", {"account_code": "1101"}, APRIL_RANGE),
        ("accounting-product-profitability", {}, APRIL_RANGE),
        ("accounting-inventory-turnover", {}, APRIL_RANGE),
        ("accounting-sales-daily", {}, APRIL_RANGE),
        ("accounting-sales-monthly", {}, APRIL_RANGE),
    ],
)
def test_every_report_is_for_managers_only(april_books, manager_user, staff_user, name, kwargs, params):
    url = reverse(name, kwargs=kwargs)
    assert api_client(staff_user).get(url, params).status_code == 403
    assert APIClient().get(url, params).status_code in (401, 403)
    response = api_client(manager_user).get(url, params)
    assert response.status_code == 200
    assert response.json()["rows"]


def test_income_statement_json(april_books, manager_user):
    response = api_client(manager_user).get(reverse("accounting-income-statement"), APRIL_RANGE)
    assert response.json()["totals"]["net_income"] == -1450


def test_trial_balance_csv_download(april_books, manager_user):
    response = api_client(manager_user).get(
        reverse("accounting-trial-balance"), {"as_of": "2026-04-30", "format": "csv"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["科目コード", "勘定科目"]
    cash = next(row for row in rows if row[0] == "1001")
    assert cash[1:] == ["現金", "1586", "0", "1586", "0"]
    assert rows[-1] == ["合計", "", "1011756", "1011756", "1003236", "1003236"]


def test_bad_date_is_a_400_with_a_message(manager_user):
    response = api_client(manager_user).get(reverse("accounting-income-statement"), {"date_from": "april"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_backwards_range_is_a_400(manager_user):
    response = api_client(manager_user).get(
        reverse("accounting-sales-daily"), {"date_from": "2026-04-30", "date_to": "2026-04-01"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_period_close_then_posting_into_it_is_refused(april_books, manager_user, staff_user):
    url = reverse("accounting-period-close")
    assert api_client(staff_user).post(url, {"through_date": "2026-04-30"}, format="json").status_code == 403
    response = api_client(manager_user).post(url, {"through_date": "2026-04-30"}, format="json")
    assert response.status_code == 200
    assert response.json()["closed_through"] == "2026-04-30"
    assert Ledger.objects.get().closed_through == april(30)
    again = api_client(manager_user).post(url, {"through_date": "2026-04-15"}, format="json")
    assert again.status_code == 409
    entry = JournalEntry.objects.order_by("number")[2]
    refused = api_client(manager_user).post(
        reverse("accounting-entry-reverse", kwargs={"number": entry.number}),
        {"date": "2026-04-20", "reason": "誤り"},
        format="json",
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "period_closed"


def test_reverse_an_entry(april_books, manager_user):
    number = JournalEntry.objects.order_by("number")[2].number
    url = reverse("accounting-entry-reverse", kwargs={"number": number})
    response = api_client(manager_user).post(url, {"date": "2026-05-01", "reason": "二重計上"}, format="json")
    assert response.status_code == 201
    assert response.json()["reversal_of"] == number
    assert (
        api_client(manager_user).post(url, {"date": "2026-05-01", "reason": "再度"}, format="json").status_code == 409
    )
    assert (
        api_client(manager_user)
        .post(reverse("accounting-entry-reverse", kwargs={"number": number + 10_000}), {"reason": "x"}, format="json")
        .status_code
        == 404
    )


def test_csv_request_with_a_bad_date_still_explains_the_error(manager_user):
    response = api_client(manager_user).get(reverse("accounting-balance-sheet"), {"as_of": "someday", "format": "csv"})
    assert response.status_code == 400
    assert response.content.decode("utf-8-sig").startswith("error,invalid,")


def test_fiscal_year_close_for_managers(fiscal_2025_books, manager_user, staff_user):
    url = reverse("accounting-fiscal-year-close")
    assert api_client(staff_user).post(url, {"year_end": "2026-03-31"}, format="json").status_code == 403
    response = api_client(manager_user).post(url, {"year_end": "2026-03-31"}, format="json")
    assert response.status_code == 201
    closing = JournalEntry.objects.get(kind="year_end_closing")
    assert response.json() == {
        "year_start": "2025-04-01",
        "year_end": "2026-03-31",
        "net_income": 1301,
        "entry_number": closing.number,
    }
    again = api_client(manager_user).post(url, {"year_end": "2026-03-31"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "fiscal_year_already_closed"


@pytest.mark.parametrize(("body", "code"), [({"year_end": "2026-03-30"}, "not_fiscal_year_end"), ({}, "invalid")])
def test_fiscal_year_close_needs_a_fiscal_year_end(manager_user, body, code):
    response = api_client(manager_user).post(reverse("accounting-fiscal-year-close"), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert Ledger.objects.get().fiscal_year_closed_through is None


def test_trial_balance_before_and_after_closing(fiscal_2025_books, manager_user):
    client = api_client(manager_user)
    client.post(reverse("accounting-fiscal-year-close"), {"year_end": "2026-03-31"}, format="json")
    url = reverse("accounting-trial-balance")
    after = client.get(url, {"as_of": "2026-03-31"}).json()
    assert after["parameters"] == {"as_of": "2026-03-31", "before_closing": False}
    assert next(row for row in after["rows"] if row["code"] == "4001")["credit_balance"] == 0

    before = client.get(url, {"as_of": "2026-03-31", "before_closing": "true", "format": "csv"})
    assert 'filename="trial_balance_2026-03-31_before_closing.csv"' in before["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(before.content.decode("utf-8-sig"))))
    assert next(row for row in rows if row[0] == "4001")[1:] == ["売上高", "0", "6000", "0", "6000"]


def test_a_manager_records_the_card_processors_payout(april_books, manager_user, staff_user):
    url = reverse("accounting-card-settlement")
    receivable_before = _balance("1003")
    payout = {"date": "2026-04-20", "gross_yen": 1000, "fee_yen": 32}

    assert api_client(staff_user).post(url, payout, format="json").status_code == 403
    too_dear = api_client(manager_user).post(url, {**payout, "fee_yen": 1000}, format="json")
    response = api_client(manager_user).post(url, payout, format="json")

    assert too_dear.status_code == 400 and too_dear.json()["error"]["code"] == "fee_exceeds_settlement"
    assert response.status_code == 201
    entry = JournalEntry.objects.get(number=response.json()["entry_number"])
    assert entry.created_by == manager_user
    assert _balance("1003") == receivable_before - 1000
    assert _balance("1002", entry=entry) == 968 and _balance("6050", entry=entry) == 32


def _balance(code: str, entry=None) -> int:
    """Debits minus credits of an account, in the whole ledger or in one entry."""
    lines = JournalLine.objects.filter(account__code=code)
    if entry is not None:
        lines = lines.filter(entry=entry)
    totals = lines.aggregate(debit=Sum("debit"), credit=Sum("credit"))
    return (totals["debit"] or 0) - (totals["credit"] or 0)
