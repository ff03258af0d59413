"""Meetings tests build on the intelligence area (``intel_world``): a council, an ICB, a regulator,
a Board, the police, two providers with a service each and a person in every role.

``make_meeting`` writes a meeting straight into the tables (not through the scheduling
operation), so tests of packs, minutes, actions and summaries do not depend on scheduling.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from portal.concerns import operations as concern_ops
from portal.concerns.operations import AdultDetails
from portal.core.codes import AbuseType, ConsentToShare
from portal.extensions import db
from portal.meetings.models import AgendaItem, Attendee, Meeting, MeetingKind, MeetingStatus, PlaceKind
from tests.intelligence.conftest import (  # noqa: F401 - fixtures used here
    acting,
    add_item,
    db_session,
    intel_world,
)


@pytest.fixture
def make_meeting(db_session, intel_world):  # noqa: F811 - the fixture imported above
    """A meeting with its organiser, chair and minute-taker invited, more invitees and an agenda.

    ``providers`` become one agenda item each (titled with the provider's name); ``invite`` is a
    list of users, invited in their first role.
    """

    def make(*, kind=MeetingKind.PROVIDER_QUALITY, title="Provider quality meeting", organiser=None, chair=None,
             minute_taker=None, invite=(), providers=(), starts_at=None, hours=2, status=MeetingStatus.SCHEDULED,
             concern=None, series=None, place_kind=PlaceKind.ADDRESS, place="County Hall, Room 4") -> Meeting:
        users = intel_world.users
        organiser = organiser or users.council_commissioner
        chair = chair or organiser
        starts_at = starts_at or datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=7)
        meeting = Meeting(
            uid=f"{uuid.uuid4()}@portal.test", kind=kind, title=title, area_id=intel_world.area.id,
            starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), place_kind=place_kind,
            place=place if place_kind is not PlaceKind.ADULTS_HOME else None, status=status,
            organiser_id=organiser.id, organiser_agency_id=organiser.active_memberships[0].agency_id,
            chair_id=chair.id, minute_taker_id=minute_taker.id if minute_taker else None,
            concern_id=concern.id if concern else None, series=series,
        )
        db.session.add(meeting)
        db.session.flush()
        people = [organiser, chair, minute_taker, *invite]
        seen = set()
        for person in people:
            if person is None or person.id in seen:
                continue
            seen.add(person.id)
            db.session.add(Attendee(meeting_id=meeting.id, user_id=person.id, membership_id=person.active_memberships[0].id))
        for position, provider in enumerate(providers, start=1):
            db.session.add(AgendaItem(meeting_id=meeting.id, position=position, title=provider.name, provider_id=provider.id))
        db.session.add(AgendaItem(meeting_id=meeting.id, position=len(providers) + 1, title="Any other business"))
        db.session.commit()
        db.session.refresh(meeting)
        return meeting

    return make


def raise_adult_concern(world):
    """A concern about an adult at Sunrise House, raised by its manager, with consent to share given."""
    manager = world.users.manager
    manager.membership = manager.active_memberships[0]
    concern = concern_ops.raise_concern(
        area=world.area, raised_by=manager, service=world.home,
        what_happened="Money has gone missing from the adult's room several times.",
        abuse_types={AbuseType.FINANCIAL}, adult=AdultDetails(name="Jo Example"), consent=ConsentToShare.GIVEN,
    )
    db.session.commit()
    return concern


@pytest.fixture
def adult_concern(db_session, intel_world):  # noqa: F811 - the fixture imported above
    """:func:`raise_adult_concern` in the test's world."""
    return raise_adult_concern(intel_world)
