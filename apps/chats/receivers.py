"""Receivers connected in `ChatsConfig.ready`: a Celery worker that starts queues again the LINE events a crash or an
outage left unfinished, without waiting for beat; a paid LINE purchase gets its pickup code sent on LINE."""

from celery.signals import worker_ready


def requeue_line_events_on_start(**kwargs) -> None:
    from apps.chats.tasks import line_events_requeue  # tasks import the LINE bot, loaded once apps are ready

    line_events_requeue.delay(received_grace_seconds=0)


def send_pickup_code(sender, checkout, **kwargs) -> None:
    """inventory's `checkout_paid` (sent after the commit that issued the code): queue the LINE push, retried by the
    task, so LINE being down never undoes or delays the payment."""
    from apps.chats.tasks import pickup_code_send

    pickup_code_send.delay(checkout.pk)


def connect() -> None:
    from apps.inventory.signals import checkout_paid

    worker_ready.connect(requeue_line_events_on_start, weak=False, dispatch_uid="chats.requeue_on_start")
    checkout_paid.connect(send_pickup_code, weak=False, dispatch_uid="chats.send_pickup_code")
