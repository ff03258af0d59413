"""Two-factor sign-in with a TOTP app: turning it on, signing in with it, and agencies that require it."""

from datetime import timedelta

import pyotp
import time_machine

from portal.core.codes import AgencyKind, Role
from portal.core.db import utcnow


def _turn_on(client, user):
    page = client.get("/account/two-factor")
    assert "Set up two-factor sign-in" in page.text
    secret = page.text.split('id="totp-secret">')[1].split("<")[0].strip()
    response = client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()}, follow_redirects=True)
    assert "Two-factor sign-in is on" in response.text
    return secret


def test_person_turns_on_two_factor_and_then_needs_a_code(client, make_user, sign_in):
    user = make_user(email="totp@example.org")
    sign_in("totp@example.org")
    secret = _turn_on(client, user)
    assert user.totp_secret == secret
    client.post("/sign-out")

    response = sign_in("totp@example.org")
    assert response.headers["Location"].startswith("/sign-in/security-code")
    assert client.get("/home").status_code == 302  # the password alone is not enough

    later = utcnow() + timedelta(seconds=60)
    with time_machine.travel(later, tick=False):
        wrong = client.post("/sign-in/security-code", data={"code": "000000"})
        assert "The security code is not right" in wrong.text
        right = client.post("/sign-in/security-code", data={"code": pyotp.TOTP(secret).at(later)})
        assert right.headers["Location"].endswith("/home")
        assert client.get("/home").status_code == 200


def test_a_code_cannot_be_used_twice(client, make_user, sign_in):
    user = make_user(email="replay@example.org")
    # Time stands still, so "the code just used" cannot roll over into the next 30-second step.
    with time_machine.travel(utcnow(), tick=False):
        sign_in("replay@example.org")
        secret = _turn_on(client, user)
        client.post("/sign-out")
        code = pyotp.TOTP(secret).now()  # the code just used to turn it on
        sign_in("replay@example.org")
        response = client.post("/sign-in/security-code", data={"code": code})
    assert "already been used" in response.text


def test_wrong_code_when_turning_on_is_explained(client, make_user, sign_in):
    make_user(email="typo@example.org")
    sign_in("typo@example.org")
    client.get("/account/two-factor")
    response = client.post("/account/two-factor", data={"code": "12345"})
    assert "The security code is not right" in response.text
    response = client.post("/account/two-factor", data={"code": ""})
    assert "Enter the 6-digit security code" in response.text


def test_agency_requiring_two_factor_sends_people_to_set_it_up(client, make_user, make_agency, sign_in):
    strict = make_agency(AgencyKind.LOCAL_AUTHORITY, require_two_factor=True)
    user = make_user(Role.SAFEGUARDING_LEAD, agency=strict, email="strict@example.org")
    response = sign_in("strict@example.org")
    assert response.headers["Location"].endswith("/account/two-factor")
    blocked = client.get("/agreements")
    assert blocked.headers["Location"].endswith("/account/two-factor")
    _turn_on(client, user)
    assert client.get("/agreements").status_code == 200
    assert client.get("/account/two-factor/turn-off").status_code == 403


def test_person_can_turn_two_factor_off_with_their_password(client, make_user, sign_in):
    user = make_user(email="off@example.org")
    sign_in("off@example.org")
    _turn_on(client, user)
    wrong = client.post("/account/two-factor/turn-off", data={"password": "not my password"})
    assert "Your password is not right" in wrong.text
    response = client.post("/account/two-factor/turn-off", data={"password": "correct horse battery staple"}, follow_redirects=True)
    assert "Two-factor sign-in is off" in response.text
    assert user.totp_secret is None


def test_waiting_too_long_for_the_code_means_starting_again(client, make_user, sign_in):
    user = make_user(email="slow@example.org")
    sign_in("slow@example.org")
    secret = _turn_on(client, user)
    client.post("/sign-out")
    start = utcnow()
    with time_machine.travel(start, tick=False):
        sign_in("slow@example.org")
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        response = client.post("/sign-in/security-code", data={"code": pyotp.TOTP(secret).now()})
        assert response.headers["Location"].endswith("/sign-in")


def test_change_password_checks_the_current_one_and_the_rules(client, make_user, sign_in, db_session):
    user = make_user(email="change@example.org", name="Jo Bloggs")
    sign_in("change@example.org")
    old_hash = user.password_hash
    cases = [
        ({"current_password": "wrong", "new_password": "a long new passphrase", "confirm_password": "a long new passphrase"}, "Your current password is not right"),
        ({"current_password": "correct horse battery staple", "new_password": "short", "confirm_password": "short"}, "Password must be 12 characters or more"),
        ({"current_password": "correct horse battery staple", "new_password": "password1234", "confirm_password": "password1234"}, "Password is too common"),
        ({"current_password": "correct horse battery staple", "new_password": "bloggs is my family", "confirm_password": "bloggs is my family"}, "must not contain your name"),
        ({"current_password": "correct horse battery staple", "new_password": "a long new passphrase", "confirm_password": "something else"}, "Passwords must match"),
    ]
    for data, message in cases:
        response = client.post("/account/password", data=data)
        assert message in response.text, message
    assert user.password_hash == old_hash
    done = client.post("/account/password", data={"current_password": "correct horse battery staple", "new_password": "a long new passphrase", "confirm_password": "a long new passphrase"}, follow_redirects=True)
    assert "Your password has been changed" in done.text
    client.post("/sign-out")
    assert sign_in("change@example.org", "a long new passphrase").status_code == 302
