"""Invitations as RFC 5545 calendar files, and the emails that carry them (RFC 6047).

One meeting keeps one UID for life; its SEQUENCE goes up with each change attendees' calendars
must take, so a calendar program replaces the event instead of adding a second one. Each
attendee gets their own email with their own copy of the file: guests without a portal account
(the adult, their advocate) appear only in their own copy, so the adult's name and email address
are never sent to the professionals. No copy carries the adult's address or other personal
details: a meeting at the adult's home says only that.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app, render_template
from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress

from portal.core.db import utcnow
from portal.core.templating import LONDON, format_date, format_datetime
from portal.extensions import db
from portal.meetings.models import Attendee, GuestRelationship, Meeting, MeetingStatus, PlaceKind, Reply
from portal.notifications.backends import MimePart, OutgoingEmail
from portal.notifications.delivery import NotWorthSending, portal_link, register_renderer
from portal.notifications.models import DeliveryKind, DeliveryState, EmailDelivery

REQUEST, CANCEL, PUBLISH = "REQUEST", "CANCEL", "PUBLISH"
METHODS = (REQUEST, CANCEL, PUBLISH)

ADULTS_HOME_TEXT = "The adult's home (the address is held in the portal)"

_PARTSTAT = {
    Reply.NEEDS_ACTION: "NEEDS-ACTION",
    Reply.ACCEPTED: "ACCEPTED",
    Reply.TENTATIVE: "TENTATIVE",
    Reply.DECLINED: "DECLINED",
}

#: ``meeting-<id>-attendee-<id>-seq<N>-request`` (or ``-cancel``), with ``-2``, ``-3`` for a
#: later email in a state seen before (someone taken off the list and invited again).
_KEY = re.compile(r"-seq(?P<sequence>\d+)-(?P<method>request|cancel)(?:-\d+)?$")


# The calendar file ----------------------------------------------------------------------------


def london_timezone() -> Timezone:
    """Europe/London as a VTIMEZONE: British Summer Time from 01:00 GMT on the last Sunday of March
    to 01:00 GMT (02:00 BST) on the last Sunday of October, the rule since 1996.

    Written as yearly rules rather than with ``Timezone.from_tzid``: icalendar 7.3 writes the
    spring transition's DTSTART in summer time (02:00) where RFC 5545 wants it in the offset in
    force before it (01:00), which puts the change an hour late for a program that reads the
    VTIMEZONE rather than its own time zone database. The rules also cover a series of any length.
    """
    summer = TimezoneDaylight()
    summer.add("TZNAME", "BST")
    summer.add("TZOFFSETFROM", timedelta(0))
    summer.add("TZOFFSETTO", timedelta(hours=1))
    summer.add("DTSTART", datetime(1996, 3, 31, 1, 0))
    summer.add("RRULE", {"FREQ": "YEARLY", "BYMONTH": 3, "BYDAY": "-1SU"})
    winter = TimezoneStandard()
    winter.add("TZNAME", "GMT")
    winter.add("TZOFFSETFROM", timedelta(hours=1))
    winter.add("TZOFFSETTO", timedelta(0))
    winter.add("DTSTART", datetime(1996, 10, 27, 2, 0))
    winter.add("RRULE", {"FREQ": "YEARLY", "BYMONTH": 10, "BYDAY": "-1SU"})
    timezone = Timezone()
    timezone.add("TZID", "Europe/London")
    timezone.add_component(summer)
    timezone.add_component(winter)
    return timezone


def place_text(meeting: Meeting, for_attendee: Attendee | None = None) -> str:
    """Where the meeting is, as the calendar and the email say it: never the adult's address."""
    if meeting.place_kind is PlaceKind.ONLINE:
        return meeting.online_link or "Online"
    if meeting.place_kind is PlaceKind.ADULTS_HOME:
        if for_attendee is not None and for_attendee.user_id is None:
            return "Your home" if for_attendee.guest_relationship is GuestRelationship.ADULT else "The adult's home"
        return ADULTS_HOME_TEXT
    return meeting.place or ""


def when_text(meeting: Meeting) -> str:
    """Friday 23 October 2026, 9:30am to 11:30am (UK time)."""
    start, end = meeting.starts_at.astimezone(LONDON), meeting.ends_at.astimezone(LONDON)
    if start.date() == end.date():
        return f"{start:%A} {format_date(start)}, {_clock(start)} to {_clock(end)} (UK time)"
    return f"{start:%A} {format_date(start)}, {_clock(start)} to {end:%A} {format_date(end)}, {_clock(end)} (UK time)"


def _clock(at: datetime) -> str:
    return f"{at.hour % 12 or 12}:{at.minute:02d}{'am' if at.hour < 12 else 'pm'}"


def _address(email: str, name: str | None, **params) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = name
    for key, value in params.items():
        address.params[key.upper().replace("_", "-")] = value
    return address


def _listed_attendees(meeting: Meeting, method: str, for_attendee: Attendee | None) -> list[Attendee]:
    """Who the file names: everyone with an account still invited, and a guest only in their own copy.

    The copy that takes one person off the list names only them (RFC 5546: a CANCEL to some of
    the attendees lists those it removes).
    """
    if method == CANCEL and meeting.status is not MeetingStatus.CANCELLED and for_attendee is not None:
        return [for_attendee]
    listed = [a for a in meeting.attendees if a.removed_at is None and a.user_id is not None]
    if for_attendee is not None and all(a.id != for_attendee.id for a in listed):
        listed.append(for_attendee)
    return [a for a in listed if a.email]


def _description(meeting: Meeting, for_attendee: Attendee | None) -> str:
    parts = [meeting.purpose.strip()] if meeting.purpose and meeting.purpose.strip() else []
    if meeting.place_kind is PlaceKind.ONLINE and meeting.online_link:
        parts.append(f"Join online: {meeting.online_link}")
    if for_attendee is not None and for_attendee.user_id is None:
        organiser = meeting.organiser
        parts.append(f"If you have a question about this meeting, contact {organiser.name} at {organiser.email}.")
    else:
        parts.append(f"The agenda, and your reply, are in the portal: {portal_link(f'/meetings/{meeting.id}')}")
    return "\n\n".join(parts)


def build_calendar(meeting: Meeting, *, method: str, for_attendee: Attendee | None = None) -> bytes:
    """The meeting as an iCalendar file: REQUEST (an invitation or update), CANCEL or PUBLISH
    (the file downloaded from the meeting page). ``for_attendee`` is the person whose copy it is."""
    if method not in METHODS:
        raise ValueError(f"Unknown calendar method {method!r}")
    service = current_app.config["SERVICE_NAME"]
    calendar = Calendar()
    calendar.add("PRODID", f"-//{service}//Meetings//EN")
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", method)
    calendar.add_component(london_timezone())

    event = Event()
    event.add("UID", meeting.uid)
    event.add("SEQUENCE", meeting.sequence)
    event.add("DTSTAMP", utcnow().replace(microsecond=0))
    event.add("DTSTART", meeting.starts_at.astimezone(LONDON))
    event.add("DTEND", meeting.ends_at.astimezone(LONDON))
    event.add("SUMMARY", meeting.title)
    event.add("DESCRIPTION", _description(meeting, for_attendee))
    event.add("LOCATION", place_text(meeting, for_attendee))
    if meeting.place_kind is PlaceKind.ONLINE and meeting.online_link:
        event.add("URL", meeting.online_link)
    cancelled = method == CANCEL or meeting.status is MeetingStatus.CANCELLED
    event.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("TRANSP", "OPAQUE")

    organiser = meeting.organiser
    _, sender = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")
    organiser_params = {"sent_by": f"mailto:{sender}"} if sender and sender != organiser.email else {}
    event.add("ORGANIZER", _address(organiser.email, organiser.name, **organiser_params))
    for attendee in _listed_attendees(meeting, method, for_attendee):
        event.add("ATTENDEE", _address(
            attendee.email, attendee.name, cutype="INDIVIDUAL",
            role="CHAIR" if attendee.user_id is not None and attendee.user_id == meeting.chair_id else "REQ-PARTICIPANT",
            partstat=_PARTSTAT[attendee.reply], rsvp="TRUE",
        ))
    calendar.add_component(event)
    return calendar.to_ical()


# Queuing the emails ---------------------------------------------------------------------------


def calendar_key(meeting: Meeting, attendee: Attendee, method: str, repeat: int = 1) -> str:
    key = f"meeting-{meeting.id}-attendee-{attendee.id}-seq{meeting.sequence}-{method.lower()}"
    return key if repeat == 1 else f"{key}-{repeat}"


def method_of(delivery: EmailDelivery) -> str:
    """REQUEST or CANCEL: what a calendar email was queued to say (written into its key)."""
    found = _KEY.search(delivery.key)
    if found is None:
        raise ValueError(f"Not a calendar email's key: {delivery.key}")
    return found["method"].upper()


def queue_calendar_emails(meeting, attendees, *, cancel: bool = False) -> list[EmailDelivery]:
    """Queue one calendar email per attendee with an email address, in the caller's transaction,
    sent after it commits: an invitation or update (METHOD:REQUEST) at the meeting's current
    SEQUENCE, or a cancellation (METHOD:CANCEL) when ``cancel`` is set or the meeting is cancelled.

    An attendee whose latest calendar email already says the same thing at the same SEQUENCE is
    skipped, so queuing twice sends once. Calendar emails are the invitation itself: they are not
    subject to notification preferences.
    """
    from portal.core.session import send_after_commit

    method = CANCEL if cancel or meeting.status is MeetingStatus.CANCELLED else REQUEST
    with_address = [a for a in attendees if a.email]
    if not with_address:
        return []
    if any(a.id is None for a in with_address):
        db.session.flush()
    wanted = list({a.id: a for a in with_address}.values())
    earlier = db.session.scalars(
        sa.select(EmailDelivery)
        .where(EmailDelivery.kind == DeliveryKind.CALENDAR, EmailDelivery.attendee_id.in_([a.id for a in wanted]))
        .order_by(EmailDelivery.id)
    ).all()
    latest = {delivery.attendee_id: delivery for delivery in earlier}
    keys = {delivery.key for delivery in earlier}
    queued = []
    for attendee in wanted:
        last = latest.get(attendee.id)
        if last is not None and last.calendar_sequence == meeting.sequence and method_of(last) == method:
            continue
        repeat = 1
        while (key := calendar_key(meeting, attendee, method, repeat)) in keys:
            repeat += 1
        email = EmailDelivery(
            key=key, kind=DeliveryKind.CALENDAR, recipient_id=attendee.user_id, attendee_id=attendee.id,
            calendar_sequence=meeting.sequence, state=DeliveryState.PENDING, created_at=utcnow(),
        )
        db.session.add(email)
        send_after_commit(db.session, email)
        keys.add(key)
        queued.append(email)
    return queued


# Writing the emails ---------------------------------------------------------------------------


def _check_still_wanted(delivery: EmailDelivery, attendee: Attendee, meeting: Meeting, method: str) -> None:
    """An invitation overtaken by events is not sent: a newer email for the person will go."""
    if method == CANCEL:
        if meeting.status is not MeetingStatus.CANCELLED and attendee.removed_at is None:
            raise NotWorthSending("They were invited again after being taken off the list; the new invitation goes instead")
        return
    if meeting.status is MeetingStatus.CANCELLED:
        raise NotWorthSending("The meeting was cancelled; the cancellation goes instead")
    if attendee.removed_at is not None:
        raise NotWorthSending("They were taken off the list; the cancellation goes instead")
    if delivery.calendar_sequence != meeting.sequence:
        raise NotWorthSending("The meeting changed again; the newer invitation goes instead")
    if meeting.ends_at <= utcnow():
        raise NotWorthSending("The meeting is over")
    newer = db.session.scalar(
        sa.select(EmailDelivery.id).where(
            EmailDelivery.kind == DeliveryKind.CALENDAR, EmailDelivery.attendee_id == attendee.id,
            EmailDelivery.id > delivery.id,
        ).limit(1)
    )
    if newer is not None:
        raise NotWorthSending("A newer calendar email to them was queued; it goes instead")


def _subject(meeting: Meeting, method: str, removed: bool) -> str:
    if method == CANCEL:
        prefix = "You are no longer invited" if removed else "Cancelled"
    else:
        prefix = "Updated" if meeting.sequence > 0 else "Invitation"
    return f"{prefix}: {meeting.title}, {format_datetime(meeting.starts_at)}"


def render_calendar_email(delivery: EmailDelivery) -> OutgoingEmail:
    """The invitation, update or cancellation for one attendee, with their copy of the calendar file
    both as the calendar part of the message (for Outlook) and as ``invite.ics`` (for the rest)."""
    attendee = db.session.get(Attendee, delivery.attendee_id) if delivery.attendee_id else None
    if attendee is None:
        raise NotWorthSending("The invitee is no longer on record")
    meeting = attendee.meeting
    method = method_of(delivery)
    _check_still_wanted(delivery, attendee, meeting, method)
    if not attendee.email:
        raise NotWorthSending("The invitee has no email address")
    removed = method == CANCEL and meeting.status is not MeetingStatus.CANCELLED
    guest = attendee.user_id is None
    organiser = meeting.organiser
    context = {
        "service_name": current_app.config["SERVICE_NAME"],
        "meeting": meeting,
        "name": attendee.name,
        "guest": guest,
        "cancel": method == CANCEL,
        "removed": removed,
        "updated": method == REQUEST and meeting.sequence > 0,
        "when": when_text(meeting),
        "where": "Online" if meeting.place_kind is PlaceKind.ONLINE else place_text(meeting, attendee),
        "online_link": meeting.online_link if meeting.place_kind is PlaceKind.ONLINE else None,
        "organiser": organiser,
        "meeting_link": None if guest else portal_link(f"/meetings/{meeting.id}"),
        "calendar_link": None if guest else portal_link(f"/meetings/{meeting.id}/calendar.ics"),
    }
    ics = build_calendar(meeting, method=method, for_attendee=attendee)
    return OutgoingEmail(
        to=attendee.email,
        subject=_subject(meeting, method, removed),
        text=render_template("meetings/email/calendar.txt", **context),
        html=render_template("meetings/email/calendar.html", **context),
        key=delivery.key,
        alternatives=(MimePart(ics, "text/calendar", params={"method": method}),),
        attachments=(MimePart(ics, "application/ics", filename="invite.ics"),),
    )


register_renderer(DeliveryKind.CALENDAR, render_calendar_email)
