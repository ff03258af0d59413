from flask import Blueprint, current_app

from portal.auth import oidc_views, reset_views, sessions, views
from portal.auth.rate_limits import (
    invited_person,
    pending_person,
    per_account,
    per_address,
    posted_email,
    reset_token_person,
)
from portal.extensions import limiter

bp = Blueprint("auth", __name__, template_folder="templates")


def _sign_in_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


def limited(form: str, address_setting: str, account_setting: str, account):
    """Limit a form's POSTs per address and per account (see portal/auth/rate_limits.py)."""

    def decorate(view):
        return per_address(address_setting, form)(per_account(account_setting, form, account)(view))

    return decorate


sign_in_limited = limited("sign-in", "SIGN_IN_RATE_LIMIT", "SIGN_IN_ACCOUNT_RATE_LIMIT", posted_email)
code_limited = limited("the security code", "SECURITY_CODE_RATE_LIMIT", "SECURITY_CODE_ACCOUNT_RATE_LIMIT", pending_person)
reset_request_limited = limited("password reset", "PASSWORD_RESET_RATE_LIMIT", "PASSWORD_RESET_ACCOUNT_RATE_LIMIT", posted_email)
reset_limited = limited("password reset", "PASSWORD_RESET_RATE_LIMIT", "PASSWORD_RESET_ACCOUNT_RATE_LIMIT", reset_token_person)
invitation_limited = limited("invitation", "INVITATION_RATE_LIMIT", "INVITATION_ACCOUNT_RATE_LIMIT", invited_person)

bp.before_app_request(sessions.enforce_session_rules)
bp.add_url_rule("/sign-in", "sign_in", sign_in_limited(views.sign_in), methods=["GET", "POST"])
bp.add_url_rule("/sign-in/security-code", "sign_in_code", code_limited(views.sign_in_code), methods=["GET", "POST"])
bp.add_url_rule("/sign-in/forgot-password", "forgot_password", reset_request_limited(reset_views.forgot_password), methods=["GET", "POST"])
bp.add_url_rule("/sign-in/reset-password/<token>", "reset_password", reset_limited(reset_views.reset_password), methods=["GET", "POST"])
bp.add_url_rule("/sign-out", "sign_out", views.sign_out, methods=["POST"])
bp.add_url_rule("/choose-agency", "choose_agency", views.choose_agency, methods=["GET", "POST"])
bp.add_url_rule("/invitation/<token>", "accept_invitation", invitation_limited(views.accept_invitation), methods=["GET", "POST"])
bp.add_url_rule("/account", "account", views.account)
bp.add_url_rule("/account/password", "change_password", views.change_password, methods=["GET", "POST"])
bp.add_url_rule("/account/two-factor", "two_factor_setup", views.two_factor_setup, methods=["GET", "POST"])
bp.add_url_rule("/account/two-factor/turn-off", "two_factor_disable", views.two_factor_disable, methods=["GET", "POST"])
# Sign-on with agencies' identity providers (part A)
# The callback is a GET: limited per address like the sign-in form, as it starts a session too.
bp.add_url_rule("/sign-in/callback", "oidc_callback", limiter.limit(_sign_in_limit)(oidc_views.callback))
bp.add_url_rule("/signed-out", "signed_out", oidc_views.signed_out)
bp.add_url_rule("/admin/agencies/<int:agency_id>/sign-on", "sign_on_settings", oidc_views.sign_on_settings, methods=["GET", "POST"])
bp.add_url_rule("/admin/agencies/<int:agency_id>/sign-on/test", "test_sign_on", oidc_views.test_sign_on, methods=["POST"])
