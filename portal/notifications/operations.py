"""Recording notification intents in the same transaction as the change that causes them."""

from __future__ import annotations

import sqlalchemy as sa

from portal.core.db import utcnow
from portal.extensions import db
from portal.notifications.models import Notification, NotificationEvent


def notify(event: NotificationEvent, concern, recipients, *, actor=None) -> list[Notification]:
    """One notification per recipient (never the person who acted), naming only the reference.

    ``recipients`` must come from the policy layer, so nobody hears about what they may not open.
    """
    seen, created = set(), []
    for user in recipients:
        if user.id in seen or (actor is not None and user.id == actor.id):
            continue
        seen.add(user.id)
        note = Notification(
            recipient_id=user.id, event=event, concern_id=concern.id,
            summary=f"{event.label}: {concern.reference}", created_at=utcnow(),
        )
        db.session.add(note)
        created.append(note)
    return created


def unread_count(user) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
    )


def mark_read(user, notification_ids: list[int] | None = None) -> int:
    """Mark the person's own notifications read (all, or those listed); returns how many changed."""
    query = sa.update(Notification).where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
    if notification_ids is not None:
        query = query.where(Notification.id.in_(notification_ids))
    return db.session.execute(query.values(read_at=utcnow())).rowcount
