"""Intelligence tasks: the nightly refresh of risk signals and large imports, by id."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from workers.celery_app import celery

_DATABASE_ERRORS = (DBAPIError,)


@celery.task(name="workers.tasks.intelligence.refresh_risk_signals", autoretry_for=_DATABASE_ERRORS,
             retry_backoff=True, retry_backoff_max=600, max_retries=10)
def refresh_risk_signals() -> int:
    """Every service's risk signal for today: time decay moves scores even when nothing is added."""
    from portal.intelligence.operations import refresh_outdated_signals

    return refresh_outdated_signals()
