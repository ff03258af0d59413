"""Form fields rendered with GOV.UK Frontend, and validators shared by every module.

Each field defaults to the GOV.UK widget for its kind, strips surrounding spaces and carries a
maximum length, so that a form states its rules once and the error summary says what is wrong.
"""

from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCharacterCount,
    GovCheckboxesInput,
    GovCheckboxInput,
    GovDateInput,
    GovPasswordInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import fields
from wtforms.validators import Email, Length, Optional, StopValidation, ValidationError
from wtforms.widgets import HiddenInput

from portal.core.codes import LabelledEnum
from portal.core.workdays import london_today


class _WithoutEmptyHint:
    """govuk-frontend-wtf gives every radio group a hint, so aria-describedby points at an empty one."""

    def map_gov_params(self, field, **kwargs):
        params = super().map_gov_params(field, **kwargs)
        hint = params.get("hint")
        if hint is not None and not hint.get("text") and not hint.get("html"):
            del params["hint"]
        return params


class RadiosWidget(_WithoutEmptyHint, GovRadioInput):
    pass


class CheckboxesWidget(_WithoutEmptyHint, GovCheckboxesInput):
    pass


UK_POSTCODE = re.compile(
    r"^(GIR ?0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY]) ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)
LOCATION_ID = re.compile(r"^1-[0-9]{1,12}$")


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value, limit: int | None = None):
    """Text as people meant it: no control characters (PostgreSQL refuses NUL), no outer spaces."""
    if not isinstance(value, str):
        return value
    value = _CONTROL_CHARACTERS.sub("", value).strip()
    return value[:limit] if limit else value


def _strip(value):
    return clean_text(value)


def normalise_postcode(value: str) -> str:
    """Upper case with one space before the inward code: ``ab1 2cd`` becomes ``AB1 2CD``."""
    compact = re.sub(r"\s+", "", value or "").upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def uk_postcode(form, field) -> None:
    if field.data:
        normalised = normalise_postcode(field.data)
        if not UK_POSTCODE.match(normalised):
            raise ValidationError("Enter a real UK postcode, like SW1A 1AA")
        field.data = normalised


def location_id(form, field) -> None:
    if field.data and not LOCATION_ID.match(field.data):
        raise ValidationError("Enter a location ID in the regulator's format: 1- followed by numbers, like 1-123456789")


class Required:
    """A GOV.UK style 'Enter…' or 'Select…' message when nothing real was given.

    Spaces or control characters alone count as nothing (they are cleaned away before saving).
    When something was typed that could not be read (half a date, say), the field's own message
    about it stands instead.
    """

    field_flags = {"required": True}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        typed = any(clean_text(str(value)) for value in (field.raw_data or []))
        if typed and field.data not in (None, "", [], set()):
            return
        if typed and field.errors:
            raise StopValidation()
        field.errors[:] = []
        raise StopValidation(self.message)


def required(message: str) -> Required:
    return Required(message)


def max_length(limit: int, what: str):
    return Length(max=limit, message=f"{what} must be {limit:,} characters or fewer")


class TextField(fields.StringField):
    widget = GovTextInput()

    def __init__(self, label=None, validators=None, filters=(), **kwargs):
        super().__init__(label, validators, filters=(_strip, *filters), **kwargs)


class EmailField(TextField):
    def __init__(self, label=None, validators=None, **kwargs):
        validators = list(validators or []) + [
            Email(message="Enter an email address in the correct format, like name@example.org", check_deliverability=False),
            max_length(254, "Email address"),
        ]
        super().__init__(label, validators, **kwargs)


class PasswordField(fields.PasswordField):
    widget = GovPasswordInput()


class TextAreaField(fields.TextAreaField):
    widget = GovTextArea()

    def __init__(self, label=None, validators=None, filters=(), **kwargs):
        super().__init__(label, validators, filters=(_strip, *filters), **kwargs)


class CharacterCountField(TextAreaField):
    widget = GovCharacterCount()


class IntegerField(fields.IntegerField):
    widget = GovTextInput()

    def process_formdata(self, valuelist):
        if valuelist and isinstance(valuelist[0], str):
            valuelist = [valuelist[0].strip()]
        if valuelist and valuelist[0] == "":
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            self.data = None
            raise ValueError(f"{self.label.text} must be a whole number") from exc
        if self.data is not None and abs(self.data) > MAX_ID:
            self.data = None
            raise ValueError(f"{self.label.text} is too large")


class DateField(fields.DateField):
    """A GOV.UK date input: three boxes (day, month, year) submitted under one name."""

    widget = GovDateInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format="%d %m %Y", **kwargs)

    def process_formdata(self, valuelist):
        parts = [str(v).strip() for v in valuelist][:3]
        parts += [""] * (3 - len(parts))
        self.raw_data = parts
        if not any(parts):
            self.data = None
            return
        missing = [name for name, part in zip(("day", "month", "year"), parts, strict=True) if not part]
        if missing:
            self.data = None
            raise ValueError(f"{self.label.text} must include a {' and '.join(missing)}")
        try:
            day, month, year = (int(part) for part in parts)
            if year < 1000:
                raise ValueError
            self.data = date(year, month, day)
        except (ValueError, OverflowError) as exc:
            self.data = None
            raise ValueError(f"{self.label.text} must be a real date") from exc


class EnumRadioField(fields.RadioField):
    """Radios whose choices come from a code list; ``data`` is the enum member."""

    widget = RadiosWidget()

    def __init__(self, label=None, validators=None, enum_class: type[LabelledEnum] = None, choices=None, **kwargs):
        self.enum_class = enum_class
        super().__init__(
            label,
            validators,
            choices=choices if choices is not None else enum_class.choices(),
            coerce=enum_class.coerce,
            **kwargs,
        )

    def _value(self):
        return self.data.name if isinstance(self.data, LabelledEnum) else super()._value()

    def iter_choices(self):
        current = self.data.name if isinstance(self.data, LabelledEnum) else self.data
        for value, label in self.choices:
            yield (value, label, value == current, {})

    def pre_validate(self, form):
        if self.data is None:
            return
        if self.data.name not in {value for value, _ in self.choices}:
            raise ValidationError("Select one of the options")

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0] == "":
            self.data = None
        elif valuelist:
            try:
                self.data = self.coerce(valuelist[0])
            except KeyError as exc:
                self.data = None
                raise ValueError("Select one of the options") from exc


class EnumSelectField(EnumRadioField):
    widget = GovSelect()


class EnumCheckboxesField(fields.SelectMultipleField):
    """Checkboxes from a code list; ``data`` is a set of enum members."""

    widget = CheckboxesWidget()

    def __init__(self, label=None, validators=None, enum_class: type[LabelledEnum] = None, **kwargs):
        self.enum_class = enum_class
        super().__init__(label, validators, choices=enum_class.choices(), **kwargs)

    def process_data(self, value):
        self.data = set(value or ())

    def process_formdata(self, valuelist):
        try:
            self.data = {self.enum_class[name] for name in valuelist}
        except KeyError as exc:
            self.data = set()
            raise ValueError("Select from the options given") from exc

    def iter_choices(self):
        chosen = {member.name for member in self.data or ()}
        for value, label in self.choices:
            yield (value, label, value in chosen, {})

    def pre_validate(self, form):
        pass


class SelectField(fields.SelectField):
    """A select of database rows, by id; ``data`` is an int or None."""

    widget = GovSelect()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("coerce", _int_or_none)
        super().__init__(label, validators, **kwargs)

    def pre_validate(self, form):
        chosen_something = bool(self.raw_data and self.raw_data[0] not in ("", None))
        if (self.data is None and chosen_something) or (
            self.data is not None and self.data not in {value for value, _ in self.choices}
        ):
            raise ValidationError("Select one of the options")


class RadioField(SelectField):
    widget = RadiosWidget()


#: The largest value an integer column holds on PostgreSQL; larger ids cannot exist.
MAX_ID = 2**31 - 1


def _int_or_none(value):
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


class BooleanField(fields.BooleanField):
    widget = GovCheckboxInput()


class SubmitField(fields.SubmitField):
    widget = GovSubmitInput()


class VersionField(fields.IntegerField):
    """The version of the record the form was filled in from, to detect concurrent edits."""

    widget = HiddenInput()

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None


class Form(FlaskForm):
    """Base form: GOV.UK pages use ``novalidate`` and show errors from the server."""


def not_in_future(message: str | None = None):
    """Refuse a date after today in England."""

    def check(form, field):
        if field.data and field.data > london_today():
            raise ValidationError(message or f"{field.label.text} must be today or in the past")

    return check


__all__ = [
    "BooleanField",
    "clean_text",
    "CharacterCountField",
    "DateField",
    "EmailField",
    "EnumCheckboxesField",
    "EnumRadioField",
    "EnumSelectField",
    "Form",
    "IntegerField",
    "Optional",
    "PasswordField",
    "RadioField",
    "SelectField",
    "StopValidation",
    "SubmitField",
    "TextAreaField",
    "TextField",
    "VersionField",
    "location_id",
    "max_length",
    "required",
    "uk_postcode",
]
