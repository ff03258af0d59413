"""Scheduling meetings: who may schedule which kind, what is refused and said, repeating series
across the clock changes, changing a meeting, cancelling it and marking it held."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.audit.models import AuditEvent
from portal.core.workdays import LONDON
from portal.extensions import db
from portal.meetings import operations as ops
from portal.meetings.calendar import method_of
from portal.meetings.models import (
    AgendaPack,
    Meeting,
    MeetingKind,
    MeetingSeries,
    MeetingStatus,
    PlaceKind,
    Reply,
)
from portal.meetings.operations import MeetingError, Repeat, ScheduleDetails
from portal.notifications.models import DeliveryKind, EmailDelivery, NotificationEvent, NotificationIntent


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def form_data(day: date, **changes) -> dict:
    data = {
        "kind": "PROVIDER_QUALITY", "title": "Quality and information-sharing", "purpose": "Share what we know about providers",
        "day": [str(day.day), str(day.month), str(day.year)], "starts": "10:00", "ends": "12:00",
        "place_kind": "ADDRESS", "place": "County Hall, Room 4", "online_link": "", "chair": "", "minute_taker": "",
        "repeat": "NONE", "occurrences": "",
    }
    data.update(changes)
    return data


def next_week() -> date:
    return datetime.now(LONDON).date() + timedelta(days=7)


def calendar_emails(meeting: Meeting) -> list[EmailDelivery]:
    attendee_ids = [attendee.id for attendee in meeting.attendees]
    return db.session.scalars(
        sa.select(EmailDelivery).where(EmailDelivery.kind == DeliveryKind.CALENDAR, EmailDelivery.attendee_id.in_(attendee_ids))
        .order_by(EmailDelivery.id)
    ).all()


def intents(meeting: Meeting, event: NotificationEvent) -> list[NotificationIntent]:
    return db.session.scalars(
        sa.select(NotificationIntent).where(NotificationIntent.event == event, NotificationIntent.subject_id == meeting.id)
    ).all()


def details(**changes) -> ScheduleDetails:
    values = dict(
        title="Quality and information-sharing", purpose="Share what we know", day=next_week(), starts=time(10),
        ends=time(12), place_kind=PlaceKind.ADDRESS, place="County Hall",
    )
    values.update(changes)
    return ScheduleDetails(**values)


# Who schedules what ------------------------------------------------------------------------------


def test_each_role_is_offered_the_kinds_of_meeting_it_may_schedule(intel_world, client, act_as):
    users = intel_world.users
    offered = {
        users.lead: {"Provider quality and information-sharing meeting", "Risk summit"},
        users.council_commissioner: {"Provider quality and information-sharing meeting", "Risk summit"},
        users.icb_commissioner: {"Provider quality and information-sharing meeting", "Risk summit"},
        users.sab_chair: {"Safeguarding Adults Board meeting", "Safeguarding Adults Board sub-group meeting"},
    }
    every_kind = {kind.label for kind in MeetingKind}
    for user, kinds in offered.items():
        act_as(user)
        text = page(client.get("/meetings/new"))
        assert {label for label in every_kind if f">\n          {label}\n" in text} == kinds, user.name
        assert "Schedule a meeting" in page(client.get("/meetings"))
    for user in (users.manager, users.staff, users.other_manager, users.inspector, users.sab_member, users.admin):
        act_as(user)
        assert client.get("/meetings/new").status_code == 403, user.name
        assert client.post("/meetings/new", data=form_data(next_week())).status_code == 403, user.name
        if user is not users.admin:
            assert "Schedule a meeting" not in page(client.get("/meetings"))
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


def test_the_operation_refuses_kinds_the_role_may_not_schedule(intel_world, acting, adult_concern):
    users = intel_world.users
    with pytest.raises(MeetingError) as refused:
        ops.schedule_meeting(details(kind=MeetingKind.SAB_BOARD), by=acting(users.council_commissioner))
    assert refused.value.field == "kind"
    with pytest.raises(MeetingError, match="from the page of the concern"):
        ops.schedule_meeting(details(kind=MeetingKind.ADULT_SAFEGUARDING), by=acting(users.lead))
    with pytest.raises(MeetingError):
        ops.schedule_meeting(details(kind=MeetingKind.ADULT_SAFEGUARDING, concern=adult_concern),
                             by=acting(users.council_commissioner))
    with pytest.raises(MeetingError):
        ops.schedule_meeting(details(kind=MeetingKind.PROVIDER_QUALITY), by=acting(users.manager))
    with pytest.raises(MeetingError) as refused:
        ops.schedule_meeting(details(place_kind=PlaceKind.ADULTS_HOME, place=None), by=acting(users.lead))
    assert refused.value.problems == [("place_kind", "The adult's home is a choice only for a meeting about an adult")]
    board = ops.schedule_meeting(details(kind=MeetingKind.SAB_BOARD, title="Board"), by=acting(users.sab_chair))
    assert [meeting.kind for meeting in board] == [MeetingKind.SAB_BOARD]


def test_a_commissioner_schedules_a_provider_quality_meeting_with_providers_on_the_agenda(intel_world, client, act_as):
    users = intel_world.users
    act_as(users.council_commissioner)
    day = next_week()
    lead_role = users.lead.active_memberships[0]
    response = client.post("/meetings/new", data=form_data(
        day, providers=[str(intel_world.sunrise.id)], minute_taker=str(lead_role.id), starts="9:30", ends="11.45",
    ))
    meeting = db.session.scalar(sa.select(Meeting))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/meetings/{meeting.id}/invitees")
    assert meeting.kind is MeetingKind.PROVIDER_QUALITY and meeting.sequence == 0 and meeting.uid.endswith("@127.0.0.1")
    assert meeting.starts_at.tzinfo is not None
    assert meeting.starts_at.astimezone(LONDON).replace(tzinfo=None) == datetime.combine(day, time(9, 30))
    assert meeting.ends_at.astimezone(LONDON).replace(tzinfo=None) == datetime.combine(day, time(11, 45))
    assert (meeting.organiser_id, meeting.chair_id, meeting.minute_taker_id) == (
        users.council_commissioner.id, users.council_commissioner.id, users.lead.id)
    assert [item.title for item in meeting.agenda] == ["Actions from previous meetings", "Sunrise Care", "Any other business"]
    assert [item.provider_id for item in meeting.agenda] == [None, intel_world.sunrise.id, None]
    replies = {attendee.user_id: attendee.reply for attendee in meeting.attendees}
    assert replies == {users.council_commissioner.id: Reply.ACCEPTED, users.lead.id: Reply.NEEDS_ACTION}
    assert {(e.attendee_id, e.calendar_sequence, method_of(e)) for e in calendar_emails(meeting)} == {
        (attendee.id, 0, "REQUEST") for attendee in meeting.attendees
    }
    [invitation] = intents(meeting, NotificationEvent.MEETING_INVITATION)
    assert invitation.recipient_ids == [users.lead.id]
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "meetings.meeting.schedule")).object_id == str(meeting.id)
    listing = page(client.get("/meetings"))
    assert "Quality and information-sharing" in listing and "County Hall, Room 4" in listing


# Bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"starts": "14:00", "ends": "13:30"}, "ends", "The end must be after the start"),
    ({"starts": "25:00"}, "starts", "Enter the start time as a time of day, like 14:30"),
    ({"ends": ""}, "ends", "Enter the end time"),
    ({"place_kind": "ONLINE", "online_link": "http://meet.example.org/abc"}, "online_link",
     "Enter a link to join that starts with https://, like https://meet.example.org/abc"),
    ({"place_kind": "ONLINE", "online_link": "not a link"}, "online_link",
     "Enter a link to join that starts with https://, like https://meet.example.org/abc"),
    ({"place": ""}, "place", "Enter the address, or the name of the place"),
    ({"repeat": "WEEKLY", "occurrences": "1"}, "occurrences", "The number of meetings must be between 2 and 24"),
    ({"repeat": "WEEKLY", "occurrences": "25"}, "occurrences", "The number of meetings must be between 2 and 24"),
    ({"repeat": "WEEKLY", "occurrences": ""}, "occurrences", "Enter how many meetings there will be"),
])
def test_bad_input_is_refused_with_its_message_and_nothing_typed_is_lost(intel_world, client, act_as, changes, field, message):
    act_as(intel_world.users.lead)
    data = form_data(next_week(), title="Typed title kept", purpose="Typed purpose kept", **changes)
    response = client.post("/meetings/new", data=data)
    text = page(response)
    assert response.status_code == 200
    assert "There is a problem" in text and f'href="#{field}">{message}</a>' in text
    assert 'value="Typed title kept"' in text and "Typed purpose kept</textarea>" in text
    for name in ("starts", "ends", "place", "online_link"):
        if data[name]:
            assert f'value="{data[name]}"' in text
    assert f'value="{next_week().year}"' in text
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


def test_a_meeting_in_the_past_is_refused(intel_world, client, act_as):
    act_as(intel_world.users.lead)
    yesterday = datetime.now(LONDON).date() - timedelta(days=1)
    text = page(client.post("/meetings/new", data=form_data(yesterday)))
    assert 'href="#day-day">The meeting must start in the future</a>' in text
    assert f'value="{yesterday.day}"' in text
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


def test_the_adults_name_is_kept_out_of_the_title(intel_world, client, act_as, adult_concern):
    adult_concern.preferred_meeting_place = "The GP surgery on Mill Lane"
    db.session.commit()
    act_as(intel_world.users.lead)
    url = f"/meetings/new?kind=ADULT_SAFEGUARDING&concern={adult_concern.id}"
    form = page(client.get(url))
    assert "The adult said they would like to meet: The GP surgery on Mill Lane" in form
    assert "The adult's home" in form and "What kind of meeting is it?" not in form
    for title in ("Safeguarding meeting: JO EXAMPLE", "Planning with Jo", "example's money"):
        text = page(client.post(url, data=form_data(next_week(), title=title, place_kind="ADULTS_HOME", place="")))
        assert "Do not put the adult's name in the title: calendar entries are seen by others" in text, title
        assert f'value="{title}"' in text
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    response = client.post(url, data=form_data(next_week(), title="Safeguarding planning meeting", place_kind="ADULTS_HOME"))
    assert response.status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    assert (meeting.kind, meeting.concern_id, meeting.place_kind, meeting.place) == (
        MeetingKind.ADULT_SAFEGUARDING, adult_concern.id, PlaceKind.ADULTS_HOME, None)


def test_a_safeguarding_meeting_is_scheduled_from_the_concern_page_by_the_lead_only(
    intel_world, client, act_as, adult_concern, make_meeting,
):
    users = intel_world.users
    act_as(users.lead)
    link = f"/meetings/new?kind=ADULT_SAFEGUARDING&amp;concern={adult_concern.id}"
    assert link in client.get(f"/concerns/{adult_concern.id}").get_data(as_text=True)
    act_as(users.manager)
    text = client.get(f"/concerns/{adult_concern.id}").get_data(as_text=True)
    assert link not in text
    assert client.get(f"/meetings/new?kind=ADULT_SAFEGUARDING&concern={adult_concern.id}").status_code == 403
    meeting = make_meeting(kind=MeetingKind.ADULT_SAFEGUARDING, title="Planning meeting", organiser=users.lead,
                           concern=adult_concern, invite=[users.manager])
    make_meeting(kind=MeetingKind.ADULT_SAFEGUARDING, title="Meeting without the manager", organiser=users.lead,
                 concern=adult_concern)
    text = page(client.get(f"/concerns/{adult_concern.id}"))
    assert "Planning meeting" in text and f"/meetings/{meeting.id}" in text
    assert "Meeting without the manager" not in text


# Repeating series ---------------------------------------------------------------------------------


def _london(meeting: Meeting) -> datetime:
    return meeting.starts_at.astimezone(LONDON).replace(tzinfo=None)


def test_a_weekly_series_keeps_its_wall_clock_time_when_the_clocks_go_back(intel_world, acting):
    with time_machine.travel(datetime(2026, 10, 1, 12, tzinfo=UTC), tick=False):
        first = date(2026, 10, 20)
        meetings = ops.schedule_meeting(
            details(day=first, starts=time(10), ends=time(11, 30), repeat=Repeat.WEEKLY, occurrences=3,
                    providers=[intel_world.sunrise]),
            by=acting(intel_world.users.lead),
        )
    assert [m.starts_at for m in meetings] == [
        datetime(2026, 10, 20, 9, tzinfo=UTC), datetime(2026, 10, 27, 10, tzinfo=UTC), datetime(2026, 11, 3, 10, tzinfo=UTC)]
    assert [m.ends_at.astimezone(LONDON).time() for m in meetings] == [time(11, 30)] * 3
    assert [_london(m).time() for m in meetings] == [time(10)] * 3
    series = db.session.scalar(sa.select(MeetingSeries))
    assert series.rule == "FREQ=WEEKLY;COUNT=3" and [m.id for m in series.meetings] == [m.id for m in meetings]
    assert len({m.uid for m in meetings}) == 3
    assert all([item.title for item in m.agenda] == ["Actions from previous meetings", "Sunrise Care", "Any other business"]
               for m in meetings)


def test_a_monthly_series_on_the_second_tuesday_keeps_its_time_when_the_clocks_go_forward(intel_world, acting):
    first = date(2027, 3, 9)
    assert first.weekday() == 1
    with time_machine.travel(datetime(2027, 2, 1, 12, tzinfo=UTC), tick=False):
        meetings = ops.schedule_meeting(
            details(day=first, repeat=Repeat.MONTHLY_WEEKDAY, occurrences=3,
                    chair=intel_world.users.council_commissioner.active_memberships[0]),
            by=acting(intel_world.users.lead),
        )
    assert db.session.scalar(sa.select(MeetingSeries.rule)) == "FREQ=MONTHLY;BYDAY=+2TU;COUNT=3"
    assert [m.starts_at for m in meetings] == [
        datetime(2027, 3, 9, 10, tzinfo=UTC), datetime(2027, 4, 13, 9, tzinfo=UTC), datetime(2027, 5, 11, 9, tzinfo=UTC)]
    assert all(m.chair_id == intel_world.users.council_commissioner.id for m in meetings)
    assert ops.repeat_description(Repeat.MONTHLY_WEEKDAY, first) == "Every month on the second Tuesday"


def test_recurrence_rules_for_each_choice():
    day = date(2027, 3, 30)  # the fifth Tuesday: the last of the month
    assert ops.recurrence_rule(Repeat.NONE, day, 2) is None
    assert ops.recurrence_rule(Repeat.FORTNIGHTLY, day, 4) == "FREQ=WEEKLY;INTERVAL=2;COUNT=4"
    assert ops.recurrence_rule(Repeat.MONTHLY_WEEKDAY, day, 3) == "FREQ=MONTHLY;BYDAY=-1TU;COUNT=3"
    assert ops.occurrence_days("FREQ=MONTHLY;BYDAY=-1TU;COUNT=3", day) == [date(2027, 3, 30), date(2027, 4, 27), date(2027, 5, 25)]
    assert ops.recurrence_rule(Repeat.MONTHLY_DATE, date(2027, 3, 14), 2) == "FREQ=MONTHLY;BYMONTHDAY=14;COUNT=2"


def test_a_monthly_series_on_a_date_not_every_month_has_is_refused(intel_world, acting):
    day = next(d for d in (next_week() + timedelta(days=n) for n in range(62)) if d.day == 30)
    with pytest.raises(MeetingError) as refused:
        ops.schedule_meeting(details(day=day, repeat=Repeat.MONTHLY_DATE, occurrences=3), by=acting(intel_world.users.lead))
    assert refused.value.problems == [
        ("repeat", "Not every month has that date: choose every month on the same weekday instead")]


def test_a_series_page_says_which_meeting_it_is_and_links_to_the_others(intel_world, client, act_as):
    act_as(intel_world.users.lead)
    client.post("/meetings/new", data=form_data(next_week(), repeat="FORTNIGHTLY", occurrences="3"))
    meetings = db.session.scalars(sa.select(Meeting).order_by(Meeting.starts_at)).all()
    assert [m.starts_at.date() for m in meetings][1:] == [
        meetings[0].starts_at.date() + timedelta(days=14), meetings[0].starts_at.date() + timedelta(days=28)]
    text = page(client.get(f"/meetings/{meetings[1].id}"))
    assert "Meeting 2 of 3" in text
    assert f'href="/meetings/{meetings[0].id}">Previous meeting' in text and f'href="/meetings/{meetings[2].id}">Next meeting' in text


# Changing, cancelling, holding --------------------------------------------------------------------


def test_changing_the_time_raises_the_sequence_and_updates_everyones_calendar(intel_world, client, act_as, make_meeting):
    users = intel_world.users
    meeting = make_meeting(organiser=users.council_commissioner, invite=[users.manager, users.lead])
    act_as(users.council_commissioner)
    form = page(client.get(f"/meetings/{meeting.id}/edit"))
    start = meeting.starts_at.astimezone(LONDON)
    assert f'value="{start:%H:%M}"' in form and 'value="Provider quality meeting"' in form
    later = start.date() + timedelta(days=1)
    data = form_data(later, title="Provider quality meeting (moved)", version=str(meeting.version))
    del data["kind"], data["repeat"], data["occurrences"]
    response = client.post(f"/meetings/{meeting.id}/edit", data=data)
    assert response.status_code == 302
    db.session.refresh(meeting)
    assert meeting.sequence == 1 and _london(meeting) == datetime.combine(later, time(10))
    assert {(e.attendee_id, e.calendar_sequence) for e in calendar_emails(meeting)} == {
        (attendee.id, 1) for attendee in meeting.attendees}
    [changed] = intents(meeting, NotificationEvent.MEETING_CHANGED)
    assert sorted(changed.recipient_ids) == sorted([users.manager.id, users.lead.id])

    # A new minute-taker is invited, but calendars already hold everything that changed for them.
    data.update(minute_taker=str(users.lead.active_memberships[0].id), version=str(meeting.version))
    assert client.post(f"/meetings/{meeting.id}/edit", data=data).status_code == 302
    db.session.refresh(meeting)
    assert meeting.sequence == 1 and meeting.minute_taker_id == users.lead.id
    assert len(calendar_emails(meeting)) == len(meeting.attendees)

    stale = page(client.post(f"/meetings/{meeting.id}/edit", data={**data, "title": "Someone else's title", "version": "1"}))
    assert "Someone else changed this record after you opened it" in stale and 'value="Someone else\'s title"' in stale
    db.session.refresh(meeting)
    assert meeting.title == "Provider quality meeting (moved)"


def test_cancelling_needs_a_reason_and_sends_everyone_a_cancellation(intel_world, client, act_as, make_meeting):
    users = intel_world.users
    meeting = make_meeting(organiser=users.council_commissioner, invite=[users.manager])
    act_as(users.manager)
    assert client.get(f"/meetings/{meeting.id}/cancel").status_code == 403
    act_as(users.council_commissioner)
    text = page(client.post(f"/meetings/{meeting.id}/cancel", data={"reason": "", "version": str(meeting.version)}))
    assert 'href="#reason">Enter why the meeting is cancelled</a>' in text
    response = client.post(f"/meetings/{meeting.id}/cancel", data={"reason": "The chair is ill", "version": str(meeting.version)})
    assert response.status_code == 302
    db.session.refresh(meeting)
    assert (meeting.status, meeting.sequence, meeting.cancelled_reason) == (MeetingStatus.CANCELLED, 1, "The chair is ill")
    assert {(e.attendee_id, e.calendar_sequence, method_of(e)) for e in calendar_emails(meeting)} == {
        (attendee.id, 1, "CANCEL") for attendee in meeting.attendees}
    [cancelled] = intents(meeting, NotificationEvent.MEETING_CANCELLED)
    assert cancelled.subject_type == "meeting_cancelled" and cancelled.recipient_ids == [users.manager.id]
    text = page(client.get(f"/meetings/{meeting.id}"))
    assert "The chair is ill" in text and "Change the details" not in text
    assert client.get(f"/meetings/{meeting.id}/edit").status_code == 403
    act_as(users.manager)
    assert "Cancelled" in page(client.get("/meetings"))


def test_a_meeting_is_marked_held_only_once_it_has_started(intel_world, client, act_as, make_meeting):
    users = intel_world.users
    soon = make_meeting(organiser=users.council_commissioner, providers=[intel_world.sunrise])
    act_as(users.council_commissioner)
    assert "The meeting has not started yet" in page(client.get(f"/meetings/{soon.id}/held"))
    text = page(client.post(f"/meetings/{soon.id}/held"))
    assert "The meeting has not started yet: mark it as held once it has started" in text
    db.session.refresh(soon)
    assert soon.status is MeetingStatus.SCHEDULED

    started = make_meeting(organiser=users.council_commissioner, providers=[intel_world.sunrise],
                           starts_at=datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30))
    assert "Mark as held" in page(client.get(f"/meetings/{started.id}"))
    assert client.post(f"/meetings/{started.id}/held").status_code == 302
    db.session.refresh(started)
    assert started.status is MeetingStatus.HELD and started.held_at is not None
    pack = db.session.scalar(sa.select(AgendaPack).where(AgendaPack.meeting_id == started.id))
    assert pack is not None and pack.frozen_at is not None
    assert client.get(f"/meetings/{started.id}/edit").status_code == 302
    with pytest.raises(MeetingError, match="has been held"):
        ops.cancel_meeting(started, reason="Too late", by=users.council_commissioner)


def test_an_online_meetings_page_links_to_where_to_join(make_meeting, intel_world, client, act_as):
    users = intel_world.users
    meeting = make_meeting(invite=[users.manager], place_kind=PlaceKind.ONLINE)
    meeting.online_link = "https://meet.example/quality?room=1&pin=2"
    db.session.commit()
    act_as(users.manager)
    body = client.get(f"/meetings/{meeting.id}").text
    assert '<a class="govuk-link" href="https://meet.example/quality?room=1&amp;pin=2">' in body
    assert "&lt;a class" not in body
