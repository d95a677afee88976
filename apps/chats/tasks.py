"""Celery tasks of the chats app: LINE events are processed here, never in the webhook request."""

from celery import shared_task

from apps.chats.integrations.line_api import LineApiUnavailable
from apps.chats.line_bot import line_event_handle


@shared_task(
    name="chats.line_event_process",
    ignore_result=True,  # nobody waits for it; with a result the publisher also subscribes to the result channel
    acks_late=True,
    autoretry_for=(LineApiUnavailable,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def line_event_process(event: dict) -> str:
    """One webhook event (LINE's JSON); "duplicate" when LINE redelivered one already processed."""
    return line_event_handle(event=event)
