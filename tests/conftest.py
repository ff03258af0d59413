"""Shared fixtures: one app and one database per session, each test inside a rolled-back transaction.

The database is SQLite by default, or a fresh PostgreSQL database created under ``DATABASE_URL``
(and dropped afterwards) when that points at a PostgreSQL server. The schema is always built by
the Alembic migrations, never by ``create_all``.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from datetime import date, timedelta

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import g, has_app_context
from flask.testing import FlaskClient
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy.engine import make_url

from config import TestConfig, normalise_database_url
from portal import create_app
from portal.agencies.models import Agency, Area, Commissioning, Service
from portal.agreements.models import Agreement, AgreementCategory, AgreementParty
from portal.auth.passwords import hash_password
from portal.core import pagecache
from portal.core.codes import (
    AgencyKind,
    ControllerArrangement,
    DataCategory,
    LawfulBasis,
    Role,
    ServiceType,
    SpecialCategoryCondition,
)
from portal.core.db import utcnow
from portal.core.session import PlainPortalSession
from portal.extensions import db as _db
from portal.people.models import Membership, User

TEST_PASSWORD = "correct horse battery staple"
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_report_header(config):
    url = os.environ.get("DATABASE_URL", "")
    return f"database: {'PostgreSQL ' + make_url(url).render_as_string(hide_password=True) if url.startswith('postgres') else 'SQLite'}"


@contextmanager
def fresh_database(tmp_path_factory, purpose: str):
    """A database of this run's own, dropped afterwards: on the PostgreSQL server that
    ``DATABASE_URL`` names, or else a SQLite file."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        yield f"sqlite:///{tmp_path_factory.mktemp(purpose) / f'portal-{purpose}.sqlite3'}"
        return
    base_url = make_url(normalise_database_url(base))
    name = f"portal_{purpose}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    with fresh_database(tmp_path_factory, "test") as url:
        yield url


def make_test_config(database_url: str, **overrides) -> TestConfig:
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(make_test_config(database_url))
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def db_session(app):
    """The session every part of the app uses, inside a transaction rolled back after the test."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        # A plain SQLAlchemy Session: Flask-SQLAlchemy's own would pick the engine over this
        # connection and so escape the transaction.
        _db.session = sa.orm.scoped_session(
            sa.orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint", class_=PlainPortalSession),
            scopefunc=_app_ctx_id,
        )
        try:
            yield _db.session
        finally:
            _db.session.remove()
            _db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


class FreshGlobalsClient(FlaskClient):
    """A test client whose requests start with an empty ``g``, as each real request does.

    The tests keep one application context open (it holds the test's database session), and
    Flask would otherwise carry ``g`` (and Flask-Login's cached user) from request to request.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app, db_session):
    # Each test's data is rolled back, and generation numbers with it: no page may outlive its test.
    pagecache.store.clear()
    app.test_client_class = FreshGlobalsClient
    return app.test_client()


# Factories ------------------------------------------------------------------------------------
# Factories commit (inside the test's outer transaction, so it is only a savepoint release): a
# view that rolls back its own failed change must not take the test's fixtures with it.


@pytest.fixture(scope="session")
def password_hash():
    return hash_password(TEST_PASSWORD)


@pytest.fixture
def make_area(db_session):
    def make(name: str | None = None) -> Area:
        area = Area(name=name or f"Area {uuid.uuid4().hex[:6]}")
        db_session.add(area)
        db_session.commit()
        return area

    return make


@pytest.fixture
def area(make_area):
    return make_area("Testshire")


@pytest.fixture
def make_agency(db_session, area):
    def make(kind: AgencyKind = AgencyKind.LOCAL_AUTHORITY, name: str | None = None, area: Area | None = None, **fields) -> Agency:
        agency = Agency(area=area or _default_area(), kind=kind, name=name or f"{kind.label} {uuid.uuid4().hex[:6]}", **fields)
        db_session.add(agency)
        db_session.commit()
        return agency

    def _default_area():
        return area

    return make


@pytest.fixture
def make_service(db_session, make_agency):
    counter = iter(range(10_000))

    def make(provider: Agency | None = None, service_type: ServiceType = ServiceType.DOMICILIARY, **fields) -> Service:
        provider = provider or make_agency(AgencyKind.CARE_PROVIDER)
        number = next(counter)
        values = {
            "name": f"Service {number} of {provider.name}",
            "location_ref": f"1-{uuid.uuid4().int % 10**9:09d}",
            "service_type": service_type,
            "address": f"{number} Test Street",
            "postcode": "NS1 4AB",
            "registered_beds": 20 if service_type.is_care_home else None,
        }
        values.update(fields)
        service = Service(provider=provider, **values)
        db_session.add(service)
        db_session.commit()
        return service

    return make


@pytest.fixture
def make_commissioning(db_session):
    def make(service: Service, commissioner: Agency, starts_on: date | None = None, ends_on: date | None = None) -> Commissioning:
        link = Commissioning(service=service, commissioner=commissioner, starts_on=starts_on or date.today() - timedelta(days=30), ends_on=ends_on)
        db_session.add(link)
        db_session.commit()
        return link

    return make


@pytest.fixture
def make_user(db_session, make_agency, password_hash):
    def make(role: Role | None = Role.SAFEGUARDING_LEAD, agency: Agency | None = None, email: str | None = None, name: str = "Test Person", password: bool = True, **fields) -> User:
        user = User(
            email=email or f"person-{uuid.uuid4().hex[:8]}@example.org",
            name=name,
            password_hash=password_hash if password else None,
            **fields,
        )
        db_session.add(user)
        if role is not None:
            if agency is None:
                kind = next(iter(sorted({k for k in _kinds_for(role)}, key=lambda k: k.name)))
                agency = make_agency(kind)
            db_session.add(Membership(user=user, agency=agency, role=role))
        db_session.commit()
        return user

    return make


def _kinds_for(role: Role):
    from portal.core.codes import ROLE_AGENCY_KINDS

    preferred = {Role.SAB_MEMBER: {AgencyKind.SAB}}
    return preferred.get(role, ROLE_AGENCY_KINDS[role])


@pytest.fixture
def make_agreement(db_session):
    def make(
        parties: list[Agency],
        categories=frozenset({DataCategory.PROVIDER_INTELLIGENCE}),
        starts_on: date | None = None,
        review_on: date | None = None,
        ends_on: date | None = None,
        signed: bool = True,
        **fields,
    ) -> Agreement:
        today = date.today()
        starts_on = starts_on or today - timedelta(days=100)
        agreement = Agreement(
            area_id=parties[0].area_id,
            title=fields.pop("title", "Test agreement"),
            purpose="Testing",
            controllers=ControllerArrangement.SEPARATE,
            lawful_basis=LawfulBasis.PUBLIC_TASK,
            special_category_condition=SpecialCategoryCondition.SUBSTANTIAL_PUBLIC_INTEREST
            if DataCategory.PERSONAL_SAFEGUARDING in categories
            else None,
            retention_months=12,
            starts_on=starts_on,
            review_on=review_on or starts_on + timedelta(days=300),
            ends_on=ends_on or starts_on + timedelta(days=700),
            **fields,
        )
        agreement.category_links = [AgreementCategory(category=c) for c in categories]
        agreement.parties = [
            AgreementParty(agency=a, signatory_name="Signer", signed_on=starts_on - timedelta(days=1) if signed else None)
            for a in parties
        ]
        db_session.add(agreement)
        db_session.commit()
        return agreement

    return make


# Signing in -----------------------------------------------------------------------------------


@pytest.fixture
def act_as(app, client):
    """Put a signed-in session for ``user`` (acting in ``membership``) into the test client.

    Faster than posting the sign-in form; the sign-in tests post the real form.
    """
    from flask_login.utils import _create_identifier

    def act(user: User, membership: Membership | None = None):
        membership = membership or (user.active_memberships[0] if user.active_memberships else None)
        with app.test_request_context(environ_base=client.environ_base):
            identifier = _create_identifier()
        now = utcnow().timestamp()
        with client.session_transaction() as session:
            session.clear()
            session["_user_id"] = str(user.id)
            session["_fresh"] = True
            session["_id"] = identifier
            session["signed_in_at"] = now
            session["last_seen"] = now
            if membership is not None:
                session["membership_id"] = membership.id
        return client

    return act


@pytest.fixture
def sign_in(client):
    """Sign in through the real form."""

    def sign(email: str, password: str = TEST_PASSWORD, follow_redirects: bool = False):
        return client.post("/sign-in", data={"email": email, "password": password}, follow_redirects=follow_redirects)

    return sign

