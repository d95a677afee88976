from io import StringIO

import pytest
from django.core.management import call_command

from apps.inventory.models import PurchaseOrder, StockMovement
from apps.inventory.selectors import stock_integrity_problems

pytestmark = pytest.mark.django_db
Status = PurchaseOrder.Status


def test_seed_demo_leaves_staff_the_planners_orders_to_approve_and_one_partly_delivered_once():
    call_command("seed_demo", stdout=(out := StringIO()))

    pending = PurchaseOrder.objects.filter(status=Status.PENDING_HUMAN_APPROVAL)
    assert pending.count() >= 2
    for order in pending:
        assert order.created_by_label == "procurement-agent"
        assert "過去14日で" in order.reasoning and order.offer_comparison
    partial = PurchaseOrder.objects.get(status=Status.PARTIALLY_RECEIVED)
    assert partial.supplier.name == "株式会社丸山食品" and partial.approved_by.username == "manager"
    line = partial.lines.get()
    assert 0 < line.received_quantity < line.quantity
    assert "partially received" in out.getvalue()
    assert not stock_integrity_problems()

    counts = (PurchaseOrder.objects.count(), StockMovement.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (PurchaseOrder.objects.count(), StockMovement.objects.count()) == counts
