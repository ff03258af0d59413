"""Notification tasks: thin wrappers over ``portal.notifications`` that take ids only.

Late acknowledgement (set for every task) means a task lost with its worker runs again; the
claims inside each operation make a second run harmless.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from workers.celery_app import celery, is_eager

# A database that is down or locked is worth waiting for; anything else is recorded on the rows.
_DATABASE_ERRORS = (DBAPIError,)


@celery.task(name="workers.tasks.notifications.fan_out", autoretry_for=_DATABASE_ERRORS, retry_backoff=True,
             retry_backoff_max=600, max_retries=10)
def fan_out(intent_ids: list[int]) -> int:
    from portal.notifications.delivery import batches, send_deliveries
    from portal.notifications.delivery import fan_out as fan_out_intents
    from portal.notifications.dispatch import send_later

    emails = fan_out_intents(intent_ids)
    if is_eager():
        send_later(emails)
        return len(emails)
    # The emails just made are sent here and now: a second task for each would only wait in the
    # queue. Those that meet a transient error go on as send_emails tasks with their backoff.
    for batch in batches(emails):
        retry = send_deliveries(batch)
        if retry is not None:
            send_emails.apply_async(args=[retry.ids], countdown=retry.seconds)
    return len(emails)


# No cap on retries here: each email counts its own attempts (DELIVERY_MAX_ATTEMPTS) and fails
# itself after the last; a database that stays down is waited for, with backoff up to 10 minutes.
@celery.task(bind=True, name="workers.tasks.notifications.send_emails", autoretry_for=_DATABASE_ERRORS,
             retry_backoff=True, retry_backoff_max=600, max_retries=None)
def send_emails(self, delivery_ids: list[int]) -> None:
    from portal.notifications.delivery import send_deliveries

    retry = send_deliveries(delivery_ids)
    if retry is not None and not is_eager():
        # The rows already say when to try again; the sweep would also find them.
        raise self.retry(args=[retry.ids], countdown=retry.seconds)


@celery.task(name="workers.tasks.notifications.sweep", autoretry_for=_DATABASE_ERRORS, max_retries=3)
def sweep() -> None:
    from portal.notifications.dispatch import run_sweep

    run_sweep()


@celery.task(name="workers.tasks.notifications.send_digests", autoretry_for=_DATABASE_ERRORS, retry_backoff=True,
             max_retries=10)
def send_digests() -> None:
    from portal.notifications.dispatch import run_digests

    run_digests()


@celery.task(name="workers.tasks.notifications.ping")
def ping() -> str:
    """A no-op, for the health line and for measuring a bare task drain."""
    return "pong"
