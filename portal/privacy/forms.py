"""Forms for breaking glass, reviewing it, and an area's retention periods."""

from __future__ import annotations

from portal.core.forms import (
    BooleanField,
    Form,
    IntegerField,
    SubmitField,
    TextAreaField,
    max_length,
    required,
)
from portal.privacy.models import RetentionCategory
from portal.privacy.operations import MAX_MONTHS, MAX_TEXT, MIN_MONTHS


class BreakGlassForm(Form):
    reason = TextAreaField(
        "What is the emergency?",
        [required("Explain the emergency that needs the adult's details now"), max_length(MAX_TEXT, "The reason")],
        description="Say what is happening, why it cannot wait for consent or an agreement, and what you will do "
                    "with the details. Your reason is shown to the safeguarding leads who review this.",
    )
    confirm = BooleanField(
        "I understand that the safeguarding leads are told straight away and that this use will be reviewed",
        [required("Confirm that you understand this use will be reviewed")],
    )
    submit = SubmitField("Break glass and see the details")


class ReviewForm(Form):
    note = TextAreaField(
        "What did the review find?",
        [required("Enter what the review found"), max_length(MAX_TEXT, "The note")],
        description="For example, whether the emergency justified it and anything to follow up",
    )
    submit = SubmitField("Mark as reviewed")


def field_name(category: RetentionCategory) -> str:
    return category.name.lower()


class RetentionForm(Form):
    """One whole number of months per category (fields added below, one per category)."""

    submit = SubmitField("Save retention periods")

    def months(self) -> dict[RetentionCategory, int | None]:
        return {category: self[field_name(category)].data for category in RetentionCategory}


for _category in RetentionCategory:
    setattr(RetentionForm, field_name(_category), IntegerField(
        _category.label,
        [required(f"Enter how many months to keep {_category.label.lower()}")],
        description=f"Months after a concern closes, from {MIN_MONTHS} to {MAX_MONTHS:,}. "
                    f"Default {_category.default_months}. Redacted then: {_category.fields}",
    ))
