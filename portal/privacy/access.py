"""Who has seen or changed an adult's details, read from the audit trail.

Every showing of the adult's details is a ``concern.view_personal`` event on the concern
(``object_type`` "Concern"), and every change an event on the concern or on the adult itself, so
an adult's events are found through the trail's (object_type, object_id) index: the adult's own
id, and the ids of the concerns about them now. A concern linked to a different adult later keeps
its earlier events with it (they are listed under the adult it is about now).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from portal.agencies.models import Agency
from portal.audit.models import AuditEvent
from portal.concerns.models import Adult, Concern
from portal.core.codes import Role
from portal.extensions import db
from portal.people.models import Membership, User

#: The trail's actions that show or change an adult's details, and what the page calls each.
#: (The portal has no export of an adult's details; one added later joins this list as "Exported".)
ACCESS_ACTIONS = {
    "concern.view_personal": "Viewed",
    "concern.raise": "Recorded when the concern was raised",
    "concern.adult": "Changed",
    "concern.link_adult": "Linked to this adult",
    "adult.merge": "Duplicate record merged",
    "privacy.break_glass": "Break glass",
    "privacy.redact": "Redacted under the retention setting",
}


@dataclass(frozen=True)
class Access:
    """One line of the page."""

    when: datetime
    what: str
    who: str
    agency: str
    role: str
    concern: Concern | None


def adult_access_query(adult: Adult, *, person_id: int | None = None, since: datetime | None = None,
                       until: datetime | None = None):
    """The adult's events, newest first, optionally one person's and within a period."""
    concern_ids = [str(i) for i in db.session.scalars(sa.select(Concern.id).where(Concern.adult_id == adult.id))]
    about = sa.and_(AuditEvent.object_type == "Adult", AuditEvent.object_id == str(adult.id))
    if concern_ids:
        about = sa.or_(about, sa.and_(AuditEvent.object_type == "Concern", AuditEvent.object_id.in_(concern_ids)))
    query = sa.select(AuditEvent).where(about, AuditEvent.action.in_(list(ACCESS_ACTIONS)))
    if person_id is not None:
        query = query.where(AuditEvent.actor_id == person_id)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    return query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.seq.desc())


def concerns_of(adult: Adult) -> list[Concern]:
    return list(db.session.scalars(sa.select(Concern).where(Concern.adult_id == adult.id).order_by(Concern.raised_at)))


def people_in_trail(adult: Adult) -> list[User]:
    """Everyone with an event on the adult's record, for the filter."""
    actor_ids = adult_access_query(adult).with_only_columns(AuditEvent.actor_id).order_by(None).distinct()
    return list(db.session.scalars(sa.select(User).where(User.id.in_(actor_ids)).order_by(User.name, User.id)))


def describe(events) -> list[Access]:
    """The page's lines for a page of events: names, agencies and roles loaded once for all."""
    actor_ids = {e.actor_id for e in events if e.actor_id}
    agency_ids = {e.agency_id for e in events if e.agency_id}
    people = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(actor_ids)))}
    agencies = {a.id: a for a in db.session.scalars(sa.select(Agency).where(Agency.id.in_(agency_ids)))}
    roles = {
        (m.user_id, m.agency_id): m.role
        for m in db.session.scalars(sa.select(Membership).where(Membership.user_id.in_(actor_ids)))
    }
    concern_ids = {int(e.object_id) for e in events if e.object_type == "Concern"}
    concerns = {c.id: c for c in db.session.scalars(sa.select(Concern).where(Concern.id.in_(concern_ids)))}
    lines = []
    for event in events:
        details = json.loads(event.details or "{}")
        what = ACCESS_ACTIONS[event.action]
        if event.action == "concern.view_personal" and details.get("break_glass"):
            what = "Viewed under break glass"
        # The role at the time where the event kept it; otherwise the one they hold in that agency.
        role = Role[details["role"]] if details.get("role") in Role.__members__ else roles.get((event.actor_id, event.agency_id))
        actor = people.get(event.actor_id)
        lines.append(Access(
            when=event.occurred_at, what=what,
            who=actor.name if actor else "The portal (scheduled task)",
            agency=agencies[event.agency_id].name if event.agency_id in agencies else "",
            role=role.label if role else "",
            concern=concerns.get(int(event.object_id)) if event.object_type == "Concern" else None,
        ))
    return lines
