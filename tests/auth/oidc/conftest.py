"""Sign-on through a real OpenID Connect provider (npm ``oidc-provider``) started once for the session.

The portal is the Flask test client (its address is ``http://localhost``); the provider's login and
consent pages are driven with ``requests``, and its redirect back is handed to the test client.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest

from portal.auth.models import IdentityProvider
from portal.core.codes import AgencyKind
from tests.auth.oidc.provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    TamperingProxy,
    sign_in_at_provider,
    start_provider,
    stop_provider,
)

PORTAL = "http://localhost"


@pytest.fixture(scope="session")
def oidc_provider():
    provider = start_provider([PORTAL])
    yield provider
    stop_provider(provider)


@pytest.fixture(scope="session")
def tampering_proxy(oidc_provider):
    proxy = TamperingProxy(oidc_provider).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def tamper(tampering_proxy):
    """The proxy, with this test's changes to the ID token forgotten afterwards."""
    yield tampering_proxy
    tampering_proxy.changes, tampering_proxy.forging_key = {}, None


@pytest.fixture
def icb(make_agency):
    return make_agency(AgencyKind.NHS_ICB, name="Testshire ICB")


@pytest.fixture
def make_provider(db_session, oidc_provider):
    """The agency's provider: enabled, tested, the only way in, and pointing at the running provider by default."""

    def make(agency, **fields) -> IdentityProvider:
        values = {
            "discovery_url": oidc_provider.discovery_url, "issuer": oidc_provider.issuer, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "allowed_domains": ["icb.example"], "enabled": True, "last_test_ok": True,
            "local_passwords_allowed": False,
        }
        provider = IdentityProvider(agency=agency, **(values | fields))
        db_session.add(provider)
        db_session.commit()
        return provider

    return make


def start_sign_in(client, email: str, **form):
    """The email step of the sign-in page; returns its response (a redirect to the provider, or a page)."""
    return client.post("/sign-in", data={"email": email, **form})


def back_from_provider(client, email: str, login: str, *, change_callback=None):
    """A whole sign-in: email step, the provider's pages, then the portal's callback; returns its response."""
    start = start_sign_in(client, email)
    assert start.status_code == 302, start.text
    callback = sign_in_at_provider(start.headers["Location"], login, PORTAL)
    if change_callback:
        callback = change_callback(callback)
    parts = urlsplit(callback)
    return client.get(f"{parts.path}?{parts.query}")


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)))
