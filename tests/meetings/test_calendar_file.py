"""The meeting as an RFC 5545 file: every field read back with the icalendar library, updates and
cancellations, guests only in their own copy, the time zone across the clock change, the download."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from portal.concerns import operations as concern_ops
from portal.concerns.operations import AdultDetails
from portal.core.codes import AbuseType, ConsentToShare
from portal.core.db import utcnow
from portal.extensions import db
from portal.meetings.calendar import ADULTS_HOME_TEXT, CANCEL, PUBLISH, REQUEST, build_calendar
from portal.meetings.models import (
    Attendee,
    GuestRelationship,
    MeetingKind,
    MeetingStatus,
    PlaceKind,
    Reply,
)
from portal.notifications.reminders import london_time

LONDON = ZoneInfo("Europe/London")
ADULT_NAME, ADULT_EMAIL = "Jo Example", "jo.example@home.example"
ADULT_ADDRESS, ADULT_POSTCODE = "12 Larkspur Close, Intelton", "IN1 7QQ"


def parse(ics: bytes):
    calendar = Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def attendees_of(event) -> dict[str, dict]:
    found = event.get("ATTENDEE", [])
    found = found if isinstance(found, list) else [found]
    return {str(a).removeprefix("mailto:"): dict(a.params) for a in found}


@pytest.fixture
def concern_with_address(db_session, intel_world):
    manager = intel_world.users.manager
    manager.membership = manager.active_memberships[0]
    concern = concern_ops.raise_concern(
        area=intel_world.area, raised_by=manager, service=intel_world.home,
        what_happened="Money has gone missing from the adult's room.", abuse_types={AbuseType.FINANCIAL},
        adult=AdultDetails(name=ADULT_NAME, address=ADULT_ADDRESS, postcode=ADULT_POSTCODE),
        consent=ConsentToShare.GIVEN,
    )
    db.session.commit()
    return concern


@pytest.fixture
def adult_meeting(make_meeting, intel_world, concern_with_address):
    """At the adult's home, chaired by the lead, with a police officer invited, a manager who
    accepted, and the adult and their advocate as guests."""
    users = intel_world.users
    meeting = make_meeting(
        kind=MeetingKind.ADULT_SAFEGUARDING, title="Safeguarding meeting", organiser=users.lead,
        invite=[users.manager, users.sab_member], concern=concern_with_address, place_kind=PlaceKind.ADULTS_HOME,
    )
    meeting.purpose = "To agree with Jo's team how to keep money safe."  # a first name only, as the lead wrote it
    by_user = {a.user_id: a for a in meeting.attendees}
    by_user[users.manager.id].reply = Reply.ACCEPTED
    by_user[users.sab_member.id].reply = Reply.TENTATIVE
    adult = Attendee(meeting_id=meeting.id, guest_name=ADULT_NAME, guest_email=ADULT_EMAIL,
                     guest_relationship=GuestRelationship.ADULT, reply=Reply.DECLINED)
    advocate = Attendee(meeting_id=meeting.id, guest_name="Alex Advocate", guest_email="alex@advocacy.example",
                        guest_relationship=GuestRelationship.ADVOCATE)
    db.session.add_all([adult, advocate])
    db.session.commit()
    return meeting


def test_an_invitation_carries_every_field_and_names_guests_only_in_their_own_copy(app, adult_meeting, intel_world):
    users = intel_world.users
    meeting = adult_meeting
    attendee = {a.user_id or a.guest_name: a for a in meeting.attendees}
    manager_copy = build_calendar(meeting, method=REQUEST, for_attendee=attendee[users.manager.id])

    calendar, event = parse(manager_copy)
    assert calendar["VERSION"] == "2.0"
    assert calendar["METHOD"] == "REQUEST"
    assert app.config["SERVICE_NAME"] in calendar["PRODID"]
    assert str(event["UID"]) == meeting.uid
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "CONFIRMED"
    assert event["SUMMARY"] == "Safeguarding meeting"
    assert abs(event["DTSTAMP"].dt - utcnow()) < timedelta(minutes=1) and event["DTSTAMP"].dt.utcoffset() == timedelta(0)
    assert event["DTSTART"].dt == meeting.starts_at and event["DTEND"].dt == meeting.ends_at
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event["LOCATION"] == ADULTS_HOME_TEXT
    assert "URL" not in event
    assert "keep money safe" in event["DESCRIPTION"]
    assert f"{app.config['PUBLIC_URL']}/meetings/{meeting.id}" in event["DESCRIPTION"]
    assert str(event["ORGANIZER"]) == f"mailto:{users.lead.email}"
    assert event["ORGANIZER"].params["CN"] == users.lead.name

    # Everyone with an account, with their answer and role; no guest.
    listed = attendees_of(event)
    assert set(listed) == {users.lead.email, users.manager.email, users.sab_member.email}
    assert listed[users.lead.email] == {"CN": users.lead.name, "CUTYPE": "INDIVIDUAL", "ROLE": "CHAIR",
                                        "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"}
    assert listed[users.manager.email]["ROLE"] == "REQ-PARTICIPANT"
    assert listed[users.manager.email]["PARTSTAT"] == "ACCEPTED"
    assert listed[users.sab_member.email]["PARTSTAT"] == "TENTATIVE"
    for secret in (ADULT_NAME, ADULT_EMAIL, "Alex Advocate", ADULT_ADDRESS, ADULT_POSTCODE, "Larkspur"):
        assert secret.encode() not in manager_copy

    # The time zone the times refer to is in the file, with summer and winter time.
    [timezone] = calendar.walk("VTIMEZONE")
    assert timezone["TZID"] == "Europe/London"
    assert {c.name for c in timezone.subcomponents} == {"STANDARD", "DAYLIGHT"}

    # The adult's own copy names them (and only them among the guests), with no portal link.
    adult_copy = build_calendar(meeting, method=REQUEST, for_attendee=attendee[ADULT_NAME])
    _, event = parse(adult_copy)
    listed = attendees_of(event)
    assert set(listed) == {users.lead.email, users.manager.email, users.sab_member.email, ADULT_EMAIL}
    assert listed[ADULT_EMAIL]["CN"] == ADULT_NAME and listed[ADULT_EMAIL]["PARTSTAT"] == "DECLINED"
    assert event["LOCATION"] == "Your home"
    assert "/meetings/" not in event["DESCRIPTION"] and users.lead.email in event["DESCRIPTION"]
    assert b"Alex Advocate" not in adult_copy and ADULT_ADDRESS.encode() not in adult_copy

    advocate_copy = build_calendar(meeting, method=REQUEST, for_attendee=attendee["Alex Advocate"])
    assert ADULT_NAME.encode() not in advocate_copy and ADULT_EMAIL.encode() not in advocate_copy
    assert parse(advocate_copy)[1]["LOCATION"] == "The adult's home"


def test_updates_keep_the_uid_and_raise_the_sequence_and_cancellations_say_so(make_meeting, intel_world):
    users = intel_world.users
    meeting = make_meeting(invite=[users.manager, users.inspector], place_kind=PlaceKind.ONLINE)
    meeting.online_link = "https://meet.example/quality"
    manager = next(a for a in meeting.attendees if a.user_id == users.manager.id)
    _, first = parse(build_calendar(meeting, method=REQUEST, for_attendee=manager))
    assert first["LOCATION"] == "https://meet.example/quality" and first["URL"] == "https://meet.example/quality"

    meeting.title, meeting.sequence = "Provider quality meeting (moved)", 1
    meeting.starts_at += timedelta(days=1)
    meeting.ends_at += timedelta(days=1)
    _, update = parse(build_calendar(meeting, method=REQUEST, for_attendee=manager))
    assert str(update["UID"]) == str(first["UID"]) == meeting.uid
    assert update["SEQUENCE"] == 1 > first["SEQUENCE"]
    assert update["DTSTART"].dt == first["DTSTART"].dt + timedelta(days=1)

    # Taken off the list: their copy cancels the event and names only them.
    manager.removed_at = utcnow()
    calendar, removal = parse(build_calendar(meeting, method=CANCEL, for_attendee=manager))
    assert calendar["METHOD"] == "CANCEL" and removal["STATUS"] == "CANCELLED"
    assert set(attendees_of(removal)) == {users.manager.email}
    assert str(removal["UID"]) == meeting.uid

    # The whole meeting cancelled: everyone still invited, a higher sequence.
    meeting.status, meeting.sequence = MeetingStatus.CANCELLED, 2
    inspector = next(a for a in meeting.attendees if a.user_id == users.inspector.id)
    calendar, cancelled = parse(build_calendar(meeting, method=CANCEL, for_attendee=inspector))
    assert calendar["METHOD"] == "CANCEL" and cancelled["STATUS"] == "CANCELLED" and cancelled["SEQUENCE"] == 2
    assert set(attendees_of(cancelled)) == {users.council_commissioner.email, users.inspector.email}


@pytest.mark.parametrize(("day", "utc_hour", "offset"), [
    (date(2026, 10, 23), 8, timedelta(hours=1)),  # the Friday before the clocks go back: BST
    (date(2026, 10, 26), 9, timedelta(0)),  # the Monday after: GMT
])
def test_half_past_nine_in_london_either_side_of_the_clock_change(make_meeting, db_session, day, utc_hour, offset):
    starts = london_time(day, time(9, 30))
    meeting = make_meeting(starts_at=starts)
    db_session.expire(meeting)
    assert meeting.starts_at == datetime(day.year, day.month, day.day, utc_hour, 30, tzinfo=UTC)

    ics = build_calendar(meeting, method=PUBLISH)
    assert f"DTSTART;TZID=Europe/London:{day:%Y%m%d}T093000".encode() in ics
    _, event = parse(ics)
    start = event["DTSTART"].dt
    assert (start.hour, start.minute, start.utcoffset()) == (9, 30, offset)
    assert start.astimezone(UTC) == datetime(day.year, day.month, day.day, utc_hour, 30, tzinfo=UTC)
    assert event["DTEND"].dt.astimezone(UTC) == meeting.ends_at


def test_the_time_zone_component_changes_the_clocks_when_the_uk_does(make_meeting):
    """Read as RFC 5545 says (each DTSTART in the offset before the change): a program that uses
    the file's VTIMEZONE rather than its own database changes the clocks at the right instant."""
    calendar, _ = parse(build_calendar(make_meeting(), method=PUBLISH))
    [timezone] = calendar.walk("VTIMEZONE")
    changes = {}
    for part in timezone.subcomponents:
        start = part["DTSTART"].dt - part["TZOFFSETFROM"].td
        rule = rrulestr(part["RRULE"].to_ical().decode(), dtstart=start)
        for instant in rule.between(datetime(2026, 1, 1), datetime(2031, 1, 1)):
            changes[instant.replace(tzinfo=UTC)] = part["TZOFFSETTO"].td
    assert len(changes) == 10
    for instant, offset in changes.items():
        assert (instant - timedelta(seconds=1)).astimezone(LONDON).utcoffset() != offset
        assert instant.astimezone(LONDON).utcoffset() == offset
    assert datetime(2026, 3, 29, 1, tzinfo=UTC) in changes and datetime(2026, 10, 25, 1, tzinfo=UTC) in changes


def test_the_meeting_page_offers_the_file_to_those_who_may_see_the_meeting(
    client, act_as, make_meeting, intel_world, db_session, app,
):
    users = intel_world.users
    meeting = make_meeting(invite=[users.manager])
    db.session.add(Attendee(meeting_id=meeting.id, guest_name="Gail Guest", guest_email="gail@guest.example",
                            guest_relationship=GuestRelationship.OTHER))
    db.session.commit()
    url = f"/meetings/{meeting.id}/calendar.ics"

    assert client.get(url).status_code == 302  # to sign in
    act_as(users.other_manager)
    assert client.get(url).status_code == 404

    act_as(users.manager)
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == f"attachment; filename=meeting-{meeting.id}.ics"
    calendar, event = parse(response.data)
    assert calendar["METHOD"] == "PUBLISH"
    assert str(event["UID"]) == meeting.uid and event["SEQUENCE"] == 0 and event["STATUS"] == "CONFIRMED"
    assert set(attendees_of(event)) == {users.council_commissioner.email, users.manager.email}
    assert b"Gail" not in response.data and b"gail@" not in response.data

    meeting.status, meeting.sequence = MeetingStatus.CANCELLED, 1
    db.session.commit()
    _, event = parse(client.get(url).data)
    assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 1


def test_an_unknown_method_is_refused(make_meeting):
    with pytest.raises(ValueError, match="Unknown calendar method"):
        build_calendar(make_meeting(), method="REFRESH")
