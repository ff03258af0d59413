"""Security headers on every response (Flask-Talisman): one strict Content-Security-Policy for all.

No nonces: the page store (``portal/core/pagecache.py``) serves stored pages, so a policy that
changed per response would not match a stored page. The portal's pages need none: scripts are
files, GOV.UK Frontend is started from ``static/js/init.js``, charts read their figures from
``<script type="application/json">`` blocks (data, never run), and no page has a ``style``
attribute or an ``on…=`` handler. The one inline script, GOV.UK Frontend's template's first line
in ``<body>``, is allowed by its SHA-256 hash, worked out from the installed template at start-up
so that it follows upgrades.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib.resources import files

import sqlalchemy as sa
from flask import Flask, has_request_context, request

_INLINE_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.DOTALL)

#: Browser features no page of the portal uses, turned off for every page.
PERMISSIONS_POLICY = {
    feature: "()"
    for feature in (
        "accelerometer", "ambient-light-sensor", "autoplay", "battery", "bluetooth", "browsing-topics", "camera",
        "display-capture", "geolocation", "gyroscope", "hid", "magnetometer", "microphone", "midi", "payment",
        "publickey-credentials-get", "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
    )
}


@cache
def govuk_inline_script_hash() -> str:
    """The CSP source for the inline script in GOV.UK Frontend's page template, e.g. ``'sha256-…'``."""
    template = files("govuk_frontend_jinja").joinpath("templates", "template.html").read_text(encoding="utf-8")
    scripts = _INLINE_SCRIPT.findall(template)
    if len(scripts) != 1:
        raise RuntimeError(f"GOV.UK Frontend's template has {len(scripts)} inline scripts, not 1: check the CSP")
    digest = hashlib.sha256(scripts[0].encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def _form_action_origins() -> list[str]:
    """Agencies' identity providers, which the sign-in and sign-out forms redirect to."""
    try:
        from portal.auth.oidc import form_action_origins
    except ImportError:
        return []
    try:
        return form_action_origins()
    except sa.exc.SQLAlchemyError:
        # The database is down (the page is an error page): allow no provider rather than fail.
        return []


class ContentSecurityPolicy(dict):
    """The policy Talisman writes on every response; ``form-action`` adds the providers of the moment.

    Talisman reads the policy's items for each response, so a provider an administrator turns on
    is allowed from its next response, with no restart. Static files carry no forms: no lookup.
    """

    def items(self):
        directives = dict(super().items())
        if has_request_context() and request.endpoint != "static":
            directives["form-action"] = " ".join([directives["form-action"], *_form_action_origins()])
        return directives.items()


def content_security_policy() -> ContentSecurityPolicy:
    return ContentSecurityPolicy({
        "default-src": "'self'",
        "script-src": f"'self' {govuk_inline_script_hash()}",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    })


def init_headers(app: Flask, talisman) -> None:
    config = app.config
    production = config["ENV_NAME"] == "production"
    policy = content_security_policy()
    talisman.init_app(
        app,
        content_security_policy=policy,
        # Flask-WTF checks the Referer of HTTPS form posts against the host: same-origin keeps it.
        referrer_policy="same-origin",
        frame_options="DENY",
        permissions_policy=PERMISSIONS_POLICY,
        force_https=config["FORCE_HTTPS"],
        strict_transport_security=production and config["HSTS_SECONDS"] > 0,
        strict_transport_security_max_age=config["HSTS_SECONDS"],
        strict_transport_security_include_subdomains=True,
        # Talisman would otherwise force these on every request; the settings (config/) decide.
        session_cookie_secure=config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=config["SESSION_COOKIE_SAMESITE"],
    )
    # Talisman copies a dict policy into a plain OrderedDict, which loses ContentSecurityPolicy.items()
    # and so the providers' origins in form-action: give it back the policy itself.
    talisman.content_security_policy = policy
    app.after_request(_not_stored_by_the_browser)


def _not_stored_by_the_browser(response):
    """A signed-in page may hold personal data: no browser or proxy keeps a copy (the back button
    on a shared computer after sign-out shows nothing). Static files stay cacheable."""
    from flask_login import current_user

    if request.endpoint != "static" and current_user.is_authenticated and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
