"""Shared fixtures: one app and one database per session, each test inside a rolled-back transaction.

The database is SQLite by default, or a fresh PostgreSQL database created under ``DATABASE_URL``
(and dropped afterwards) when that points at a PostgreSQL server. The schema is always built by
the Alembic migrations, never by ``create_all``.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta
from types import SimpleNamespace

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
from portal.auth.oidc import forget_form_action_origins
from portal.auth.operations import open_session_row
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


@contextmanager
def copy_of_database(url: str, tmp_path_factory, purpose: str):
    """A copy of the database at ``url`` (which nobody may be connected to), dropped afterwards:
    ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL, a copy of the file on SQLite."""
    source = make_url(url)
    if not url.startswith("postgres"):
        copy = tmp_path_factory.mktemp(purpose) / f"portal-{purpose}.sqlite3"
        shutil.copyfile(source.database, copy)
        yield f"sqlite:///{copy}"
        return
    name = f"portal_{purpose}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"')
    try:
        yield source.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@pytest.fixture(scope="session")
def seeded_demo_database(tmp_path_factory):
    """A database with the demo loaded by ``flask --app portal seed-demo``, made once per run and never
    used itself: the browser tests' portal and tests/demo each work on a copy (``copy_of_database``).
    Seeding takes 10 to 35 s; ``output`` is what the command printed."""
    import workers.celery_app as celery_app

    with fresh_database(tmp_path_factory, "demo_template") as url:
        # Celery's eager tasks run in the first app made: never this one, which is put away at once.
        previous_flask_app = celery_app._flask_app
        app = create_app(make_test_config(url))
        celery_app._flask_app = previous_flask_app
        with app.app_context():
            flask_migrate.upgrade()
            result = app.test_cli_runner().invoke(args=["seed-demo"])
            assert result.exit_code == 0, result.output
            _db.session.remove()
            _db.engine.dispose()
        yield SimpleNamespace(url=url, output=result.output)


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


@contextmanager
def session_on(connection):
    """Point the portal's session at ``connection`` for a while: its commits become savepoint releases
    inside the transaction the connection is already in, so nothing escapes it."""
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


@pytest.fixture
def db_session(app):
    """The session every part of the app uses, inside a transaction rolled back after the test."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        try:
            with session_on(connection) as session:
                yield session
        finally:
            if transaction.is_active:
                transaction.rollback()
            connection.close()


# Worlds built once per module -------------------------------------------------------------------
# Building a partnership (areas, agencies, a dozen people, agreements, escalations...) through the
# real operations costs 0.2 to 3 s. A world registered with ``register_world`` is built once per
# module that uses it, in a savepoint of a transaction that lasts the module (``module_worlds``);
# each test then runs in a savepoint inside it, rolled back after the test, and gets the world's
# objects loaded in its own session. A test that asks for no world, or for another, first has the
# world rolled back, so it sees exactly what it would have seen with a world built for it alone.
# (One connection for the whole module: SQLite lets only one connection write at a time.)
# A directory opts in with ``db_session = world_db_session`` in its conftest.

#: World name -> (the fixtures it provides, how to build it: ``build(factories)`` -> {fixture: part}).
WORLDS: dict[str, tuple[frozenset[str], Callable]] = {}


def register_world(name: str, parts: tuple[str, ...], build: Callable) -> None:
    """Register a world providing the fixtures ``parts`` (each then returns ``world_part(...)``).

    ``build`` may return more parts than ``parts``: fixtures that take them from the world when
    there is one (``module_worlds.part_if_any``) and otherwise make their own.
    """
    WORLDS[name] = (frozenset(parts), build)


def world_for(fixturenames) -> str | None:
    """The smallest registered world that provides every world fixture a test asks for."""
    wanted = {name for name in fixturenames if any(name in parts for parts, _ in WORLDS.values())}
    if not wanted:
        return None
    fitting = [(len(parts), name) for name, (parts, _) in WORLDS.items() if wanted <= parts]
    if not fitting:
        raise LookupError(f"no registered world provides all of {sorted(wanted)}")
    return min(fitting)[1]


class ModuleWorlds:
    """The module's connection, in a transaction, and the world built in it for the test at hand."""

    def __init__(self, app, connection, password_hash: str):
        self.app, self.connection, self.password_hash = app, connection, password_hash
        self.name: str | None = None
        self.world: SharedWorld | None = None
        self._savepoint = None

    def select(self, name: str | None) -> None:
        """Make ``name`` the world in the connection, rolling back another one first."""
        if name == self.name:
            return
        if self._savepoint is not None and self._savepoint.is_active:
            self._savepoint.rollback()
        self.name, self.world, self._savepoint = None, None, None
        if name is None:
            return
        self._savepoint = self.connection.begin_nested()
        with self.app.app_context(), session_on(self.connection) as session:
            self.world = SharedWorld(WORLDS[name][1](Factories(session, self.password_hash)))
            session.commit()
        self.name = name

    def part(self, fixture: str, session):
        if self.world is None:
            raise RuntimeError(f"{fixture} is part of a shared world: this directory's conftest must say "
                               "`db_session = world_db_session` (tests/conftest.py)")
        return self.world.load(session)[fixture]

    def part_if_any(self, fixture: str, session):
        """The world's part ``fixture`` when the test has a world with one, else None."""
        return self.world.load(session).get(fixture) if self.world is not None else None


@pytest.fixture(scope="module")
def module_worlds(app, password_hash):
    with app.app_context():
        connection = _db.engine.connect()
    transaction = connection.begin()
    try:
        yield ModuleWorlds(app, connection, password_hash)
    finally:
        if transaction.is_active:
            transaction.rollback()
        connection.close()


@pytest.fixture
def world_db_session(app, module_worlds, request):
    """``db_session`` for a directory with shared worlds: a savepoint on top of the world the test asks for."""
    module_worlds.select(world_for(request.fixturenames))
    with app.app_context():
        savepoint = module_worlds.connection.begin_nested()
        try:
            with session_on(module_worlds.connection) as session:
                yield session
        finally:
            if savepoint.is_active:
                savepoint.rollback()


def world_part(name: str):
    """A fixture returning the part ``name`` of the test's shared world, loaded in its session."""

    @pytest.fixture(name=name)
    def part(db_session, module_worlds):
        return module_worlds.part(name, db_session)

    part.__doc__ = f"The shared world's ``{name}`` (see tests/conftest.py, register_world)."
    return part


def pytest_collection_modifyitems(items):
    """Within each module, run together the tests of each shared world, so that each is built once."""
    start = 0
    while start < len(items):
        end = start
        while end < len(items) and items[end].parent is items[start].parent:
            end += 1
        block = items[start:end]
        first: dict[str | None, int] = {}
        for index, item in enumerate(block):
            first.setdefault(world_for(getattr(item, "fixturenames", ())), index)
        block.sort(key=lambda item: first[world_for(getattr(item, "fixturenames", ()))])
        items[start:end] = block
        start = end


class SharedWorld:
    """A world built once, handed to each test as the same structure of objects loaded in its own session.

    The structure may nest namespaces, dataclasses, dicts, lists and tuples; mapped objects in it are
    remembered by class and primary key, and a person's ``membership`` (the role they act in) with them.
    """

    def __init__(self, world):
        self._shape = self._remember(world, {})

    def load(self, session):
        return self._load(self._shape, session, {})

    @classmethod
    def _remember(cls, value, seen: dict):
        """The value's shape; a container met twice has one shape, so it is loaded as one object."""
        if id(value) in seen:
            return seen[id(value)]
        if isinstance(value, SimpleNamespace):
            shape = seen[id(value)] = ["namespace", {}]
            shape[1].update({key: cls._remember(item, seen) for key, item in vars(value).items()})
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            shape = seen[id(value)] = ["dataclass", {}, type(value)]
            shape[1].update({f.name: cls._remember(getattr(value, f.name), seen) for f in dataclasses.fields(value)})
        elif isinstance(value, dict):
            shape = seen[id(value)] = ["dict", {}]
            shape[1].update({key: cls._remember(item, seen) for key, item in value.items()})
        elif isinstance(value, (list, tuple)):
            shape = [type(value).__name__, [cls._remember(item, seen) for item in value]]
        elif isinstance(state := sa.inspect(value, raiseerr=False), sa.orm.InstanceState):
            membership = value.__dict__.get("membership")
            shape = ["mapped", type(value), state.identity,
                     cls._remember(membership, seen) if membership is not None else None]
        else:
            shape = ["value", value]
        return shape

    @classmethod
    def _load(cls, shape, session, loaded: dict):
        if id(shape) in loaded:
            return loaded[id(shape)]
        kind = shape[0]
        if kind == "namespace":
            value = loaded[id(shape)] = SimpleNamespace()
            vars(value).update({key: cls._load(item, session, loaded) for key, item in shape[1].items()})
        elif kind == "dataclass":
            value = loaded[id(shape)] = shape[2](**{key: cls._load(item, session, loaded) for key, item in shape[1].items()})
        elif kind == "dict":
            value = loaded[id(shape)] = {}
            value.update({key: cls._load(item, session, loaded) for key, item in shape[1].items()})
        elif kind in ("list", "tuple"):
            items = [cls._load(item, session, loaded) for item in shape[1]]
            value = items if kind == "list" else tuple(items)
        elif kind == "mapped":
            _, model, identity, membership = shape
            value = loaded[id(shape)] = session.get(model, identity)
            if membership is not None:
                value.membership = cls._load(membership, session, loaded)
        else:
            value = shape[1]
        return value


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
    # Each test's data is rolled back, and generation numbers with it: no page may outlive its test,
    # nor the identity providers' origins remembered for the Content-Security-Policy.
    pagecache.store.clear()
    forget_form_action_origins()
    app.test_client_class = FreshGlobalsClient
    return app.test_client()


# Factories ------------------------------------------------------------------------------------
# Factories commit (inside the test's outer transaction, so it is only a savepoint release): a
# view that rolls back its own failed change must not take the test's fixtures with it.


@pytest.fixture(scope="session")
def password_hash():
    return hash_password(TEST_PASSWORD)


#: Numbers for services' names, unique across the run (a shared world and its tests both make services).
_service_numbers = itertools.count()


class Factories:
    """The factories the ``make_*`` fixtures hand out, on a given session: a test's, or a shared world's.

    ``default_area`` is the area of agencies made without one (the ``area`` fixture in a test; made
    on first use in a shared world).
    """

    def __init__(self, session, password_hash: str, default_area: Area | None = None):
        self.session = session
        self.password_hash = password_hash
        self._default_area = default_area

    def _save(self, instance):
        self.session.add(instance)
        self.session.commit()
        return instance

    def area(self, name: str | None = None) -> Area:
        return self._save(Area(name=name or f"Area {uuid.uuid4().hex[:6]}"))

    def agency(self, kind: AgencyKind = AgencyKind.LOCAL_AUTHORITY, name: str | None = None, area: Area | None = None,
               **fields) -> Agency:
        if area is None:
            self._default_area = self._default_area or self.area("Testshire")
            area = self._default_area
        return self._save(Agency(area=area, kind=kind, name=name or f"{kind.label} {uuid.uuid4().hex[:6]}", **fields))

    def service(self, provider: Agency | None = None, service_type: ServiceType = ServiceType.DOMICILIARY,
                **fields) -> Service:
        provider = provider or self.agency(AgencyKind.CARE_PROVIDER)
        number = next(_service_numbers)
        values = {
            "name": f"Service {number} of {provider.name}",
            "location_ref": f"1-{uuid.uuid4().int % 10**9:09d}",
            "service_type": service_type,
            "address": f"{number} Test Street",
            "postcode": "NS1 4AB",
            "registered_beds": 20 if service_type.is_care_home else None,
        }
        values.update(fields)
        return self._save(Service(provider=provider, **values))

    def commissioning(self, service: Service, commissioner: Agency, starts_on: date | None = None,
                      ends_on: date | None = None) -> Commissioning:
        return self._save(Commissioning(service=service, commissioner=commissioner,
                                        starts_on=starts_on or date.today() - timedelta(days=30), ends_on=ends_on))

    def user(self, role: Role | None = Role.SAFEGUARDING_LEAD, agency: Agency | None = None, email: str | None = None,
             name: str = "Test Person", password: bool = True, **fields) -> User:
        user = User(
            email=email or f"person-{uuid.uuid4().hex[:8]}@example.org",
            name=name,
            password_hash=self.password_hash if password else None,
            **fields,
        )
        self.session.add(user)
        if role is not None:
            if agency is None:
                kind = next(iter(sorted({k for k in _kinds_for(role)}, key=lambda k: k.name)))
                agency = self.agency(kind)
            self.session.add(Membership(user=user, agency=agency, role=role))
        self.session.commit()
        return user

    def agreement(
        self,
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
        return self._save(agreement)


def _kinds_for(role: Role):
    from portal.core.codes import ROLE_AGENCY_KINDS

    preferred = {Role.SAB_MEMBER: {AgencyKind.SAB}}
    return preferred.get(role, ROLE_AGENCY_KINDS[role])


@pytest.fixture
def make_area(db_session, password_hash):
    return Factories(db_session, password_hash).area


@pytest.fixture
def area(make_area):
    return make_area("Testshire")


@pytest.fixture
def factories(db_session, password_hash, area):
    """The factories of this test: agencies made without an area are in ``area`` (Testshire)."""
    return Factories(db_session, password_hash, default_area=area)


@pytest.fixture
def make_agency(factories):
    return factories.agency


@pytest.fixture
def make_service(factories):
    return factories.service


@pytest.fixture
def make_commissioning(db_session, password_hash):
    return Factories(db_session, password_hash).commissioning


@pytest.fixture
def make_user(factories):
    return factories.user


@pytest.fixture
def make_agreement(db_session, password_hash):
    return Factories(db_session, password_hash).agreement


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
        session_id = open_session_row(user)  # the live session the portal checks on each request
        _db.session.commit()
        with client.session_transaction() as session:
            session.clear()
            session["_user_id"] = str(user.id)
            session["_fresh"] = True
            session["_id"] = identifier
            session["session_id"] = session_id
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

