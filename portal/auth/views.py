"""Sign-in, second factor, sign-out, choosing an agency, and the person's own account."""

from __future__ import annotations

import segno
from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from portal import policy
from portal.auth import oidc, oidc_operations, oidc_views, operations
from portal.auth.forms import (
    ChangePasswordForm,
    ChooseAgencyForm,
    ConfirmTwoFactorForm,
    DisableTwoFactorForm,
    SecurityCodeForm,
    SetPasswordForm,
    SignInForm,
)
from portal.auth.oidc_forms import EmailFirstForm
from portal.auth.passwords import verify_password
from portal.auth.sessions import safe_next
from portal.core.db import utcnow
from portal.people import operations as people_operations

REFUSED = (
    "Enter the email address and password for your account. After several failed attempts, "
    "sign-in is paused for {minutes} minutes to protect the account."
)
SESSION_TOTP_SETUP = "totp_setup_secret"


def _after_sign_in():
    target = safe_next(request.args.get("next"))
    if current_user.two_factor_required and not current_user.two_factor_enabled:
        return redirect(url_for("auth.two_factor_setup"))
    if current_user.membership is None and current_user.active_memberships:
        return redirect(url_for("auth.choose_agency", next=target))
    return redirect(target or url_for("pages.home"))


def sign_in():
    """Email first: people of an agency with its own provider go there; everyone else gives a password.

    A POST carrying a password (the second step, or both fields in one go) checks the password.
    """
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    next_url = safe_next(request.args.get("next"))
    if request.method == "POST" and "password" not in request.form:
        return _email_step(next_url)
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = operations.check_password(form.email.data, form.password.data)
            if not policy.local_passwords_allowed(user):
                oidc_operations.password_sign_in_refused(user)
                raise operations.SignInRefused
        except operations.SignInRefused:
            form.password.errors.append(REFUSED.format(minutes=current_app.config["SIGN_IN_LOCK_MINUTES"]))
        else:
            if user.two_factor_enabled:
                operations.begin_second_factor(user)
                return redirect(url_for("auth.sign_in_code", next=next_url))
            operations.start_session(user)
            return _after_sign_in()
    if request.method == "GET":
        return render_template("auth/sign_in.html", form=EmailFirstForm(), step="email")
    provider = oidc_operations.provider_for_email(form.email.data) if form.email.data and not form.email.errors else None
    return render_template("auth/sign_in.html", form=form, step="password", provider=provider)


def _email_step(next_url: str | None):
    form = EmailFirstForm()
    if not form.validate_on_submit():
        return render_template("auth/sign_in.html", form=form, step="email")
    provider = oidc_operations.provider_for_email(form.email.data)
    if provider is not None and (not provider.local_passwords_allowed or request.form.get("use") == "provider"):
        try:
            return redirect(oidc.authorization_url(provider, email=form.email.data, next_url=next_url))
        except oidc.ProviderError as error:
            oidc_operations.record_refusal(f"provider unusable: {error}", provider_id=provider.id, email=form.email.data)
            return oidc_views.unreachable_page(provider)
    password_form = SignInForm(formdata=None, email=form.email.data)
    return render_template("auth/sign_in.html", form=password_form, step="password", provider=provider)


def sign_in_code():
    user = operations.pending_user()
    if user is None:
        flash("Sign in again: the time to enter your security code ran out.")
        return redirect(url_for("auth.sign_in"))
    form = SecurityCodeForm()
    if form.validate_on_submit():
        try:
            if user.locked_until and user.locked_until > utcnow():
                raise operations.SignInRefused
            operations.check_second_factor(user, form.code.data)
        except operations.SignInRefused:
            form.code.errors.append("The security code is not right, or has already been used. Enter the newest code from your app.")
        else:
            operations.start_session(user, method="password+totp")
            return _after_sign_in()
    return render_template("auth/sign_in_code.html", form=form)


def sign_out():
    """End the portal's session; after a provider's sign-in, end the provider's too where it can."""
    provider = oidc_operations.enabled_provider(session.get(oidc.SESSION_PROVIDER)) if current_user.is_authenticated else None
    id_token = session.get(oidc.SESSION_ID_TOKEN)
    operations.end_session(current_user._get_current_object() if current_user.is_authenticated else None)
    end_session_url = oidc.end_session_url(provider, id_token) if provider is not None else None
    if end_session_url:
        return redirect(end_session_url)
    flash("You have signed out.", "success")
    return redirect(url_for("auth.sign_in"))


@login_required
def choose_agency():
    memberships = current_user.active_memberships
    form = ChooseAgencyForm()
    form.membership.choices = [(m.id, f"{m.agency.name} – {m.role.label}") for m in memberships]
    if request.method == "GET" and current_user.membership is not None:
        form.membership.data = current_user.membership.id
    if form.validate_on_submit():
        operations.switch_agency(current_user, form.membership.data)
        flash(f"You are now working for {current_user.membership.agency.name}.", "success")
        return redirect(safe_next(request.args.get("next")) or url_for("pages.home"))
    return render_template("auth/choose_agency.html", form=form, memberships=memberships)


def accept_invitation(token: str):
    invitation = people_operations.invitation_from_token(token)
    if invitation is None:
        return render_template("auth/invitation_invalid.html"), 404
    if not policy.local_passwords_allowed(invitation.user):
        # The agency signs its people in itself: a portal password would go round its controls.
        return render_template("auth/oidc/invitation_sign_on.html", invitation=invitation)
    form = SetPasswordForm()
    form.person_email, form.person_name = invitation.user.email, invitation.user.name
    if form.validate_on_submit():
        people_operations.accept_invitation(invitation, form.new_password.data)
        flash("Your password is set. Sign in to continue.", "success")
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/accept_invitation.html", form=form, invitation=invitation)


@login_required
def account():
    return render_template("auth/account.html")


@login_required
def change_password():
    form = ChangePasswordForm()
    form.person_email, form.person_name = current_user.email, current_user.name
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current_password.data):
            form.current_password.errors.append("Your current password is not right")
        else:
            operations.change_password(current_user, form.new_password.data)
            flash("Your password has been changed.", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form)


@login_required
def two_factor_setup():
    if current_user.two_factor_enabled:
        return redirect(url_for("auth.account"))
    secret = session.get(SESSION_TOTP_SETUP) or operations.new_totp_secret()
    session[SESSION_TOTP_SETUP] = secret
    form = ConfirmTwoFactorForm()
    if form.validate_on_submit():
        if operations.enable_two_factor(current_user, secret, form.code.data):
            session.pop(SESSION_TOTP_SETUP, None)
            flash("Two-factor sign-in is on. You will need your app each time you sign in.", "success")
            return redirect(url_for("pages.home"))
        form.code.errors.append("The security code is not right. Enter the newest 6-digit code from your app.")
    uri = operations.provisioning_uri(current_user, secret)
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=4, title="QR code for your authenticator app"))
    return render_template("auth/two_factor_setup.html", form=form, secret=secret, qr=qr)


@login_required
def two_factor_disable():
    if not current_user.two_factor_enabled:
        return redirect(url_for("auth.account"))
    if current_user.two_factor_required:
        abort(403)
    form = DisableTwoFactorForm()
    if form.validate_on_submit():
        if verify_password(current_user.password_hash, form.password.data):
            operations.disable_two_factor(current_user)
            flash("Two-factor sign-in is off.", "success")
            return redirect(url_for("auth.account"))
        form.password.errors.append("Your password is not right")
    return render_template("auth/two_factor_disable.html", form=form)
