"""Escalation tasks: the periodic move up the ladder of escalations left unanswered past their
stage's grace period. Reminders and breach notices go through the notifications sweep."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from workers.celery_app import celery

_DATABASE_ERRORS = (DBAPIError,)


@celery.task(name="workers.tasks.escalations.escalate_overdue", autoretry_for=_DATABASE_ERRORS,
             retry_backoff=True, retry_backoff_max=600, max_retries=10)
def escalate_overdue() -> int:
    """Each escalation moves once: it is re-read under a lock and checked before it moves."""
    from portal.escalations.operations import escalate_overdue as move_overdue

    return move_overdue()
