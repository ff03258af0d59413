"""A real OpenID Connect provider for the tests: ``tests/oidc/provider.mjs`` (npm ``oidc-provider``) run by Node.

Started once per test session on a free port of 127.0.0.1, with a client for the portal, the
accounts below and a signing key generated here, so tests can also sign tokens with the provider's
own key (see :class:`TamperingProxy`). When Node or the npm package is missing the tests using it
are skipped, or fail under ``CI=true``. Used by ``tests/auth/oidc/conftest.py`` and the browser
journey, whose portals have different addresses (``redirect_bases``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.conftest import IN_CI

OIDC_DIR = Path(__file__).resolve().parents[2] / "oidc"
CLIENT_ID = "portal-tests"
CLIENT_SECRET = "portal-tests-secret-" + "s" * 20
KEY_ID = "tests-signing-key"
#: Seconds an ID token is valid for: short, so the expiry test moves the clock only a little.
ID_TOKEN_TTL = 120
#: The provider's accounts: id (typed as the login) → claims.
ACCOUNTS = {
    "alice": {"email": "alice@icb.example", "email_verified": True, "name": "Alice Ambrose"},
    "newstarter": {"email": "new.starter@icb.example", "email_verified": True, "name": "Nia Starter"},
    "stranger": {"email": "stranger@icb.example", "email_verified": True, "name": "Stan Ranger"},
    "unverified": {"email": "unverified@icb.example", "email_verified": False, "name": "Una Verified"},
    "outsider": {"email": "outsider@elsewhere.example", "email_verified": True, "name": "Otto Side"},
}


def fail_or_skip(message: str):
    if IN_CI:
        pytest.fail(message)
    pytest.skip("!" * 10 + " OPENID CONNECT PROVIDER TESTS SKIPPED: " + message + " " + "!" * 10)


@dataclass
class RunningProvider:
    issuer: str
    key: RSAKey
    process: subprocess.Popen

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def metadata(self) -> dict:
        return requests.get(self.discovery_url, timeout=5).json()


def start_provider(redirect_bases: list[str], accounts: dict[str, dict] | None = None) -> RunningProvider:
    """Start the provider for portals served at ``redirect_bases`` (e.g. ``http://localhost``), with
    ``accounts`` (id → claims) instead of :data:`ACCOUNTS` when given."""
    node = shutil.which("node")
    if node is None:
        fail_or_skip("node is not installed (the tests run npm's oidc-provider with it)")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").exists():
        fail_or_skip("tests/oidc/node_modules is missing: run `make test`, or `npm ci` in tests/oidc")
    key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig", "alg": "RS256"}, private=True)
    config = {
        "clients": [{
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"{base}/sign-in/callback" for base in redirect_bases],
            "post_logout_redirect_uris": [f"{base}/signed-out" for base in redirect_bases],
        }],
        "accounts": ACCOUNTS if accounts is None else accounts,
        "jwks": {"keys": [key.as_dict(private=True)]},
        "idTokenTtl": ID_TOKEN_TTL,
    }
    process = subprocess.Popen(
        [node, str(OIDC_DIR / "provider.mjs")], cwd=OIDC_DIR, env={**os.environ, "OIDC_PROVIDER_CONFIG": json.dumps(config)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    issuer = None
    line = process.stdout.readline()
    try:
        issuer = json.loads(line)["issuer"]
    except (ValueError, KeyError, TypeError):
        process.kill()
        fail_or_skip(f"the OpenID Connect provider did not start: {line}{process.stderr.read()[-2000:]}")
    deadline = time.monotonic() + 15
    while True:
        try:
            if requests.get(issuer + "/.well-known/openid-configuration", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            process.kill()
            fail_or_skip("the OpenID Connect provider did not answer within 15 seconds")
        time.sleep(0.05)
    # Its warnings (Node version, in-memory adapter) are expected; never let the pipe fill up.
    threading.Thread(target=process.stderr.read, daemon=True).start()
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return RunningProvider(issuer=issuer, key=key, process=process)


def stop_provider(provider: RunningProvider) -> None:
    provider.process.terminate()
    try:
        provider.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        provider.process.kill()


# Driving the provider's own pages -------------------------------------------------------------------


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value", "")


def sign_in_at_provider(location: str, login: str, portal_base: str, browser: requests.Session | None = None) -> str:
    """Follow the portal's redirect through the provider's login and consent forms, as a person would.

    Returns the address the provider sends the person back to (the portal's callback, with its query).
    """
    browser = browser or requests.Session()
    url = location
    for _ in range(12):
        if url.startswith(portal_base + "/"):
            return url
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            continue
        form = _FormParser()
        form.feed(response.text)
        assert form.action, f"no form at {url}: {response.status_code} {response.text[:500]}"
        data = dict(form.fields)
        if data.get("prompt") == "login":
            data |= {"login": login, "password": "any password will do"}
        response = browser.post(urljoin(url, form.action), data=data, allow_redirects=False, timeout=10)
        assert response.is_redirect, f"the provider did not move on from {url}: {response.text[:500]}"
        url = urljoin(url, response.headers["Location"])
    raise AssertionError(f"the provider never sent the person back to the portal (last at {url})")


# A proxy that tampers with ID tokens -------------------------------------------------------------


@dataclass
class TamperingProxy:
    """Serves the provider's discovery document with its own token endpoint, which passes requests
    on to the real one and swaps the ID token for one with ``changes`` applied to its claims,
    signed with the provider's own key. A real provider never issues a token for another audience
    or with another nonce; this lets the tests check the portal refuses one."""

    provider: RunningProvider
    changes: dict = field(default_factory=dict)
    #: Signs the swapped token instead of the provider's key: a forgery.
    forging_key: RSAKey | None = None
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def discovery_url(self) -> str:
        return self.url + "/.well-known/openid-configuration"

    def start(self) -> TamperingProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json"):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != "/.well-known/openid-configuration":
                    return self._send(404, b"{}")
                metadata = proxy.provider.metadata()
                metadata["token_endpoint"] = proxy.url + "/token"
                return self._send(200, json.dumps(metadata).encode())

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name: self.headers[name] for name in ("Authorization", "Content-Type") if self.headers.get(name)}
                answer = requests.post(proxy.provider.metadata()["token_endpoint"], data=body, headers=headers, timeout=10)
                token = answer.json()
                if "id_token" in token and (proxy.changes or proxy.forging_key):
                    claims = jwt.decode(token["id_token"], proxy.provider.key).claims
                    key = proxy.forging_key or proxy.provider.key
                    token["id_token"] = jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims | proxy.changes, key)
                return self._send(answer.status_code, json.dumps(token).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True, name="oidc-tampering-proxy").start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
