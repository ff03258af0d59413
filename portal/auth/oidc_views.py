"""Sign-on through agencies' own identity providers: the callback, the signed-out page, and the
administrator's settings with their "Test connection" button."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from portal import policy
from portal.auth import oidc, oidc_operations, operations
from portal.auth.oidc_forms import SignOnForm, TestConnectionForm, parse_domains
from portal.auth.sessions import safe_next
from portal.core.concurrency import check_version
from portal.core.rules import save_form
from portal.policy import Capability

#: What a person is told when the provider's answer fails a check: never which check.
NOT_COMPLETED = (
    "Your sign-in could not be completed. Start again from the sign-in page. "
    "If it keeps happening, tell your partnership administrator."
)
START_AGAIN = (
    "Your sign-in could not be completed because it took too long, or was started in another "
    "window or tab. Start again from the sign-in page."
)
NO_ACCOUNT = (
    "There is no account for this email address at {agency}. "
    "Ask your partnership administrator to invite you to the portal."
)
OTHER_PERSON = (
    "Your account at {agency} does not match the one first used with this email address. "
    "Ask your partnership administrator for help."
)
#: Refusals from the portal's own side of the flow, rather than from what the provider answered.
_RESTART_REASONS = ("no sign-in in progress", "state mismatch", "sign-in took too long", "provider no longer enabled")


def refusal_page(message: str, status: int = 400, title: str = "You could not be signed in"):
    return render_template("auth/oidc/refused.html", title=title, message=message), status


def unreachable_page(provider):
    name = provider.agency.name if provider is not None else "Your organisation"
    return refusal_page(
        f"{name}'s sign-in service is not answering, so you cannot sign in through it now. Try again in a few minutes. "
        "If it goes on, tell your partnership administrator.",
        503, title="Sign-in is not available at the moment",
    )


def callback():
    """The provider sends the person back here with a code (or an error)."""
    if current_user.is_authenticated:
        session.pop(oidc.SESSION_PENDING, None)
        return redirect(url_for("pages.home"))
    provider = oidc_operations.enabled_provider(oidc.pending_provider_id())
    try:
        verified = oidc.finish(request.args, oidc_operations.enabled_provider)
    except oidc.SignOnRefused as refused:
        oidc_operations.record_refusal(refused.reason, provider_id=refused.provider_id)
        return refusal_page(START_AGAIN if refused.reason in _RESTART_REASONS else NOT_COMPLETED)
    except oidc.ProviderError as error:
        oidc_operations.record_refusal(f"provider unusable: {error}", provider_id=provider.id if provider else None)
        return unreachable_page(provider)
    try:
        user = oidc_operations.person_for(verified)
    except oidc_operations.SignOnDenied as denied:
        oidc_operations.record_refusal(denied.reason, provider_id=verified.provider_id, email=verified.email)
        template = NO_ACCOUNT if denied.no_account else OTHER_PERSON
        return refusal_page(template.format(agency=provider.agency.name), 403)
    operations.start_session(user, method="oidc", identity_provider=provider)
    session[oidc.SESSION_PROVIDER] = provider.id
    session[oidc.SESSION_ID_TOKEN] = verified.id_token
    target = safe_next(verified.next_url)
    if current_user.membership is None and current_user.active_memberships:
        return redirect(url_for("auth.choose_agency", next=target))
    return redirect(target or url_for("pages.home"))


def signed_out():
    """Where a provider's end-session page sends the person back to."""
    return render_template("auth/oidc/signed_out.html")


# The administrator's settings ---------------------------------------------------------------------


def _settings_from(form: SignOnForm) -> oidc_operations.ProviderSettings:
    return oidc_operations.ProviderSettings(
        discovery_url=form.discovery_url.data, client_id=form.client_id.data,
        client_secret=form.client_secret.data or None, scopes=" ".join(form.scopes.data.split()),
        email_claim=form.email_claim.data, allowed_domains=parse_domains(form.allowed_domains.data),
        local_passwords_allowed=form.local_passwords_allowed.data, jit_enabled=form.jit_enabled.data,
        jit_role=form.jit_role.data, enabled=form.enabled.data,
    )


@policy.require(Capability.CONFIGURE_SIGN_ON)
def sign_on_settings(agency_id: int):
    agency = policy.sign_on_agency_or_404(current_user, agency_id)
    provider = oidc_operations.provider_of(agency)
    form = SignOnForm(obj=provider, agency=agency, has_secret=bool(provider and provider.client_secret))
    if form.validate_on_submit():
        settings = _settings_from(form)
        test = None
        if settings.enabled and (
            oidc_operations.connection_changes(provider, settings) or not (provider and provider.last_test_ok)
        ):
            # Turning sign-on on, or changing how an enabled provider is reached: test first, so
            # a mistake shows here rather than to the first person signing in.
            test = oidc.test_connection(oidc.ConnectionSettings(
                discovery_url=settings.discovery_url, client_id=settings.client_id,
                client_secret=settings.client_secret or (provider.client_secret if provider else None),
                scopes=settings.scopes,
            ))

        def change():
            if provider is not None:
                check_version(provider, form.version.data)
            oidc_operations.configure_provider(agency, settings, by=current_user, test=test)

        if save_form(form, change):
            flash("Sign-on settings saved.", "success")
            return redirect(url_for("auth.sign_on_settings", agency_id=agency.id))
    return render_template(
        "auth/oidc/settings.html", form=form, agency=agency, provider=provider, test_form=TestConnectionForm(),
        callback_url=oidc.callback_url(), signed_out_url=oidc.signed_out_url(),
    )


@policy.require(Capability.CONFIGURE_SIGN_ON)
def test_sign_on(agency_id: int):
    agency = policy.sign_on_agency_or_404(current_user, agency_id)
    provider = oidc_operations.provider_of(agency)
    form = TestConnectionForm()
    if provider is None:
        flash("Save the sign-on settings before testing the connection.")
    elif form.validate_on_submit():
        result = oidc.test_connection(oidc.ConnectionSettings(
            discovery_url=provider.discovery_url, client_id=provider.client_id,
            client_secret=provider.client_secret, scopes=provider.scopes,
        ))
        oidc_operations.record_test(provider, result)
        if result.ok:
            flash(f"The connection works. {result.message}.", "success")
        else:
            flash(f"The connection failed. {result.message}.")
    return redirect(url_for("auth.sign_on_settings", agency_id=agency.id))
