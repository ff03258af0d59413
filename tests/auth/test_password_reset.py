"""Forgotten passwords: the same answer for any email, a single-use link valid for an hour in an
email a real SMTP server receives, a new password that signs the person out everywhere, and a plain
refusal for people who sign in through their agency's provider or who have been deactivated."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.audit.models import AuditEvent
from portal.auth.models import IdentityProvider
from portal.core.codes import Role
from portal.core.db import utcnow
from tests.conftest import TEST_PASSWORD
from tests.people.test_invitations import _body, _html_body, _path

NEW_PASSWORD = "violet tractor harbour"
LINK = re.compile(r"https?://[^\s\"'<>]+/sign-in/reset-password/[^\s\"'<>]+")
CANNOT_USE = "This password reset link cannot be used"


@pytest.fixture
def person(make_user):
    return make_user(Role.PROVIDER_STAFF, email="sam@example.org", name="Sam Staff")


def _ask(client, email: str):
    return client.post("/sign-in/forgot-password", data={"email": email})


def _link(mailbox) -> str:
    assert len(mailbox.messages) == 1
    links = set(LINK.findall(_body(mailbox.messages[0])))
    assert len(links) == 1, links
    return _path(links.pop())


def _set(client, path: str, password: str = NEW_PASSWORD):
    return client.post(path, data={"new_password": password, "confirm_password": password})


def _actions(db_session, user) -> list[str]:
    return list(db_session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "User", AuditEvent.object_id == str(user.id)).order_by(AuditEvent.seq)
    ))


def test_the_sign_in_page_offers_a_reset(client):
    page = client.get("/sign-in").text
    assert 'href="/sign-in/forgot-password">Forgot your password?' in page


def test_a_known_and_an_unknown_email_get_the_same_answer(client, person, mailbox, db_session):
    known = _ask(client, "sam@example.org")
    unknown = _ask(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert "Check your email" in known.text
    assert known.text.replace("sam@example.org", "X") == unknown.text.replace("nobody@example.org", "X")
    assert mailbox.recipients == [["sam@example.org"]]
    requests = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.password_reset_requested")).all()
    assert len(requests) == 2


def test_the_link_sets_a_new_password_once_and_signs_the_person_out_everywhere(app, client, person, mailbox, sign_in, db_session):
    elsewhere = app.test_client()
    elsewhere.post("/sign-in", data={"email": "sam@example.org", "password": TEST_PASSWORD})
    assert elsewhere.get("/home").status_code == 200
    _ask(client, "SAM@example.org")
    path = _link(mailbox)
    message = mailbox.messages[0]
    assert "60 minutes" in _body(message) and 'href="http' in _html_body(message)

    page = client.get(path)
    assert page.status_code == 200 and "Set a new password" in page.text
    done = _set(client, path)
    assert done.status_code == 302 and done.headers["Location"].endswith("/sign-in")

    assert elsewhere.get("/home").status_code == 302  # every session ended
    assert sign_in("sam@example.org", NEW_PASSWORD).headers["Location"].endswith("/home")
    assert CANNOT_USE in client.get(path).text  # used: the password it was made for has gone
    assert {"auth.password_reset", "auth.sessions_ended"} <= set(_actions(db_session, person))


def test_the_new_password_follows_the_same_rules_as_an_invitation(client, person, mailbox):
    _ask(client, "sam@example.org")
    response = _set(client, _link(mailbox), "password")
    assert response.status_code == 200
    assert "There is a problem" in response.text and "12 characters" in response.text


def test_a_link_expires_after_an_hour(client, person, mailbox):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        _ask(client, "sam@example.org")
        path = _link(mailbox)
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert client.get(path).status_code == 200
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        expired = client.get(path)
        assert expired.status_code == 404 and CANNOT_USE in expired.text
        assert _set(client, path).status_code == 404


def test_a_link_dies_once_the_password_changes_some_other_way(client, person, mailbox, act_as):
    _ask(client, "sam@example.org")
    path = _link(mailbox)
    act_as(person)
    client.post("/account/password", data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert client.get(path).status_code == 404


def test_a_tampered_link_is_refused(client, person, mailbox):
    _ask(client, "sam@example.org")
    path = _link(mailbox)
    token = path.rsplit("/", 1)[1]
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "not-a-token", token.replace(".", "", 1)):
        assert client.get(f"/sign-in/reset-password/{forged}").status_code == 404


def test_people_of_an_agency_that_signs_in_only_through_its_provider_get_no_link(client, person, mailbox, db_session):
    db_session.add(IdentityProvider(
        agency_id=person.memberships[0].agency_id, discovery_url="https://login.example.org/.well-known/openid-configuration",
        client_id="portal", allowed_domains=["example.org"], local_passwords_allowed=False, enabled=True,
    ))
    db_session.commit()
    assert "Check your email" in _ask(client, "sam@example.org").text
    text = _body(mailbox.messages[0])
    assert not LINK.search(text)
    assert "signs you in through its own account" in text


def test_a_deactivated_person_gets_no_link(client, make_user, mailbox):
    make_user(email="gone@example.org", active=False)
    assert "Check your email" in _ask(client, "gone@example.org").text
    text = _body(mailbox.messages[0])
    assert not LINK.search(text)
    assert "no longer active" in text


def test_a_link_sent_before_deactivation_stops_working(client, person, mailbox, db_session):
    from portal.people.operations import set_active

    _ask(client, "sam@example.org")
    path = _link(mailbox)
    set_active(person, False)
    db_session.commit()
    assert client.get(path).status_code == 404
