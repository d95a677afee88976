"""Receivers connected in `ChatsConfig.ready`: a Celery worker that starts queues again the LINE events a crash or an
outage left unfinished, without waiting for beat."""

from celery.signals import worker_ready


def requeue_line_events_on_start(**kwargs) -> None:
    from apps.chats.tasks import line_events_requeue  # tasks import the LINE bot, loaded once apps are ready

    line_events_requeue.delay(received_grace_seconds=0)


def connect() -> None:
    worker_ready.connect(requeue_line_events_on_start, weak=False, dispatch_uid="chats.requeue_on_start")
