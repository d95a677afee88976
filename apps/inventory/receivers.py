"""The shop listens to itself and to the books: a slot that falls below its par level asks for planning of its
product, a Celery worker that starts settles the purchases a crash left pending, supplier invoices paid in the
books count as paid on their purchase orders, and a period close books the sales still waiting for the bookkeeper."""

import logging

from celery.signals import worker_ready
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from apps.accounting.models import Ledger, PayablePayment
from apps.accounting.signals import payables_paid, period_closing
from apps.core.logging import dependency_errors, log_dependency_failure
from apps.inventory.models import Machine, Slot
from apps.inventory.selectors import machine_token_cache_clear
from apps.inventory.services import purchase_orders_paid_record
from apps.inventory.services.books import sales_book_all

logger = logging.getLogger(__name__)


def _plan_for(product_id: int) -> None:
    from apps.inventory.tasks import procurement_plan

    try:
        procurement_plan.delay(product_ids=[product_id])
    except dependency_errors() as exc:
        # The sale is committed; the daily planning run (06:30) still finds the low slot.
        log_dependency_failure("celery_broker", exc, action="queue procurement planning")


def slot_saved(sender, instance: Slot, update_fields=None, **kwargs):
    quantity_changed = update_fields is None or "quantity" in update_fields
    if quantity_changed and instance.product_id and instance.quantity < instance.par_level:
        product_id = instance.product_id
        # robust: the sale that emptied the slot is committed; a queue outage must not turn it into an error.
        transaction.on_commit(lambda: _plan_for(product_id), robust=True)


def reconcile_purchases_on_start(**kwargs) -> None:
    """A worker that starts after a crash settles the purchases the crash left pending without waiting for beat."""
    from apps.inventory.tasks import purchase_attempts_reconcile

    purchase_attempts_reconcile.delay()


def invoices_paid(sender, payments, **kwargs) -> None:
    purchase_orders_paid_record(payments=payments)


def sales_book_before_close(sender, through_date, **kwargs) -> None:
    """The sales of the period go into it: whatever the bookkeeper has not booked yet is booked now."""
    sales_book_all()


def connect() -> None:
    post_save.connect(slot_saved, sender=Slot, dispatch_uid="inventory.procurement.slot_saved")
    # A token replaced or a machine renamed or stopped is seen at once by this process's device authentication.
    post_save.connect(machine_token_cache_clear, sender=Machine, dispatch_uid="inventory.machine_saved")
    post_delete.connect(machine_token_cache_clear, sender=Machine, dispatch_uid="inventory.machine_deleted")
    payables_paid.connect(invoices_paid, sender=PayablePayment, dispatch_uid="inventory.purchase_orders_paid")
    period_closing.connect(sales_book_before_close, sender=Ledger, dispatch_uid="inventory.sales_book_before_close")
    worker_ready.connect(reconcile_purchases_on_start, weak=False, dispatch_uid="inventory.reconcile_on_start")
