"""Forms for the minutes page (attendance and the minutes of each item), amendments, and actions.

The rules (the minutes locked once approved, an action's owner and due date) belong to
``portal.meetings.minutes``; these forms check what people type, with the same messages, so every
problem is listed at once.
"""

from __future__ import annotations

from wtforms.validators import ValidationError

from portal.concerns.forms import OptionalEnumRadioField
from portal.core.forms import (
    DateField,
    Form,
    Optional,
    SelectField,
    SubmitField,
    TextAreaField,
    VersionField,
    max_length,
    required,
)
from portal.core.workdays import london_today
from portal.meetings.minutes import MAX_REASON, MAX_TEXT
from portal.meetings.models import ActionState, Attendance


def attendance_name(attendee_id: int) -> str:
    return f"attendance_{attendee_id}"


def discussion_name(item_id: int) -> str:
    return f"discussion_{item_id}"


def decisions_name(item_id: int) -> str:
    return f"decisions_{item_id}"


def version_name(item_id: int) -> str:
    return f"version_{item_id}"


class MinutesForm(Form):
    """The fixed part of the minutes form; :func:`minutes_form_class` adds the attendees and items."""

    submit = SubmitField("Save minutes")


def minutes_form_class(attendees: list[tuple[int, str]], items) -> type[MinutesForm]:
    """Attendance radios for each attendee (id, how they are named here), and the discussion,
    decisions and the entry's version for each agenda item."""
    attributes = {
        attendance_name(attendee_id): OptionalEnumRadioField(label, enum_class=Attendance, unknown_label="Not recorded")
        for attendee_id, label in attendees
    }
    for item in items:
        attributes[discussion_name(item.id)] = TextAreaField(
            f"{item.title}: discussion", [max_length(MAX_TEXT, "The discussion")],
        )
        attributes[decisions_name(item.id)] = TextAreaField(
            f"{item.title}: decisions", [max_length(MAX_TEXT, "The decisions")],
        )
        attributes[version_name(item.id)] = VersionField()
    return type("MeetingMinutesForm", (MinutesForm,), attributes)


class ApproveForm(Form):
    """The chair's button."""

    submit = SubmitField("Approve the minutes")


class AmendForm(Form):
    text = TextAreaField(
        "Correction", [required("Enter the correction"), max_length(MAX_TEXT, "The correction")],
        description="What the minutes of this item should say, or what to add. The approved text stays as it is",
    )
    reason = TextAreaField(
        "Why are the minutes being corrected?", [required("Enter why the minutes are being corrected"),
                                                 max_length(MAX_REASON, "The reason")],
    )
    submit = SubmitField("Add amendment")


def _today_or_later(form, field):
    if field.data and field.data < london_today():
        raise ValidationError("The due date must be today or in the future")


class ActionForm(Form):
    description = TextAreaField(
        "What must be done?", [required("Enter what must be done"), max_length(MAX_TEXT, "The action")],
    )
    owner = SelectField("Who owns the action?", [required("Choose who owns the action")])
    agenda_item = SelectField("Agenda item", [Optional()], description="The item it was agreed under")
    due_on = DateField(
        "Due date", [required("Enter the due date"), _today_or_later], description="For example, 30 6 2026",
    )
    submit = SubmitField("Add action")


class ActionUpdateForm(Form):
    text = TextAreaField(
        "What has happened?", [required("Enter what has happened"), max_length(MAX_TEXT, "The update")],
    )
    state = OptionalEnumRadioField("Move the action on (optional)", enum_class=ActionState, unknown_label="Leave it as it is")
    due_on = DateField("New due date (optional)", [_today_or_later], description="For example, 30 6 2026")
    version = VersionField()
    submit = SubmitField("Save update")
