"""Shop jobs: each takes ids, calls a service and owns its retry policy."""

import datetime
import logging

from celery import shared_task
from django.utils import timezone

from apps.inventory.services import attempts, checkout, expiry, fees, procurement
from apps.inventory.services.books import sales_book_all
from apps.inventory.services.reconciliation import payments_reconcile

logger = logging.getLogger(__name__)
MAIL_RETRY = {"autoretry_for": (OSError,), "retry_backoff": True, "retry_jitter": True, "max_retries": 5}


@shared_task(name="inventory.procurement_plan", ignore_result=True, acks_late=True)
def procurement_plan(product_ids: list[int] | None = None):
    """Daily at 06:30 JST (beat, migration 0003) for every product, and for one product when its slot runs low.
    Not retried: the next run plans again, and an open order is never proposed twice."""
    plan = procurement.procurement_plan(product_ids=product_ids)
    logger.info(
        "Procurement planning: %d order(s) proposed, %d requested new product(s) to consider",
        len(plan.orders),
        len(plan.candidates),
    )


@shared_task(name="inventory.machine_fees_charge", ignore_result=True, acks_late=True)
def machine_fees_charge():
    """Daily at 06:00 JST (beat, migration 0006): each fee's month is posted on its due day. Not retried: the next
    run catches up on every month still due, and a month is never charged twice."""
    charges = fees.machine_fees_charge(through=timezone.localdate())
    logger.info("Machine fees: %d month(s) charged", len(charges))


@shared_task(name="inventory.expired_stock_write_off", ignore_result=True, acks_late=True)
def expired_stock_write_off():
    """Daily at 00:05 JST (beat, migration 0018): lots past their date are written off as waste. Not retried: sales
    refuse expired units anyway, and the next run writes off whatever is still there."""
    movements = expiry.expired_stock_write_off()
    logger.info("Expired stock: %d lot(s) written off as waste", len(movements))


@shared_task(name="inventory.purchase_attempts_reconcile", ignore_result=True, acks_late=True)
def purchase_attempts_reconcile():
    """Every minute (beat, migration 0008) and when a worker starts (apps.py): purchases left pending past their
    lease are refunded and their stock released. Not retried: the next run picks up whatever is still pending."""
    attempts.purchase_attempts_reconcile()


@shared_task(name="inventory.sales_book", ignore_result=True, acks_late=True)
def sales_book():
    """Every 5 seconds (beat, migration 0020): the sales completed since are posted to the books. Not retried: the
    next run books whatever is still waiting, and a sale is never booked twice."""
    sales_book_all()


@shared_task(name="inventory.purchase_order_email_supplier", ignore_result=True, **MAIL_RETRY)
def purchase_order_email_supplier(order_id: int):
    procurement.purchase_order_email_supplier(order_id=order_id)


@shared_task(name="inventory.purchase_order_notify_staff", ignore_result=True, **MAIL_RETRY)
def purchase_order_notify_staff(order_id: int):
    procurement.purchase_order_notify_staff(order_id=order_id)


@shared_task(name="inventory.checkouts_reconcile", ignore_result=True, acks_late=True)
def checkouts_reconcile():
    """Every 10 seconds (beat, migration 0013): the polling fallback of the providers' webhooks. Open reservations
    are asked about (and expired when due), ended ones about late payments (refunded). Not retried: the next run
    asks again."""
    checkout.checkouts_reconcile()


@shared_task(name="inventory.payments_reconcile_daily", ignore_result=True, acks_late=True, **MAIL_RETRY)
def payments_reconcile_daily(day: str | None = None):
    """Every morning (beat, migration 0016): yesterday's phone payments, provider vs sales vs books. Retried when a
    provider cannot be reached at all; a single unreachable lookup is a listed mismatch instead."""
    target = datetime.date.fromisoformat(day) if day else timezone.localdate() - datetime.timedelta(days=1)
    payments_reconcile(day=target)
