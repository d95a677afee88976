import pytest
from django.urls import reverse

from apps.accounting import closing
from apps.accounting.models import PeriodClose
from apps.accounting.selectors import ledger_state
from apps.accounting.services import fiscal_year_close, period_close
from apps.accounting.services.closing import month_close, period_reopen
from apps.accounting.services.consumption_tax import consumption_tax_settle
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.models import AuditEntry
from tests.accounting.conftest import FISCAL_2025_END, api_client, april

pytestmark = pytest.mark.django_db


def _checks(through_date, **kwargs):
    return {result.key: result for result in closing.run_close_checks(through_date, **kwargs)}


def test_open_payables_must_be_confirmed_before_the_month_closes(april_books, manager_user, monkeypatch):
    monkeypatch.delitem(closing._CHECKS, "stocktake")  # the shop's own check (tests/inventory/test_close_checks.py)
    checks = _checks(april(30))
    assert not checks["payables"].passed and "1,600円" in checks["payables"].detail
    assert checks["consumption_tax"].passed  # April is not the fiscal year end
    with pytest.raises(Conflict) as refused:
        month_close(through_date=april(30), actor=manager_user)
    assert [failed["key"] for failed in refused.value.details["failed"]] == ["payables"]

    close = month_close(through_date=april(30), actor=manager_user, confirmed=frozenset({"payables"}))
    assert ledger_state().closed_through == april(30)
    assert {item["key"]: item["passed"] for item in close.checklist}["payables"] is True


def test_other_apps_add_checks_and_a_failing_one_blocks(april_books, manager_user, monkeypatch):
    monkeypatch.setitem(
        closing._CHECKS,
        "stocktake",
        lambda day: closing.CheckResult("stocktake", "棚卸", passed=False, detail="4月の棚卸がありません"),
    )
    with pytest.raises(Conflict):
        month_close(through_date=april(30), actor=manager_user, confirmed=frozenset({"payables", "stocktake"}))
    assert ledger_state().closed_through is None


def test_a_check_no_app_registered_is_shown_as_not_applicable(db, monkeypatch):
    monkeypatch.delitem(closing._CHECKS, "stocktake", raising=False)
    checks = _checks(april(30))
    assert list(checks)[:4] == ["reconciliation", "stocktake", "payables", "consumption_tax"]
    assert checks["stocktake"].passed and "対象外" in checks["stocktake"].detail


def test_the_year_end_needs_the_tax_settlement(fiscal_2025_books, manager_user):
    assert not _checks(FISCAL_2025_END)["consumption_tax"].passed
    consumption_tax_settle(through_date=FISCAL_2025_END, actor=manager_user)
    assert _checks(FISCAL_2025_END)["consumption_tax"].passed


def test_the_latest_close_is_undone_with_a_reason(april_books, manager_user, staff_user):
    period_close(through_date=april(15), actor=manager_user)
    period_close(through_date=april(30), actor=manager_user)
    with pytest.raises(PermissionDenied):
        period_reopen(actor=staff_user, reason="誤り")
    with pytest.raises(ValidationError):
        period_reopen(actor=manager_user, reason="")

    reopened = period_reopen(actor=manager_user, reason="請求書の計上漏れ")
    assert reopened.through_date == april(30) and ledger_state().closed_through == april(15)
    assert AuditEntry.objects.filter(action="period.reopen", reason="請求書の計上漏れ").exists()
    period_reopen(actor=manager_user, reason="さらに前の月も")
    assert ledger_state().closed_through is None
    with pytest.raises(Conflict):
        period_reopen(actor=manager_user, reason="もうない")
    assert PeriodClose.objects.filter(reopened_at__isnull=False).count() == 2


def test_a_closed_fiscal_year_cannot_be_reopened(fiscal_2025_books, manager_user):
    fiscal_year_close(year_end=FISCAL_2025_END, actor=manager_user)
    with pytest.raises(Conflict) as refused:
        period_reopen(actor=manager_user, reason="戻したい")
    assert refused.value.code == "fiscal_year_closed"


def test_month_close_api(april_books, manager_user):
    client = api_client(manager_user)
    url = reverse("accounting-month-close")
    assert any(not item["passed"] for item in client.get(url, {"through_date": "2026-04-30"}).json())
    assert client.post(url, {"through_date": "2026-04-30"}, format="json").status_code == 409
    closed = client.post(url, {"through_date": "2026-04-30", "confirmed": ["payables", "stocktake"]}, format="json")
    assert closed.status_code == 201
    reopened = client.post(reverse("accounting-period-reopen"), {"reason": "訂正"}, format="json")
    assert reopened.json() == {"reopened_through": "2026-04-30", "closed_through": None}
