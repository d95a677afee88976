"""Receivers connected in `ChatsConfig.ready`: a Celery worker that starts queues again the LINE events a crash or an
outage left unfinished, without waiting for beat; a paid LINE purchase gets its pickup code sent on LINE; agents'
customer-care signals queue the LINE notice to staff and the delivery of a staff answer."""

from celery.signals import worker_ready
from kombu.exceptions import OperationalError

from apps.agents.signals import case_answered, case_opened
from apps.core.logging import log_dependency_failure


def requeue_line_events_on_start(**kwargs) -> None:
    from apps.chats.tasks import line_events_requeue  # tasks import the LINE bot, loaded once apps are ready

    line_events_requeue.delay(received_grace_seconds=0)


def send_pickup_code(sender, checkout, **kwargs) -> None:
    """inventory's `checkout_paid` (sent after the commit that issued the code): queue the LINE push, retried by the
    task, so LINE being down never undoes or delays the payment."""
    from apps.chats.tasks import pickup_code_send

    pickup_code_send.delay(checkout.pk)


def case_staff_notify_queue(*, case_id: int, **kwargs) -> None:
    """A case was opened (agents' `case_opened`): staff hear of it on LINE, from a worker."""
    from apps.chats.tasks import case_staff_notify

    _queue(case_staff_notify, case_id, action="the staff e-mail went; no LINE notice for this case")


def case_reply_deliver_queue(*, reply_id: int, **kwargs) -> None:
    """A staff answer was stored (agents' `case_answered`): a worker takes it to the customer."""
    from apps.chats.tasks import case_reply_deliver

    _queue(case_reply_deliver, reply_id, action="the answer stays undelivered in the admin")


def _queue(task, *args, action: str) -> None:
    try:
        task.delay(*args)
    except OperationalError as exc:  # the broker is down: the case or answer is stored, staff see it in the admin
        log_dependency_failure("celery_broker", exc, action=action)


def connect() -> None:
    from apps.inventory.signals import checkout_paid

    worker_ready.connect(requeue_line_events_on_start, weak=False, dispatch_uid="chats.requeue_on_start")
    checkout_paid.connect(send_pickup_code, weak=False, dispatch_uid="chats.send_pickup_code")
    case_opened.connect(case_staff_notify_queue, weak=False, dispatch_uid="chats.case_staff_notify")
    case_answered.connect(case_reply_deliver_queue, weak=False, dispatch_uid="chats.case_reply_deliver")
