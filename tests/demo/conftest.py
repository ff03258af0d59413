"""The demo is seeded once for the whole package, through `flask --app portal seed-demo`, inside a
transaction rolled back when the package is done; each test then runs inside a savepoint of that
transaction, rolled back after it. Seeding takes 10 to 20 seconds: once instead of once per test
file saves about a minute on each database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_sqlalchemy.session import _app_ctx_id

from portal.extensions import db as _db
from tests.conftest import PlainPortalSession


def _bind(connection):
    """Point the portal's session at this connection (its commits become savepoints)."""
    original = _db.session
    _db.session = sa.orm.scoped_session(
        sa.orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint", class_=PlainPortalSession),
        scopefunc=_app_ctx_id,
    )
    return original


@pytest.fixture(scope="package")
def seeded_demo(app):
    """The connection holding the seeded demo, and what the seeding command printed."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _bind(connection)
        try:
            result = app.test_cli_runner().invoke(args=["seed-demo"])
            assert result.exit_code == 0, result.output
            _db.session.remove()
            yield SimpleNamespace(connection=connection, output=result.output)
        finally:
            _db.session.remove()
            _db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.fixture
def db_session(app, seeded_demo):
    """The portal's session on the seeded demo, inside a savepoint rolled back after the test."""
    with app.app_context():
        savepoint = seeded_demo.connection.begin_nested()
        original = _bind(seeded_demo.connection)
        try:
            yield _db.session
        finally:
            _db.session.remove()
            _db.session = original
            if savepoint.is_active:
                savepoint.rollback()
