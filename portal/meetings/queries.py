"""Questions about meetings that several parts ask (which meetings came before this one), and how
the pages that show a whole meeting load it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.meetings.models import AgendaItem, Attendee, Meeting, MeetingStatus, MinuteAmendment
from portal.people.models import Membership

#: Loader options for pages that show a meeting's people and agenda with its minutes: a few
#: queries in all instead of some for each attendee and each item.
WITH_PEOPLE_AND_MINUTES = (
    selectinload(Meeting.attendees).joinedload(Attendee.user),
    selectinload(Meeting.attendees).joinedload(Attendee.membership).joinedload(Membership.agency),
    selectinload(Meeting.agenda).selectinload(AgendaItem.minute),
    selectinload(Meeting.agenda).selectinload(AgendaItem.amendments).joinedload(MinuteAmendment.made_by),
)


def earlier_meetings(meeting: Meeting):
    """The earlier meetings this one follows on from (a query of meetings), or None for none.

    In a series, the earlier meetings of the series. Otherwise those about the same adult's
    concern; otherwise those of the same kind in the area with a provider in common on the agenda.
    Cancelled meetings never count.
    """
    earlier = sa.select(Meeting).where(
        Meeting.id != meeting.id,
        Meeting.starts_at < meeting.starts_at,
        Meeting.status != MeetingStatus.CANCELLED,
    )
    if meeting.series_id is not None:
        return earlier.where(Meeting.series_id == meeting.series_id)
    if meeting.concern_id is not None:
        return earlier.where(Meeting.concern_id == meeting.concern_id)
    providers = {item.provider_id for item in meeting.agenda if item.provider_id is not None}
    if not providers:
        return None
    shared = sa.select(AgendaItem.meeting_id).where(AgendaItem.provider_id.in_(providers))
    return earlier.where(Meeting.kind == meeting.kind, Meeting.area_id == meeting.area_id, Meeting.id.in_(shared))


def previous_meeting(meeting: Meeting) -> Meeting | None:
    """The latest of :func:`earlier_meetings`: what this meeting's pack covers since."""
    earlier = earlier_meetings(meeting)
    if earlier is None:
        return None
    return db.session.scalars(earlier.order_by(Meeting.starts_at.desc()).limit(1)).first()
