"""Forms for the records behind a provider profile: items, inspections, visits and their plans,
the timeline's filters, and the quality standards visits are scored on.

The rules about a record (dates not in the future, at least one rating, a visit's scores) belong
to ``operations``; these forms check what people type, so a refusal reads the same from the page
and from an import.
"""

from __future__ import annotations

from wtforms import Form as PlainForm
from wtforms import fields
from wtforms.validators import URL, ValidationError

from portal.concerns.forms import OptionalEnumRadioField
from portal.concerns.raising_forms import EnumFilterField
from portal.core.codes import DataCategory, KeyQuestion, Rating
from portal.core.forms import (
    BooleanField,
    CharacterCountField,
    DateField,
    EnumCheckboxesField,
    EnumRadioField,
    EnumSelectField,
    Form,
    Optional,
    RadiosWidget,
    SelectField,
    SubmitField,
    TextAreaField,
    TextField,
    VersionField,
    max_length,
    not_in_future,
    required,
)
from portal.intelligence.models import QualityScore, Severity, SourceType
from portal.intelligence.operations import MAX_SUMMARY, MAX_TEXT

#: How many improvement actions the visit form offers; more are added from the visit's page.
VISIT_ACTION_SLOTS = 3

#: The timeline's periods, in months; no period means all time.
PERIODS = (3, 6, 12)

TYPED_SOURCES = [source for source in SourceType if not source.recorded_elsewhere]


class TimelineFilterForm(PlainForm):
    """The timeline's filters, read from the query string (a GET form, no CSRF)."""

    source = EnumFilterField("Source", enum_class=SourceType, any_label="Any source", invalid="Select a source from the list")
    key_question = EnumFilterField(
        "Key question", enum_class=KeyQuestion, any_label="Any key question", invalid="Select a key question from the list"
    )
    period = SelectField(
        "Period", [Optional()], choices=[("", "All time")] + [(months, f"Last {months} months") for months in PERIODS]
    )

    @property
    def filtering(self) -> bool:
        return any(field.data not in (None, "") for field in (self.source, self.key_question, self.period))


class ProviderSearchForm(PlainForm):
    q = TextField("Provider or service name", [max_length(100, "The name")])


# Items ------------------------------------------------------------------------------------------


class ConfidentialityField(fields.RadioField):
    """Whether an item is confidential; "as usual for the source" leaves it to the source (``data`` None)."""

    widget = RadiosWidget()
    USUAL = "usual"

    def __init__(self, label=None, validators=None, **kwargs):
        choices = [
            (self.USUAL, "As usual for the source: whistleblowing is confidential, other sources are not"),
            ("yes", "Confidential"),
            ("no", "Not confidential"),
        ]
        super().__init__(label, validators, choices=choices, **kwargs)

    def process_data(self, value):
        self.data = value if isinstance(value, bool) else None

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        if valuelist[0] not in {value for value, _ in self.choices}:
            self.data = None
            raise ValueError("Select one of the options")
        self.data = {"yes": True, "no": False}.get(valuelist[0])

    def iter_choices(self):
        current = {True: "yes", False: "no"}.get(self.data, self.USUAL)
        return [(value, label, value == current, {}) for value, label in self.choices]

    def pre_validate(self, form):
        pass


class ItemForm(Form):
    occurred_on = DateField(
        "When did it happen, or when was it received?", [required("Enter the date"), not_in_future("The date must be today or in the past")],
        description="For example, 27 3 2026",
    )
    source = EnumRadioField(
        "Where does it come from?", [required("Select where the item comes from")], enum_class=SourceType,
        choices=[(source.name, source.label) for source in TYPED_SOURCES],
    )
    key_questions = EnumCheckboxesField(
        "Which key questions does it bear on?", enum_class=KeyQuestion, description="Select all that apply",
    )
    severity = EnumRadioField("How serious is it?", [required("Select how serious it is")], enum_class=Severity)
    summary = CharacterCountField(
        "Summary", [required("Enter a summary"), max_length(MAX_SUMMARY, "The summary")],
        description="What happened or what it says, without naming the people who use the service",
    )
    confidential = ConfidentialityField("Is it confidential?")
    sharing_category = EnumRadioField(
        "Which information-sharing category does it fall under?", [required("Select the sharing category")],
        enum_class=DataCategory, default=DataCategory.PROVIDER_INTELLIGENCE,
        description="Personal safeguarding data is shown only to the local authority and those it shares such data with",
    )
    version = VersionField()
    submit = SubmitField("Save item")

    def validate_key_questions(self, field):
        # Checked with the other fields so that every problem is listed at once.
        if not field.data:
            raise ValidationError("Select at least one key question it bears on")


class RemoveItemForm(Form):
    reason = TextAreaField(
        "Why is the item being removed?", [required("Enter why the item is being removed"), max_length(MAX_TEXT, "The reason")],
        description="For example, recorded against the wrong service. The item is kept, with who removed it and why",
    )
    version = VersionField()
    submit = SubmitField("Remove item")


# Inspections ------------------------------------------------------------------------------------


def _rating_field(label: str) -> EnumSelectField:
    return EnumSelectField(label, enum_class=Rating, choices=[("", "Not given")] + Rating.choices())


class InspectionForm(Form):
    published_on = DateField(
        "Date the ratings were published", [required("Enter the publication date"), not_in_future("The publication date must be today or in the past")],
        description="For example, 14 2 2026",
    )
    overall = _rating_field("Overall")
    safe = _rating_field(KeyQuestion.SAFE.label)
    effective = _rating_field(KeyQuestion.EFFECTIVE.label)
    caring = _rating_field(KeyQuestion.CARING.label)
    responsive = _rating_field(KeyQuestion.RESPONSIVE.label)
    well_led = _rating_field(KeyQuestion.WELL_LED.label)
    inherited = BooleanField("These ratings were inherited when the service re-registered")
    report_type = TextField("Report type (optional)", [max_length(60, "The report type")], description="For example, Focused inspection")
    url = TextField(
        "Link to the published report (optional)",
        [Optional(), max_length(300, "The link"), URL(require_tld=True, message="Enter a web address, like https://www.example.org/report")],
    )
    submit = SubmitField("Record ratings")

    def ratings(self) -> dict[KeyQuestion, Rating | None]:
        return {question: getattr(self, question.name.lower()).data for question in KeyQuestion}


# Contract-monitoring visits and their improvement plans -----------------------------------------


class ActionForm(Form):
    description = TextAreaField("What must be done?", [required("Enter what must be done"), max_length(MAX_TEXT, "The action")])
    owner = TextField(
        "Who at the provider owns it?", [required("Enter who owns the action"), max_length(200, "The owner")],
        description="A name or a role, for example Registered manager",
    )
    due_on = DateField("Due date", [required("Enter the due date")], description="For example, 30 6 2026")
    submit = SubmitField("Add action")


class RespondForm(Form):
    response = TextAreaField(
        "What has been done?", [required("Enter what has been done"), max_length(MAX_TEXT, "The response")],
        description="The commissioner reads this and completes the action when they are satisfied",
    )
    version = VersionField()
    submit = SubmitField("Send response")


class CompleteForm(Form):
    """A button, for completing an action the provider has answered."""

    version = VersionField()


class VisitForm(Form):
    """The fixed part of a visit; :func:`visit_form_class` adds a score per standard and the action slots."""

    visited_on = DateField(
        "Date of the visit", [required("Enter the date of the visit"), not_in_future("The visit date must be today or in the past")],
        description="For example, 12 3 2026",
    )
    officer_name = TextField("Visiting officer", [required("Enter the visiting officer's name"), max_length(200, "The officer's name")])
    findings = TextAreaField("Findings", [max_length(MAX_TEXT, "Findings")], description="What the visit found, in a few paragraphs")
    submit = SubmitField("Record visit")

    def score_fields(self, standard_ids):
        return [getattr(self, score_name(standard_id)) for standard_id in standard_ids]

    def action_slots(self):
        return [
            (getattr(self, f"action{n}_description"), getattr(self, f"action{n}_owner"), getattr(self, f"action{n}_due_on"))
            for n in range(1, VISIT_ACTION_SLOTS + 1)
        ]

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for description, owner, due_on in self.action_slots():
            if not any((description.data, owner.data, due_on.data)) and not due_on.errors:
                continue
            for field, message in ((description, "Enter what must be done"), (owner, "Enter who owns the action"), (due_on, "Enter the due date")):
                if not field.data and not field.errors:
                    field.errors = [*field.errors, message]
                    valid = False
        return valid


def score_name(standard_id: int) -> str:
    return f"score_{standard_id}"


def visit_form_class(standards) -> type[VisitForm]:
    """A visit form with a "not scored" radio group per active standard and the action slots."""
    attributes = {
        score_name(standard.id): OptionalEnumRadioField(
            f"{standard.code} {standard.name}", enum_class=QualityScore, unknown_label="Not scored"
        )
        for standard in standards
    }
    for n in range(1, VISIT_ACTION_SLOTS + 1):
        attributes[f"action{n}_description"] = TextAreaField(f"Action {n}: what must be done", [max_length(MAX_TEXT, f"Action {n}")])
        attributes[f"action{n}_owner"] = TextField(f"Action {n}: who at the provider owns it", [max_length(200, f"Action {n}'s owner")])
        attributes[f"action{n}_due_on"] = DateField(f"Action {n}: due date", description="For example, 30 6 2026")
    return type("StandardsVisitForm", (VisitForm,), attributes)


# Quality standards ------------------------------------------------------------------------------


class AddStandardForm(Form):
    quality_area = SelectField("Quality area", [required("Select the quality area")])
    code = TextField(
        "Code", [required("Enter a short code"), max_length(12, "The code")],
        description="Letters and numbers, like S5: the column name in the contract-monitoring import template",
    )
    name = TextField("Standard", [required("Enter the standard's name"), max_length(200, "The standard's name")])
    submit = SubmitField("Add standard")


class StandardChangeForm(Form):
    """The buttons beside each standard: retire or restore it."""

    standard_id = fields.HiddenField()
    change = fields.HiddenField()


class RenameStandardForm(Form):
    name = TextField("New wording", [required("Enter the standard's name"), max_length(200, "The standard's name")])
    submit = SubmitField("Save wording")
