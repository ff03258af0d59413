"""The period chooser of the Board's oversight page: a financial year (the current one unless
another is chosen), or dates of the viewer's choosing. Read from the query string, so a period can
be bookmarked and the CSV link carries the same one (a GET form, no CSRF)."""

from __future__ import annotations

from datetime import date

from wtforms import Form as PlainForm
from wtforms import fields

from portal.core.forms import DateField, SelectField
from portal.escalations.oversight import Period, financial_year_label, financial_year_of

#: How many financial years before the current one the chooser offers.
YEARS_BACK = 5
#: Dates of one's choice must fall in these years: anything else is a slip of the keyboard.
FIRST_YEAR, LAST_YEAR = 2000, 2099

#: The two forms on the page each send which kind of period they choose (a hidden field).
PERIOD_KINDS = ("year", "custom")


class PeriodForm(PlainForm):
    period = fields.HiddenField(default="year")
    year = SelectField("Financial year")
    start = DateField("First day of the period", description="For example, 1 4 2026")
    end = DateField("Last day of the period", description="For example, 31 3 2027")

    def __init__(self, formdata, *, today: date):
        super().__init__(formdata)
        current = financial_year_of(today)
        self.year.choices = [(year, financial_year_label(year)) for year in range(current, current - YEARS_BACK - 1, -1)]
        if self.year.data is None and not (formdata and formdata.get("year")):
            self.year.data = current

    @property
    def custom(self) -> bool:
        return self.period.data == "custom"

    def validate(self, extra_validators=None) -> bool:
        """Check only what the chosen kind of period uses: dates typed and then left behind when
        a financial year is chosen do not stop the figures."""
        for field in self:
            field.errors = []
        self.form_errors = []
        if self.period.data not in PERIOD_KINDS:
            self.form_errors.append("Choose a financial year or dates of your choice")
            return False
        if not self.custom:
            if self.year.data not in {value for value, _ in self.year.choices}:
                self.year.errors.append("Select a financial year from the list")
            return not self.year.errors
        for field, missing in ((self.start, "Enter the first day of the period"), (self.end, "Enter the last day of the period")):
            field.errors = list(field.process_errors)
            if field.errors:
                continue
            if field.data is None:
                field.errors.append(missing)
            elif not FIRST_YEAR <= field.data.year <= LAST_YEAR:
                field.errors.append(f"{field.label.text} must be in a year from {FIRST_YEAR} to {LAST_YEAR}")
        if self.start.errors or self.end.errors:
            return False
        if self.end.data < self.start.data:
            self.end.errors.append("The last day of the period must be the same as or after the first day")
            return False
        return True

    def chosen(self) -> Period:
        """The period, once the form is valid."""
        if self.custom:
            return Period.custom(self.start.data, self.end.data)
        return Period.financial_year(self.year.data)

    def query_args(self) -> dict:
        """The chosen period as query-string arguments, for the CSV link."""
        if self.custom:
            return {"period": "custom", "start": self.start.raw_data, "end": self.end.raw_data}
        return {"period": "year", "year": self.year.data}
