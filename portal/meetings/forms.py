"""Forms for scheduling a meeting, its agenda and invitations, replies, cancelling and holding.

The forms check what people type (a time they can read, a number); the rules about a meeting
(the end after the start, a start in the future, the adult's name kept out of the title) belong
to :mod:`portal.meetings.operations`, so a refusal reads the same from every page.
"""

from __future__ import annotations

import re
from datetime import time

from wtforms import fields
from wtforms.validators import ValidationError
from wtforms.widgets import HiddenInput

from portal.core.forms import (
    CheckboxesWidget,
    DateField,
    EnumRadioField,
    Form,
    IntegerField,
    Optional,
    SelectField,
    SubmitField,
    TextAreaField,
    TextField,
    VersionField,
    clean_text,
    max_length,
    required,
)
from portal.meetings.models import GuestRelationship, MeetingKind, PlaceKind, Reply
from portal.meetings.operations import (
    MAX_GUEST_NAME,
    MAX_LINK,
    MAX_NOTE,
    MAX_OCCURRENCES,
    MAX_PLACE,
    MAX_PURPOSE,
    MAX_REASON,
    MAX_TITLE,
    MIN_OCCURRENCES,
    Repeat,
)

_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$")


def parse_time(typed: str) -> time | None:
    """A time as people type it: 14:30, 14.30, 9:00, 2:30pm or 2pm; None when it is not one."""
    found = _TIME.match(typed.strip().lower().replace(" ", ""))
    if not found:
        return None
    hour, minute, half = int(found.group(1)), int(found.group(2) or 0), found.group(3)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    elif found.group(2) is None:
        return None
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


class TimeField(TextField):
    """A time of day typed as text, like 14:30; ``data`` is a :class:`datetime.time`."""

    def __init__(self, label=None, validators=None, *, what: str, **kwargs):
        self.what = what
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        typed = clean_text(valuelist[0]) if valuelist else ""
        self.typed = typed
        if not typed:
            self.data = None
            return
        self.data = parse_time(typed)
        if self.data is None:
            raise ValueError(f"Enter the {self.what} as a time of day, like 14:30")

    def _value(self):
        if getattr(self, "typed", None) is not None:
            return self.typed
        return self.data.strftime("%H:%M") if isinstance(self.data, time) else ""


class IdCheckboxesField(fields.SelectMultipleField):
    """Checkboxes of database rows, by id; ``data`` is a list of ints."""

    widget = CheckboxesWidget()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("coerce", int)
        kwargs.setdefault("choices", [])
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        try:
            self.data = [int(value) for value in valuelist]
        except ValueError as exc:
            self.data = []
            raise ValueError("Select from the options given") from exc

    def pre_validate(self, form):
        offered = {value for value, _ in self.choices}
        if any(value not in offered for value in self.data or ()):
            raise ValidationError("Select from the options given")


class HiddenIdField(IntegerField):
    widget = HiddenInput()


def _time_hint(example: str) -> str:
    return f"Use the 24-hour clock, for example, {example}"


class MeetingForm(Form):
    """What changes on an existing meeting too: title, purpose, time, place, chair and minute-taker."""

    title = TextField(
        "Title", [required("Enter a title"), max_length(MAX_TITLE, "The title")],
        description="Shown in everyone's calendar",
    )
    purpose = TextAreaField(
        "What is the meeting for?", [required("Enter what the meeting is for"), max_length(MAX_PURPOSE, "What the meeting is for")],
        description="Sent with the invitation",
    )
    day = DateField("Date", [required("Enter the date of the meeting")], description="For example, 27 3 2027")
    starts = TimeField("Start time", [required("Enter the start time")], what="start time", description=_time_hint("14:30"))
    ends = TimeField("End time", [required("Enter the end time")], what="end time", description=_time_hint("16:00"))
    place_kind = EnumRadioField("Where is the meeting?", [required("Select where the meeting is")], enum_class=PlaceKind)
    place = TextField("Address, or the name of the place", [max_length(MAX_PLACE, "The address")])
    online_link = TextField("Link to join", [max_length(MAX_LINK, "The link")], description="Starting https://")
    chair = SelectField("Chair", [Optional()])
    minute_taker = SelectField("Minute-taker", [Optional()])
    submit = SubmitField("Save changes")
    version = VersionField()


class ScheduleForm(MeetingForm):
    kind = EnumRadioField("What kind of meeting is it?", [required("Select the kind of meeting")], enum_class=MeetingKind)
    repeat = EnumRadioField("Does it repeat?", enum_class=Repeat, default=Repeat.NONE)
    occurrences = IntegerField(
        "How many meetings?", [Optional()],
        description=f"If it repeats: how many, including this one (between {MIN_OCCURRENCES} and {MAX_OCCURRENCES})",
    )
    providers = IdCheckboxesField(
        "Providers on the agenda", description="Each gets its own agenda item and a section in the agenda pack. Select all that apply",
    )
    submit = SubmitField("Schedule the meeting")


class AgendaItemForm(Form):
    title = TextField("Item", [max_length(MAX_TITLE, "The item")],
                      description="Leave empty for an item about a provider to take the provider's name")
    provider = SelectField("About a provider", [Optional()])
    submit = SubmitField("Add to the agenda")


class AgendaChangeForm(Form):
    """One button beside an agenda item: move it up or down, or remove it."""

    item = HiddenIdField()
    change = fields.HiddenField()

    def validate_change(self, field):
        if field.data not in {"up", "down", "remove"}:
            raise ValidationError("Choose what to do with the item")


class InvitePeopleForm(Form):
    people = IdCheckboxesField("People to invite")
    submit = SubmitField("Invite the people selected")


class InviteAgencyForm(Form):
    agency = SelectField("Agency", [required("Select an agency")])
    submit = SubmitField("Invite everyone at the agency")


class GuestForm(Form):
    """The rules (an email address for every guest) are the operation's, so the message can name them."""

    name = TextField("Name", [max_length(MAX_GUEST_NAME, "The name")])
    email = TextField("Email address", [max_length(254, "The email address")], description="The invitation and calendar entry go here")
    relationship = EnumRadioField("Who are they?", enum_class=GuestRelationship)
    submit = SubmitField("Invite the guest")


class RemoveAttendeeForm(Form):
    attendee = HiddenIdField()


_ANSWERS = [(Reply.ACCEPTED.name, "Yes"), (Reply.TENTATIVE.name, "Maybe"), (Reply.DECLINED.name, "No")]


class ReplyForm(Form):
    reply = EnumRadioField("Will you attend?", [required("Select whether you will attend")], enum_class=Reply, choices=_ANSWERS)
    note = TextField("Note for the organiser (optional)", [max_length(MAX_NOTE, "The note")],
                     description="For example, who will come in your place")
    submit = SubmitField("Send your reply")


class ReplyForForm(Form):
    reply = EnumRadioField("Will they attend?", [required("Select whether they will attend")], enum_class=Reply, choices=_ANSWERS)
    note = TextField("Note (optional)", [max_length(MAX_NOTE, "The note")], description="For example, how they told you")
    submit = SubmitField("Record the reply")


class CancelForm(Form):
    reason = TextAreaField(
        "Why is the meeting cancelled?", [required("Enter why the meeting is cancelled"), max_length(MAX_REASON, "The reason")],
        description="Everyone invited is told",
    )
    submit = SubmitField("Cancel the meeting")
    version = VersionField()


class HeldForm(Form):
    submit = SubmitField("Mark the meeting as held")
