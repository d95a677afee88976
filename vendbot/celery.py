import gc
import os
from collections.abc import Iterator, Mapping
from functools import cached_property

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendbot.settings.base")


class CelerySettings(Mapping):
    """Django's `CELERY_*` settings as a plain mapping, read once, when Celery first loads its configuration.

    Given Django's settings object itself, Celery looks up every configuration key on it, and each key Django does not
    set is a failed `getattr` through Django's lazy settings: the look-ups of one task's publish cost a fifth of it
    (docs/performance.md). Nothing sets `CELERY_*` after start-up; a test or a tool that must change Celery's
    configuration sets `app.conf` itself, as before."""

    @cached_property
    def _values(self) -> dict:
        from django.conf import settings

        return {name: getattr(settings, name) for name in dir(settings) if name.startswith("CELERY_")}

    def __getitem__(self, key: str):
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


app = Celery("vendbot")
app.config_from_object(CelerySettings(), namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def freeze_loaded_objects(**kwargs) -> None:
    """As in vendbot/asgi.py: what a worker process has loaded when it starts lives as long as it does; frozen, the
    full collections during tasks (a LINE reply's model turn) walk only what the tasks create."""
    gc.freeze()
