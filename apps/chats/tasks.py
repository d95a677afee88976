"""Celery tasks of the chats app: LINE events are processed here, never in the webhook request."""

from celery import shared_task

from apps.chats import care
from apps.chats.integrations.line_api import LineApiUnavailable
from apps.chats.line_bot import line_event_handle, pickup_code_push
from apps.chats.selectors import line_events_due


@shared_task(
    name="chats.line_event_process",
    ignore_result=True,  # nobody waits for it; with a result the publisher also subscribes to the result channel
    acks_late=True,
)
def line_event_process(webhook_event_id: str) -> str:
    """One stored webhook event, continued from the step it reached. Retries are the re-queue job's: it finds the
    event again while it is unfinished and not leased."""
    return line_event_handle(webhook_event_id=webhook_event_id)


@shared_task(name="chats.line_events_requeue", ignore_result=True)
def line_events_requeue(received_grace_seconds: int = 60) -> int:
    """Queue again every unfinished LINE event no worker holds: one whose queueing failed (Redis down), whose worker
    died (its lease ran out) or whose last attempt failed. Every minute from beat, and at a worker's start."""
    due = line_events_due(received_grace_seconds=received_grace_seconds)
    for webhook_event_id in due:
        line_event_process.delay(webhook_event_id)
    return len(due)


@shared_task(
    name="chats.pickup_code_send",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(LineApiUnavailable, OSError),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=8,
)
def pickup_code_send(checkout_id: int) -> bool:
    """The pickup code of a paid LINE purchase, pushed to its buyer (one retry key per checkout: delivered once)."""
    return pickup_code_push(checkout_id=checkout_id)


@shared_task(name="chats.case_staff_notify", ignore_result=True, acks_late=True)
def case_staff_notify(case_id: int) -> int:
    """A new customer-care case, pushed to staff's LINE accounts (CASE_STAFF_LINE_USER_IDS)."""
    return care.case_staff_notify(case_id=case_id)


@shared_task(
    name="chats.case_reply_deliver",
    ignore_result=True,
    acks_late=True,
    autoretry_for=(LineApiUnavailable,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def case_reply_deliver(reply_id: int) -> None:
    """A staff answer taken to the customer; retried while LINE is unreachable (one retry key: delivered once)."""
    care.case_reply_deliver(reply_id=reply_id)
