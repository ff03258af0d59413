from flask import Blueprint, current_app

from portal.auth import sessions, views
from portal.extensions import limiter

bp = Blueprint("auth", __name__, template_folder="templates")


def _sign_in_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


limited = limiter.limit(_sign_in_limit, methods=["POST"])

bp.before_app_request(sessions.enforce_session_rules)
bp.add_url_rule("/sign-in", "sign_in", limited(views.sign_in), methods=["GET", "POST"])
bp.add_url_rule("/sign-in/security-code", "sign_in_code", limited(views.sign_in_code), methods=["GET", "POST"])
bp.add_url_rule("/sign-out", "sign_out", views.sign_out, methods=["POST"])
bp.add_url_rule("/choose-agency", "choose_agency", views.choose_agency, methods=["GET", "POST"])
bp.add_url_rule("/invitation/<token>", "accept_invitation", limited(views.accept_invitation), methods=["GET", "POST"])
bp.add_url_rule("/account", "account", views.account)
bp.add_url_rule("/account/password", "change_password", views.change_password, methods=["GET", "POST"])
bp.add_url_rule("/account/two-factor", "two_factor_setup", views.two_factor_setup, methods=["GET", "POST"])
bp.add_url_rule("/account/two-factor/turn-off", "two_factor_disable", views.two_factor_disable, methods=["GET", "POST"])
