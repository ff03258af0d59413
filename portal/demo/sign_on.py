"""Sign-on in the demo: the ICB's identity provider, set up but off, as if just configured.

It points at the provider that ``node tests/oidc/provider.mjs`` serves on port 9000 (see README),
with the client id and secret that script gives the demo. It is off and records a failed test, as
if the administrator had pressed "Test connection" before starting that provider; start it and
test again to turn sign-on on.
"""

from __future__ import annotations

from portal.auth.oidc import TestResult
from portal.auth.oidc_operations import ProviderSettings, configure_provider
from portal.core.codes import Role

DISCOVERY_URL = "http://127.0.0.1:9000/.well-known/openid-configuration"
CLIENT_ID = "portal-demo"
#: The secret the demo provider script registers; a demonstration value, never a real one.
CLIENT_SECRET = "portal-demo-secret"
DOMAIN = "icb.northshire.example"


def seed_sign_on(icb) -> None:
    configure_provider(
        icb,
        ProviderSettings(
            discovery_url=DISCOVERY_URL, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, scopes="openid email profile",
            email_claim="email", allowed_domains=[DOMAIN], local_passwords_allowed=True, jit_enabled=True,
            jit_role=Role.COMMISSIONER, enabled=False,
        ),
        by=None,
        test=TestResult(False, f"Nothing answers at {DISCOVERY_URL}"),
    )
