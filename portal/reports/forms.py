"""The report's period and rules, read from the query string, so that a report has a shareable URL."""

from __future__ import annotations

from datetime import date, timedelta

from werkzeug.datastructures import MultiDict
from wtforms import Form as PlainForm
from wtforms.validators import ValidationError

from portal.core.forms import BooleanField, DateField, not_in_future, required
from portal.core.workdays import london_today
from portal.reports.msp import Period

#: How far ahead the end may be: far enough for this whole financial year, never off the calendar.
MAX_DAYS_AHEAD = 366


def _date_parts(day: date) -> list[str]:
    """A date as a GOV.UK date input submits it: day, month and year under one name."""
    return [str(day.day), str(day.month), str(day.year)]


class PeriodForm(PlainForm):
    """A GET form (no CSRF token: it changes nothing, and its URL is meant to be shared)."""

    start = DateField(
        "Start date", [required("Enter the start date"), not_in_future("The start date must be today or in the past")],
        description="For example, 1 4 2026",
    )
    end = DateField("End date", [required("Enter the end date")], description="For example, 31 3 2027")
    publication_rules = BooleanField(
        "Apply the publication rules",
        description="Round every count to the nearest 5 and show counts from 1 to 4 as [c], as published figures are",
    )

    @classmethod
    def from_query(cls, args: MultiDict, *, default_start: date, default_end: date) -> PeriodForm:
        """The form from a query string; a date left out of it altogether takes its default (the
        financial year to date), while a date given but left empty is an error to correct."""
        values = MultiDict(args)
        for name, default in (("start", default_start), ("end", default_end)):
            if name not in values:
                values.setlist(name, _date_parts(default))
        return cls(values)

    def validate_end(self, field) -> None:
        if self.start.data and field.data and field.data < self.start.data:
            raise ValidationError("The end date must be the same as or after the start date")
        if field.data and field.data > london_today() + timedelta(days=MAX_DAYS_AHEAD):
            raise ValidationError("The end date must be within a year from today")

    def period(self) -> Period:
        return Period(self.start.data, self.end.data)

    def query(self) -> dict[str, list[str]]:
        """The query string of this (valid) form: the page's and the CSV's shareable parameters."""
        query = {"start": _date_parts(self.start.data), "end": _date_parts(self.end.data)}
        if self.publication_rules.data:
            query["publication_rules"] = ["y"]
        return query
