import gc
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendbot.settings.base")

app = Celery("vendbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def freeze_loaded_objects(**kwargs) -> None:
    """As in vendbot/asgi.py: what a worker process has loaded when it starts lives as long as it does; frozen, the
    full collections during tasks (a LINE reply's model turn) walk only what the tasks create."""
    gc.freeze()
