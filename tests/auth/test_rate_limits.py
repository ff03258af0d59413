"""Rate limits per address and per account on sign-in, the security code, password reset,
invitations and the public concern form: a friendly 429 page, Retry-After, audited once per window.

The limits are real (Flask-Limiter with the memory storage the tests run on), lowered for each
test; one test runs against the real Redis, on a database number of this run's own.
"""

from __future__ import annotations

import re
import uuid

import pytest
import redis
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.auth import operations
from portal.auth.password_reset import reset_token
from portal.extensions import limiter
from portal.people import operations as people_operations
from tests.conftest import IN_CI
from tests.redis_claim import claim_redis_database, release_redis_database

WRONG = "not the password at all"
NEW_PASSWORD = "violet tractor harbour"


@pytest.fixture
def limits(app):
    """Set some rate limits for one test, on emptied counters."""
    saved = {}

    def set_limits(**settings):
        for name, value in settings.items():
            saved.setdefault(name, app.config[name])
            app.config[name] = value
        limiter.reset()

    yield set_limits
    app.config.update(saved)
    limiter.reset()


def _from(number: int) -> dict:
    """A request from a different machine each time."""
    return {"environ_base": {"REMOTE_ADDR": f"198.51.100.{number}"}}


def _rate_limited_events(db_session) -> list[dict]:
    import json

    events = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.rate_limited")).all()
    return [json.loads(event.details) for event in events]


def _assert_too_many(response, minutes: int):
    assert response.status_code == 429
    assert f"Too many attempts. Wait {minutes} minutes and try again" in response.text
    assert 0 < int(response.headers["Retry-After"]) <= minutes * 60


def test_one_account_tried_from_many_addresses_is_limited_with_a_friendly_page(client, make_user, limits, db_session):
    make_user(email="target@example.org")
    limits(SIGN_IN_ACCOUNT_RATE_LIMIT="3 per 10 minutes")
    statuses = [client.post("/sign-in", data={"email": "Target@example.org", "password": WRONG}, **_from(n)).status_code for n in range(3)]
    assert statuses == [200, 200, 200]

    limited = client.post("/sign-in", data={"email": "target@example.org", "password": WRONG}, **_from(9))
    _assert_too_many(limited, 10)
    # Another account from the same address is not held back by this one's limit.
    assert client.post("/sign-in", data={"email": "someone@example.org", "password": WRONG}, **_from(9)).status_code == 200


def test_the_limited_page_says_nothing_about_whether_the_account_exists(client, make_user, limits):
    make_user(email="known@example.org")
    limits(SIGN_IN_ACCOUNT_RATE_LIMIT="1 per 10 minutes")
    pages = []
    for email in ("known@example.org", "nobody@example.org"):
        client.post("/sign-in", data={"email": email, "password": WRONG}, **_from(1))
        pages.append(client.post("/sign-in", data={"email": email, "password": WRONG}, **_from(2)))
    assert [page.status_code for page in pages] == [429, 429]
    assert pages[0].text == pages[1].text


def test_each_window_is_audited_once_per_address_and_per_account(client, make_user, limits, db_session):
    make_user(email="target@example.org")
    limits(SIGN_IN_RATE_LIMIT="2 per 10 minutes", SIGN_IN_ACCOUNT_RATE_LIMIT="2 per 10 minutes")
    from_one_address = [client.post("/sign-in", data={"email": f"p{n}@example.org", "password": WRONG}, **_from(1)) for n in range(5)]
    assert [response.status_code for response in from_one_address] == [200, 200, 429, 429, 429]
    events = _rate_limited_events(db_session)
    assert len(events) == 1
    assert events[0] == {"form": "sign-in", "per": "address", "limit": "2 per 10 minute"}

    at_one_account = [client.post("/sign-in", data={"email": "target@example.org", "password": WRONG}, **_from(n)) for n in range(10, 15)]
    assert [response.status_code for response in at_one_account] == [200, 200, 429, 429, 429]
    assert sorted(event["per"] for event in _rate_limited_events(db_session)) == ["account", "address"]


def test_the_security_code_step_is_limited_for_the_person_waiting_for_it(client, make_user, limits, sign_in):
    user = make_user(email="coded@example.org", totp_secret=operations.new_totp_secret())
    limits(SECURITY_CODE_ACCOUNT_RATE_LIMIT="2 per 10 minutes")
    assert sign_in("coded@example.org").headers["Location"].startswith("/sign-in/security-code")
    codes = [client.post("/sign-in/security-code", data={"code": "000000"}, **_from(n)).status_code for n in range(3)]
    assert codes == [200, 200, 429]
    assert user.two_factor_enabled


def test_asking_for_password_reset_links_is_limited_per_address_and_per_account(client, make_user, limits):
    make_user(email="reset@example.org")
    limits(PASSWORD_RESET_ACCOUNT_RATE_LIMIT="2 per hour", PASSWORD_RESET_RATE_LIMIT="3 per hour")
    asks = [client.post("/sign-in/forgot-password", data={"email": "reset@example.org"}, **_from(n)).status_code for n in range(3)]
    assert asks == [200, 200, 429]
    _assert_too_many(client.post("/sign-in/forgot-password", data={"email": "reset@example.org"}, **_from(7)), 60)
    by_address = [client.post("/sign-in/forgot-password", data={"email": f"p{n}@example.org"}, **_from(8)).status_code for n in range(4)]
    assert by_address == [200, 200, 200, 429]


def test_setting_a_password_through_a_reset_link_is_limited_for_the_links_person(app, client, make_user, limits):
    user = make_user(email="linked@example.org")
    limits(PASSWORD_RESET_ACCOUNT_RATE_LIMIT="2 per hour")
    with app.test_request_context():
        path = f"/sign-in/reset-password/{reset_token(user)}"
    mismatched = {"new_password": NEW_PASSWORD, "confirm_password": "something else entirely"}
    statuses = [client.post(path, data=mismatched, **_from(n)).status_code for n in range(3)]
    assert statuses == [200, 200, 429]


def test_invitation_links_are_limited_for_the_invited_person(app, client, make_user, limits, db_session):
    person = make_user(email="invited@example.org", password=False)
    invitation = people_operations.new_invitation(person, invited_by=None)
    db_session.commit()
    limits(INVITATION_ACCOUNT_RATE_LIMIT="2 per 10 minutes")
    with app.test_request_context():
        path = f"/invitation/{people_operations.invitation_token(invitation)}"
    mismatched = {"new_password": NEW_PASSWORD, "confirm_password": "something else entirely"}
    statuses = [client.post(path, data=mismatched, **_from(n)).status_code for n in range(3)]
    assert statuses == [200, 200, 429]


def test_the_public_form_is_limited_per_reporter_email_from_any_address(client, area, limits):
    limits(PUBLIC_REPORT_EMAIL_RATE_LIMIT="1 per hour")
    report = {"area": str(area.id), "what_happened": "", "reporter_contact": "Alex@Example.org"}
    assert client.post("/report-a-concern", data=report, **_from(1)).status_code == 200
    limited = client.post("/report-a-concern", data={**report, "reporter_contact": "alex@example.org "}, **_from(2))
    assert limited.status_code == 429
    assert "call 999" in limited.text
    # A phone number is not an email: only the address limit applies.
    phone = {**report, "reporter_contact": "07700 900123"}
    assert [client.post("/report-a-concern", data=phone, **_from(3)).status_code for _ in range(2)] == [200, 200]


@pytest.fixture
def redis_storage(app):
    """The limiter's counters in a Redis database of this run's own, for one test."""
    probe = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2)
    try:
        probe.ping()
    except redis.RedisError as exc:
        message = f"Redis at 127.0.0.1:6379 cannot be reached ({exc}); start it (see /work/shared/RECIPES.md)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip("!" * 10 + " REDIS RATE-LIMIT TEST SKIPPED: " + message)
    finally:
        probe.close()
    token = uuid.uuid4().hex
    database = claim_redis_database("127.0.0.1", 6379, token)
    if database is None:
        pytest.fail("every Redis database 1-15 is claimed by another test run")
    number = database.connection_pool.connection_kwargs["db"]
    saved = app.config["RATELIMIT_STORAGE_URI"]
    app.config["RATELIMIT_STORAGE_URI"] = f"redis://127.0.0.1:6379/{number}"
    limiter.init_app(app)
    try:
        yield database
    finally:
        app.config["RATELIMIT_STORAGE_URI"] = saved
        limiter.init_app(app)
        release_redis_database(database, token)


def test_the_limits_are_kept_in_redis_when_it_is_configured(client, make_user, limits, redis_storage):
    make_user(email="shared@example.org")
    limits(SIGN_IN_ACCOUNT_RATE_LIMIT="2 per 10 minutes")
    statuses = [client.post("/sign-in", data={"email": "shared@example.org", "password": WRONG}, **_from(n)).status_code for n in range(3)]
    assert statuses == [200, 200, 429]
    keys = [key.decode() for key in redis_storage.keys("*")]
    assert any(re.search(r"account:shared@example\.org", key) for key in keys), keys
