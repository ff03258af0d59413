"""Reminders other modules register: 'remind this person about this at that time'.

Times are aware datetimes, or naive ones meaning the wall clock in England (Europe/London), so
'9am on the day' stays 9am across the clock changes. A reminder fires once, through the same
outbox as any other notification, so the policy layer decides again whether the person may
still open what it is about.
"""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa

from portal.core.db import utcnow
from portal.core.workdays import LONDON
from portal.extensions import db
from portal.notifications.models import NotificationEvent, Reminder
from portal.notifications.operations import record_intent


def london_time(day: date, at: time) -> datetime:
    """A wall-clock time in England on a day, as an aware datetime.

    In the hour the clocks go forward a time that does not exist is taken as the same time in
    winter time (so 01:30 becomes 02:30 BST); in the hour that repeats, the first one is taken.
    """
    return datetime.combine(day, at).replace(tzinfo=LONDON, fold=0)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=LONDON, fold=0)


def schedule_reminder(
    key: str,
    *,
    recipient,
    at: datetime,
    event: NotificationEvent,
    subject_type: str,
    subject_id: int,
    summary: str,
    link: str,
) -> Reminder:
    """Register (or move) the reminder called ``key``; it fires once at ``at``.

    Scheduling a key again before it fires replaces its time and text; after it has fired, a new
    reminder under the same key is armed again.
    """
    reminder = db.session.scalar(sa.select(Reminder).where(Reminder.key == key))
    if reminder is None:
        reminder = Reminder(key=key)
        db.session.add(reminder)
    reminder.recipient_id = recipient.id
    reminder.due_at = _aware(at)
    reminder.event = event
    reminder.subject_type = subject_type
    reminder.subject_id = subject_id
    reminder.summary = summary
    reminder.link = link
    reminder.fired_at = None
    reminder.cancelled_at = None
    return reminder


def cancel_reminders(key_prefix: str) -> int:
    """Cancel reminders not yet fired whose key starts with ``key_prefix``; returns how many."""
    escaped = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return db.session.execute(
        sa.update(Reminder)
        .where(Reminder.key.like(f"{escaped}%", escape="\\"), Reminder.fired_at.is_(None), Reminder.cancelled_at.is_(None))
        .values(cancelled_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount


def fire_due_reminders(now: datetime | None = None, limit: int = 500) -> int:
    """Turn reminders that have come due into notification intents (committed); returns how many."""
    now = now or utcnow()
    due = sa.select(Reminder.id).where(Reminder.due_at <= now, Reminder.fired_at.is_(None), Reminder.cancelled_at.is_(None))
    claimed = db.session.scalars(
        sa.update(Reminder)
        .where(Reminder.id.in_(due.order_by(Reminder.due_at).limit(limit).scalar_subquery()),
               Reminder.fired_at.is_(None), Reminder.cancelled_at.is_(None))
        .values(fired_at=now)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        db.session.commit()
        return 0
    from portal.people.models import User

    reminders = db.session.scalars(sa.select(Reminder).where(Reminder.id.in_(claimed))).all()
    people = {user.id: user for user in db.session.scalars(sa.select(User).where(User.id.in_({r.recipient_id for r in reminders})))}
    for reminder in reminders:
        record_intent(
            reminder.event, subject_type=reminder.subject_type, subject_id=reminder.subject_id,
            summary=reminder.summary, link=reminder.link, recipients=[people[reminder.recipient_id]],
        )
    db.session.commit()
    return len(claimed)
