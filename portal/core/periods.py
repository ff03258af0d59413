"""Periods a person filters a page by: days typed in the query string, as moments in England."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import request

from portal.core.workdays import LONDON


def day_from_query(name: str) -> date | None:
    """A YYYY-MM-DD filter from the query string, or None when absent or not a sensible date."""
    try:
        day = datetime.strptime(request.args.get(name, ""), "%Y-%m-%d").date()
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2999 else None


def london_bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """The first moment of ``since`` and the moment after ``until`` ends, in England."""
    start = datetime.combine(since, time.min, LONDON) if since else None
    end = datetime.combine(until + timedelta(days=1), time.min, LONDON) if until else None
    return start, end
