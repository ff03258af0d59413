"""Detecting concurrent edits: a save based on an old version of a record is refused."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy.orm.exc import StaleDataError

from portal.extensions import db

CONFLICT_MESSAGE = (
    "Someone else changed this record after you opened it, so your changes have not been saved. "
    "What you typed is still below: open the record again in a new tab to see their changes."
)


class ConcurrentEditError(Exception):
    """The record changed since the form was filled in."""


def check_version(record, submitted_version: int | None) -> None:
    if submitted_version is None or submitted_version != record.version:
        raise ConcurrentEditError(CONFLICT_MESSAGE)


@contextmanager
def saving():
    """Commit the session, turning a lost version race into :class:`ConcurrentEditError`."""
    try:
        yield
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        raise ConcurrentEditError(CONFLICT_MESSAGE) from exc
