import datetime

from django.utils import timezone


def local_day_start(day: datetime.date | None = None) -> datetime.datetime:
    """Midnight starting `day` (today by default) in the shop's time zone, as an aware datetime: where daily limits,
    budgets and reports begin."""
    return timezone.make_aware(datetime.datetime.combine(day or timezone.localdate(), datetime.time.min))
