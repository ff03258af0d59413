"""Forms for case work on one concern: triage, the MSP conversation, consent, closing and comments.

The rules about a concern (which moves are allowed, what closing needs, the advocacy gate) belong
to ``operations``; these forms check only what people type, so a refusal reads the same from the
web, the CLI or an import.
"""

from __future__ import annotations

from wtforms import fields
from wtforms.validators import ValidationError

from portal.concerns.operations import MAX_TEXT
from portal.concerns.validators import nhs_number
from portal.core.codes import (
    ActionResult,
    ConsentToShare,
    LabelledEnum,
    MentalCapacity,
    MspAsked,
    OutcomesAchieved,
    OverrideReason,
    PrimarySupportReason,
    RiskOutcome,
    Sex,
    TriageDecision,
)
from portal.core.forms import (
    BooleanField,
    DateField,
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
    uk_postcode,
)

#: The radio value for "not yet known": the answer is left empty.
UNKNOWN = "unknown"


class YesNoField(fields.RadioField):
    """Yes / No radios, optionally with "Not yet known"; ``data`` is True, False or None."""

    widget = RadiosWidget()

    def __init__(self, label=None, validators=None, unknown_label: str | None = None, **kwargs):
        choices = [("yes", "Yes"), ("no", "No")]
        if unknown_label:
            choices.append((UNKNOWN, unknown_label))
        super().__init__(label, validators, choices=choices, **kwargs)
        self.offers_unknown = bool(unknown_label)

    def process_data(self, value):
        self.data = value if isinstance(value, bool) else None

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        answer = valuelist[0]
        if answer not in {value for value, _ in self.choices}:
            self.data = None
            raise ValueError("Select one of the options")
        self.data = {"yes": True, "no": False}.get(answer)

    def iter_choices(self):
        if self.data is True:
            current = "yes"
        elif self.data is False:
            current = "no"
        else:
            current = UNKNOWN if self.offers_unknown else None
        return [(value, label, value == current, {}) for value, label in self.choices]

    def pre_validate(self, form):
        pass


class OptionalEnumRadioField(EnumRadioField):
    """Radios from a code list and a last "not yet known" choice that leaves the answer empty."""

    def __init__(self, label=None, validators=None, enum_class: type[LabelledEnum] = None, unknown_label: str = "Not yet known", **kwargs):
        super().__init__(label, validators, enum_class=enum_class, choices=[*enum_class.choices(), (UNKNOWN, unknown_label)], **kwargs)

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0] == UNKNOWN:
            self.data = None
        else:
            super().process_formdata(valuelist)

    def iter_choices(self):
        current = self.data.name if isinstance(self.data, LabelledEnum) else UNKNOWN
        for value, label in self.choices:
            yield (value, label, value == current, {})


class TriageForm(Form):
    decision = EnumRadioField("What is your decision?", [required("Select the triage decision")], enum_class=TriageDecision)
    reason = TextAreaField(
        "Reason for the decision",
        [max_length(MAX_TEXT, "Reason")],
        description="Needed for no further action and for signposting: say why, and where the person was signposted",
    )
    assign_to = SelectField("Safeguarding lead to work on it (optional)", [Optional()])
    submit = SubmitField("Record triage decision")


class AssignForm(Form):
    lead = SelectField("Safeguarding lead", [required("Select the safeguarding lead to work on this concern")])
    submit = SubmitField("Assign")


class ConfirmForm(Form):
    """A button and nothing else, for a change that needs no details (starting work)."""

    submit = SubmitField("Start work")


class MspForm(Form):
    msp_asked = OptionalEnumRadioField(
        "Was the adult, or their representative, asked what outcomes they want?", enum_class=MspAsked, unknown_label="Not yet recorded"
    )
    adult_views = TextAreaField(
        "The adult's views", [max_length(MAX_TEXT, "The adult's views")], description="What they think should happen, in their own words where you can"
    )
    preferred_contact = TextField(
        "Who do they prefer to talk to?", [max_length(300, "Who they prefer to talk to")], description="For example, their District Nurse"
    )
    preferred_meeting_place = TextField(
        "Where do they prefer to meet?",
        [max_length(300, "Where they prefer to meet")],
        description="For example, at home or at the GP surgery",
    )
    wants_to_attend_meetings = YesNoField("Do they want to attend meetings about them?", unknown_label="Not yet known")
    mental_capacity = EnumRadioField(
        "Did the adult lack capacity to make decisions about the safeguarding enquiry?", enum_class=MentalCapacity
    )
    best_interests_decision = TextAreaField(
        "Best-interests decision",
        [max_length(MAX_TEXT, "Best-interests decision")],
        description="Only when the adult lacks capacity: what was decided in their best interests",
    )
    past_present_wishes = TextAreaField(
        "Their past and present wishes",
        [max_length(MAX_TEXT, "Past and present wishes")],
        description="Only when the adult lacks capacity: their wishes still count",
    )
    substantial_difficulty = YesNoField("Does the adult have substantial difficulty being involved?", unknown_label="Not yet known")
    appropriate_person = YesNoField(
        "Is there an appropriate person, such as family or a friend, to support them?",
        unknown_label="Not yet known",
        description="If they have substantial difficulty and nobody appropriate, an independent advocate must be arranged",
    )
    version = VersionField()
    submit = SubmitField("Save the record")


class OutcomeForm(Form):
    words = TextAreaField(
        "What does the adult want to happen?",
        [max_length(MAX_TEXT, "Desired outcome")],
        description="Write it in the adult's own words, for example: I want my money back and my daughter to visit",
    )
    submit = SubmitField("Add outcome")


class AdvocateForm(Form):
    advocate_name = TextField("Advocate's name", [required("Enter the advocate's name"), max_length(200, "Advocate's name")])
    advocate_organisation = TextField("Organisation (optional)", [max_length(200, "Organisation")])
    advocate_arranged_on = DateField(
        "Date arranged", [required("Enter the date the advocate was arranged"), not_in_future()], description="For example, 27 3 2026"
    )
    submit = SubmitField("Record advocate")


class AdultForm(Form):
    name = TextField("Full name", [max_length(200, "Full name")])
    date_of_birth = DateField("Date of birth (optional)", [not_in_future("Date of birth must be in the past")], description="For example, 31 3 1940")
    nhs_number = TextField(
        "NHS number (optional)", [max_length(12, "NHS number"), nhs_number], description="10 digits, like 943 476 5919"
    )
    sex = OptionalEnumRadioField("Sex (optional)", enum_class=Sex, unknown_label="Not recorded")
    address = TextAreaField("Address (optional)", [max_length(300, "Address")], description="Not including the postcode")
    postcode = TextField("Postcode (optional)", [max_length(10, "Postcode"), uk_postcode])
    communication_needs = TextAreaField(
        "Communication needs (optional)",
        [max_length(MAX_TEXT, "Communication needs")],
        description="For example, uses British Sign Language, or needs easy read",
    )
    preferred_language = TextField("Preferred language (optional)", [max_length(100, "Preferred language")])
    primary_support_reason = EnumSelectField(
        "Primary support reason (optional)",
        enum_class=PrimarySupportReason,
        choices=[("", "Not recorded"), *PrimarySupportReason.choices()],
    )
    version = VersionField()
    submit = SubmitField("Save details")


class LinkAdultForm(Form):
    """One button per possible match; the page writes its hidden fields itself, so ids stay unique."""

    adult_id = fields.HiddenField()


class ConsentForm(Form):
    consent = EnumRadioField(
        "Has the adult agreed to their information being shared with partner agencies?",
        [required("Select whether the adult gave consent to share")],
        enum_class=ConsentToShare,
    )
    submit = SubmitField("Save consent")


class OverrideForm(Form):
    reason = EnumRadioField(
        "Why is the refusal being overridden?", [required("Select why the refusal is being overridden")], enum_class=OverrideReason
    )
    explanation = TextAreaField(
        "Explain the decision",
        [required("Explain why the adult's refusal is being overridden"), max_length(MAX_TEXT, "Explanation")],
        description="Say what risk makes sharing necessary and why it outweighs the adult's wish for privacy",
    )
    adult_told = YesNoField(
        "Has the adult been told their refusal is being overridden?", [required("Select whether the adult has been told")]
    )
    not_told_reason = TextAreaField(
        "If not, why has the adult not been told?",
        [max_length(MAX_TEXT, "Why the adult has not been told")],
        description="For example, telling them now would put them at risk",
    )
    submit = SubmitField("Override the refusal")

    def validate_not_told_reason(self, field):
        # Checked with the other fields so that every problem is listed at once.
        if self.adult_told.data is False and not field.data:
            raise ValidationError("Enter why the adult has not been told")


class CloseForm(Form):
    action_result = EnumRadioField("What action was taken, and with what result?", enum_class=ActionResult)
    risk_outcome = EnumRadioField("What happened to the risk?", enum_class=RiskOutcome)
    outcomes_achieved = EnumRadioField("Were the outcomes the adult wanted achieved?", enum_class=OutcomesAchieved)
    adult_feedback = TextAreaField(
        "The adult's feedback on their experience (optional)",
        [max_length(MAX_TEXT, "The adult's feedback")],
        description="Did they feel listened to, involved and safer? Use their own words",
    )
    submit = SubmitField("Close concern")


class ReopenForm(Form):
    reason = TextAreaField("Why is the concern being reopened?", [max_length(MAX_TEXT, "Reason")])
    submit = SubmitField("Reopen concern")


class CommentForm(Form):
    body = TextAreaField(
        "Add a comment",
        [max_length(MAX_TEXT, "Comment")],
        description="Everyone who can see this concern will see it, unless you mark it for the local authority only",
    )
    local_authority_only = BooleanField("Local authority only", description="Only people in a local authority will see this comment")
    submit = SubmitField("Add comment")
