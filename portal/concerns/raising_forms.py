"""Forms for raising a concern (signed in and public) and for searching concerns."""

from __future__ import annotations

from govuk_frontend_wtf.wtforms_widgets import GovDateInput
from werkzeug.datastructures import MultiDict
from wtforms import Form as PlainForm
from wtforms.validators import ValidationError

from portal.concerns.operations import MAX_TEXT
from portal.concerns.validators import nhs_number
from portal.core.codes import (
    RAG,
    AbuseType,
    ConcernStatus,
    ConsentToShare,
    LabelledEnum,
    PrimarySupportReason,
    RiskLocation,
    RiskSource,
    Sex,
)
from portal.core.forms import (
    BooleanField,
    CharacterCountField,
    DateField,
    EnumCheckboxesField,
    EnumRadioField,
    EnumSelectField,
    Form,
    RadioField,
    SelectField,
    SubmitField,
    TextAreaField,
    TextField,
    max_length,
    not_in_future,
    required,
    uk_postcode,
)


def at_least_one(message: str):
    def validate(form, field):
        if not field.data:
            raise ValidationError(message)

    return validate


class ServiceField(SelectField):
    """The service a concern is about, from the services this person may raise concerns about."""

    def pre_validate(self, form):
        try:
            super().pre_validate(form)
        except ValidationError as error:
            raise ValidationError("Select one of the services listed") from error


class EnumOrDontKnowRadioField(EnumRadioField):
    """Radios from a code list with a last "I do not know" answer, whose value is empty."""

    def iter_choices(self):
        if isinstance(self.data, LabelledEnum):
            current = self.data.name
        else:
            current = "" if self.raw_data == [""] else None
        for value, label in self.choices:
            yield (value, label, value == current, {})


# Raising, signed in ---------------------------------------------------------------------------


ADULT_FIELDS = (
    "adult_date_of_birth", "adult_nhs_number", "adult_sex", "adult_address", "adult_postcode",
    "adult_communication_needs", "adult_preferred_language", "adult_primary_support_reason",
)


class RaiseConcernForm(Form):
    service = ServiceField("Which service is the concern about?")
    what_happened = CharacterCountField(
        "What happened?",
        [required("Enter what happened"), max_length(MAX_TEXT, "What happened")],
        description="Say what you saw or were told, who was involved and what the adult said, in your own words.",
    )
    happened_on = DateField(
        "When did it happen? (optional)",
        [not_in_future("The date it happened must be today or in the past")],
        description="For example, 27 3 2026. Leave it empty if you do not know.",
    )
    abuse_types = EnumCheckboxesField(
        "Types of abuse or neglect",
        [at_least_one("Select at least one type of abuse or neglect")],
        enum_class=AbuseType,
        description="Select all that may apply. The safeguarding team can change them later.",
    )
    risk_location = EnumRadioField("Where is the risk?", [required("Select where the risk is")], enum_class=RiskLocation)
    risk_source = EnumRadioField(
        "Who or what is the source of the risk? (optional)",
        enum_class=RiskSource,
        description="Council, NHS and GP staff count as “Other”, not as the service provider.",
    )
    immediate_risk = EnumRadioField(
        "Is the adult at immediate risk?", [required("Select whether the adult is at immediate risk")], enum_class=RAG
    )
    immediate_action = TextAreaField(
        "What was done straight away? (optional)",
        [max_length(MAX_TEXT, "What was done straight away")],
        description="For example, called 999, separated the adult from the person causing harm, or told the manager.",
    )

    adult_name = TextField("Full name (optional)", [max_length(200, "The adult's name")])
    adult_date_of_birth = DateField(
        "Date of birth (optional)", [not_in_future("Date of birth must be in the past")], description="For example, 31 3 1940"
    )
    adult_nhs_number = TextField(
        "NHS number (optional)", [nhs_number], description="10 digits, for example 943 476 5919"
    )
    adult_sex = EnumRadioField("Sex (optional)", enum_class=Sex)
    adult_address = TextAreaField("Address (optional)", [max_length(300, "Address")], description="Not including the postcode")
    adult_postcode = TextField("Postcode (optional)", [max_length(10, "Postcode"), uk_postcode])
    adult_communication_needs = TextAreaField(
        "Communication needs (optional)",
        [max_length(2000, "Communication needs")],
        description="For example, uses British Sign Language, needs easy read, or has memory loss.",
    )
    adult_preferred_language = TextField("Preferred language (optional)", [max_length(100, "Preferred language")])
    adult_primary_support_reason = EnumSelectField(
        "Primary support reason (optional)",
        enum_class=PrimarySupportReason,
        choices=[("", "Not known or not given")] + PrimarySupportReason.choices(),
    )
    consent = EnumRadioField(
        "Has the adult agreed to their information being shared with partner agencies? (optional)",
        enum_class=ConsentToShare,
        description="Leave this if you have not been able to ask yet.",
    )
    submit = SubmitField("Raise concern")

    def __init__(self, *args, service_required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.service_required = service_required

    def validate_service(self, field):
        if field.data is None and self.service_required:
            raise ValidationError("Select the service the concern is about")

    def validate_immediate_action(self, field):
        if self.immediate_risk.data is RAG.RED and not field.data:
            raise ValidationError("Enter what was done straight away: you said the adult is at immediate risk")

    def validate_adult_name(self, field):
        if not field.data and any(self._fields[name].data for name in ADULT_FIELDS):
            raise ValidationError("Enter the adult's name, or remove the other details about them")


# Raising, public ------------------------------------------------------------------------------


#: Where it is happening, in words a neighbour would use (each maps to the national code list).
PUBLIC_LOCATIONS = [
    (RiskLocation.OWN_HOME.name, "In their own home"),
    (RiskLocation.COMMUNITY.name, "Out and about, for example in a shop, on the street or at someone else's home"),
    (RiskLocation.COMMUNITY_SERVICE.name, "At a day centre or another service they go to"),
    (RiskLocation.CARE_HOME_RESIDENTIAL.name, "In a care home"),
    (RiskLocation.CARE_HOME_NURSING.name, "In a nursing home"),
    (RiskLocation.HOSPITAL_ACUTE.name, "In a hospital"),
    (RiskLocation.OTHER.name, "Somewhere else"),
    ("", "I do not know"),
]

#: Whether the adult is in danger now, as a member of the public sees it.
DANGER_ANSWERS = [("yes", "Yes"), ("no", "No"), ("dont_know", "I do not know")]
DANGER_TO_RAG = {"yes": RAG.RED, "no": RAG.GREEN, "dont_know": None}


def _danger_answer(value):
    return value if value in DANGER_TO_RAG else None


class PublicReportForm(Form):
    area = SelectField("Which council area does the adult live in?", [required("Select the council area the adult lives in")])
    what_happened = CharacterCountField(
        "What are you worried about?",
        [required("Tell us what you are worried about"), max_length(MAX_TEXT, "What you are worried about")],
        description="Tell us what you have seen or heard, when it happened, and who you think is causing harm if you know.",
    )
    in_danger = RadioField("Do you think the adult is in danger right now? (optional)", choices=DANGER_ANSWERS, coerce=_danger_answer)
    adult_name = TextField("Their name (optional)", [max_length(200, "Their name")])
    adult_address = TextAreaField("Their address (optional)", [max_length(300, "Their address")], description="Not including the postcode")
    adult_postcode = TextField("Postcode (optional)", [max_length(10, "Postcode"), uk_postcode])
    address_unknown = BooleanField("I do not know their address")
    risk_location = EnumOrDontKnowRadioField(
        "Where is it happening? (optional)", enum_class=RiskLocation, choices=PUBLIC_LOCATIONS
    )
    reporter_name = TextField("Your name (optional)", [max_length(200, "Your name")])
    reporter_contact = TextField(
        "Your phone number or email address (optional)",
        [max_length(200, "Your phone number or email address")],
        description="So that the safeguarding team can contact you if they need to know more.",
    )
    reporter_relationship = TextField(
        "How do you know the adult? (optional)",
        [max_length(200, "How you know the adult")],
        description="For example, neighbour, friend, relative or someone who helps them",
    )
    #: A trap for bots: hidden from people, who are told to leave it empty.
    website = TextField("Leave this empty")
    submit = SubmitField("Send report")

    def validate_address_unknown(self, field):
        if field.data and (self.adult_address.data or self.adult_postcode.data):
            raise ValidationError("Either enter their address or select “I do not know their address”, not both")


# Searching ------------------------------------------------------------------------------------


DATE_PARTS = ("day", "month", "year")


class SplitDateInput(GovDateInput):
    """A GOV.UK date input whose boxes have names of their own (``raised_from-day``...).

    Distinct names keep a search's dates in a plain query string that paging links can carry.
    """

    def map_gov_params(self, field, **kwargs):
        params = super().map_gov_params(field, **kwargs)
        for item, part in zip(params["items"], DATE_PARTS, strict=True):
            item["name"] = f"{field.name}-{part}"
        return params


class SplitDateField(DateField):
    """A date from three query parameters, ``<name>-day``, ``<name>-month`` and ``<name>-year``."""

    widget = SplitDateInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        # The error summary links a date input's message to its day box.
        self.type = "DateField"

    def process(self, formdata, data=None, extra_filters=None):
        if formdata is not None:
            parts = [formdata.get(f"{self.name}-{part}", "") for part in DATE_PARTS]
            formdata = MultiDict([(self.name, part) for part in parts] if any(parts) else [])
        super().process(formdata, data, extra_filters)


class EnumFilterField(EnumSelectField):
    """A select of a code list for filtering, with "any" first and its own message for a bad value."""

    def __init__(self, label, *, enum_class, any_label: str, invalid: str, **kwargs):
        self.invalid = invalid
        super().__init__(label, enum_class=enum_class, choices=[("", any_label)] + enum_class.choices(), **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(self.invalid) from error


class SearchForm(PlainForm):
    """Filters for the search of concerns, read from the query string (a GET form, no CSRF)."""

    reference = TextField("Reference", [max_length(20, "Reference")], description="All or the start of it, for example C-2026-0001")
    service = ServiceField("Service")
    status = EnumFilterField("Status", enum_class=ConcernStatus, any_label="Any status", invalid="Select a status from the list")
    abuse_type = EnumFilterField(
        "Type of abuse or neglect", enum_class=AbuseType, any_label="Any type", invalid="Select a type of abuse or neglect from the list"
    )
    raised_from = SplitDateField("Raised on or after", description="For example, 1 4 2026")
    raised_to = SplitDateField("Raised on or before", description="For example, 30 4 2026")

    def validate_raised_to(self, field):
        if field.data and self.raised_from.data and field.data < self.raised_from.data:
            raise ValidationError("The “raised on or before” date must be the same as or after the “raised on or after” date")
