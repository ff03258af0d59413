"""Helpers shared by the attack tests: undoing what a request changed, and a fingerprint of the data."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager

import sqlalchemy as sa

from portal.extensions import db

#: Tables written by the act of being signed in, not by what a request asked for.
BOOKKEEPING_TABLES = {"user_session"}


@contextmanager
def undone(db_session):
    """Whatever happens inside is rolled back afterwards (a savepoint around the requests)."""
    db_session.commit()
    db_session.close()
    connection = db_session.get_bind()
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        db_session.close()
        if savepoint.is_active:
            savepoint.rollback()


def fingerprint() -> str:
    """Every table's row count and latest change, in one query: equal fingerprints mean nothing was
    added, removed or changed (every changeable row carries ``updated_at``; the audit trail only grows)."""
    parts = []
    for table in db.metadata.sorted_tables:
        if table.name in BOOKKEEPING_TABLES:
            continue
        latest = sa.func.max(table.c.updated_at) if "updated_at" in table.c else sa.null()
        parts.append(sa.select(sa.literal(table.name), sa.func.count(), sa.cast(latest, sa.String)).select_from(table))
    rows = db.session.execute(sa.union_all(*parts)).all()
    return hashlib.sha256(repr(sorted(map(tuple, rows))).encode()).hexdigest()


def signed_in_redirect(response) -> bool:
    """A redirect to the sign-in page: the route needs a signed-in person."""
    return response.status_code == 302 and "/sign-in" in response.headers.get("Location", "") and "next=" in response.headers.get("Location", "")
