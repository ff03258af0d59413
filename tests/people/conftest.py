"""Fixtures for the people pages: an administrator signed in for their area.

A refused change rolls the session back, as it would in real use; so what a test sets up before a
request is committed (the outer test transaction still discards it afterwards).
"""

from __future__ import annotations

import pytest

from portal.core.codes import AgencyKind, Role


@pytest.fixture
def council(make_agency):
    return make_agency(AgencyKind.LOCAL_AUTHORITY, name="Testshire Council")


@pytest.fixture
def provider(make_agency):
    return make_agency(AgencyKind.CARE_PROVIDER, name="Sunrise Care Ltd")


@pytest.fixture
def admin(make_user, council):
    return make_user(Role.ADMINISTRATOR, agency=council, email="admin@testshire.example.org", name="Alex Admin")


@pytest.fixture
def as_admin(act_as, admin, provider, db_session):
    """The test client, signed in as the area's administrator, with the area's agencies saved."""
    db_session.commit()
    return act_as(admin)


@pytest.fixture
def signed_out(client):
    """Forget whoever the client was signed in as, as a fresh browser would."""

    def sign_out():
        with client.session_transaction() as session:
            session.clear()
        return client

    return sign_out
