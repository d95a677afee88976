import socket

from celery import shared_task

from apps.core.selectors import WORKER_HEARTBEAT
from apps.core.services import heartbeat_record


@shared_task(name="core.record_worker_heartbeat", ignore_result=True, expires=30)
def record_worker_heartbeat():
    """Sent by beat every 15 s and run by a worker: a fresh row proves beat, broker and worker all work."""
    heartbeat_record(name=WORKER_HEARTBEAT, detail={"host": socket.gethostname()})
