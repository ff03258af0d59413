from __future__ import annotations

from wtforms import fields
from wtforms.validators import ValidationError

from portal.core.codes import (
    ControllerArrangement,
    DataCategory,
    LabelledEnum,
    LawfulBasis,
    SpecialCategoryCondition,
)
from portal.core.forms import (
    CheckboxesWidget,
    DateField,
    EnumCheckboxesField,
    EnumRadioField,
    Form,
    IntegerField,
    SubmitField,
    TextAreaField,
    TextField,
    VersionField,
    max_length,
    required,
)

NO_CONDITION = ""


class PartiesField(fields.SelectMultipleField):
    """Checkboxes of agencies, by id; ``data`` is a list of ints. The view sets the choices."""

    widget = CheckboxesWidget()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("coerce", int)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        try:
            self.data = [self.coerce(value) for value in valuelist]
        except (TypeError, ValueError) as exc:
            self.data = []
            raise ValueError("Select agencies from the list") from exc

    def pre_validate(self, form):
        offered = {value for value, _ in self.choices or ()}
        if any(value not in offered for value in self.data or ()):
            raise ValidationError("Select agencies from the list")


class OptionalEnumRadioField(EnumRadioField):
    """Radios from a code list with a first 'none' choice; ``data`` is the member or None."""

    def __init__(self, label=None, validators=None, enum_class: type[LabelledEnum] = None, none_label: str = "None", **kwargs):
        super().__init__(label, validators, enum_class=enum_class, choices=[(NO_CONDITION, none_label), *enum_class.choices()], **kwargs)

    def iter_choices(self):
        current = self.data.name if isinstance(self.data, LabelledEnum) else NO_CONDITION
        for value, label in self.choices:
            yield (value, label, value == current, {})


class AgreementForm(Form):
    title = TextField("Title", [required("Enter a title for the agreement"), max_length(200, "Title")])
    purpose = TextAreaField(
        "Purpose",
        [required("Enter the purpose of sharing: why it is necessary"), max_length(5000, "Purpose")],
        description="Why the parties need to share, and why less or no information would not do",
    )
    parties = PartiesField("Parties", description="Select at least two agencies")
    categories = EnumCheckboxesField(
        "Data the agreement covers",
        [required("Select at least one category of data the agreement covers")],
        enum_class=DataCategory,
        description="Select all that apply",
    )
    controllers = EnumRadioField(
        "How the parties control the data",
        [required("Select whether the parties are joint or separate controllers")],
        enum_class=ControllerArrangement,
        description="Joint controllers decide together why and how the data is used; separate controllers each decide for themselves",
    )
    lawful_basis = EnumRadioField(
        "Lawful basis (UK GDPR Article 6)",
        [required("Select the Article 6 lawful basis")],
        enum_class=LawfulBasis,
        description="Public bodies sharing to safeguard adults usually rely on public task",
    )
    special_category_condition = OptionalEnumRadioField(
        "Condition for special category data (UK GDPR Article 9)",
        enum_class=SpecialCategoryCondition,
        none_label="Not needed: the agreement covers no special category data",
        description="Needed when personal safeguarding data is shared, because it includes health information",
    )
    retention_months = IntegerField(
        "Retention period",
        [required("Enter how many months each party keeps shared data")],
        description="How long each party keeps shared data before deleting it: between 1 and 120 months",
    )
    starts_on = DateField("Start date", [required("Enter the start date")], description="For example, 1 4 2026")
    review_on = DateField(
        "Review date", [required("Enter the review date")], description="When the parties will check the agreement is still needed"
    )
    ends_on = DateField("End date", [required("Enter the end date")], description="The last day the agreement lets data be shared")
    submit = SubmitField("Save agreement")


class EditAgreementForm(AgreementForm):
    version = VersionField()


class SignForm(Form):
    signatory_name = TextField(
        "Name of the person who signed", [required("Enter the name of the person who signed"), max_length(200, "Name")]
    )
    signatory_job_title = TextField(
        "Their job title",
        [required("Enter the job title of the person who signed"), max_length(200, "Job title")],
        description="For example, Caldicott Guardian or Data Protection Officer",
    )
    signed_on = DateField("Date signed", [required("Enter the date it was signed")], description="For example, 27 3 2026")
    submit = SubmitField("Record signature")


class RevokeForm(Form):
    reason = TextAreaField(
        "Why is the agreement being revoked?",
        [required("Enter why the agreement is being revoked"), max_length(2000, "Reason")],
        description="The parties and the audit trail will see this",
    )
    submit = SubmitField("Revoke agreement")
