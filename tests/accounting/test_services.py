import datetime

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from apps.accounting import chart
from apps.accounting.models import DIRECT_WRITE_MESSAGE, JournalEntry, JournalLine, Ledger
from apps.accounting.postings import post_capital_contribution
from apps.accounting.selectors import trial_balance
from apps.accounting.services import LineSpec, journal_entry_post, journal_entry_reverse, period_close
from apps.core.errors import Conflict, ValidationError
from apps.core.models import AuditEntry
from apps.core.services import audit_record

DAY = datetime.date(2026, 4, 1)


def _cash_sale_lines(amount=1000):
    return [LineSpec(account=chart.CASH, debit=amount), LineSpec(account=chart.SALES, credit=amount)]


def _post(**overrides):
    return journal_entry_post(**{"date": DAY, "memo": "テスト", "lines": _cash_sale_lines(), **overrides})


@pytest.mark.django_db
class TestRefusedPostings:
    @pytest.mark.parametrize(
        ("lines", "code"),
        [
            ([LineSpec(account=chart.CASH, debit=1000), LineSpec(account=chart.SALES, credit=999)], "unbalanced"),
            (
                [LineSpec(account=chart.CASH, debit=1000, credit=1000), LineSpec(account=chart.SALES, credit=0)],
                "both_sides",
            ),
            ([LineSpec(account=chart.CASH, debit=-5), LineSpec(account=chart.SALES, credit=-5)], "negative_amount"),
            ([LineSpec(account=chart.CASH, debit=0), LineSpec(account=chart.SALES, credit=0)], "zero_amount"),
            ([LineSpec(account=chart.CASH, debit=1.5), LineSpec(account=chart.SALES, credit=1.5)], "not_integer_yen"),
            ([LineSpec(account=chart.CASH, debit=1000)], "too_few_lines"),
            ([LineSpec(account=chart.SGA, debit=10), LineSpec(account=chart.CASH, credit=10)], "summary_account"),
            ([LineSpec(account="9999", debit=10), LineSpec(account=chart.CASH, credit=10)], "invalid"),
        ],
    )
    def test_invalid_lines_are_refused_and_nothing_is_written(self, lines, code):
        with pytest.raises(ValidationError) as refused:
            _post(lines=lines)
        assert refused.value.code == code
        assert refused.value.message
        assert not JournalEntry.objects.exists()
        assert Ledger.objects.get().last_entry_number == 0

    def test_posting_on_or_before_the_lock_date_is_refused(self, manager_user):
        period_close(through_date=DAY, actor=manager_user)
        with pytest.raises(Conflict) as refused:
            _post(date=DAY)
        assert refused.value.code == "period_closed"
        _post(date=DAY + datetime.timedelta(days=1))
        assert JournalEntry.objects.count() == 1

    def test_an_entry_can_be_reversed_only_once(self, manager_user):
        entry = _post()
        journal_entry_reverse(entry=entry, date=DAY, actor=manager_user, reason="金額誤り")
        with pytest.raises(Conflict) as refused:
            journal_entry_reverse(entry=entry, date=DAY, actor=manager_user)
        assert refused.value.code == "already_reversed"


@pytest.mark.django_db(transaction=True)
def test_a_refusal_for_a_closed_period_leaves_the_callers_transaction_usable(manager_user):
    # The posting joins the caller's transaction without a savepoint: it refuses before it writes anything.
    period_close(through_date=DAY, actor=manager_user)
    entries = JournalEntry.objects.count()

    with transaction.atomic():
        with pytest.raises(Conflict) as refused:
            _post(date=DAY)
        audit_record(target=manager_user, action="books.posting_refused", reason=refused.value.message)

    assert refused.value.code == "period_closed"
    assert AuditEntry.objects.filter(action="books.posting_refused").exists()
    assert JournalEntry.objects.count() == entries
    assert not JournalLine.objects.filter(date=DAY).exists()


@pytest.mark.django_db
class TestPosting:
    def test_entries_are_numbered_in_order_and_lines_carry_the_entry_date(self, manager_user):
        first = _post(created_by=manager_user)
        second = _post(date=DAY + datetime.timedelta(days=3))
        # A sequence on PostgreSQL: increasing, never reused, with a gap where a posting rolled back.
        assert 0 < first.number < second.number
        assert Ledger.objects.get().last_entry_number == second.number
        assert first.created_by == manager_user
        assert set(second.lines.values_list("date", flat=True)) == {second.date}

    def test_reversal_brings_every_balance_back_and_is_audited(self, manager_user):
        entry = _post()
        reversal = journal_entry_reverse(entry=entry, date=DAY, actor=manager_user, reason="二重計上")
        assert reversal.reversal_of == entry
        assert all(row["debit_balance"] == row["credit_balance"] == 0 for row in trial_balance(as_of=DAY).rows)
        assert AuditEntry.objects.filter(action="journal_entry.reverse", reason="二重計上").exists()

    def test_entry_records_its_source_object(self, manager_user):
        entry = post_capital_contribution(date=DAY, amount=1_000_000, source=manager_user)
        assert entry.source == manager_user


@pytest.mark.django_db
class TestImmutability:
    def test_posted_entry_cannot_be_saved_or_deleted(self):
        entry = _post()
        entry.memo = "書き換え"
        with pytest.raises(Conflict):
            entry.save()
        with pytest.raises(Conflict):
            entry.delete()
        line = entry.lines.first()
        line.debit += 1
        with pytest.raises(Conflict):
            line.save()
        assert JournalEntry.objects.get().memo == "テスト"

    def test_querysets_refuse_update_delete_and_direct_inserts(self):
        entry = _post()
        with pytest.raises(Conflict):
            JournalLine.objects.filter(entry=entry).update(debit=1)
        with pytest.raises(Conflict):
            JournalEntry.objects.all().delete()
        with pytest.raises(Conflict):
            JournalLine.objects.bulk_create([JournalLine(entry=entry, account_id=1, date=DAY, debit=5)])
        with pytest.raises(Conflict):
            JournalEntry.objects.create(number=99, date=DAY, memo="抜け道")
        assert JournalLine.objects.count() == 2

    def test_new_lines_and_entries_in_bulk_are_refused_too(self):
        entry = _post()
        with pytest.raises(Conflict) as refused:
            JournalLine(entry=entry, account_id=entry.lines.first().account_id, date=DAY, debit=5).save()
        assert refused.value.message == DIRECT_WRITE_MESSAGE
        with pytest.raises(Conflict) as refused:
            JournalEntry.objects.bulk_create([JournalEntry(number=99, date=DAY, memo="抜け道")])
        assert refused.value.message == DIRECT_WRITE_MESSAGE
        assert (JournalEntry.objects.count(), JournalLine.objects.count()) == (1, 2)

    def test_database_constraints_refuse_a_line_with_both_sides(self):
        entry = _post()
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO accounting_journalline (entry_id, account_id, date, debit, credit, product_ref,"
                " product_label) VALUES (%s, %s, %s, 5, 5, '', '')",
                [entry.id, entry.lines.first().account_id, DAY],
            )

    @pytest.mark.postgres
    def test_database_trigger_refuses_update_and_delete(self):
        entry = _post()
        for sql in (
            "UPDATE accounting_journalline SET debit = debit WHERE entry_id = %s",
            "DELETE FROM accounting_journalentry WHERE id = %s",
        ):
            with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [entry.id])


@pytest.mark.django_db
class TestPeriodClose:
    def test_lock_date_only_moves_forward_and_is_audited(self, manager_user):
        period_close(through_date=DAY, actor=manager_user)
        with pytest.raises(Conflict):
            period_close(through_date=DAY - datetime.timedelta(days=1), actor=manager_user)
        assert Ledger.objects.get().closed_through == DAY
        assert AuditEntry.objects.filter(action="period.close", to_state=DAY.isoformat()).exists()

    def test_today_or_later_cannot_be_closed(self, manager_user):
        with pytest.raises(ValidationError):
            period_close(through_date=datetime.date.today() + datetime.timedelta(days=1), actor=manager_user)
