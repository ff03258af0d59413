"""Signing in through an agency's own provider: full sign-ins against a real OpenID Connect provider."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import sqlalchemy as sa
import time_machine

from portal.audit.models import AuditEvent
from portal.auth.models import ExternalIdentity
from portal.core.codes import Role
from portal.core.db import utcnow
from portal.people.models import User
from tests.auth.oidc.conftest import PORTAL, back_from_provider, start_sign_in, text_of
from tests.auth.oidc.provider import CLIENT_ID, ID_TOKEN_TTL, sign_in_at_provider


def _refusals(db_session) -> list[dict]:
    events = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.sso_refused").order_by(AuditEvent.seq))
    return [json.loads(event.details) for event in events]


def _signed_in(client) -> bool:
    return client.get("/home").status_code == 200


def test_person_with_a_role_signs_in_through_their_agencys_provider(client, db_session, icb, make_user, make_provider, oidc_provider):
    alice = make_user(Role.COMMISSIONER, agency=icb, email="alice@icb.example")
    make_provider(icb)

    start = start_sign_in(client, "Alice@ICB.example")
    assert start.status_code == 302
    sent_to = urlsplit(start.headers["Location"])
    query = parse_qs(sent_to.query)
    assert f"{sent_to.scheme}://{sent_to.netloc}{sent_to.path}" == oidc_provider.metadata()["authorization_endpoint"]
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["state"] and query["nonce"] and query["client_id"] == [CLIENT_ID]

    response = back_from_provider(client, "alice@icb.example", "alice")
    assert response.status_code == 302 and response.headers["Location"] == "/home"
    assert _signed_in(client)
    identity = db_session.scalar(sa.select(ExternalIdentity).where(ExternalIdentity.user_id == alice.id))
    assert identity.subject == "alice"
    actions = db_session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor_id == alice.id)).all()
    assert "auth.sign_in" in actions and "auth.sso_linked" in actions


def test_unknown_email_is_refused_and_no_account_is_made(client, db_session, icb, make_provider):
    make_provider(icb)
    response = back_from_provider(client, "stranger@icb.example", "stranger")
    assert response.status_code == 403
    assert "There is no account for this email address at Testshire ICB" in text_of(response)
    assert db_session.scalar(sa.select(User).where(User.email == "stranger@icb.example")) is None
    assert _refusals(db_session)[-1] == {"reason": "no account for this email", "email": "stranger@icb.example"}
    assert not _signed_in(client)


def test_just_in_time_creation_makes_the_person_with_the_agencys_default_role(client, db_session, icb, make_provider):
    make_provider(icb, jit_enabled=True, jit_role=Role.COMMISSIONER)
    response = back_from_provider(client, "new.starter@icb.example", "newstarter")
    assert response.headers["Location"] == "/home"
    person = db_session.scalar(sa.select(User).where(User.email == "new.starter@icb.example"))
    assert person.name == "Nia Starter" and person.password_hash is None
    assert [(m.agency_id, m.role) for m in person.memberships] == [(icb.id, Role.COMMISSIONER)]
    assert db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "person.created_on_sign_on")) is not None


def test_a_person_with_a_role_only_at_another_agency_is_refused(client, db_session, icb, make_agency, make_user, make_provider):
    make_user(Role.SAFEGUARDING_LEAD, email="alice@icb.example")
    make_provider(icb, jit_enabled=True, jit_role=Role.COMMISSIONER)
    response = back_from_provider(client, "alice@icb.example", "alice")
    assert response.status_code == 403 and "There is no account for this email address" in text_of(response)
    assert _refusals(db_session)[-1]["reason"] == "no active role at Testshire ICB"


def test_id_token_for_another_audience_is_refused(client, db_session, icb, make_user, make_provider, tamper):
    """The tampering proxy swaps in an ID token signed with the provider's own key but for another client."""
    make_user(Role.COMMISSIONER, agency=icb, email="alice@icb.example")
    make_provider(icb, discovery_url=tamper.discovery_url)
    tamper.changes = {"aud": "another-client"}
    response = back_from_provider(client, "alice@icb.example", "alice")
    assert response.status_code == 400 and "Your sign-in could not be completed" in text_of(response)
    assert "aud" in _refusals(db_session)[-1]["reason"]
    assert not _signed_in(client)


def test_id_token_from_another_issuer_is_refused(client, db_session, icb, make_user, make_provider, tamper):
    """The tampering proxy swaps in an ID token signed with the provider's own key but naming another issuer."""
    make_user(Role.COMMISSIONER, agency=icb, email="alice@icb.example")
    make_provider(icb, discovery_url=tamper.discovery_url)
    tamper.changes = {"iss": "https://attacker.example"}
    response = back_from_provider(client, "alice@icb.example", "alice")
    assert response.status_code == 400
    assert "iss" in _refusals(db_session)[-1]["reason"]
    assert not _signed_in(client)


def test_id_token_with_another_nonce_is_refused(client, db_session, icb, make_user, make_provider, tamper):
    """The tampering proxy swaps in an ID token signed with the provider's own key but with another nonce."""
    make_user(Role.COMMISSIONER, agency=icb, email="alice@icb.example")
    make_provider(icb, discovery_url=tamper.discovery_url)
    tamper.changes = {"nonce": "replayed-from-another-sign-in"}
    response = back_from_provider(client, "alice@icb.example", "alice")
    assert response.status_code == 400
    assert "nonce" in _refusals(db_session)[-1]["reason"]


def test_id_token_signed_with_another_key_is_refused(client, db_session, icb, make_user, make_provider, tamper):
    """The proxy signs with a key the provider does not publish: a forged token."""
    from joserfc.jwk import RSAKey

    make_user(Role.COMMISSIONER, agency=icb, email="alice@icb.example")
    make_provider(icb, discovery_url=tamper.discovery_url)
    tamper.forging_key = RSAKey.generate_key(2048, parameters={"kid": "tests-signing-key"}, private=True)
    response = back_from_provider(client, "alice@icb.example", "alice")
    assert response.status_code == 400
    assert "signature" in _refusals(db_session)[-1]["reason"]


def test_expired_id_token_is_refused(client, db_session, icb, make_user, make_provider):
    """A real provider issues tokens valid from now: the portal's clock is moved (time-machine) past
    the token's expiry and the allowed leeway before it reads the answer."""
    make_user(Role.COMMISSIONER, agency=icb, email="alice@icb.example")
    make_provider(icb)
    later = utcnow() + timedelta(seconds=ID_TOKEN_TTL + 60 + 30)
    start = start_sign_in(client, "alice@icb.example")
    callback = urlsplit(sign_in_at_provider(start.headers["Location"], "alice", PORTAL))
    with time_machine.travel(later, tick=True):
        response = client.get(f"{callback.path}?{callback.query}")
    assert response.status_code == 400
    assert "exp" in _refusals(db_session)[-1]["reason"]


def test_state_that_does_not_match_is_refused(client, db_session, icb, make_user, make_provider):
    make_user(Role.COMMISSIONER, agency=icb, email="alice@icb.example")
    make_provider(icb)

    def forged_state(callback):
        parts = urlsplit(callback)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()} | {"state": "forged"}
        return parts._replace(query=urlencode(query)).geturl()

    response = back_from_provider(client, "alice@icb.example", "alice", change_callback=forged_state)
    assert response.status_code == 400
    assert "took too long, or was started in another window" in text_of(response)
    assert _refusals(db_session)[-1] == {"reason": "state mismatch"}
    assert not _signed_in(client)


def test_callback_without_a_sign_in_in_progress_is_refused(client, db_session):
    response = client.get("/sign-in/callback?code=stolen&state=whatever")
    assert response.status_code == 400
    assert _refusals(db_session)[-1] == {"reason": "no sign-in in progress"}


def test_unverified_email_is_refused(client, db_session, icb, make_user, make_provider):
    make_user(Role.COMMISSIONER, agency=icb, email="unverified@icb.example")
    make_provider(icb)
    response = back_from_provider(client, "unverified@icb.example", "unverified")
    assert response.status_code == 400
    assert _refusals(db_session)[-1]["reason"] == "email not verified by the provider"


def test_email_outside_the_agencys_domains_is_refused(client, db_session, icb, make_user, make_provider):
    """The person typed an address of the agency's domain, but the provider vouched for another one."""
    make_user(Role.COMMISSIONER, agency=icb, email="outsider@elsewhere.example")
    make_provider(icb)
    response = back_from_provider(client, "someone@icb.example", "outsider")
    assert response.status_code == 400
    assert _refusals(db_session)[-1]["reason"] == "email domain not allowed for this agency"


def test_another_subject_with_the_same_email_is_refused(client, db_session, icb, make_user, make_provider):
    alice = make_user(Role.COMMISSIONER, agency=icb, email="alice@icb.example")
    provider = make_provider(icb)
    db_session.add(ExternalIdentity(identity_provider_id=provider.id, subject="the-first-alice", user_id=alice.id))
    db_session.commit()
    response = back_from_provider(client, "alice@icb.example", "alice")
    assert response.status_code == 403
    assert "does not match the one first used with this email address" in text_of(response)
    assert _refusals(db_session)[-1]["reason"] == "the email is bound to another subject at this provider"
    assert not _signed_in(client)


def test_provider_that_is_down_gives_a_clear_message(client, db_session, icb, make_provider):
    make_provider(icb, discovery_url="http://127.0.0.1:9/.well-known/openid-configuration", issuer="http://127.0.0.1:9")
    response = start_sign_in(client, "alice@icb.example")
    assert response.status_code == 503
    assert "Testshire ICB's sign-in service is not answering" in text_of(response)
    assert _refusals(db_session)[-1]["reason"].startswith("provider unusable: Nothing answers at http://127.0.0.1:9/")


def test_sign_out_after_sign_on_goes_to_the_providers_end_session(client, db_session, icb, make_user, make_provider, oidc_provider):
    make_user(Role.COMMISSIONER, agency=icb, email="alice@icb.example")
    make_provider(icb)
    back_from_provider(client, "alice@icb.example", "alice")
    response = client.post("/sign-out")
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == oidc_provider.metadata()["end_session_endpoint"]
    query = parse_qs(location.query)
    assert query["post_logout_redirect_uri"] == ["http://localhost/signed-out"]
    assert query["id_token_hint"][0].count(".") == 2
    assert not _signed_in(client)
    assert "You have signed out" in client.get("/signed-out").text


def test_sso_only_agencys_person_cannot_sign_in_with_a_password(client, db_session, icb, make_user, make_provider, sign_in):
    person = make_user(Role.COMMISSIONER, agency=icb, email="alice@icb.example")
    make_provider(icb, local_passwords_allowed=False)
    response = sign_in("alice@icb.example")
    assert response.status_code == 200
    assert "Enter the email address and password for your account" in text_of(response)
    assert not _signed_in(client)
    event = db_session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed", AuditEvent.actor_id == person.id)
    ).all()[-1]
    assert json.loads(event.details) == {"reason": "local passwords off"}


def test_sso_only_agencys_email_goes_straight_to_the_provider(client, icb, make_provider, oidc_provider):
    make_provider(icb, local_passwords_allowed=False)
    response = start_sign_in(client, "anyone@icb.example")
    assert response.status_code == 302 and response.headers["Location"].startswith(oidc_provider.issuer + "/auth?")


def test_agency_that_keeps_passwords_offers_its_provider_or_the_password(client, icb, make_provider, oidc_provider):
    make_provider(icb, local_passwords_allowed=True)
    page = start_sign_in(client, "alice@icb.example")
    assert page.status_code == 200
    assert "Sign in with your Testshire ICB account" in page.text and 'name="password"' in page.text
    chosen = start_sign_in(client, "alice@icb.example", use="provider")
    assert chosen.headers["Location"].startswith(oidc_provider.issuer + "/auth?")


def test_invitation_to_an_sso_only_agency_sends_the_person_to_sign_in_instead(client, icb, make_user, make_provider):
    from portal.people.operations import invitation_token, new_invitation

    person = make_user(Role.COMMISSIONER, agency=icb, email="alice@icb.example", password=False)
    make_provider(icb, local_passwords_allowed=False)
    token = invitation_token(new_invitation(person, None))
    page = client.get(f"/invitation/{token}")
    assert "Your organisation signs its people in to the portal with their usual work account" in text_of(page)
    assert 'name="new_password"' not in page.text
    assert client.post(f"/invitation/{token}", data={"new_password": "x" * 20, "confirm_password": "x" * 20}).status_code == 200
    assert person.password_hash is None


def test_sign_in_asks_for_the_email_first_and_then_the_password(client):
    first = client.get("/sign-in?next=/agreements")
    assert 'name="email"' in first.text and 'name="password"' not in first.text
    second = client.post("/sign-in?next=/agreements", data={"email": "someone@example.org"})
    assert second.status_code == 200
    assert 'value="someone@example.org"' in second.text and 'name="password"' in second.text
    assert "govuk-error-summary" not in second.text and "Sign in with your" not in second.text
