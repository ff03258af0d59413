"""Sessions held by the portal: a new id at sign-in and on switching agency, and a copied cookie
that stops working once its session has ended (sign-out, switch, password change, deactivation)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.audit.models import AuditEvent
from portal.auth.models import UserSession
from portal.core.codes import AgencyKind, Role
from portal.core.db import utcnow
from portal.people import operations as people_operations
from portal.people.models import Membership
from tests.conftest import TEST_PASSWORD

COOKIE = "portal_session"
NEW_PASSWORD = "violet tractor harbour"


def _session_id(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("session_id")


def _copy_of(app, client):
    """Another browser holding a copy of ``client``'s cookie, as a thief would."""
    other = app.test_client()
    other.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return other


def _row(db_session, session_id: str) -> UserSession:
    digest = hashlib.sha256(session_id.encode()).hexdigest()
    return db_session.scalar(sa.select(UserSession).where(UserSession.token_hash == digest))


def _actions(db_session) -> list[str]:
    return list(db_session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))


def _signed_out(response) -> bool:
    return response.status_code == 302 and "/sign-in" in response.headers["Location"]


@pytest.fixture
def person(make_user):
    return make_user(Role.COMMISSIONER, email="kim@example.org", name="Kim Commissioner")


def test_signing_in_gives_a_new_session_id_kept_only_as_a_hash(client, person, sign_in, db_session):
    with client.session_transaction() as session:
        session["session_id"] = "planted-by-an-attacker-before-sign-in"
    sign_in("kim@example.org")
    session_id = _session_id(client)
    assert session_id and session_id != "planted-by-an-attacker-before-sign-in"
    row = _row(db_session, session_id)
    assert row.user_id == person.id and row.method == "password" and row.ended_at is None
    assert row.ip_address == "127.0.0.1"
    assert db_session.scalar(sa.select(sa.func.count()).where(UserSession.token_hash == session_id)) == 0
    assert client.get("/home").status_code == 200


def test_a_cookie_copied_before_sign_out_no_longer_works(app, client, person, sign_in, db_session):
    sign_in("kim@example.org")
    session_id = _session_id(client)
    thief = _copy_of(app, client)
    assert thief.get("/home").status_code == 200

    client.post("/sign-out")

    assert _signed_out(thief.get("/home"))
    assert _row(db_session, session_id).end_reason == "signed out"
    assert _session_id(thief) is None  # the dead session is forgotten, not kept trying


def test_switching_agency_rotates_the_session_and_a_copied_cookie_stops_working(app, client, make_user, make_agency, sign_in, db_session):
    icb = make_agency(AgencyKind.NHS_ICB, name="The ICB")
    user = make_user(Role.COMMISSIONER, agency=icb, email="two@example.org")
    db_session.add(Membership(user=user, agency=make_agency(AgencyKind.SAB, name="The Board"), role=Role.SAB_MEMBER))
    db_session.commit()
    sign_in("two@example.org")
    client.post("/choose-agency", data={"membership": str(user.memberships[0].id)})
    before = _session_id(client)
    thief = _copy_of(app, client)

    client.post("/choose-agency", data={"membership": str(user.memberships[1].id)})

    after = _session_id(client)
    assert after != before
    assert _row(db_session, before).end_reason == "rotated"
    assert _row(db_session, after).ended_at is None
    assert client.get("/home").status_code == 200
    assert _signed_out(thief.get("/home"))
    assert "auth.switch_agency" in _actions(db_session)


def test_changing_the_password_signs_out_every_other_browser_and_a_copied_cookie(app, client, person, sign_in, db_session):
    sign_in("kim@example.org")
    other_browser = app.test_client()
    other_browser.post("/sign-in", data={"email": "kim@example.org", "password": TEST_PASSWORD})
    assert other_browser.get("/home").status_code == 200
    thief = _copy_of(app, client)
    before = _session_id(client)

    response = client.post("/account/password", data={
        "current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
    })

    assert response.status_code == 302
    assert client.get("/home").status_code == 200  # the person who changed it carries on, with a new id
    assert _session_id(client) != before
    assert _signed_out(thief.get("/home"))
    assert _signed_out(other_browser.get("/home"))
    assert "auth.sessions_ended" in _actions(db_session)


def test_deactivating_a_person_signs_them_out_everywhere(client, person, sign_in, db_session):
    sign_in("kim@example.org")
    session_id = _session_id(client)

    people_operations.set_active(person, False)
    db_session.commit()

    assert _signed_out(client.get("/home"))
    assert _row(db_session, session_id).end_reason == "deactivated"


def test_an_unknown_or_missing_session_id_signs_the_person_out(client, person, act_as):
    act_as(person)
    assert client.get("/home").status_code == 200
    with client.session_transaction() as session:
        session["session_id"] = "never-issued-by-the-portal"
    assert _signed_out(client.get("/home"))

    act_as(person)
    with client.session_transaction() as session:
        del session["session_id"]
    assert _signed_out(client.get("/home"))


def test_an_idle_session_ends_its_row_so_its_cookie_cannot_be_revived(app, client, person, sign_in, db_session):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        sign_in("kim@example.org")
    session_id = _session_id(client)
    thief = _copy_of(app, client)
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        assert _signed_out(client.get("/home"))
    assert "without activity" in _row(db_session, session_id).end_reason
    with time_machine.travel(start + timedelta(minutes=32), tick=False):
        # The copy's own "last seen" is as old: but even a fresh one would find the row ended.
        with thief.session_transaction() as session:
            session["last_seen"] = (start + timedelta(minutes=32)).timestamp()
        assert _signed_out(thief.get("/home"))
