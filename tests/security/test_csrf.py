"""Every state-changing route refuses a form that did not come from the person's own session.

The suite's settings turn CSRF protection off (so other tests can post plainly); here it is on.
The routes come from the URL map: a new POST (or PUT, PATCH, DELETE) route is attacked as soon as
it exists, and fails here unless it refuses forged requests.
"""

from __future__ import annotations

import re

import pytest
from flask_wtf.csrf import generate_csrf

from tests.security import routes
from tests.security.conftest import ROLES
from tests.security.helpers import fingerprint, signed_in_redirect, undone

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
REFUSAL = "did not come from this service"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
#: Who tries each route, most likely first; None is nobody signed in (the public forms).
CANDIDATES = ["SAFEGUARDING_LEAD", "COMMISSIONER", "ADMINISTRATOR", "PROVIDER_MANAGER", "INSPECTOR", "SAB_CHAIR",
              "PROVIDER_STAFF", "SAB_MEMBER", "COUNCIL_COMMISSIONER", None]
assert set(ROLES) <= set(CANDIDATES)
#: Routes nobody in the world may use, tried as someone who sees their object (the token is checked first).
#: The Board's chair writes a mediation note only at the ladder's last stage, which the world never reaches.
SEEN_NOT_USED = {"escalations.mediation_note": "SAB_CHAIR"}


def _state_changing_rules(app):
    return [(rule, method) for rule in routes.rules(app) for method in STATE_CHANGING if method in rule.methods]


def _own_token(client) -> str:
    """The form token of the client's own session, as a page would carry it."""
    with client.session_transaction() as session:
        signed_in = "_user_id" in session
    page = client.get("/account/password" if signed_in else "/report-a-concern")
    return TOKEN.search(page.text).group(1)


def _token_of_another_session(app) -> str:
    """A well-signed token of a session that is not the client's (a context of its own: ``g`` caches tokens)."""
    with app.app_context(), app.test_request_context():
        return generate_csrf()


def _who_may_use(rule, method, url, world, client, sign_in_as, db_session):
    """The first person for whom the route, posted with CSRF protection off, is not refused."""
    for candidate in CANDIDATES:
        with undone(db_session):
            if candidate is None:
                with client.session_transaction() as session:
                    session.clear()
            else:
                sign_in_as(world.users[candidate])
            response = client.open(url, method=method, data={})
        if response.status_code not in (403, 404, 405) and not signed_in_redirect(response):
            return candidate
    return "nobody"


def test_every_state_changing_route_refuses_a_missing_or_foreign_token(app, world, client, sign_in_as, db_session, monkeypatch):
    refused_badly, unusable = [], []
    for rule, method in _state_changing_rules(app):
        url = routes.url(rule, world.ids)
        monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
        actor = SEEN_NOT_USED.get(rule.endpoint) or _who_may_use(rule, method, url, world, client, sign_in_as, db_session)
        if actor == "nobody":
            unusable.append(f"{method} {url}")
            continue
        monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
        with undone(db_session):
            with client.session_transaction() as session:
                session.clear()
            if actor is not None:
                sign_in_as(world.users[actor])
            own = _own_token(client)
            before = fingerprint()
            for label, data in (("no token", {}), ("another session's token", {"csrf_token": _token_of_another_session(app)})):
                response = client.open(url, method=method, data=data)
                if response.status_code != 400 or REFUSAL not in response.text:
                    refused_badly.append(f"{method} {url} as {actor or 'anonymous'} with {label}: {response.status_code}")
            if fingerprint() != before:
                refused_badly.append(f"{method} {url} as {actor or 'anonymous'}: a refused request changed data")
            # The control: with the session's own token the same request is not refused for its token.
            control = client.open(url, method=method, data={"csrf_token": own})
            if control.status_code == 400 and REFUSAL in control.text:
                refused_badly.append(f"{method} {url} as {actor or 'anonymous'}: refused even with its own token")
    assert not unusable, "No person in the world may use these routes (add what they need to tests/security/conftest.py):\n" + "\n".join(unusable)
    assert not refused_badly, "\n".join(refused_badly)


@pytest.mark.parametrize("path", ["/sign-out", "/report-a-concern"])
def test_sign_out_and_the_public_form_are_among_the_routes_checked(app, path):
    checked = {rule.rule for rule, _ in _state_changing_rules(app)}
    assert path in checked
