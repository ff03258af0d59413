"""Recording notification intents with the change that causes them, and a person's own settings."""

from __future__ import annotations

import sqlalchemy as sa

from portal.audit.operations import record
from portal.core.db import utcnow
from portal.core.session import add_to_outbox
from portal.extensions import db
from portal.notifications.models import (
    Notification,
    NotificationEvent,
    NotificationIntent,
    NotificationPreference,
    PreferenceChoice,
)


def record_intent(
    event: NotificationEvent,
    *,
    subject_type: str,
    subject_id: int,
    summary: str,
    link: str,
    recipients,
    actor=None,
    restricted: bool = False,
) -> NotificationIntent | None:
    """Write one intent to the outbox in the current transaction; handed to workers after commit.

    ``recipients`` must come from the policy layer (who may open the subject); the person who
    acted is left out. ``summary`` must name only a reference, never the adult's details.
    """
    ids = sorted({user.id for user in recipients if actor is None or user.id != actor.id})
    if not ids:
        return None
    intent = NotificationIntent(
        event=event, subject_type=subject_type, subject_id=subject_id, summary=summary, link=link,
        actor_id=actor.id if actor is not None else None, recipient_ids=ids, restricted=restricted,
        created_at=utcnow(),
    )
    db.session.add(intent)
    add_to_outbox(db.session, intent)
    return intent


def notify(event: NotificationEvent, concern, recipients, *, actor=None, restricted: bool = False):
    """An intent about a concern, naming only its reference."""
    return record_intent(
        event, subject_type="concern", subject_id=concern.id, summary=f"{event.label}: {concern.reference}",
        link=f"/concerns/{concern.id}", recipients=recipients, actor=actor, restricted=restricted,
    )


# Reading --------------------------------------------------------------------------------------


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


# Preferences ----------------------------------------------------------------------------------


def preferences_of(user_id: int) -> dict[NotificationEvent, PreferenceChoice]:
    """Every event's choice for a person: straight away unless they chose otherwise, and always
    straight away for the events they may not turn off."""
    chosen = dict(
        db.session.execute(
            sa.select(NotificationPreference.event, NotificationPreference.choice).where(NotificationPreference.user_id == user_id)
        ).all()
    )
    return {
        event: PreferenceChoice.IMMEDIATELY if event.mandatory else chosen.get(event, PreferenceChoice.IMMEDIATELY)
        for event in NotificationEvent
    }


def preferences_for(user_ids, event: NotificationEvent) -> dict[int, PreferenceChoice]:
    """One event's choice for many people at once (for fanning out)."""
    if event.mandatory:
        return {}
    return dict(
        db.session.execute(
            sa.select(NotificationPreference.user_id, NotificationPreference.choice).where(
                NotificationPreference.user_id.in_(list(user_ids)), NotificationPreference.event == event
            )
        ).all()
    )


def set_preferences(user, choices: dict[NotificationEvent, PreferenceChoice]) -> list[NotificationEvent]:
    """Save a person's choices; events that must always be sent are refused. Returns what changed."""
    current = preferences_of(user.id)
    changed = []
    for event, choice in choices.items():
        if event.mandatory:
            raise ValueError(f"{event.label} is always sent and cannot be changed")
        if current[event] is choice:
            continue
        row = db.session.scalar(
            sa.select(NotificationPreference).where(NotificationPreference.user_id == user.id, NotificationPreference.event == event)
        )
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, event=event, choice=choice))
        else:
            row.choice = choice
        changed.append(event)
    if changed:
        record(
            "notifications.preferences_changed", f"{user.email} changed how they hear about {len(changed)} kinds of event",
            target=user, details={event.name: choices[event].name for event in changed},
        )
    return changed
