"""Forgotten passwords: asking for a reset link, and setting a new password through it."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from portal.auth import operations
from portal.auth.forms import ForgotPasswordForm, SetPasswordForm
from portal.auth.password_reset import person_from_token


def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        operations.request_password_reset(form.email.data)
        # The same answer whether or not there is an account with this address.
        return render_template("auth/reset_sent.html", email=form.email.data)
    return render_template("auth/forgot_password.html", form=form)


def reset_password(token: str):
    user = person_from_token(token)
    if user is None:
        return render_template("auth/reset_invalid.html"), 404
    form = SetPasswordForm()
    form.person_email, form.person_name = user.email, user.name
    if form.validate_on_submit():
        operations.reset_password(user, form.new_password.data)
        # Every session of the person has ended; this browser starts again from the sign-in page.
        operations.end_session(current_user._get_current_object() if current_user.is_authenticated else None, "password reset")
        flash("Your password has been reset. Sign in with your new password.", "success")
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset_password.html", form=form, user=user)
