"""The administrators' view of the audit trail, with filters."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request
from flask_login import current_user

from portal import policy
from portal.agencies.models import Agency
from portal.audit.models import AuditEvent
from portal.audit.operations import verify_chain
from portal.core.forms import clean_text
from portal.core.pagination import paginate
from portal.core.periods import day_from_query, london_bounds
from portal.extensions import db
from portal.people.models import User
from portal.policy import Capability


@policy.require(Capability.READ_AUDIT)
def list_events():
    query = policy.audit_events_visible_to(current_user)
    filters = {key: clean_text(request.args.get(key, ""), 100) for key in ("action", "person", "object_type", "object_id")}
    if filters["action"]:
        query = query.where(AuditEvent.action.startswith(filters["action"], autoescape=True))
    if filters["person"]:
        people = sa.select(User.id).where(User.email.contains(filters["person"].lower(), autoescape=True))
        query = query.where(AuditEvent.actor_id.in_(people))
    if filters["object_type"]:
        query = query.where(AuditEvent.object_type == filters["object_type"])
    if filters["object_id"]:
        query = query.where(AuditEvent.object_id == filters["object_id"])
    since, until = day_from_query("from"), day_from_query("to")
    start, end = london_bounds(since, until)
    if start:
        query = query.where(AuditEvent.occurred_at >= start)
    if end:
        query = query.where(AuditEvent.occurred_at < end)
    query = query.order_by(AuditEvent.seq.desc())
    page = paginate(query, per_page=50)
    actor_ids = {event.actor_id for event in page.items if event.actor_id}
    agency_ids = {event.agency_id for event in page.items if event.agency_id}
    actors = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(actor_ids)))}
    agencies = {a.id: a for a in db.session.scalars(sa.select(Agency).where(Agency.id.in_(agency_ids)))}
    chain = verify_chain() if request.args.get("verify") else None
    return render_template(
        "audit/list.html", page=page, actors=actors, agencies=agencies, filters=filters, since=since, until=until, chain=chain
    )
