"""Personal-data tasks: the daily redaction of closed concerns past their area's retention."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from workers.celery_app import celery

_DATABASE_ERRORS = (DBAPIError,)


@celery.task(name="workers.tasks.privacy.redact_expired", autoretry_for=_DATABASE_ERRORS,
             retry_backoff=True, retry_backoff_max=600, max_retries=10)
def redact_expired() -> int:
    """Each adult and concern is re-read under a lock and checked before it is redacted, once."""
    from portal.privacy.operations import redact_expired as redact

    return redact()
