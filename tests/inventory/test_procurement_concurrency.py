"""Two staff members approve the same order at the same moment, each on their own PostgreSQL connection."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection

from apps.core.errors import Conflict
from apps.core.models import AuditEntry
from apps.core.roles import STAFF
from apps.inventory.models import PurchaseOrder
from apps.inventory.services import purchase_order_approve
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
