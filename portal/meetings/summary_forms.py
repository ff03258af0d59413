"""Forms for the summary for the adult: writing it, and recording that it was shared.

The rules belong to ``portal.meetings.summary``; these forms check what people type with the same
messages, so every problem is listed at once.
"""

from __future__ import annotations

from wtforms.validators import ValidationError

from portal.core.forms import (
    DateField,
    EnumRadioField,
    Form,
    TextAreaField,
    TextField,
    VersionField,
    max_length,
    not_in_future,
    required,
)
from portal.meetings.models import ShareFormat
from portal.meetings.summary import MAX_LANGUAGE, MAX_TEXT


class SummaryForm(Form):
    text = TextAreaField(
        "Summary for the adult",
        [required("Enter the summary for the adult"), max_length(MAX_TEXT, "The summary")],
        description="Check the wording as often as you like: checking does not save the summary",
    )
    version = VersionField()


class ShareForm(Form):
    shared_on = DateField(
        "Date shared",
        [required("Enter the date the summary was shared"),
         not_in_future("The date the summary was shared must be today or in the past")],
        description="For example, 27 3 2026",
    )
    format = EnumRadioField(
        "How was it shared?", [required("Select how the summary was shared")], enum_class=ShareFormat,
    )
    language = TextField(
        "Which language was it translated into?", [max_length(MAX_LANGUAGE, "The language")],
        description="Only if it was translated, for example Polish or Urdu",
    )

    def validate_language(self, field):
        if self.format.data is ShareFormat.LANGUAGE and not field.data:
            raise ValidationError("Enter the language the summary was translated into")
