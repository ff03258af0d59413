from __future__ import annotations

import copy

from wtforms import Form as PlainForm

from portal.concerns.raising_forms import EnumFilterField
from portal.core.codes import ServiceType
from portal.core.forms import (
    BooleanField,
    CharacterCountField,
    DateField,
    EnumCheckboxesField,
    EnumSelectField,
    Form,
    SelectField,
    SubmitField,
    VersionField,
    max_length,
    required,
)
from portal.intelligence.models import RiskBand
from portal.intelligence.operations import MAX_TEXT
from portal.intelligence.register.queries import InspectionFilter, RegisterFilters, SortOrder, VisitSince

PER_PAGE_CHOICES = [(25, "25"), (50, "50")]


class RegisterFilterForm(PlainForm):
    """The register's filters and order, read from the query string (a GET form, no CSRF)."""

    band = EnumCheckboxesField("RAG band", enum_class=RiskBand)
    converging = BooleanField(
        "Converging services only",
        description="Three or more different sources point at the same key question within 90 days",
    )
    service_type = EnumFilterField(
        "Service type", enum_class=ServiceType, any_label="Any service type", invalid="Select a service type from the list"
    )
    area = SelectField("Area")
    commissioner = SelectField("Commissioner")
    inspection = EnumFilterField(
        "Last inspection rating", enum_class=InspectionFilter, any_label="Any rating", invalid="Select a rating from the list"
    )
    visit = EnumFilterField(
        "Last contract-monitoring visit", enum_class=VisitSince, any_label="Any time", invalid="Select a period from the list"
    )
    sort = EnumSelectField("Sort by", enum_class=SortOrder, default=SortOrder.RISK)
    per_page = SelectField("Services per page", choices=PER_PAGE_CHOICES, default=25)

    def govuk_params(self, name: str, **params) -> dict:
        """What the field's govuk-frontend-wtf widget passes to its GOV.UK macro (``params`` merged in as
        the widget's ``params`` are), for the template to call the macro itself: the widget renders a
        whole template of its own for each field, which costs the page more than the rest of the form."""
        field = self[name]
        widget = copy.copy(field.widget)
        widget.render = _macro_params
        return widget(field, params=params) if params else widget(field)

    def set_choices(self, *, areas, commissioners) -> None:
        self.area.choices = [("", "Any area")] + areas
        self.commissioner.choices = [("", "Any commissioner")] + commissioners

    def filters(self) -> RegisterFilters:
        return RegisterFilters(
            bands=frozenset(self.band.data or ()),
            converging_only=bool(self.converging.data),
            service_type=self.service_type.data,
            area_id=self.area.data,
            commissioner_id=self.commissioner.data,
            inspection=self.inspection.data,
            visit=self.visit.data,
            sort=self.sort.data or SortOrder.RISK,
        )


def _macro_params(params: dict) -> dict:
    return params


class RegisterEntryForm(Form):
    owner = SelectField("Risk owner", [required("Select who owns this risk")])
    review_on = DateField("Next review date", [required("Enter the next review date")], description="For example, 27 3 2026")
    note = CharacterCountField(
        "Note (optional)", [max_length(MAX_TEXT, "The note")],
        description="What is being done about the risk, and what the review should look at",
    )
    version = VersionField()
    submit = SubmitField("Save register entry")
