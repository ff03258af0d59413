"""Forms for a person's notification choices and the administrators' resend button."""

from __future__ import annotations

from wtforms import fields
from wtforms.validators import ValidationError

from portal.core.forms import Form, RadiosWidget, SubmitField, required
from portal.notifications.models import NotificationEvent, PreferenceChoice


class PreferenceField(fields.RadioField):
    """Straight away, daily summary or off, for one kind of event; ``data`` is the choice's name."""

    widget = RadiosWidget()

    def __init__(self, event: NotificationEvent, **kwargs):
        super().__init__(
            event.label,
            [required(f"{event.label}: select straight away, in a daily summary email or off")],
            choices=[(choice.name, choice.label) for choice in PreferenceChoice],
            description=event.explanation,
            **kwargs,
        )

    def pre_validate(self, form):
        if self.data not in {name for name, _ in self.choices}:
            raise ValidationError("Select one of the options")

    @property
    def choice(self) -> PreferenceChoice:
        return PreferenceChoice[self.data]


class PreferencesForm(Form):
    submit = SubmitField("Save choices")

    def choices(self) -> dict[NotificationEvent, PreferenceChoice]:
        return {event: self[field_name(event)].choice for event in choosable_events()}


def field_name(event: NotificationEvent) -> str:
    return event.name.lower()


def choosable_events() -> list[NotificationEvent]:
    return [event for event in NotificationEvent if not event.mandatory]


def preferences_form(current: dict[NotificationEvent, PreferenceChoice], **kwargs) -> PreferencesForm:
    """A form with one question per event a person may choose about, filled in from ``current``."""

    class PersonsPreferencesForm(PreferencesForm):
        pass

    for event in choosable_events():
        setattr(PersonsPreferencesForm, field_name(event), PreferenceField(event, default=current[event].name))
    return PersonsPreferencesForm(**kwargs)


class ResendForm(Form):
    """A button only, so that CSRF protection covers it."""

    submit = SubmitField("Send again")
