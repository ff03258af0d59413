"""An administrator connects an agency to its identity provider, and tests the connection."""

from __future__ import annotations

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.auth import oidc
from portal.auth.models import IdentityProvider
from portal.core.codes import AgencyKind, Role
from tests.auth.oidc.conftest import text_of
from tests.auth.oidc.provider import CLIENT_ID, CLIENT_SECRET

CLOSED_PORT = "http://127.0.0.1:9/.well-known/openid-configuration"


def _form(discovery_url, **fields):
    values = {
        "discovery_url": discovery_url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "scopes": "openid email profile", "email_claim": "email", "allowed_domains": "icb.example\nICB-staff.example",
        "local_passwords_allowed": "y", "jit_role": "",
    }
    return values | fields


def test_administrator_saves_settings_and_the_secret_is_never_shown_again(client, act_as, db_session, icb, make_user, oidc_provider):
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    response = client.post(f"/admin/agencies/{icb.id}/sign-on", data=_form(oidc_provider.issuer))
    assert response.status_code == 302
    provider = db_session.scalar(sa.select(IdentityProvider).where(IdentityProvider.agency_id == icb.id))
    assert provider.discovery_url == oidc_provider.discovery_url, "the issuer pasted is completed to its discovery URL"
    assert provider.allowed_domains == ["icb-staff.example", "icb.example"]
    assert provider.enabled is False and provider.client_secret == CLIENT_SECRET
    stored = db_session.execute(sa.text("SELECT client_secret FROM identity_provider WHERE id = :id"), {"id": provider.id}).scalar()
    assert stored.startswith("enc1:") and CLIENT_SECRET not in stored
    page = client.get(f"/admin/agencies/{icb.id}/sign-on").text
    assert CLIENT_SECRET not in page and "Leave blank to keep the saved secret" in page
    assert "http://localhost/sign-in/callback" in page and "http://localhost/signed-out" in page
    event = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "sign_on.create"))
    assert CLIENT_SECRET not in event.details


def test_a_blank_secret_keeps_the_saved_one(client, act_as, db_session, icb, make_user, make_provider):
    provider = make_provider(icb, enabled=False)
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    response = client.post(
        f"/admin/agencies/{icb.id}/sign-on",
        data=_form(provider.discovery_url, client_secret="", email_claim="upn", version=provider.version),
    )
    assert response.status_code == 302
    db_session.refresh(provider)
    assert provider.client_secret == CLIENT_SECRET and provider.email_claim == "upn"
    assert provider.last_test_ok is True, "changing the claim does not change the connection"


def test_test_connection_to_an_address_where_nothing_answers_says_so(client, act_as, db_session, icb, make_user, make_provider):
    make_provider(icb, enabled=False, discovery_url=CLOSED_PORT, last_test_ok=None)
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    page = client.post(f"/admin/agencies/{icb.id}/sign-on/test", follow_redirects=True)
    assert f"The connection failed. Nothing answers at {CLOSED_PORT}" in text_of(page)
    assert "Failed: Nothing answers at" in text_of(page)


def test_test_connection_with_a_wrong_secret_says_the_provider_refused_it(client, act_as, db_session, icb, make_user, make_provider):
    provider = make_provider(icb, enabled=False, client_secret="not-the-secret", last_test_ok=None)
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    page = client.post(f"/admin/agencies/{icb.id}/sign-on/test", follow_redirects=True)
    assert "The provider refused the client id or client secret" in text_of(page)
    db_session.refresh(provider)
    assert provider.last_test_ok is False


def test_test_connection_with_a_discovery_document_for_another_issuer_fails(client, act_as, db_session, icb, make_user, make_provider, tampering_proxy):
    make_provider(icb, enabled=False, discovery_url=tampering_proxy.discovery_url, last_test_ok=None)
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    page = client.post(f"/admin/agencies/{icb.id}/sign-on/test", follow_redirects=True)
    assert "which does not match its address" in text_of(page)


def test_test_connection_passes_and_records_the_issuer(client, act_as, db_session, icb, make_user, make_provider, oidc_provider):
    provider = make_provider(icb, enabled=False, issuer=None, last_test_ok=None)
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    page = client.post(f"/admin/agencies/{icb.id}/sign-on/test", follow_redirects=True)
    assert "The connection works" in text_of(page)
    db_session.refresh(provider)
    assert provider.last_test_ok is True and provider.issuer == oidc_provider.issuer
    assert db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "sign_on.test")) is not None


def test_turning_on_a_provider_whose_connection_fails_is_refused(client, act_as, db_session, icb, make_user, make_provider):
    provider = make_provider(icb, enabled=False, client_secret="not-the-secret", last_test_ok=None)
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    response = client.post(
        f"/admin/agencies/{icb.id}/sign-on",
        data=_form(provider.discovery_url, client_secret="", enabled="y", version=provider.version),
    )
    assert response.status_code == 200
    assert "Sign-on cannot be turned on until the connection passes a test" in text_of(response)
    assert "The provider refused the client id or client secret" in text_of(response)
    db_session.refresh(provider)
    assert provider.enabled is False


def test_turning_on_tests_the_connection_first_and_then_is_allowed(client, act_as, db_session, icb, make_user, make_provider):
    provider = make_provider(icb, enabled=False, last_test_ok=None)
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    response = client.post(
        f"/admin/agencies/{icb.id}/sign-on", data=_form(provider.discovery_url, enabled="y", version=provider.version)
    )
    assert response.status_code == 302
    db_session.refresh(provider)
    assert provider.enabled is True and provider.last_test_ok is True
    assert oidc.origin(provider.discovery_url) in oidc.form_action_origins()


def test_a_change_made_by_someone_else_meanwhile_is_not_overwritten(client, act_as, db_session, icb, make_user, make_provider):
    provider = make_provider(icb, enabled=False)
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    response = client.post(
        f"/admin/agencies/{icb.id}/sign-on", data=_form(provider.discovery_url, email_claim="upn", version=provider.version + 1)
    )
    assert response.status_code == 200 and "Someone else changed this record" in text_of(response)


def test_the_default_role_must_suit_the_kind_of_agency(client, act_as, db_session, icb, make_user, make_provider):
    provider = make_provider(icb, enabled=False)
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    chosen = client.post(f"/admin/agencies/{icb.id}/sign-on", data=_form(
        provider.discovery_url, jit_enabled="y", jit_role="PROVIDER_STAFF", version=provider.version))
    assert chosen.status_code == 200 and "Select one of the options" in text_of(chosen)
    missing = client.post(f"/admin/agencies/{icb.id}/sign-on", data=_form(
        provider.discovery_url, jit_enabled="y", version=provider.version))
    assert "Select the role people get when their account is created on first sign-in" in text_of(missing)


def test_a_domain_already_used_by_another_agency_is_refused(client, act_as, db_session, icb, make_agency, make_user, make_provider):
    make_provider(make_agency(AgencyKind.NHS_TRUST, name="Other trust"), enabled=False, allowed_domains=["nhs.example"])
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    response = client.post(f"/admin/agencies/{icb.id}/sign-on", data=_form("https://login.example.org", allowed_domains="nhs.example"))
    assert response.status_code == 200 and "nhs.example already belongs to the sign-on of Other trust" in text_of(response)


def test_plain_http_is_refused_except_on_this_machine(client, act_as, db_session, icb, make_user):
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    response = client.post(f"/admin/agencies/{icb.id}/sign-on", data=_form("http://login.example.org"))
    assert "The discovery URL must start with https://" in text_of(response)


def test_a_new_provider_needs_a_secret(client, act_as, db_session, icb, make_user):
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    response = client.post(f"/admin/agencies/{icb.id}/sign-on", data=_form("https://login.example.org", client_secret=""))
    assert response.status_code == 200 and "Enter the client secret" in text_of(response)


def test_agency_page_links_to_its_sign_on_settings(client, act_as, db_session, icb, make_user):
    act_as(make_user(Role.ADMINISTRATOR, agency=_council(icb, db_session)))
    assert f"/admin/agencies/{icb.id}/sign-on" in client.get(f"/admin/agencies/{icb.id}").text


def _council(icb, db_session):
    from portal.agencies.models import Agency

    council = Agency(area_id=icb.area_id, kind=AgencyKind.LOCAL_AUTHORITY, name="Testshire Council")
    db_session.add(council)
    db_session.commit()
    return council
