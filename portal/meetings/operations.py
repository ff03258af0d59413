"""Scheduling meetings, their agendas and invitations, replies, cancelling and holding.

Times are typed as a day and wall-clock times in England and stored in UTC. Whatever must reach
attendees' calendars (an invitation, a change of title, purpose, time or place, a cancellation)
is queued as a calendar email in the same transaction (see :mod:`portal.meetings.calendar`), and
people with an account are also told through the notifications outbox. Nothing written here
names the adult a meeting is about: titles and purposes are checked for their name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from urllib.parse import urlsplit

import sqlalchemy as sa
from dateutil.rrule import rrulestr
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context

from portal import policy
from portal.agencies.models import Agency, Service
from portal.audit.operations import record
from portal.concerns.models import Concern
from portal.concerns.privacy import names_the_adult
from portal.core.codes import AgencyKind, LabelledEnum, Role
from portal.core.concurrency import check_version
from portal.core.db import utcnow
from portal.core.rules import WHOLE_RECORD, RuleError
from portal.extensions import db
from portal.meetings.calendar import queue_calendar_emails
from portal.meetings.models import (
    AgendaItem,
    Attendee,
    GuestRelationship,
    Meeting,
    MeetingAction,
    MeetingKind,
    MeetingSeries,
    MeetingStatus,
    PlaceKind,
    Reply,
)
from portal.meetings.pack import freeze_latest_pack
from portal.notifications.models import NotificationEvent
from portal.notifications.operations import record_intent
from portal.notifications.reminders import london_time
from portal.people.models import Membership, User

MAX_TITLE = 200
MAX_PURPOSE = 2000
MAX_PLACE = 300
MAX_LINK = 500
MAX_REASON = 500
MAX_NOTE = 500
MAX_GUEST_NAME = 200
MIN_OCCURRENCES, MAX_OCCURRENCES = 2, 24

#: The agenda's first and last items, about no provider.
ACTIONS_ITEM = "Actions from previous meetings"
OTHER_BUSINESS_ITEM = "Any other business"

ADULT_NAME_IN_TITLE = "Do not put the adult's name in the title: calendar entries are seen by others"
ADULT_NAME_IN_PURPOSE = "Do not put the adult's name in what the meeting is for: invitations are seen by others"


class MeetingError(RuleError):
    pass


class Repeat(LabelledEnum):
    NONE = "Does not repeat"
    WEEKLY = "Every week"
    FORTNIGHTLY = "Every 2 weeks"
    MONTHLY_WEEKDAY = "Every month on the same weekday"
    MONTHLY_DATE = "Every month on the same date"


_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


def _week_of_month(day: date) -> int:
    """Which of its weekday the day is in its month (1 to 4), or -1 for a fifth one, the last."""
    nth = (day.day - 1) // 7 + 1
    return -1 if nth == 5 else nth


def repeat_description(repeat: Repeat, day: date) -> str:
    """What the choice means for this date: 'Every month on the second Tuesday'."""
    if repeat is Repeat.MONTHLY_WEEKDAY:
        return f"Every month on the {_ORDINALS[_week_of_month(day)]} {_WEEKDAY_NAMES[day.weekday()]}"
    if repeat is Repeat.MONTHLY_DATE:
        return f"Every month on day {day.day}"
    return repeat.label


def recurrence_rule(repeat: Repeat, day: date, count: int) -> str | None:
    """The RFC 5545 RRULE for a series starting on ``day``, or None for a single meeting."""
    if repeat is Repeat.NONE:
        return None
    rule = {
        Repeat.WEEKLY: "FREQ=WEEKLY",
        Repeat.FORTNIGHTLY: "FREQ=WEEKLY;INTERVAL=2",
        Repeat.MONTHLY_WEEKDAY: f"FREQ=MONTHLY;BYDAY={_week_of_month(day):+d}{_WEEKDAYS[day.weekday()]}",
        Repeat.MONTHLY_DATE: f"FREQ=MONTHLY;BYMONTHDAY={day.day}",
    }[repeat]
    return f"{rule};COUNT={count}"


def occurrence_days(rule: str, day: date) -> list[date]:
    """The days a rule gives, in order, starting from ``day`` (wall-clock dates in England)."""
    return [moment.date() for moment in rrulestr(rule, dtstart=datetime.combine(day, time(0)))]


# What is typed ----------------------------------------------------------------------------------


@dataclass
class MeetingDetails:
    """What the schedule and change forms carry. Times are wall-clock times in England."""

    title: str
    purpose: str | None
    day: date
    starts: time
    ends: time
    place_kind: PlaceKind
    place: str | None = None
    online_link: str | None = None
    #: The chair's and minute-taker's memberships; no chair means the organiser chairs.
    chair: Membership | None = None
    minute_taker: Membership | None = None


@dataclass
class ScheduleDetails(MeetingDetails):
    kind: MeetingKind = MeetingKind.PROVIDER_QUALITY
    concern: Concern | None = None
    repeat: Repeat = Repeat.NONE
    #: How many meetings a repeating series has.
    occurrences: int | None = None
    providers: list[Agency] = field(default_factory=list)


def _valid_link(link: str) -> bool:
    if any(character.isspace() for character in link):
        return False
    try:
        parts = urlsplit(link)
        host = parts.hostname or ""
    except ValueError:
        return False
    return parts.scheme == "https" and "." in host and not host.startswith(".") and not host.endswith(".")


def _times(details: MeetingDetails) -> tuple[datetime, datetime]:
    """The start and end in UTC, from the day and wall-clock times typed."""
    return london_time(details.day, details.starts).astimezone(UTC), london_time(details.day, details.ends).astimezone(UTC)


def _check_details(
    details: MeetingDetails, *, kind: MeetingKind, concern: Concern | None, by: User, check_future: bool = True,
) -> list[tuple[str, str]]:
    """Every problem with what was typed, each on its field."""
    problems: list[tuple[str, str]] = []
    title = (details.title or "").strip()
    if not title:
        problems.append(("title", "Enter a title"))
    elif len(title) > MAX_TITLE:
        problems.append(("title", f"The title must be {MAX_TITLE} characters or fewer"))
    elif kind.about_an_adult and names_the_adult(title, concern):
        problems.append(("title", ADULT_NAME_IN_TITLE))
    purpose = (details.purpose or "").strip()
    if not purpose:
        problems.append(("purpose", "Enter what the meeting is for"))
    elif len(purpose) > MAX_PURPOSE:
        problems.append(("purpose", f"What the meeting is for must be {MAX_PURPOSE:,} characters or fewer"))
    elif kind.about_an_adult and names_the_adult(purpose, concern):
        problems.append(("purpose", ADULT_NAME_IN_PURPOSE))

    for name, message in (("day", "Enter the date of the meeting"), ("starts", "Enter the start time"), ("ends", "Enter the end time")):
        if getattr(details, name) is None:
            problems.append((name, message))
    if None not in (details.day, details.starts, details.ends):
        starts_at, ends_at = _times(details)
        if ends_at <= starts_at:
            problems.append(("ends", "The end must be after the start"))
        if check_future and starts_at <= utcnow():
            problems.append(("day", "The meeting must start in the future"))

    if details.place_kind is PlaceKind.ADDRESS:
        place = (details.place or "").strip()
        if not place:
            problems.append(("place", "Enter the address, or the name of the place"))
        elif len(place) > MAX_PLACE:
            problems.append(("place", f"The address must be {MAX_PLACE} characters or fewer"))
    elif details.place_kind is PlaceKind.ONLINE:
        link = (details.online_link or "").strip()
        if not link:
            problems.append(("online_link", "Enter the link to join the meeting"))
        elif len(link) > MAX_LINK or not _valid_link(link):
            problems.append(("online_link", "Enter a link to join that starts with https://, like https://meet.example.org/abc"))
    elif details.place_kind is PlaceKind.ADULTS_HOME and not kind.about_an_adult:
        problems.append(("place_kind", "The adult's home is a choice only for a meeting about an adult"))

    candidates = None
    for name, chosen in (("chair", details.chair), ("minute_taker", details.minute_taker)):
        if chosen is None:
            continue
        if candidates is None:
            candidates = set(db.session.scalars(policy.meeting_invitee_candidates(by).with_only_columns(Membership.id)))
        if chosen.id not in candidates:
            problems.append((name, "Select someone from the list"))
    return problems


def _raise(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise MeetingError(problems[0][0], problems[0][1], problems)


def _apply_place(meeting: Meeting, details: MeetingDetails) -> None:
    meeting.place_kind = details.place_kind
    meeting.place = (details.place or "").strip() if details.place_kind is PlaceKind.ADDRESS else None
    meeting.online_link = (details.online_link or "").strip() if details.place_kind is PlaceKind.ONLINE else None


def new_uid() -> str:
    """A calendar UID for a new meeting: unique, and never changed afterwards."""
    domain = "portal"
    if has_app_context():
        configured = current_app.config.get("SERVER_NAME") or urlsplit(current_app.config.get("PUBLIC_URL") or "").hostname
        domain = (configured or domain).split(":")[0]
    return f"{uuid.uuid4()}@{domain}"


def _audience(meeting: Meeting, *, leave_out: User | None = None) -> list[User]:
    """People with an account still invited, for notifications (the policy filters again on delivery)."""
    return [
        attendee.user for attendee in meeting.attendees
        if attendee.user is not None and attendee.removed_at is None and (leave_out is None or attendee.user_id != leave_out.id)
    ]


def current_attendees(meeting: Meeting) -> list[Attendee]:
    return [attendee for attendee in meeting.attendees if attendee.removed_at is None]


def _link(meeting: Meeting) -> str:
    return f"/meetings/{meeting.id}"


def _tell(event: NotificationEvent, meeting: Meeting, recipients, *, by: User, subject_type: str = "meeting") -> None:
    record_intent(
        event, subject_type=subject_type, subject_id=meeting.id, summary=f"{event.label}: {meeting.title}",
        link=_link(meeting), recipients=recipients, actor=by,
    )


def _must_manage(meeting: Meeting, by: User, doing: str) -> None:
    """The organiser or the chair changes a meeting, and only while it is still to be held."""
    _must_be_scheduled(meeting, doing)
    if not policy.can_manage_meeting(by, meeting):
        raise MeetingError(WHOLE_RECORD, f"Only the meeting's organiser or chair can {doing}")


def _must_be_scheduled(meeting: Meeting, doing: str) -> None:
    if meeting.status is MeetingStatus.CANCELLED:
        raise MeetingError(WHOLE_RECORD, f"The meeting has been cancelled, so you cannot {doing}")
    if meeting.status is MeetingStatus.HELD:
        raise MeetingError(WHOLE_RECORD, f"The meeting has been held, so you cannot {doing}")


# Scheduling -------------------------------------------------------------------------------------


def schedule_meeting(details: ScheduleDetails, *, by: User) -> list[Meeting]:
    """Schedule a meeting, or every meeting of a repeating series; returns them soonest first."""
    kind, concern = details.kind, details.concern
    if kind not in policy.schedulable_meeting_kinds(by):
        raise MeetingError("kind", "You cannot schedule this kind of meeting")
    if kind.about_an_adult and concern is None:
        raise MeetingError("kind", "Schedule a meeting about an adult from the page of the concern about them")
    if not policy.can_schedule_meeting(by, kind, concern):
        raise MeetingError("kind", "You cannot schedule a meeting about this concern")
    if not kind.about_an_adult:
        concern = None
    problems = _check_details(details, kind=kind, concern=concern, by=by)
    rule = None
    if details.repeat is not Repeat.NONE:
        count = details.occurrences
        if count is None:
            problems.append(("occurrences", "Enter how many meetings there will be"))
        elif not MIN_OCCURRENCES <= count <= MAX_OCCURRENCES:
            problems.append(("occurrences", f"The number of meetings must be between {MIN_OCCURRENCES} and {MAX_OCCURRENCES}"))
        elif details.day is None:
            pass
        elif details.repeat is Repeat.MONTHLY_DATE and details.day.day > 28:
            problems.append(("repeat", "Not every month has that date: choose every month on the same weekday instead"))
        else:
            rule = recurrence_rule(details.repeat, details.day, count)
    providers = list(dict.fromkeys(details.providers)) if kind.about_providers else []
    if providers:
        allowed = set(db.session.scalars(policy.intelligence_providers_visible_to(by).with_only_columns(Agency.id)))
        if any(provider.id not in allowed for provider in providers):
            problems.append(("providers", "Select providers from the list"))
    _raise(problems)

    organiser = by.membership
    series = None
    days = [details.day]
    if rule is not None:
        series = MeetingSeries(area_id=organiser.agency.area_id, kind=kind, title=details.title.strip(), rule=rule,
                               created_by_id=by.id)
        db.session.add(series)
        days = occurrence_days(rule, details.day)
    meetings = []
    for day in days:
        # Each meeting keeps the wall-clock times typed, whichever side of a clock change it falls.
        starts_at, ends_at = _times(replace(details, day=day))
        meeting = Meeting(
            uid=new_uid(), sequence=0, kind=kind, title=details.title.strip(), purpose=details.purpose.strip(),
            area_id=organiser.agency.area_id, starts_at=starts_at, ends_at=ends_at,
            organiser_id=by.id, organiser_agency_id=organiser.agency_id,
            chair_id=details.chair.user_id if details.chair is not None else by.id,
            minute_taker_id=details.minute_taker.user_id if details.minute_taker is not None else None,
            series=series, concern_id=concern.id if concern is not None else None, status=MeetingStatus.SCHEDULED,
        )
        _apply_place(meeting, details)
        db.session.add(meeting)
        db.session.flush()
        _add_first_attendees(meeting, organiser=organiser, chair=details.chair, minute_taker=details.minute_taker)
        _add_first_agenda(meeting, providers)
        db.session.flush()
        record(
            "meetings.meeting.schedule", f"scheduled {kind.label.lower()} '{meeting.title}'", target=meeting, actor=by,
            details={"kind": kind, "starts_at": meeting.starts_at, "series_id": series.id if series else None,
                     "concern_id": meeting.concern_id, "providers": [provider.id for provider in providers]},
        )
        queue_calendar_emails(meeting, current_attendees(meeting))
        _tell(NotificationEvent.MEETING_INVITATION, meeting, _audience(meeting, leave_out=by), by=by)
        meetings.append(meeting)
    return meetings


def _add_first_attendees(meeting: Meeting, *, organiser: Membership, chair: Membership | None,
                         minute_taker: Membership | None) -> None:
    seen = set()
    for membership in (organiser, chair, minute_taker):
        if membership is None or membership.user_id in seen:
            continue
        seen.add(membership.user_id)
        is_organiser = membership.user_id == meeting.organiser_id
        meeting.attendees.append(Attendee(
            user_id=membership.user_id, membership_id=membership.id,
            reply=Reply.ACCEPTED if is_organiser else Reply.NEEDS_ACTION, replied_at=utcnow() if is_organiser else None,
        ))


def _add_first_agenda(meeting: Meeting, providers: list[Agency]) -> None:
    titles = [(ACTIONS_ITEM, None), *((provider.name, provider) for provider in providers), (OTHER_BUSINESS_ITEM, None)]
    for position, (title, provider) in enumerate(titles, start=1):
        meeting.agenda.append(AgendaItem(position=position, title=title, provider_id=provider.id if provider else None))


def update_meeting(meeting: Meeting, details: MeetingDetails, *, by: User, version: int | None) -> bool:
    """Change the title, purpose, time, place, chair or minute-taker; returns whether calendars were updated."""
    check_version(meeting, version)
    _must_manage(meeting, by, "change it")
    _raise(_check_details(details, kind=meeting.kind, concern=meeting.concern, by=by, check_future=False))
    starts_at, ends_at = _times(details)
    # A meeting already under way may still have its title or place corrected, but not be moved into the past.
    if starts_at != meeting.starts_at:
        _raise(_check_details(details, kind=meeting.kind, concern=meeting.concern, by=by))

    before = (meeting.title, meeting.purpose, meeting.starts_at, meeting.ends_at, meeting.place_kind, meeting.place,
              meeting.online_link)
    meeting.title = details.title.strip()
    meeting.purpose = details.purpose.strip()
    meeting.starts_at, meeting.ends_at = starts_at, ends_at
    _apply_place(meeting, details)
    after = (meeting.title, meeting.purpose, meeting.starts_at, meeting.ends_at, meeting.place_kind, meeting.place,
             meeting.online_link)
    meeting.chair_id = details.chair.user_id if details.chair is not None else meeting.organiser_id
    meeting.minute_taker_id = details.minute_taker.user_id if details.minute_taker is not None else None
    added = _invite(meeting, [m for m in (details.chair, details.minute_taker) if m is not None])
    changed = before != after
    if changed:
        meeting.sequence += 1
    db.session.flush()
    record("meetings.meeting.change", f"changed meeting '{meeting.title}'", target=meeting, actor=by,
           details={"calendar_changed": changed, "starts_at": meeting.starts_at, "sequence": meeting.sequence})
    if changed:
        queue_calendar_emails(meeting, [a for a in current_attendees(meeting) if a not in added])
        _tell(NotificationEvent.MEETING_CHANGED, meeting,
              [a.user for a in current_attendees(meeting) if a.user is not None and a not in added and a.user_id != by.id], by=by)
    _announce_invitations(meeting, added, by=by)
    return changed


# The agenda -------------------------------------------------------------------------------------


def _renumber(items: list[AgendaItem]) -> None:
    for position, item in enumerate(items, start=1):
        item.position = position


def add_agenda_item(meeting: Meeting, *, title: str | None, provider: Agency | None = None, service: Service | None = None,
                    by: User) -> AgendaItem:
    """Add an item before 'Any other business' (or at the end); an item about a provider gets a pack section."""
    _must_manage(meeting, by, "change the agenda")
    title = (title or "").strip()
    if provider is not None:
        if provider.id not in set(db.session.scalars(policy.intelligence_providers_visible_to(by).with_only_columns(Agency.id))):
            raise MeetingError("provider", "Select a provider from the list")
        if service is not None and service.provider_id != provider.id:
            raise MeetingError("service", f"Select one of {provider.name}'s services")
        title = title or (f"{provider.name}: {service.name}" if service is not None else provider.name)
    elif service is not None:
        raise MeetingError("provider", "Select the provider the service belongs to")
    if not title:
        raise MeetingError("title", "Enter what the item is about, or choose a provider")
    if len(title) > MAX_TITLE:
        raise MeetingError("title", f"The item must be {MAX_TITLE} characters or fewer")
    if meeting.kind.about_an_adult and names_the_adult(title, meeting.concern):
        raise MeetingError("title", "Do not put the adult's name in the agenda: others on the list see it")
    items = list(meeting.agenda)
    item = AgendaItem(meeting_id=meeting.id, position=0, title=title, provider_id=provider.id if provider else None,
                      service_id=service.id if service else None)
    last = items[-1] if items else None
    at = len(items) - 1 if last is not None and last.provider_id is None and last.title == OTHER_BUSINESS_ITEM else len(items)
    items.insert(at, item)
    _renumber(items)
    db.session.add(item)
    db.session.flush()
    db.session.expire(meeting, ["agenda"])
    record("meetings.agenda.add", f"added '{title}' to the agenda of '{meeting.title}'", target=meeting, actor=by,
           details={"item_id": item.id, "provider_id": item.provider_id, "service_id": item.service_id})
    return item


def _has_minutes_or_actions(item: AgendaItem) -> bool:
    if item.minute is not None or item.amendments:
        return True
    return bool(db.session.scalar(sa.select(sa.exists().where(MeetingAction.agenda_item_id == item.id))))


def remove_agenda_item(item: AgendaItem, *, by: User) -> None:
    meeting = item.meeting
    _must_manage(meeting, by, "change the agenda")
    if _has_minutes_or_actions(item):
        raise MeetingError(WHOLE_RECORD, f"'{item.title}' has minutes or actions, so it stays on the agenda")
    db.session.delete(item)
    db.session.flush()
    db.session.expire(meeting, ["agenda"])
    _renumber(meeting.agenda)
    record("meetings.agenda.remove", f"removed '{item.title}' from the agenda of '{meeting.title}'", target=meeting,
           actor=by, details={"item_id": item.id, "provider_id": item.provider_id})


def move_agenda_item(item: AgendaItem, *, up: bool, by: User) -> None:
    """Move an item one place up or down the agenda."""
    meeting = item.meeting
    _must_manage(meeting, by, "change the agenda")
    items = list(meeting.agenda)
    index = items.index(item)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(items):
        return
    items[index], items[other] = items[other], items[index]
    _renumber(items)
    db.session.flush()
    db.session.expire(meeting, ["agenda"])
    record("meetings.agenda.move", f"moved '{item.title}' {'up' if up else 'down'} the agenda of '{meeting.title}'",
           target=meeting, actor=by, details={"item_id": item.id, "position": item.position})


# Invitations ------------------------------------------------------------------------------------


def _invite(meeting: Meeting, memberships: list[Membership]) -> list[Attendee]:
    """Add people not yet invited, and put back people taken off; returns who is new to the list."""
    by_user = {attendee.user_id: attendee for attendee in meeting.attendees if attendee.user_id is not None}
    added = []
    for membership in memberships:
        attendee = by_user.get(membership.user_id)
        if attendee is None:
            attendee = Attendee(user_id=membership.user_id, membership_id=membership.id)
            meeting.attendees.append(attendee)
        elif attendee.removed_at is not None:
            attendee.removed_at = None
            attendee.membership_id = membership.id
            attendee.reply, attendee.replied_at, attendee.reply_note = Reply.NEEDS_ACTION, None, None
        else:
            continue
        by_user[membership.user_id] = attendee
        added.append(attendee)
    return added


def _announce_invitations(meeting: Meeting, added: list[Attendee], *, by: User) -> None:
    if not added:
        return
    db.session.flush()
    queue_calendar_emails(meeting, added)
    _tell(NotificationEvent.MEETING_INVITATION, meeting, [a.user for a in added if a.user is not None], by=by)


def later_in_series(meeting: Meeting) -> list[Meeting]:
    """The meetings of the same series after this one that are still to be held."""
    if meeting.series_id is None:
        return []
    return list(db.session.scalars(
        sa.select(Meeting).where(
            Meeting.series_id == meeting.series_id, Meeting.starts_at > meeting.starts_at,
            Meeting.status == MeetingStatus.SCHEDULED,
        ).order_by(Meeting.starts_at)
    ))


def invite_people(meeting: Meeting, memberships: list[Membership], *, by: User, later_in_series_too: bool = False) -> list[Attendee]:
    """Invite people in the roles chosen (and to the later meetings of its series, if asked);
    anyone already invited is left as they are. Returns who is new to this meeting's list."""
    _must_manage(meeting, by, "invite people")
    if not memberships:
        raise MeetingError("people", "Select the people to invite")
    allowed = set(db.session.scalars(policy.meeting_invitee_candidates(by).with_only_columns(Membership.id)))
    if any(membership.id not in allowed for membership in memberships):
        raise MeetingError("people", "Select people from the list")
    one_each: dict[int, Membership] = {}
    for membership in memberships:
        one_each.setdefault(membership.user_id, membership)
    targets = [meeting, *(later_in_series(meeting) if later_in_series_too else [])]
    added_here = []
    for target in targets:
        added = _invite(target, list(one_each.values()))
        if added:
            db.session.flush()
            record("meetings.attendee.invite", f"invited {len(added)} people to '{target.title}'", target=target,
                   actor=by, details={"attendee_ids": [a.id for a in added], "user_ids": [a.user_id for a in added]})
        _announce_invitations(target, added, by=by)
        if target is meeting:
            added_here = added
    return added_here


def agency_invitees(agency: Agency, *, by: User) -> list[Membership]:
    """Who inviting a whole agency invites: its people the organiser may invite; a care provider's managers only."""
    query = policy.meeting_invitee_candidates(by).where(Membership.agency_id == agency.id)
    if agency.kind is AgencyKind.CARE_PROVIDER:
        query = query.where(Membership.role == Role.PROVIDER_MANAGER)
    chosen: dict[int, Membership] = {}
    for membership in db.session.scalars(query):
        chosen.setdefault(membership.user_id, membership)
    return list(chosen.values())


def invite_agency(meeting: Meeting, agency: Agency, *, by: User, later_in_series_too: bool = False) -> list[Attendee]:
    """Invite everyone at an agency (for a care provider, its managers)."""
    _must_manage(meeting, by, "invite people")
    memberships = agency_invitees(agency, by=by)
    if not memberships:
        raise MeetingError("agency", f"Nobody at {agency.name} can be invited")
    return invite_people(meeting, memberships, by=by, later_in_series_too=later_in_series_too)


def invite_guest(meeting: Meeting, *, name: str | None, email: str | None, relationship: GuestRelationship | None,
                 by: User) -> Attendee:
    """Invite someone without an account (the adult, their advocate, someone they chose) to a meeting about the adult."""
    _must_manage(meeting, by, "invite people")
    if not meeting.kind.about_an_adult:
        raise MeetingError(WHOLE_RECORD, "Only a meeting about an adult has guests without an account")
    name, email = (name or "").strip(), (email or "").strip()
    problems = []
    if not name:
        problems.append(("name", "Enter the guest's name"))
    elif len(name) > MAX_GUEST_NAME:
        problems.append(("name", f"The name must be {MAX_GUEST_NAME} characters or fewer"))
    if not email:
        problems.append(("email", f"Enter an email address for {name or 'the guest'}, so the invitation reaches them"))
    else:
        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            problems.append(("email", "Enter an email address in the correct format, like name@example.org"))
    if relationship is None:
        problems.append(("relationship", "Select who the guest is"))
    _raise(problems)
    attendee = next(
        (a for a in meeting.attendees if a.user_id is None and (a.guest_email or "").lower() == email.lower()), None
    )
    if attendee is not None and attendee.removed_at is None:
        raise MeetingError("email", "Someone with this email address is already invited")
    if attendee is None:
        attendee = Attendee(guest_name=name, guest_email=email, guest_relationship=relationship)
        meeting.attendees.append(attendee)
    else:
        attendee.removed_at = None
        attendee.guest_name, attendee.guest_relationship = name, relationship
        attendee.reply, attendee.replied_at, attendee.reply_note = Reply.NEEDS_ACTION, None, None
    db.session.flush()
    # The guest may be the adult: the trail keeps who they are to the meeting, not their name.
    record("meetings.attendee.invite_guest", f"invited a guest ({relationship.label.lower()}) to '{meeting.title}'",
           target=meeting, actor=by, details={"attendee_id": attendee.id, "relationship": relationship})
    queue_calendar_emails(meeting, [attendee])
    return attendee


def why_attendee_stays(meeting: Meeting, attendee: Attendee) -> str | None:
    """Why someone cannot be taken off the list (the organiser, chair and minute-taker), or None."""
    if attendee.user_id is None:
        return None
    if attendee.user_id == meeting.organiser_id:
        return "The organiser cannot be taken off the list"
    if attendee.user_id == meeting.chair_id:
        return "The chair cannot be taken off the list: choose another chair first"
    if attendee.user_id == meeting.minute_taker_id:
        return "The minute-taker cannot be taken off the list: choose another minute-taker first"
    return None


def remove_attendee(meeting: Meeting, attendee: Attendee, *, by: User) -> None:
    """Take someone off the list: their calendar gets a cancellation; the row is kept."""
    _must_manage(meeting, by, "change who is invited")
    if attendee.meeting_id != meeting.id or attendee.removed_at is not None:
        raise MeetingError(WHOLE_RECORD, "That person is not on the list")
    if (kept := why_attendee_stays(meeting, attendee)) is not None:
        raise MeetingError(WHOLE_RECORD, kept)
    attendee.removed_at = utcnow()
    db.session.flush()
    who = attendee.user.name if attendee.user is not None else f"a guest ({attendee.guest_relationship.label.lower()})"
    record("meetings.attendee.remove", f"took {who} off the list for '{meeting.title}'", target=meeting, actor=by,
           details={"attendee_id": attendee.id, "user_id": attendee.user_id})
    queue_calendar_emails(meeting, [attendee], cancel=True)
    if attendee.user is not None:
        _tell(NotificationEvent.MEETING_CANCELLED, meeting, [attendee.user], by=by, subject_type="meeting_cancelled")


def record_reply(attendee: Attendee, reply: Reply, *, note: str | None = None, by: User) -> None:
    """An invitee answers for themselves; the organiser or chair records a guest's answer."""
    meeting = attendee.meeting
    if not policy.can_record_reply(by, attendee):
        raise MeetingError(WHOLE_RECORD, "You cannot answer for this person")
    _must_be_scheduled(meeting, "answer the invitation")
    if reply is None or reply is Reply.NEEDS_ACTION:
        raise MeetingError("reply", "Select whether you will attend")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise MeetingError("note", f"The note must be {MAX_NOTE} characters or fewer")
    attendee.reply, attendee.reply_note, attendee.replied_at = reply, note, utcnow()
    db.session.flush()
    whose = "their own" if attendee.user_id == by.id else (
        attendee.user.name + "'s" if attendee.user is not None else "a guest's")
    record("meetings.attendee.reply", f"recorded {whose} reply to '{meeting.title}': {reply.label}", target=meeting,
           actor=by, details={"attendee_id": attendee.id, "reply": reply})


# Cancelling and holding ---------------------------------------------------------------------------


def cancel_meeting(meeting: Meeting, *, reason: str | None, by: User, version: int | None = None) -> None:
    """Cancel a meeting that has not been held: everyone invited gets the cancellation in their calendar."""
    if not policy.can_manage_meeting(by, meeting) and meeting.status is not MeetingStatus.CANCELLED:
        raise MeetingError(WHOLE_RECORD, "Only the meeting's organiser or chair can cancel it")
    if version is not None:
        check_version(meeting, version)
    if meeting.status is MeetingStatus.CANCELLED:
        raise MeetingError(WHOLE_RECORD, "The meeting is already cancelled")
    if meeting.status is MeetingStatus.HELD:
        raise MeetingError(WHOLE_RECORD, "The meeting has been held, so it cannot be cancelled")
    reason = (reason or "").strip()
    if not reason:
        raise MeetingError("reason", "Enter why the meeting is cancelled")
    if len(reason) > MAX_REASON:
        raise MeetingError("reason", f"The reason must be {MAX_REASON} characters or fewer")
    if meeting.kind.about_an_adult and names_the_adult(reason, meeting.concern):
        raise MeetingError("reason", "Do not put the adult's name in the reason: everyone invited is told it")
    meeting.status = MeetingStatus.CANCELLED
    meeting.cancelled_at = utcnow()
    meeting.cancelled_reason = reason
    meeting.sequence += 1
    db.session.flush()
    record("meetings.meeting.cancel", f"cancelled meeting '{meeting.title}'", target=meeting, actor=by,
           details={"reason": reason, "sequence": meeting.sequence})
    queue_calendar_emails(meeting, current_attendees(meeting), cancel=True)
    _tell(NotificationEvent.MEETING_CANCELLED, meeting, _audience(meeting, leave_out=by), by=by,
          subject_type="meeting_cancelled")


def hold_meeting(meeting: Meeting, *, by: User) -> None:
    """Mark a meeting as held once it has started; the latest agenda pack is frozen as people saw it."""
    if not policy.can_manage_meeting(by, meeting) and meeting.status is MeetingStatus.SCHEDULED:
        raise MeetingError(WHOLE_RECORD, "Only the meeting's organiser or chair can mark it as held")
    if meeting.status is not MeetingStatus.SCHEDULED:
        raise MeetingError(WHOLE_RECORD, f"The meeting is {meeting.status.label.lower()}, so it cannot be marked as held")
    if meeting.starts_at > utcnow():
        raise MeetingError(WHOLE_RECORD, "The meeting has not started yet: mark it as held once it has started")
    meeting.status = MeetingStatus.HELD
    meeting.held_at = utcnow()
    db.session.flush()
    freeze_latest_pack(meeting, by=by)
    record("meetings.meeting.hold", f"marked meeting '{meeting.title}' as held", target=meeting, actor=by)
