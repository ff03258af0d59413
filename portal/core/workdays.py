"""Working days in England: weekends and England's bank holidays (from the ``holidays`` package)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")

#: The close of a working day in England: every escalation deadline falls at this time.
CLOSE_OF_DAY = time(17, 0)


def london_today() -> date:
    """Today's date in England: what people mean by 'today', whatever the server's clock zone."""
    return datetime.now(LONDON).date()


def after_close_of_day() -> bool:
    """Whether the working day has closed in England: deadlines falling today have passed."""
    return datetime.now(LONDON).time() >= CLOSE_OF_DAY


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end is not after start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start``."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day


def subtract_working_days(start: date, days: int) -> date:
    """The date ``days`` working days before ``start``."""
    day = start
    while days > 0:
        day -= timedelta(days=1)
        if is_working_day(day):
            days -= 1
    return day
