"""Fiscal years: each ends on `settings.FISCAL_YEAR_END_MONTH_DAY` ("MM-DD") and starts the day after the last."""

import calendar
import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _month_day() -> tuple[int, int]:
    value = settings.FISCAL_YEAR_END_MONTH_DAY
    try:
        month, day = (int(part) for part in value.split("-"))
        datetime.date(2000, month, day)  # a leap year, so that 02-29 is accepted
    except (AttributeError, TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"FISCAL_YEAR_END_MONTH_DAY must be MM-DD, not {value!r}") from exc
    return month, day


def year_end_in(year: int) -> datetime.date:
    """The fiscal year end that falls in calendar `year`; 02-29 stands for the end of February (28th in common years)."""
    month, day = _month_day()
    return datetime.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def is_year_end(day: datetime.date) -> bool:
    return day == year_end_in(day.year)


def year_start(year_end: datetime.date) -> datetime.date:
    """The first day of the fiscal year ending on `year_end` (which must be a fiscal year end)."""
    return year_end_in(year_end.year - 1) + datetime.timedelta(days=1)


def year_end_on_or_after(day: datetime.date) -> datetime.date:
    """The end of the fiscal year `day` belongs to."""
    end = year_end_in(day.year)
    return end if day <= end else year_end_in(day.year + 1)


def last_year_end_before(day: datetime.date) -> datetime.date:
    """The latest fiscal year end strictly before `day`: the year that can be closed on `day`."""
    end = year_end_in(day.year)
    return end if end < day else year_end_in(day.year - 1)
