from __future__ import annotations

from wtforms.validators import EqualTo, ValidationError

from portal.auth.passwords import MAX_LENGTH, password_problems
from portal.core.forms import EmailField, Form, PasswordField, RadioField, SubmitField, TextField, max_length, required


class SignInForm(Form):
    email = EmailField("Email address", [required("Enter your email address")])
    password = PasswordField("Password", [required("Enter your password"), max_length(MAX_LENGTH, "Password")])
    submit = SubmitField("Sign in")


class SecurityCodeForm(Form):
    code = TextField(
        "Security code",
        [required("Enter the 6-digit security code from your authenticator app"), max_length(10, "Security code")],
        description="The 6-digit code shown in your authenticator app",
    )
    submit = SubmitField("Continue")


class NewPasswordMixin:
    """Checks the new password against the rules; the view gives the person's email and name."""

    person_email: str | None = None
    person_name: str | None = None

    def validate_new_password(self, field):
        problems = password_problems(field.data or "", email=self.person_email, name=self.person_name)
        if problems:
            raise ValidationError(problems[0])


PASSWORD_HINT = "At least 12 characters. Three random words make a strong password that is easy to remember."


def _new_password_fields(label: str, missing: str, confirm_label: str, confirm_missing: str):
    """The new-password and confirmation fields, worded for setting or for changing a password."""
    return (
        PasswordField(label, [required(missing)], description=PASSWORD_HINT),
        PasswordField(confirm_label, [required(confirm_missing), EqualTo("new_password", message="Passwords must match")]),
    )


class SetPasswordForm(NewPasswordMixin, Form):
    new_password, confirm_password = _new_password_fields(
        "Create a password", "Enter a password", "Confirm your password", "Confirm your password"
    )
    submit = SubmitField("Set password")


class ChangePasswordForm(NewPasswordMixin, Form):
    # Declared in the order the page shows them, so the error summary follows the page.
    current_password = PasswordField("Current password", [required("Enter your current password"), max_length(MAX_LENGTH, "Password")])
    new_password, confirm_password = _new_password_fields(
        "New password", "Enter a new password", "Confirm your new password", "Confirm your new password"
    )
    submit = SubmitField("Change password")



class ChooseAgencyForm(Form):
    membership = RadioField("Which agency are you working for now?", [required("Select the agency you are working for")])
    submit = SubmitField("Continue")


class ConfirmTwoFactorForm(SecurityCodeForm):
    submit = SubmitField("Turn on two-factor sign-in")


class DisableTwoFactorForm(Form):
    password = PasswordField("Enter your password to confirm", [required("Enter your password"), max_length(MAX_LENGTH, "Password")])
    submit = SubmitField("Turn off two-factor sign-in")


class ForgotPasswordForm(Form):
    email = EmailField("Email address", [required("Enter your email address")])
    submit = SubmitField("Send me a link")
