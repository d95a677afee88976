"""Machine fees: recorded contracts, the monthly charges the daily job posts to the books, corrections, the admin."""

import datetime
from io import StringIO

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.accounting import chart
from apps.accounting.models import EntryKind, JournalEntry
from apps.accounting.selectors import income_statement
from apps.accounting.services import period_close
from apps.core.demo import demo_opening_day
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.models import AuditEntry
from apps.inventory.demo import seed
from apps.inventory.models import MachineFee, MachineFeeCharge
from apps.inventory.services import machine_fee_charge_reverse, machine_fee_save, machine_fees_charge
from apps.inventory.tasks import machine_fees_charge as charging_job
from tests.factories import MachineFeeFactory
from tests.inventory.test_admin import post_change_form

pytestmark = pytest.mark.django_db


def day(month: int, day_of_month: int) -> datetime.date:
    return datetime.date(2026, month, day_of_month)


def entry_lines(charge: MachineFeeCharge) -> set[tuple[str, int, int]]:
    """(account code, debit, credit) of the charge's journal entry."""
    lines = charge.journal_entry.lines.select_related("account")
    return {(line.account.code, line.debit, line.credit) for line in lines}


def months(charges) -> list[datetime.date]:
    return sorted(charge.month for charge in charges)


class TestMonthlyCharge:
    def test_a_month_is_posted_on_its_due_day_net_tax_and_bank(self, machine):
        fee = MachineFeeFactory(machine=machine, due_day=25, paid_from="bank")

        assert machine_fees_charge(through=day(1, 24)) == []
        (charge,) = machine_fees_charge(through=day(1, 25))

        assert (charge.fee, charge.month, charge.amount_yen) == (fee, day(1, 1), 5500)
        assert charge.journal_entry.date == day(1, 25)
        assert charge.journal_entry.kind == EntryKind.MACHINE_FEE
        assert "HQ-1F 設置場所の賃料 2026年1月分" in charge.journal_entry.memo
        assert entry_lines(charge) == {(chart.MACHINE_FEES, 5000, 0), (chart.TAX_PAID, 500, 0), (chart.BANK, 0, 5500)}

    @pytest.mark.parametrize(
        ("paid_from", "account"),
        [("payable", chart.ACCRUED_EXPENSES), ("cash", chart.CASH)],
    )
    def test_the_fee_is_credited_to_where_it_is_paid_from(self, machine, paid_from, account):
        MachineFeeFactory(machine=machine, kind="connectivity", amount_yen=1078, paid_from=paid_from)

        (charge,) = machine_fees_charge(through=day(1, 31))

        # ¥1,078 holds ¥98 of 10 % tax (rounded down).
        assert entry_lines(charge) == {(chart.MACHINE_FEES, 980, 0), (chart.TAX_PAID, 98, 0), (account, 0, 1078)}

    def test_a_tax_exempt_fee_is_all_expense_without_input_tax(self, machine):
        MachineFeeFactory(machine=machine, kind="other", amount_yen=3000, tax_rate=MachineFee.Tax.NONE)

        (charge,) = machine_fees_charge(through=day(1, 31))

        assert entry_lines(charge) == {(chart.MACHINE_FEES, 3000, 0), (chart.BANK, 0, 3000)}

    def test_the_income_statement_shows_the_fees_of_the_month(self, machine):
        MachineFeeFactory(machine=machine)
        MachineFeeFactory(machine=machine, kind="payment_terminal", amount_yen=3300, due_day=10)
        machine_fees_charge(through=day(1, 31))

        report = income_statement(date_from=day(1, 1), date_to=day(1, 31))

        (row,) = [row for row in report.rows if row["code"] == chart.MACHINE_FEES]
        assert row["amount"] == 5000 + 3000
        assert report.totals["net_income"] == -8000


class TestCatchUpAndIdempotency:
    def test_missed_months_are_caught_up_each_on_its_own_due_date_and_a_rerun_posts_nothing(self, machine):
        MachineFeeFactory(machine=machine, due_day=31, active_from=day(1, 15))

        charges = machine_fees_charge(through=day(4, 10))

        assert months(charges) == [day(1, 1), day(2, 1), day(3, 1)]
        # A due day past the month's end is its last day.
        assert sorted(c.journal_entry.date for c in charges) == [day(1, 31), day(2, 28), day(3, 31)]
        assert machine_fees_charge(through=day(4, 10)) == []
        assert months(machine_fees_charge(through=day(4, 30))) == [day(4, 1)]
        assert JournalEntry.objects.filter(kind=EntryKind.MACHINE_FEE).count() == MachineFeeCharge.objects.count() == 4

    def test_a_fee_due_before_its_start_in_the_first_month_starts_the_next_month(self, machine):
        MachineFeeFactory(machine=machine, due_day=1, active_from=day(1, 15))

        assert months(machine_fees_charge(through=day(3, 1))) == [day(2, 1), day(3, 1)]

    def test_an_ended_fee_stops_and_a_future_one_waits(self, machine):
        MachineFeeFactory(machine=machine, due_day=25, active_until=day(3, 20))
        MachineFeeFactory(machine=machine, kind="connectivity", active_from=day(6, 1))

        charges = machine_fees_charge(through=day(5, 31))

        assert [(c.fee.kind, c.month) for c in sorted(charges, key=lambda c: c.month)] == [
            ("location_rent", day(1, 1)),
            ("location_rent", day(2, 1)),
        ]

    def test_a_new_amount_applies_to_later_months_and_old_charges_keep_theirs(self, machine, manager_user):
        fee = MachineFeeFactory(machine=machine)
        (january,) = machine_fees_charge(through=day(1, 31))

        machine_fee_save(fee=fee, actor=manager_user, amount_yen=6600, note="2月から値上げ")
        (february,) = machine_fees_charge(through=day(2, 28))

        january.refresh_from_db()
        assert january.amount_yen == 5500 and (chart.BANK, 0, 5500) in entry_lines(january)
        assert february.amount_yen == 6600 and (chart.BANK, 0, 6600) in entry_lines(february)
        change = AuditEntry.objects.get(action="machine_fee.change", object_id=str(fee.pk))
        assert change.actor == manager_user
        assert change.data == {"amount_yen": ["5500", "6600"], "note": ["", "2月から値上げ"]}


class TestClosedPeriod:
    def test_months_due_in_a_closed_period_are_posted_on_the_first_open_day(self, machine, manager_user):
        MachineFeeFactory(machine=machine, due_day=25)
        period_close(through_date=day(3, 31), actor=manager_user)

        charges = machine_fees_charge(through=day(4, 30))

        assert [(c.month, c.journal_entry.date) for c in sorted(charges, key=lambda c: c.month)] == [
            (day(1, 1), day(4, 1)),
            (day(2, 1), day(4, 1)),
            (day(3, 1), day(4, 1)),
            (day(4, 1), day(4, 25)),
        ]
        assert "2026年2月分" in charges[1].journal_entry.memo


class TestReversal:
    def test_a_manager_reverses_a_wrong_month_and_the_next_run_charges_it_at_the_new_amount(
        self, machine, manager_user
    ):
        fee = MachineFeeFactory(machine=machine)
        (january,) = machine_fees_charge(through=day(1, 31))

        machine_fee_save(fee=fee, actor=manager_user, amount_yen=4400)
        machine_fee_charge_reverse(charge=january, actor=manager_user, reason="契約書の金額と違っていた")
        (again,) = machine_fees_charge(through=day(1, 31))

        january.refresh_from_db()
        reversal = january.reversal_entry
        assert reversal.reversal_of == january.journal_entry and reversal.date == timezone.localdate()
        assert (again.month, again.amount_yen) == (day(1, 1), 4400)
        assert machine_fees_charge(through=day(1, 31)) == []
        report = income_statement(date_from=day(1, 1), date_to=timezone.localdate())
        (row,) = [row for row in report.rows if row["code"] == chart.MACHINE_FEES]
        assert row["amount"] == 4000  # ¥5,000 net charged, reversed, ¥4,000 net charged again

    def test_staff_cannot_reverse_and_a_reason_is_required(self, machine, staff_user, manager_user):
        MachineFeeFactory(machine=machine)
        (charge,) = machine_fees_charge(through=day(1, 31))

        with pytest.raises(PermissionDenied):
            machine_fee_charge_reverse(charge=charge, actor=staff_user, reason="間違い")
        with pytest.raises(ValidationError, match="理由"):
            machine_fee_charge_reverse(charge=charge, actor=manager_user, reason="  ")
        machine_fee_charge_reverse(charge=charge, actor=manager_user, reason="間違い")
        with pytest.raises(Conflict, match="すでに取り消されています"):
            machine_fee_charge_reverse(charge=charge, actor=manager_user, reason="二度目")


class TestRecordingFees:
    def test_a_manager_records_a_fee_and_it_is_audited(self, machine, manager_user):
        fee = machine_fee_save(
            actor=manager_user,
            machine=machine,
            kind=MachineFee.Kind.PAYMENT_TERMINAL,
            amount_yen=3300,
            due_day=10,
            active_from=day(1, 1),
        )

        assert (fee.tax_rate, fee.paid_from) == (MachineFee.Tax.STANDARD, "bank")
        created = AuditEntry.objects.get(action="machine_fee.create", object_id=str(fee.pk))
        assert created.actor == manager_user and created.data["amount_yen"] == "3300"

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"amount_yen": 0}, "月額は1円以上"),
            ({"due_day": 32}, "支払日は1〜31日"),
            ({"tax_rate": 8}, "税率は10%か"),
            ({"paid_from": "card"}, "支払元"),
            ({"active_until": day(1, 1) - datetime.timedelta(days=1)}, "終了日は開始日以降"),
        ],
    )
    def test_refuses_what_cannot_be_charged(self, machine, manager_user, fields, message):
        with pytest.raises(ValidationError, match=message):
            machine_fee_save(
                actor=manager_user,
                **{"machine": machine, "kind": "location_rent", "amount_yen": 5500, "active_from": day(1, 1), **fields},
            )
        assert not MachineFee.objects.exists()

    def test_machine_and_kind_of_a_fee_stay_and_staff_cannot_change_it(self, machine, staff_user, manager_user):
        fee = MachineFeeFactory(machine=machine)

        with pytest.raises(ValidationError, match="新しい手数料として登録"):
            machine_fee_save(fee=fee, actor=manager_user, kind="connectivity")
        with pytest.raises(PermissionDenied):
            machine_fee_save(fee=fee, actor=staff_user, amount_yen=1)
        fee.refresh_from_db()
        assert (fee.kind, fee.amount_yen) == ("location_rent", 5500)


class TestAdmin:
    FORM = {
        "kind": "location_rent",
        "payee": "ビル管理会社",
        "amount_yen": "5500",
        "tax_rate": "10",
        "paid_from": "bank",
        "due_day": "31",
        "active_from": "2026-01-01",
        "active_until": "",
        "note": "",
    }

    def test_staff_see_fees_and_charges_but_cannot_add_or_change(self, client, machine, staff_user):
        fee = MachineFeeFactory(machine=machine)
        machine_fees_charge(through=day(1, 31))
        client.force_login(staff_user)
        change_url = reverse("admin:inventory_machinefee_change", args=[fee.pk])

        assert client.get(reverse("admin:inventory_machinefee_changelist")).status_code == 200
        assert client.get(reverse("admin:inventory_machinefeecharge_changelist")).status_code == 200
        assert client.get(reverse("admin:inventory_machinefee_add")).status_code == 403
        assert (
            "計上を取り消す" not in client.get(reverse("admin:inventory_machinefeecharge_changelist")).content.decode()
        )
        response = client.post(change_url, {**self.FORM, "amount_yen": "1"})
        assert response.status_code == 403
        fee.refresh_from_db()
        assert fee.amount_yen == 5500

    def test_a_manager_adds_and_changes_a_fee_in_the_admin(self, client, machine, manager_user):
        client.force_login(manager_user)

        response = client.post(
            reverse("admin:inventory_machinefee_add"),
            {**self.FORM, "machine": machine.pk, **_empty_inline()},
        )
        assert response.status_code == 302
        fee = MachineFee.objects.get()
        response = post_change_form(
            client, reverse("admin:inventory_machinefee_change", args=[fee.pk]), {**self.FORM, "amount_yen": "6600"}
        )

        assert response.status_code == 302
        fee.refresh_from_db()
        assert (fee.machine, fee.amount_yen) == (machine, 6600)
        assert AuditEntry.objects.filter(object_id=str(fee.pk), actor=manager_user).count() == 2

    def test_a_refused_fee_shows_the_reason_on_the_form(self, client, machine, manager_user):
        client.force_login(manager_user)

        response = client.post(
            reverse("admin:inventory_machinefee_add"),
            {**self.FORM, "machine": machine.pk, "active_until": "2025-12-31", **_empty_inline()},
        )

        assert response.status_code == 200
        assert "契約終了日は開始日以降にしてください。" in response.content.decode()
        assert not MachineFee.objects.exists()

    def test_a_manager_reverses_a_charge_with_the_admin_action(self, client, machine, manager_user):
        MachineFeeFactory(machine=machine)
        (charge,) = machine_fees_charge(through=day(1, 31))
        client.force_login(manager_user)
        url = reverse("admin:inventory_machinefeecharge_changelist")
        selected = {"action": "reverse", "_selected_action": [charge.pk]}

        assert "理由" in client.post(url, selected).content.decode()
        client.post(url, {**selected, "apply": "1", "reason": "二重に登録した契約"})

        charge.refresh_from_db()
        assert charge.reversal_entry is not None


def _empty_inline() -> dict:
    """The management form of the fee page's charge inline, as a new fee's page sends it."""
    prefix = "charges"
    return {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "0"}


class TestJobAndDemo:
    def test_the_daily_beat_job_exists_and_charges_what_is_due_today(self, machine):
        job = PeriodicTask.objects.get(task="inventory.machine_fees_charge")
        assert job.enabled and (job.crontab.hour, job.crontab.minute) == ("6", "0")
        today = timezone.localdate()
        MachineFeeFactory(machine=machine, due_day=today.day, active_from=today.replace(day=1))

        charging_job.delay()

        (charge,) = MachineFeeCharge.objects.all()
        assert (charge.month, charge.journal_entry.date) == (today.replace(day=1), today)

    def test_seed_demo_records_the_machines_fees_once_from_its_opening_day(self):
        """The history (`experiments`' seeder) charges them as they fall due: tests/core/test_demo.py."""
        seed(stdout=StringIO(), options={})
        seed(stdout=StringIO(), options={})

        fees = MachineFee.objects.all()
        assert fees.count() == 3 and {fee.active_from for fee in fees} == {demo_opening_day({})}
        assert fees.get(kind=MachineFee.Kind.LOCATION_RENT).amount_yen == 5500
        assert not MachineFeeCharge.objects.exists()
