"""The OpenID Connect client for agencies' own identity providers.

Discovery, the authorisation redirect (code flow with PKCE S256, ``state`` and ``nonce`` kept in
the portal's session), the callback's checks (ID token signature against the provider's JWKS,
``iss``, ``aud``/``azp``, ``exp``/``iat``, ``nonce``; the email from the configured claim), the
administrator's "Test connection", and the provider's end-session address. Authlib speaks OAuth 2
to the token endpoint; joserfc checks the ID token.

Nothing here changes the database: :mod:`portal.auth.oidc_operations` does, with the audit trail.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import requests
import sqlalchemy as sa
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app, g, has_request_context, session, url_for
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from portal.core.db import utcnow
from portal.extensions import db

DISCOVERY_PATH = "/.well-known/openid-configuration"
#: Signature algorithms accepted on ID tokens: asymmetric only, never "none" or a shared secret.
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
#: Where the flow in progress is kept between the redirect to the provider and its answer.
SESSION_PENDING = "oidc_pending"
#: After sign-in: which provider, and its ID token (the ``id_token_hint`` at sign-out).
SESSION_PROVIDER = "oidc_provider_id"
SESSION_ID_TOKEN = "oidc_id_token"
#: Minutes a person has to sign in at their provider before the portal forgets the attempt.
PENDING_MINUTES = 10


# The Content-Security-Policy's form-action --------------------------------------------------------


def origin(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an address, or None when it is not an http(s) address."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def form_action_origins() -> list[str]:
    """Origins a form of the portal may be sent on to: every enabled provider's.

    The sign-in form redirects to a provider's authorisation endpoint and sign-out to its
    end-session endpoint, so the Content-Security-Policy's ``form-action`` must allow them. No
    network: the discovery URL and issuer from the database, plus the endpoints of discovery
    documents this process has already read. Worked out once per request.
    """
    if has_request_context() and "form_action_origins" in g:
        return g.form_action_origins
    endpoints = tuple(sorted(
        (url, metadata.get("authorization_endpoint"), metadata.get("end_session_endpoint"))
        for url, (_, metadata) in _metadata_cache.items()
    ))
    # A signed-in request already knows the database's change generation (portal/core/pagecache.py),
    # which every change to a provider moves on: while it stands, the answer stands, with no query.
    generation = g.get("page_generation") if has_request_context() else None
    key = (generation, endpoints)
    remembered = _origins_remembered
    if generation is not None and remembered and remembered[0] == key:
        origins = remembered[1]
    else:
        origins = _origins_from_database(dict((url, (auth, end)) for url, auth, end in endpoints))
        if generation is not None:
            _origins_remembered[:] = [key, origins]
    if has_request_context():
        g.form_action_origins = origins
    return origins


#: The last answer of :func:`form_action_origins` and what it was worked out from.
_origins_remembered: list = []


def forget_form_action_origins() -> None:
    """Drop the remembered answer (tests roll the change generation back with their data)."""
    _origins_remembered.clear()


def _origins_from_database(endpoints: dict[str, tuple[str | None, str | None]]) -> list[str]:
    from portal.auth.models import IdentityProvider

    rows = db.session.execute(
        sa.select(IdentityProvider.discovery_url, IdentityProvider.issuer).where(IdentityProvider.enabled)
    ).all()
    found: set[str] = set()
    for discovery_url, issuer in rows:
        addresses = [discovery_url, issuer, *endpoints.get(discovery_url, ())]
        found.update(o for o in map(origin, addresses) if o)
    return sorted(found)


# Talking to a provider ----------------------------------------------------------------------------


class ProviderError(Exception):
    """A provider could not be used; the message says why in plain words."""


class ProviderUnreachable(ProviderError):
    """Nothing answered, or not in time."""


class SignOnRefused(Exception):
    """The provider's answer did not pass the portal's checks. ``reason`` is for the audit trail only."""

    def __init__(self, reason: str, provider_id: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.provider_id = provider_id


#: discovery URL → (monotonic time read, the document). Per process, like Authlib's own cache.
_metadata_cache: dict[str, tuple[float, dict]] = {}
#: JWKS URI → (monotonic time read, the key set).
_jwks_cache: dict[str, tuple[float, KeySet]] = {}


def _timeout() -> float:
    return current_app.config["OIDC_HTTP_TIMEOUT_SECONDS"]


def _get_json(url: str, what: str) -> dict:
    """GET a JSON document from a provider, turning every failure into a sentence."""
    try:
        response = requests.get(url, timeout=_timeout(), headers={"Accept": "application/json"})
    except requests.Timeout as exc:
        raise ProviderUnreachable(f"{url} did not answer within {_timeout():g} seconds") from exc
    except requests.RequestException as exc:
        raise ProviderUnreachable(f"Nothing answers at {url}") from exc
    if response.status_code != 200:
        raise ProviderError(f"{url} answered with HTTP status {response.status_code}, not {what}")
    try:
        document = response.json()
    except ValueError as exc:
        raise ProviderError(f"{url} did not answer with {what} (it is not JSON)") from exc
    if not isinstance(document, dict):
        raise ProviderError(f"{url} did not answer with {what}")
    return document


def discover(discovery_url: str, *, fresh: bool = False) -> dict:
    """The provider's discovery document, read again after OIDC_METADATA_CACHE_SECONDS."""
    cached = _metadata_cache.get(discovery_url)
    if cached and not fresh and time.monotonic() - cached[0] < current_app.config["OIDC_METADATA_CACHE_SECONDS"]:
        return cached[1]
    metadata = _get_json(discovery_url, "a discovery document")
    _metadata_cache[discovery_url] = (time.monotonic(), metadata)
    return metadata


def signing_keys(jwks_uri: str, *, fresh: bool = False) -> KeySet:
    cached = _jwks_cache.get(jwks_uri)
    if cached and not fresh and time.monotonic() - cached[0] < current_app.config["OIDC_METADATA_CACHE_SECONDS"]:
        return cached[1]
    document = _get_json(jwks_uri, "a key set")
    try:
        keys = KeySet.import_key_set({"keys": [k for k in document.get("keys", []) if k.get("use", "sig") == "sig"]})
    except (JoseError, ValueError, TypeError) as exc:
        raise ProviderError(f"The key set at {jwks_uri} could not be read") from exc
    if not keys.keys:
        raise ProviderError(f"The key set at {jwks_uri} holds no signing keys")
    _jwks_cache[jwks_uri] = (time.monotonic(), keys)
    return keys


def expected_issuer(discovery_url: str) -> str:
    """The issuer a discovery URL stands for (OpenID Connect Discovery 1.0, section 4)."""
    return discovery_url[: -len(DISCOVERY_PATH)] if discovery_url.endswith(DISCOVERY_PATH) else discovery_url


def _token_auth_method(metadata: dict) -> str:
    supported = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    return "client_secret_basic" if "client_secret_basic" in supported else "client_secret_post"


def _client(provider, metadata: dict, redirect_uri: str | None = None) -> OAuth2Session:
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        scope=provider.scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=_token_auth_method(metadata),
    )


def callback_url() -> str:
    """The redirect URI to register with every provider."""
    return url_for("auth.oidc_callback", _external=True)


def signed_out_url() -> str:
    """The post-logout redirect URI to register with every provider."""
    return url_for("auth.signed_out", _external=True)


# Test connection ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionSettings:
    """What "Test connection" tries: the saved provider's, or those about to be saved."""

    discovery_url: str
    client_id: str
    client_secret: str | None
    scopes: str = "openid"


@dataclass(frozen=True)
class TestResult:
    ok: bool
    message: str
    #: The issuer the discovery document names, when it could be read.
    issuer: str | None = None


def test_connection(settings: ConnectionSettings) -> TestResult:
    """Try a provider the way a sign-in will, and say in plain words what is wrong, if anything."""
    try:
        metadata = discover(settings.discovery_url, fresh=True)
    except ProviderError as error:
        return TestResult(False, str(error))
    issuer = metadata.get("issuer")
    if not isinstance(issuer, str) or issuer.rstrip("/") != expected_issuer(settings.discovery_url).rstrip("/"):
        return TestResult(
            False,
            f"The discovery document names the issuer {issuer!r}, which does not match its address "
            f"{settings.discovery_url}: check the discovery URL",
        )
    missing = [name.replace("_", " ") for name in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not metadata.get(name)]
    if missing:
        return TestResult(False, f"The discovery document has no {' and no '.join(missing)}", issuer)
    try:
        signing_keys(metadata["jwks_uri"], fresh=True)
    except ProviderError as error:
        return TestResult(False, str(error), issuer)
    if not settings.client_secret:
        return TestResult(False, "There is no client secret saved: enter the secret the provider gave you", issuer)
    problem = _try_client_credentials(settings, metadata)
    if problem:
        return TestResult(False, problem, issuer)
    return TestResult(True, "The provider answered and accepted the client id and secret", issuer)


def _try_client_credentials(settings: ConnectionSettings, metadata: dict) -> str | None:
    """Send the token endpoint a code that cannot be valid: only the client's authentication can pass.

    A provider answers ``invalid_client`` when it refuses the client id or secret, and
    ``invalid_grant`` (or similar) when it accepted them and refused the made-up code.
    """
    data = {"grant_type": "authorization_code", "code": secrets.token_urlsafe(24), "redirect_uri": callback_url()}
    auth = None
    if _token_auth_method(metadata) == "client_secret_basic":
        auth = requests.auth.HTTPBasicAuth(_form_encode(settings.client_id), _form_encode(settings.client_secret))
    else:
        data |= {"client_id": settings.client_id, "client_secret": settings.client_secret}
    endpoint = metadata["token_endpoint"]
    try:
        response = requests.post(endpoint, data=data, auth=auth, timeout=_timeout(), headers={"Accept": "application/json"})
    except requests.Timeout:
        return f"The token endpoint {endpoint} did not answer within {_timeout():g} seconds"
    except requests.RequestException:
        return f"Nothing answers at the token endpoint {endpoint}"
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if error == "invalid_client" or response.status_code == 401:
        return "The provider refused the client id or client secret: check both against the provider's registration"
    if error in ("invalid_grant", "invalid_request", "unauthorized_client", "unsupported_grant_type"):
        return None
    if response.status_code >= 500:
        return f"The provider's token endpoint failed (HTTP status {response.status_code}): try again later"
    return f"The provider's token endpoint gave an unexpected answer (HTTP status {response.status_code}, error {error or 'none'})"


def _form_encode(value: str) -> str:
    """Client id and secret are form-encoded before Basic authentication (RFC 6749, section 2.3.1)."""
    from urllib.parse import quote_plus

    return quote_plus(value)


# The sign-in flow ---------------------------------------------------------------------------------


def authorization_url(provider, *, email: str | None, next_url: str | None) -> str:
    """Where to send the person to sign in at their provider; remembers the attempt in the session."""
    metadata = discover(provider.discovery_url)
    if not metadata.get("authorization_endpoint"):
        raise ProviderError("The provider's discovery document has no authorization endpoint")
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    client = _client(provider, metadata, redirect_uri=callback_url())
    extra = {"login_hint": email} if email else {}
    url, _ = client.create_authorization_url(
        metadata["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier, **extra
    )
    session[SESSION_PENDING] = {
        "provider_id": provider.id, "state": state, "nonce": nonce, "verifier": verifier,
        "next": next_url, "started_at": utcnow().timestamp(),
    }
    return url


@dataclass(frozen=True)
class VerifiedSignOn:
    """What the provider vouched for, after every check."""

    provider_id: int
    subject: str
    email: str
    name: str | None
    id_token: str
    next_url: str | None


def pending_provider_id() -> int | None:
    pending = session.get(SESSION_PENDING)
    return pending.get("provider_id") if isinstance(pending, dict) else None


def finish(args, load_provider) -> VerifiedSignOn:
    """Check the provider's answer at the callback; :class:`SignOnRefused` unless all is well.

    ``load_provider(id)`` gives the enabled provider the attempt began with, or None.
    """
    pending = session.pop(SESSION_PENDING, None)
    if not isinstance(pending, dict):
        raise SignOnRefused("no sign-in in progress")
    provider = load_provider(pending.get("provider_id"))
    if provider is None:
        raise SignOnRefused("provider no longer enabled")
    if not secrets.compare_digest(str(args.get("state", "")), pending["state"]):
        raise SignOnRefused("state mismatch", provider.id)
    if utcnow().timestamp() - pending["started_at"] > PENDING_MINUTES * 60:
        raise SignOnRefused("sign-in took too long", provider.id)
    if args.get("error"):
        raise SignOnRefused(f"provider answered {str(args.get('error'))[:60]}", provider.id)
    if not args.get("code"):
        raise SignOnRefused("no code in the provider's answer", provider.id)

    metadata = discover(provider.discovery_url)
    if metadata.get("issuer") != provider.issuer:
        raise SignOnRefused("discovery document names another issuer", provider.id)
    if args.get("iss") is not None and args.get("iss") != provider.issuer:
        # RFC 9207: a provider that says who answered must be the one the attempt began with.
        raise SignOnRefused("authorization response from another issuer", provider.id)
    client = _client(provider, metadata, redirect_uri=callback_url())
    try:
        token = client.fetch_token(
            metadata["token_endpoint"], grant_type="authorization_code", code=args["code"],
            code_verifier=pending["verifier"], timeout=_timeout(),
        )
    except OAuthError as error:
        raise SignOnRefused(f"token endpoint refused: {error.error}", provider.id) from error
    except requests.RequestException as error:
        raise ProviderUnreachable(f"Nothing answers at {metadata['token_endpoint']}") from error
    except ValueError as error:
        raise SignOnRefused("token endpoint answer unreadable", provider.id) from error

    raw = token.get("id_token")
    if not isinstance(raw, str):
        raise SignOnRefused("no ID token", provider.id)
    claims = _verified_claims(provider, metadata, raw, pending["nonce"])
    email, name = _email_and_name(provider, metadata, claims, token)
    return VerifiedSignOn(provider.id, claims["sub"], email, name, raw, pending.get("next"))


def _verified_claims(provider, metadata: dict, raw: str, nonce: str) -> dict:
    allowed = [a for a in metadata.get("id_token_signing_alg_values_supported") or ["RS256"] if a in ID_TOKEN_ALGORITHMS]
    try:
        try:
            token = jwt.decode(raw, signing_keys(metadata["jwks_uri"]), algorithms=allowed)
        except InvalidKeyIdError:
            # The provider may have rotated its keys since they were read: read them once more.
            token = jwt.decode(raw, signing_keys(metadata["jwks_uri"], fresh=True), algorithms=allowed)
    except ProviderError as error:
        raise SignOnRefused(f"signing keys unavailable: {error}", provider.id) from error
    except (JoseError, ValueError) as error:
        raise SignOnRefused(f"ID token signature: {error}", provider.id) from error

    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        now=lambda: int(utcnow().timestamp()),
        leeway=current_app.config["OIDC_CLOCK_LEEWAY_SECONDS"],
        iss={"essential": True, "value": provider.issuer},
        sub={"essential": True},
        aud={"essential": True, "value": provider.client_id},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as error:
        raise SignOnRefused(f"ID token claims: {error}", provider.id) from error
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != provider.client_id:
        raise SignOnRefused("ID token authorised for another party (azp)", provider.id)
    iat = claims["iat"]
    if not isinstance(iat, (int, float)) or iat > utcnow().timestamp() + current_app.config["OIDC_CLOCK_LEEWAY_SECONDS"]:
        raise SignOnRefused("ID token issued in the future", provider.id)
    return claims


def _email_and_name(provider, metadata: dict, claims: dict, token: dict) -> tuple[str, str | None]:
    """The email from the configured claim: the ID token's, or else the userinfo endpoint's."""
    source = claims
    if provider.email_claim not in claims and metadata.get("userinfo_endpoint"):
        source = _userinfo(provider, metadata, token)
        if source.get("sub") != claims["sub"]:
            raise SignOnRefused("userinfo is about another subject", provider.id)
    email = source.get(provider.email_claim)
    if not isinstance(email, str) or "@" not in email:
        raise SignOnRefused(f"no email in the {provider.email_claim!r} claim", provider.id)
    if source.get("email_verified") is False or claims.get("email_verified") is False:
        raise SignOnRefused("email not verified by the provider", provider.id)
    email = email.strip().lower()
    if email.rsplit("@", 1)[1] not in set(provider.allowed_domains or ()):
        raise SignOnRefused("email domain not allowed for this agency", provider.id)
    name = source.get("name") or " ".join(p for p in (source.get("given_name"), source.get("family_name")) if p) or None
    return email, name if isinstance(name, str) else None


def _userinfo(provider, metadata: dict, token: dict) -> dict:
    endpoint = metadata["userinfo_endpoint"]
    try:
        response = requests.get(
            endpoint, timeout=_timeout(),
            headers={"Authorization": f"Bearer {token.get('access_token', '')}", "Accept": "application/json"},
        )
    except requests.RequestException as error:
        raise ProviderUnreachable(f"Nothing answers at {endpoint}") from error
    if response.status_code != 200:
        raise SignOnRefused(f"userinfo answered HTTP {response.status_code}", provider.id)
    try:
        document = response.json()
    except ValueError as error:
        # A signed or encrypted userinfo response is not configured for the portal's clients.
        raise SignOnRefused("userinfo is not plain JSON", provider.id) from error
    if not isinstance(document, dict):
        raise SignOnRefused("userinfo is not a JSON object", provider.id)
    return document


# Sign-out ----------------------------------------------------------------------------------------


def end_session_url(provider, id_token: str | None) -> str | None:
    """The provider's end-session address for this person, or None when it has none (or is down)."""
    try:
        endpoint = discover(provider.discovery_url).get("end_session_endpoint")
    except ProviderError:
        return None
    if not isinstance(endpoint, str) or origin(endpoint) is None:
        return None
    query = {"post_logout_redirect_uri": signed_out_url(), "client_id": provider.client_id}
    if id_token:
        query["id_token_hint"] = id_token
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"
