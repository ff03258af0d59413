"""Handing work to the Celery workers: after a commit, from the sweep, and for the digest.

With no ``REDIS_URL`` the tasks run eagerly here and now. Either way a failure to hand over is
logged and never undoes the change: the rows are committed, and the sweep will find them.
"""

from __future__ import annotations

from flask import current_app

from portal.extensions import db


def hand_over(intent_ids: list[int]) -> None:
    """Called by the session after a commit that recorded intents."""
    from workers.tasks.notifications import fan_out

    _enqueue(fan_out, intent_ids, "intents")


def send_later(delivery_ids: list[int]) -> None:
    from workers.tasks.notifications import send_emails

    _enqueue(send_emails, delivery_ids, "emails")


def _enqueue(task, ids: list[int], what: str) -> None:
    from portal.notifications.delivery import batches

    for batch in batches(ids):
        try:
            task.delay(batch)
        except Exception:  # noqa: BLE001 - the broker or an eager run failed; the sweep retries
            current_app.logger.exception("Could not hand %s %s to the workers; the sweep will try again", what, batch)
            db.session.rollback()


def run_sweep() -> None:
    """The periodic sweep, handing on whatever it finds."""
    from portal.notifications.delivery import sweep

    found = sweep()
    hand_over(found.intents)
    send_later(found.emails)


def run_digests() -> None:
    from portal.notifications.delivery import build_digests

    send_later(build_digests())
