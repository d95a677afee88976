"""Demo users for `seed_demo` (`staff` and `manager`, passwords from DEMO_PASSWORD or generated and printed once),
and what every app's demo seeder shares: the data files under `fixtures/demo/` and a clock that can be set back.
"""

import datetime
import logging
import os
import secrets
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.core.roles import MANAGER, STAFF
from apps.core.services import roles_sync

DEMO_USERS = [
    ("staff", "スタッフ", [STAFF]),
    ("manager", "マネージャー", [MANAGER]),
]


def demo_fixtures_dir() -> Path:
    return Path(settings.BASE_DIR) / "fixtures" / "demo"


@cache
def demo_fixture(name: str) -> dict:
    """`fixtures/demo/<name>.yaml`: the demo's catalogue, machines, suppliers, personas, conversations, history."""
    return yaml.safe_load((demo_fixtures_dir() / f"{name}.yaml").read_text(encoding="utf-8"))


@contextmanager
def demo_clock(moment: datetime.datetime):
    """Run the shop's own services as if at `moment`: the demo's past is written by the same code as the present,
    so every timestamp, journal date, period check and sales window is the one it would have been. The clock stands
    still inside (no tick), so a demo run is the same whenever it starts on the same day."""
    import time_machine  # only the demo moves the clock

    with time_machine.travel(moment, tick=False):
        yield


@contextmanager
def demo_past_quiet():
    """While the demo writes its past, what would have left the process back then stays in: no e-mail (kept in
    memory), no routine log lines, and Celery tasks run inline under the demo's clock instead of waiting in the queue
    for a worker that would run them today (`seed_demo` pauses live announcements for all of its run)."""
    from celery import current_app
    from django.test.utils import override_settings

    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    logging.disable(logging.INFO)  # the tasks' and services' routine lines of two months would bury the summary
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            yield
    finally:
        logging.disable(logging.NOTSET)
        current_app.conf.task_always_eager = eager


def seed(*, stdout, options: dict) -> None:
    password = os.environ.get("DEMO_PASSWORD") or None
    reset_passwords = options.get("reset_passwords", False)
    roles_sync()
    User = get_user_model()
    generated = None
    for username, first_name, groups in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first_name, "is_staff": True, "email": f"{username}@example.invalid"},
        )
        if created or reset_passwords:
            if password is None and generated is None:
                generated = secrets.token_urlsafe(12)
            user.set_password(password or generated)
            user.is_staff = True
            user.save()
            stdout.write(f"  demo login: {username} / {password and '(DEMO_PASSWORD)' or generated}")
        user.groups.set(Group.objects.filter(name__in=groups))


def demo_history_days(options: dict) -> int:
    """Days of trading history the demo writes (`seed_demo --history-days`, else history.yaml's `days`)."""
    days = options.get("history_days")
    return demo_fixture("history")["days"] if days is None else days


def demo_opening_day(options: dict) -> datetime.date:
    """The day the demo shop opened: the day before its first day of trading history."""
    return timezone.localdate() - datetime.timedelta(days=demo_history_days(options) + 1)


def demo_moment(day: datetime.date, hour: int, minute: int = 0, second: int = 0) -> datetime.datetime:
    """That day at that time, in the shop's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute, second)))
