"""Forms for raising an escalation and for each move on it.

Which moves are allowed, what each needs and the words of every refusal belong to
``portal.escalations.operations`` (so a move reads the same from the page, the CLI or the scheduled
task): these forms only carry what people type, and check its length. Each field is named as the
operation names it in a refusal, so ``save_form`` puts every message next to its field.
"""

from __future__ import annotations

from portal.concerns.forms import YesNoField
from portal.core.codes import AbuseType, KeyQuestion
from portal.core.forms import (
    EnumCheckboxesField,
    EnumRadioField,
    Form,
    SelectField,
    SubmitField,
    TextAreaField,
    VersionField,
    max_length,
)
from portal.escalations.models import ViewGivenBy
from portal.escalations.operations import MAX_TEXT


class AgencySelectField(SelectField):
    """The agency escalated to. Any agency id is carried to the operation, which alone decides
    which are allowed (so choosing one's own agency gets its message, not a generic one)."""

    def pre_validate(self, form):
        pass


class RaiseForm(Form):
    receiving_agency = AgencySelectField(
        "Which agency are you escalating to?",
        description="The agency whose decision or practice you disagree with. It answers at every stage of the ladder",
    )
    disagreement = TextAreaField(
        "What do you disagree with?", [max_length(MAX_TEXT, "What you disagree with")],
        description="The decision or practice, and why. Do not name the adult: use the concern's reference",
    )
    wanted = TextAreaField(
        "What do you want to happen?", [max_length(MAX_TEXT, "What you want to happen")],
    )
    harm_imminent = YesNoField(
        "Is harm imminent?",
        description="If yes, every stage of the ladder must be answered by 5pm the same working day, not within days",
    )
    abuse_types = EnumCheckboxesField(
        "Types of abuse or neglect this is about (optional)", enum_class=AbuseType,
        description="Select all that apply. The Board uses these to see themes across escalations",
    )
    key_questions = EnumCheckboxesField(
        "Which key questions about the service does it concern? (optional)", enum_class=KeyQuestion,
        description="Select all that apply",
    )
    submit = SubmitField("Raise the escalation")


class AcknowledgeForm(Form):
    """The button on the escalation's page: the version says which state the person saw."""

    version = VersionField()
    submit = SubmitField("Acknowledge the escalation")


class RespondForm(Form):
    response = TextAreaField(
        "Your agency's response", [max_length(MAX_TEXT, "The response")],
        description="What your agency will do, or why it keeps its decision. The raiser reads this and may escalate it further",
    )
    version = VersionField()
    submit = SubmitField("Send the response")


class ResolveForm(Form):
    outcome = TextAreaField(
        "What outcome did both agencies agree?", [max_length(MAX_TEXT, "The outcome")],
    )
    learning = TextAreaField(
        "What has been learned?", [max_length(MAX_TEXT, "The learning")],
        description="What either agency will do differently. The Board reports the learning from escalations",
    )
    version = VersionField()
    submit = SubmitField("Resolve the escalation")


class EscalateForm(Form):
    reason = TextAreaField(
        "Why does the response not settle it?", [max_length(MAX_TEXT, "The reason")],
        description="Or, where there has been no response, what you have done to get one",
    )
    version = VersionField()
    submit = SubmitField("Escalate to the next stage")


class WithdrawForm(Form):
    reason = TextAreaField("Why are you withdrawing the escalation?", [max_length(MAX_TEXT, "The reason")])
    version = VersionField()
    submit = SubmitField("Withdraw the escalation")


class AdultViewForm(Form):
    view = TextAreaField(
        "Their view on the disagreement", [max_length(MAX_TEXT, "The view")],
        description="In their own words where you can",
    )
    given_by = EnumRadioField("Whose view is this?", enum_class=ViewGivenBy)
    version = VersionField()
    submit = SubmitField("Save the view")


class MediationNoteForm(Form):
    note = TextAreaField(
        "Note from the mediation", [max_length(MAX_TEXT, "The note")],
        description="What was discussed or proposed. The agencies decide; the note does not resolve the escalation",
    )
    submit = SubmitField("Add the note")
