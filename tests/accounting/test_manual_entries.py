import pytest
from django.urls import reverse

from apps.accounting.models import EntryKind, JournalEntry, ManualEntry, TaxCategory
from apps.accounting.services import journal_entry_reverse, period_close
from apps.accounting.services.manual_entries import (
    ManualLine,
    manual_entry_approve,
    manual_entry_create,
    manual_entry_reject,
)
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.models import AuditEntry
from tests.accounting.conftest import api_client, april
from tests.accounting.test_properties import balance

pytestmark = pytest.mark.django_db

# An accrued machine fee the shop forgot: 機械手数料 1,000 and 仮払消費税 100 (10%) / 未払金 1,100.
ACCRUAL = [
    ManualLine("6010", debit=1000, tax_category=TaxCategory.TAXABLE_10),
    ManualLine("1201", debit=100, tax_category=TaxCategory.TAXABLE_10),
    ManualLine("2002", credit=1100),
]


def _create(actor, lines=ACCRUAL, **kwargs):
    fields = {"date": april(20), "memo": "4月分の電気代", "reason": "請求書が遅れて届いたため", **kwargs}
    return manual_entry_create(lines=lines, actor=actor, **fields)


def test_an_entry_within_the_threshold_is_posted_at_once_with_its_tax_rates(manager_user):
    manual_entry = _create(manager_user)

    assert manual_entry.status == ManualEntry.Status.POSTED
    entry = manual_entry.entry
    assert entry.kind == EntryKind.MANUAL and entry.created_by == manager_user
    assert [(line.account.code, line.debit, line.credit, line.tax_rate) for line in entry.lines.order_by("id")] == [
        ("6010", 1000, 0, 10),
        ("1201", 100, 0, 10),
        ("2002", 0, 1100, None),
    ]
    assert balance("2002") == -1100
    assert AuditEntry.objects.filter(action="manual_entry.create", reason="請求書が遅れて届いたため").exists()


def test_above_the_threshold_a_second_manager_must_approve(settings, manager_user, second_manager):
    settings.MANUAL_ENTRY_APPROVAL_THRESHOLD_YEN = 1000
    manual_entry = _create(manager_user)
    assert manual_entry.status == ManualEntry.Status.PENDING
    assert not JournalEntry.objects.exists()

    with pytest.raises(PermissionDenied) as refused:
        manual_entry_approve(manual_entry=manual_entry, actor=manager_user)
    assert refused.value.code == "same_manager"

    approved = manual_entry_approve(manual_entry=manual_entry, actor=second_manager, note="請求書を確認")
    assert approved.status == ManualEntry.Status.POSTED and approved.decided_by == second_manager
    assert approved.entry.date == april(20)
    with pytest.raises(Conflict):
        manual_entry_approve(manual_entry=manual_entry, actor=second_manager)


def test_a_rejected_entry_is_never_posted_and_needs_a_reason(settings, manager_user, second_manager):
    settings.MANUAL_ENTRY_APPROVAL_THRESHOLD_YEN = 0
    manual_entry = _create(manager_user)
    with pytest.raises(ValidationError):
        manual_entry_reject(manual_entry=manual_entry, actor=second_manager, note=" ")
    rejected = manual_entry_reject(manual_entry=manual_entry, actor=second_manager, note="金額が請求書と違う")
    assert rejected.status == ManualEntry.Status.REJECTED
    assert not JournalEntry.objects.exists()


@pytest.mark.parametrize(
    ("lines", "fields", "code"),
    [
        ([ManualLine("6010", debit=1000), ManualLine("2002", credit=900)], {}, "unbalanced"),
        ([ManualLine("6010", debit=1000)], {}, "too_few_lines"),
        ([ManualLine("6001", debit=10), ManualLine("1001", credit=10)], {}, "summary_account"),
        (
            [ManualLine("6010", debit=10, tax_category="zero"), ManualLine("1001", credit=10)],
            {},
            "invalid_tax_category",
        ),
        (ACCRUAL, {"reason": ""}, "reason_required"),
    ],
)
def test_refused_entries_write_nothing(manager_user, lines, fields, code):
    with pytest.raises(ValidationError) as refused:
        _create(manager_user, lines=lines, **fields)
    assert refused.value.code == code
    assert not ManualEntry.objects.exists() and not JournalEntry.objects.exists()


def test_only_managers_draft_and_closed_periods_are_refused(staff_user, manager_user):
    with pytest.raises(PermissionDenied):
        _create(staff_user)
    period_close(through_date=april(30), actor=manager_user)
    with pytest.raises(Conflict) as refused:
        _create(manager_user)
    assert refused.value.code == "period_closed"


def test_a_posted_entry_is_corrected_by_its_reversal(manager_user):
    manual_entry = _create(manager_user)
    journal_entry_reverse(entry=manual_entry.entry, date=april(21), actor=manager_user, reason="二重計上")
    assert balance("2002") == 0 and balance("6010") == 0


def test_api_drafts_and_a_second_manager_approves(settings, manager_user, second_manager, staff_user):
    settings.MANUAL_ENTRY_APPROVAL_THRESHOLD_YEN = 500
    body = {
        "date": "2026-04-20",
        "memo": "4月分の電気代",
        "reason": "請求書が遅れて届いたため",
        "lines": [
            {"account": "6010", "debit": 1000, "tax_category": "taxable_10"},
            {"account": "1201", "debit": 100, "tax_category": "taxable_10"},
            {"account": "2002", "credit": 1100},
        ],
    }
    staff = api_client(staff_user)
    assert staff.post(reverse("accounting-manual-entries"), body, format="json").status_code == 403
    client = api_client(manager_user)
    created = client.post(reverse("accounting-manual-entries"), body, format="json")
    assert created.status_code == 201 and created.json()["status"] == "pending"
    url = reverse("accounting-manual-entry-approve", args=[created.json()["id"]])
    assert client.post(url, {}, format="json").status_code == 403
    approver = api_client(second_manager)
    approved = approver.post(url, {"note": "確認"}, format="json")
    assert approved.status_code == 200 and approved.json()["entry_number"]
    unbalanced = {**body, "lines": body["lines"][:2]}
    assert client.post(reverse("accounting-manual-entries"), unbalanced, format="json").status_code == 400
