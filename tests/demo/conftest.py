"""The demo is seeded once per run, through `flask --app portal seed-demo`, into a database that is
never used itself (``seeded_demo_database`` in tests/conftest.py: the browser tests' portal works on
another copy). This package works on a copy of its own, inside a transaction rolled back when the
package is done; each test then runs inside a savepoint of that transaction, rolled back after it.
Seeding takes 10 to 35 seconds: once per run instead of once per test file (or twice: here and for
the browser tests) saves minutes on each database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from portal import create_app
from portal.extensions import db as _db
from tests.conftest import copy_of_database, make_test_config, session_on


@pytest.fixture(scope="package")
def app(seeded_demo_database, tmp_path_factory):
    """The portal on this package's copy of the seeded demo."""
    with copy_of_database(seeded_demo_database.url, tmp_path_factory, "demo") as url:
        app = create_app(make_test_config(url))
        try:
            yield app
        finally:
            with app.app_context():
                _db.session.remove()
                _db.engine.dispose()


@pytest.fixture(scope="package")
def seeded_demo(app, seeded_demo_database):
    """The connection holding the seeded demo, and what the seeding command printed."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        try:
            yield SimpleNamespace(connection=connection, output=seeded_demo_database.output)
        finally:
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.fixture
def db_session(app, seeded_demo):
    """The portal's session on the seeded demo, inside a savepoint rolled back after the test."""
    with app.app_context():
        savepoint = seeded_demo.connection.begin_nested()
        try:
            with session_on(seeded_demo.connection) as session:
                yield session
        finally:
            if savepoint.is_active:
                savepoint.rollback()
