from __future__ import annotations

from portal.core.codes import Role
from portal.core.forms import (
    EmailField,
    EnumRadioField,
    Form,
    SelectField,
    SubmitField,
    TextField,
    VersionField,
    max_length,
    required,
)


class PersonDetailsMixin:
    name = TextField("Full name", [required("Enter the person's full name"), max_length(200, "Full name")])
    email = EmailField("Email address", [required("Enter the person's work email address")], description="Their work email address. The invitation is sent here.")
    job_title = TextField("Job title (optional)", [max_length(200, "Job title")])


class InvitePersonForm(PersonDetailsMixin, Form):
    agency = SelectField("Agency", [required("Select the agency the person works for")])
    role = EnumRadioField("Role", [required("Select the person's role")], enum_class=Role)
    submit = SubmitField("Send invitation")


class EditPersonForm(PersonDetailsMixin, Form):
    version = VersionField()
    submit = SubmitField("Save changes")


class AddRoleForm(Form):
    agency = SelectField("Agency", [required("Select the agency")])
    role = EnumRadioField("Role", [required("Select the role")], enum_class=Role)
    submit = SubmitField("Add role")


class ConfirmForm(Form):
    """An empty form for a POST button, so that CSRF protection covers it."""

    submit = SubmitField("Confirm")
