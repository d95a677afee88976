"""Two people act on the same order at the same moment, each on their own PostgreSQL connection: two staff approve
it, or two Managers pay its goods, one with the order's pay action and one on the books' payables page."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from apps.accounting.models import EntryKind, JournalEntry, PayablePayment
from apps.accounting.selectors.payables import open_payables
from apps.accounting.services.payables import payables_pay
from apps.core.errors import Conflict
from apps.core.models import AuditEntry
from apps.core.roles import MANAGER, STAFF
from apps.inventory.models import PurchaseOrder
from apps.inventory.selectors import purchase_order_invoices
from apps.inventory.services import purchase_order_approve, purchase_order_pay_supplier, purchase_order_receive
from tests.factories import PurchaseOrderFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_staff_approving_at_once_make_one_approval():
    group = Group.objects.get(name=STAFF)
    approvers = [UserFactory(username=f"approver{n}", is_staff=True) for n in range(2)]
    for user in approvers:
        user.groups.add(group)
    order = PurchaseOrderFactory()
    start = threading.Barrier(len(approvers))

    def approve(user):
        try:
            start.wait()
            purchase_order_approve(order=PurchaseOrder.objects.get(pk=order.pk), actor=user)
            return "approved"
        except Conflict as refused:
            return refused.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(approvers)) as pool:
        outcomes = sorted(pool.map(approve, approvers))

    assert outcomes == ["approved", "illegal_transition"]
    order.refresh_from_db()
    assert order.status == PurchaseOrder.Status.ORDERED
    assert AuditEntry.objects.filter(object_id=str(order.pk), to_state=PurchaseOrder.Status.APPROVED).count() == 1
    assert len(mail.outbox) == 1


def _manager(name: str):
    user = UserFactory(username=name, is_staff=True)
    user.groups.add(Group.objects.get(name=MANAGER))
    return user


@pytest.mark.parametrize("first", ["order", "payables_page"])
def test_two_managers_paying_an_order_on_both_paths_at_once_pay_it_once(first, tea_slot, staff_user):
    order = PurchaseOrderFactory(status=PurchaseOrder.Status.ORDERED, line__product=tea_slot.product,
                                 line__quantity=12, line__unit_cost_yen=100)  # fmt: skip
    purchase_order_receive(order=order, delivered={order.lines.get().pk: 12}, actor=staff_user)
    owed = sum(item.open_amount for item in open_payables())  # the order's ¥1,296 and the opening stock's ¥604
    everything = [item.entry.number for item in open_payables()]
    pays = {
        "order": lambda actor: purchase_order_pay_supplier(order=PurchaseOrder.objects.get(pk=order.pk), actor=actor),
        "payables_page": lambda actor: payables_pay(
            entry_numbers=everything, paid_from="bank", date=timezone.localdate(), actor=actor
        ),
    }
    second = "payables_page" if first == "order" else "order"

    def hold_a_payment_open(posted: threading.Event, release: threading.Event):
        try:
            with transaction.atomic():
                pays[first](_manager("first-manager"))
                posted.set()
                assert release.wait(timeout=20)
        finally:
            connection.close()

    def pay_at_the_same_moment(actor):
        try:
            return pays[second](actor)
        finally:
            connection.close()

    other = _manager("second-manager")
    posted, release = threading.Event(), threading.Event()
    with ThreadPoolExecutor(max_workers=2) as pool:
        held = pool.submit(hold_a_payment_open, posted, release)
        assert posted.wait(timeout=20)
        # The second payment sees the order's invoice still open, posts, then waits on the first one's link to it.
        late = pool.submit(pay_at_the_same_moment, other)
        threading.Event().wait(0.5)
        release.set()
        held.result()
        with pytest.raises(Conflict) as refused:
            late.result()

    assert refused.value.code in {"already_paid", "not_open_payable", "paid_in_books"}
    order.refresh_from_db()
    assert order.paid_yen == order.payable_yen == 1296
    assert PayablePayment.objects.filter(payable_entry__in=purchase_order_invoices(order=order)).count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.PAYABLE_PAYMENT).count() == 1
    paid = sum(line.debit for line in JournalEntry.objects.get(kind=EntryKind.PAYABLE_PAYMENT).lines.all())
    assert paid == (owed if first == "payables_page" else 1296)
