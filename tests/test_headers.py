"""Security headers: one strict Content-Security-Policy on every response, and no page that needs more.

The policy is the same for every response (the page store serves stored pages), allows no inline
script but GOV.UK Frontend's one line (by its hash, worked out from the installed template), and
every template keeps to it: no inline scripts but JSON data, no ``style`` attributes, no ``on…=``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from config import ProductionConfig
from portal import create_app
from portal.core import pagecache
from portal.core.codes import Role
from portal.core.headers import govuk_inline_script_hash

PORTAL = Path(__file__).resolve().parent.parent / "portal"
EXPECTED_DIRECTIVES = {
    "default-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
}


def _policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in header.split(";"))}


def assert_secure_headers(response):
    policy = _policy(response)
    for directive, value in EXPECTED_DIRECTIVES.items():
        assert policy[directive] == value, directive
    assert policy["script-src"] == f"'self' {govuk_inline_script_hash()}"
    assert policy["form-action"].startswith("'self'")
    header = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header and "nonce-" not in header
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in permissions


def test_a_page_carries_the_security_headers_and_no_hsts_outside_production(client):
    response = client.get("/sign-in")
    assert response.status_code == 200
    assert_secure_headers(response)
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in response.headers.get("Set-Cookie", "")


def test_a_static_file_and_an_error_page_carry_them_too(client):
    static = client.get("/static/js/init.js")
    assert static.status_code == 200
    assert_secure_headers(static)
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert_secure_headers(missing)


def test_a_page_served_from_the_page_store_carries_the_same_policy(app, client, act_as, make_user):
    previous = app.config["PAGE_CACHE_ENTRIES"]
    app.config["PAGE_CACHE_ENTRIES"] = 10
    try:
        act_as(make_user(Role.COMMISSIONER))
        built = client.get("/register")
        stored = client.get("/register")
    finally:
        app.config["PAGE_CACHE_ENTRIES"] = previous
    assert len(pagecache.store) == 1 and stored.get_data() == built.get_data()
    assert_secure_headers(stored)
    assert stored.headers["Content-Security-Policy"] == built.headers["Content-Security-Policy"]


def test_the_hash_is_that_of_the_inline_script_each_page_carries(client):
    page = client.get("/sign-in").text
    inline = [body for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL) if "src=" not in attributes]
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert govuk_inline_script_hash() == f"'sha256-{digest}'"


@pytest.fixture
def production_app(database_url, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 16 + "a-long-random-value-from-a-vault")
    monkeypatch.setenv("ENCRYPTION_KEYS", "8Jx0s1bO3oH1o8cX9hB1r0Y5yR7d6kq2pQ3wXk7cUeA=")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    config = ProductionConfig()
    config.EMBEDDED_SCHEDULER = False
    return create_app(config)


def test_production_sends_hsts_over_https_and_secure_cookies_without_forcing_a_redirect(production_app):
    client = production_app.test_client()
    response = client.get("/sign-in", base_url="https://portal.example")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert_secure_headers(response)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # TLS ends at the proxy: plain HTTP inside is served, not redirected (FORCE_HTTPS turns that on).
    assert client.get("/sign-in", base_url="http://portal.internal").status_code == 200


def test_development_keeps_its_own_cookie_settings(app):
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


#: What the policy would block in a page, as it would appear in a template's source.
FORBIDDEN_IN_TEMPLATES = {
    "an inline script": re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE),
    "a style element": re.compile(r"<style\b", re.IGNORECASE),
    "a style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE),
    "an event handler attribute": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "a javascript: address": re.compile(r"javascript:", re.IGNORECASE),
}


def _problems(source: str) -> list[str]:
    return [what for what, rule in FORBIDDEN_IN_TEMPLATES.items() if rule.search(source)]


def test_no_template_needs_more_than_the_policy_allows():
    templates = sorted(PORTAL.rglob("templates/**/*.html"))
    assert len(templates) > 100
    broken = [f"{path.relative_to(PORTAL)}: {what}" for path in templates for what in _problems(path.read_text(encoding="utf-8"))]
    assert not broken, broken


@pytest.mark.parametrize("source, problem", [
    ("<script>alert(1)</script>", "an inline script"),
    ('<p class="x" style="color: red">', "a style attribute"),
    ('<a href="/" onclick="go()">', "an event handler attribute"),
    ("<style>p {}</style>", "a style element"),
    ('<a href="javascript:go()">', "a javascript: address"),
])
def test_the_template_check_sees_each_thing_the_policy_blocks(source, problem):
    assert _problems(source) == [problem]


def test_the_template_check_lets_through_what_the_policy_allows():
    allowed = (
        '<script type="application/json" id="ratings-data">{"a": 1}</script>'
        '<script type="module" src="/static/js/init.js"></script><p class="govuk-body">Online</p>'
    )
    assert _problems(allowed) == []


def test_signed_in_pages_are_not_kept_by_the_browser_but_static_files_are(client, act_as, make_user):
    act_as(make_user(Role.COMMISSIONER))
    assert client.get("/home").headers["Cache-Control"] == "no-store"
    assert client.get("/register").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/js/init.js").headers.get("Cache-Control", "")


def test_public_pages_may_be_kept(client):
    assert "no-store" not in client.get("/glossary").headers.get("Cache-Control", "")


def _form_action(response) -> list[str]:
    policy = response.headers["Content-Security-Policy"]
    directive = next(part.strip() for part in policy.split(";") if part.strip().startswith("form-action"))
    return directive.split()[1:]


def test_form_action_allows_an_enabled_identity_provider_in_the_header_itself(client, db_session, act_as, make_user, make_agency):
    """The sign-in form's POST is redirected to the provider, sign-out to its end-session page: a
    browser blocks both unless the header (not just the function behind it) names the provider."""
    from portal.auth.models import IdentityProvider
    from portal.core.codes import AgencyKind

    assert _form_action(client.get("/sign-in")) == ["'self'"]
    icb = make_agency(AgencyKind.NHS_ICB)
    db_session.add(IdentityProvider(
        agency=icb, discovery_url="https://login.icb.example/tenant/.well-known/openid-configuration",
        issuer="https://login.icb.example/tenant", client_id="portal", enabled=True, allowed_domains=["icb.example"],
    ))
    db_session.commit()
    assert _form_action(client.get("/sign-in")) == ["'self'", "https://login.icb.example"]
    act_as(make_user(Role.COMMISSIONER, agency=icb))
    assert _form_action(client.get("/home")) == ["'self'", "https://login.icb.example"]
