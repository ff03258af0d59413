"""Signing in, throttling, pausing accounts, sessions that time out, and choosing an agency."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.audit.models import AuditEvent
from portal.core.codes import AgencyKind, Role
from portal.core.db import utcnow
from portal.extensions import limiter
from portal.people.models import Membership

REFUSAL = "Enter the email address and password for your account"


def _actions(db_session):
    return [e.action for e in db_session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq))]


def test_person_signs_in_and_sees_their_home_page(client, make_user, sign_in, db_session):
    user = make_user(Role.SAFEGUARDING_LEAD, email="lead@example.org", name="Sam Lead")
    response = sign_in("LEAD@example.org", follow_redirects=True)
    assert response.status_code == 200
    assert "You are working as" in response.text
    assert "Safeguarding lead" in response.text
    assert "auth.sign_in" in _actions(db_session)
    assert user.last_signed_in_at is not None


def test_wrong_password_and_unknown_email_get_the_same_message(client, make_user, sign_in, db_session):
    make_user(email="known@example.org")
    wrong = sign_in("known@example.org", "not the password at all")
    unknown = sign_in("nobody@example.org", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert REFUSAL in response.text
        assert "There is a problem" in response.text
    assert wrong.text.replace("known@example.org", "X") == unknown.text.replace("nobody@example.org", "X")
    assert _actions(db_session).count("auth.sign_in_failed") == 2


def test_sign_in_form_keeps_the_email_typed(client, sign_in):
    response = sign_in("someone@example.org", "wrong password here")
    assert 'value="someone@example.org"' in response.text


def test_account_is_paused_after_five_failures_even_for_the_right_password(client, make_user, sign_in, db_session):
    user = make_user(email="target@example.org")
    for _ in range(5):
        sign_in("target@example.org", "guessing the password")
    assert user.locked_until is not None
    response = sign_in("target@example.org")
    assert REFUSAL in response.text
    assert "auth.locked" in _actions(db_session)

    with time_machine.travel(utcnow() + timedelta(minutes=16), tick=False):
        response = sign_in("target@example.org")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/home")


def test_deactivated_person_cannot_sign_in(client, make_user, sign_in):
    make_user(email="gone@example.org", active=False)
    assert REFUSAL in sign_in("gone@example.org").text


def test_invited_person_without_password_cannot_sign_in(client, make_user, sign_in):
    make_user(email="new@example.org", password=False)
    assert REFUSAL in sign_in("new@example.org", "anything at all here").text


@pytest.fixture
def rate_limited(app):
    original = app.config["SIGN_IN_RATE_LIMIT"]
    app.config["SIGN_IN_RATE_LIMIT"] = "5 per 10 minutes"
    limiter.reset()
    yield
    app.config["SIGN_IN_RATE_LIMIT"] = original
    limiter.reset()


def test_many_attempts_from_one_address_are_throttled(client, rate_limited, sign_in, app):
    limit = 5
    statuses = [sign_in(f"user{n}@example.org", "wrong password").status_code for n in range(limit + 1)]
    assert statuses[:limit] == [200] * limit
    assert statuses[-1] == 429
    response = sign_in("another@example.org", "wrong password")
    assert "Too many attempts" in response.text


def test_form_without_csrf_token_is_rejected(app, client, make_user):
    make_user(email="csrf@example.org")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/sign-in", data={"email": "csrf@example.org", "password": "correct horse battery staple"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert "The form could not be sent" in response.text


def test_form_with_csrf_token_is_accepted(app, client, make_user):
    make_user(email="csrf-ok@example.org")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get("/sign-in").text
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        response = client.post("/sign-in", data={"email": "csrf-ok@example.org", "password": "correct horse battery staple", "csrf_token": token})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 302


def test_idle_session_ends_after_thirty_minutes(client, make_user, sign_in, db_session):
    make_user(email="idle@example.org")
    start = utcnow()
    with time_machine.travel(start, tick=False):
        sign_in("idle@example.org")
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.get("/home").status_code == 200
    with time_machine.travel(start + timedelta(minutes=29 + 31), tick=False):
        response = client.get("/home")
        assert response.status_code == 302
        assert "/sign-in" in response.headers["Location"]
        follow = client.get(response.headers["Location"])
    assert "30 minutes without activity" in follow.text
    assert "auth.sign_out" in _actions(db_session)


def test_activity_keeps_a_session_alive_until_its_absolute_limit(client, make_user, sign_in, app):
    make_user(email="busy@example.org")
    start = utcnow()
    with time_machine.travel(start, tick=False):
        sign_in("busy@example.org")
    hours = app.config["SESSION_MAX_HOURS"]
    for step in range(1, hours * 3):
        with time_machine.travel(start + timedelta(minutes=20 * step), tick=False):
            assert client.get("/home").status_code == 200
    with time_machine.travel(start + timedelta(hours=hours, minutes=1), tick=False):
        response = client.get("/home")
    assert response.status_code == 302


def test_sign_out_ends_the_session(client, make_user, sign_in, db_session):
    make_user(email="out@example.org")
    sign_in("out@example.org")
    response = client.post("/sign-out", follow_redirects=True)
    assert "You have signed out" in response.text
    assert client.get("/home").status_code == 302
    assert "auth.sign_out" in _actions(db_session)


def test_sign_out_needs_a_post(client, make_user, sign_in):
    make_user(email="get@example.org")
    sign_in("get@example.org")
    assert client.get("/sign-out").status_code == 405
    assert client.get("/home").status_code == 200


def test_person_with_two_agencies_chooses_and_can_switch(client, make_user, make_agency, sign_in, db_session):
    sab = make_agency(AgencyKind.SAB, name="The Board")
    icb = make_agency(AgencyKind.NHS_ICB, name="The ICB")
    user = make_user(Role.COMMISSIONER, agency=icb, email="two@example.org")
    board_role = Membership(user=user, agency=sab, role=Role.SAB_MEMBER)
    db_session.add(board_role)
    db_session.flush()

    response = sign_in("two@example.org")
    assert "/choose-agency" in response.headers["Location"]
    assert client.get("/home").status_code == 302  # must choose first
    page = client.get("/choose-agency").text
    assert "The Board" in page and "The ICB" in page

    response = client.post("/choose-agency", data={"membership": str(board_role.id)}, follow_redirects=True)
    assert "You are now working for The Board" in response.text
    assert "Safeguarding Adults Board member" in response.text
    assert "auth.switch_agency" in _actions(db_session)


def test_choosing_someone_elses_membership_is_refused(client, make_user, make_agency, sign_in, db_session):
    other = make_user(Role.SAB_CHAIR)
    user = make_user(Role.COMMISSIONER, email="mine@example.org")
    db_session.add(Membership(user=user, agency=make_agency(AgencyKind.SAB), role=Role.SAB_MEMBER))
    db_session.flush()
    sign_in("mine@example.org")
    response = client.post("/choose-agency", data={"membership": str(other.memberships[0].id)})
    assert response.status_code == 200
    assert "Select one of the options" in response.text


def test_next_parameter_cannot_send_people_to_another_site(client, make_user):
    make_user(email="next@example.org")
    response = client.post("/sign-in?next=https://evil.example/steal", data={"email": "next@example.org", "password": "correct horse battery staple"})
    assert response.headers["Location"].endswith("/home")
    response = client.get("/home")
    assert response.status_code == 200


def test_next_parameter_returns_to_the_page_asked_for(client, make_user):
    make_user(Role.ADMINISTRATOR, email="back@example.org")
    first = client.get("/admin/people")
    assert first.status_code == 302
    location = first.headers["Location"]
    response = client.post(location, data={"email": "back@example.org", "password": "correct horse battery staple"})
    assert response.headers["Location"] == "/admin/people"
