"""Minutes: attendance, the minutes of each agenda item, the chair's approval that locks them, and
amendments shown beside the approved text; who sees which item's minutes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.core.concurrency import CONFLICT_MESSAGE
from portal.core.templating import format_date
from portal.extensions import db
from portal.meetings import minutes as ops
from portal.meetings.models import (
    Attendance,
    Attendee,
    GuestRelationship,
    MeetingKind,
    MeetingStatus,
    MinuteAmendment,
    MinuteEntry,
)
from tests.intelligence.pages import visible_text
from tests.test_bad_input import GARBAGE


def _past(days: int = 2) -> datetime:
    return datetime.now(UTC).replace(microsecond=0, second=0, minute=0) - timedelta(days=days)


@pytest.fixture
def held(make_meeting, intel_world):
    """A held provider quality meeting about Sunrise, chaired by the council's commissioner, minuted by the lead."""
    users = intel_world.users
    return make_meeting(status=MeetingStatus.HELD, starts_at=_past(), providers=[intel_world.sunrise],
                        minute_taker=users.lead, invite=[users.manager])


def _minutes_form(meeting, **texts) -> dict:
    """The minutes form as the page sends it: every item's text and version, and any attendance given."""
    data = {}
    for item in meeting.agenda:
        entry = db.session.scalar(sa.select(MinuteEntry).where(MinuteEntry.agenda_item_id == item.id))
        data[f"discussion_{item.id}"] = entry.discussion if entry else ""
        data[f"decisions_{item.id}"] = entry.decisions if entry else ""
        data[f"version_{item.id}"] = str(entry.version if entry else 0)
    data.update(texts)
    return data


def test_minutes_are_locked_once_the_chair_approves_and_corrections_are_amendments(held, intel_world, client, act_as):
    users = intel_world.users
    sunrise_item = held.agenda[0]
    url = f"/meetings/{held.id}/minutes"

    act_as(users.lead)
    page = visible_text(client.get(url).text)
    assert "Sunrise Care: discussion" in page and "Approve the minutes" not in page
    response = client.post(url, data=_minutes_form(held, **{
        f"discussion_{sunrise_item.id}": "Night staffing was discussed.",
        f"decisions_{sunrise_item.id}": "An unannounced visit in May.",
    }))
    assert response.status_code == 302
    entry = db.session.scalar(sa.select(MinuteEntry).where(MinuteEntry.agenda_item_id == sunrise_item.id))
    assert (entry.discussion, entry.decisions, entry.written_by_id) == (
        "Night staffing was discussed.", "An unannounced visit in May.", users.lead.id)
    # Someone else saved in between: the second save is refused and keeps what was typed.
    stale = _minutes_form(held, **{f"discussion_{sunrise_item.id}": "My own words", f"version_{sunrise_item.id}": "0"})
    response = client.post(url, data=stale)
    assert response.status_code == 200 and CONFLICT_MESSAGE in response.text and "My own words" in response.text
    # Only the chair approves.
    assert client.post(f"{url}/approve").status_code == 403
    assert db.session.get(type(held), held.id).minutes_approved_at is None

    act_as(users.council_commissioner)
    assert "Approve the minutes" in client.get(url).text
    assert client.post(f"{url}/approve").status_code == 302
    db.session.refresh(held)
    assert held.minutes_locked and held.minutes_approved_by_id == users.council_commissioner.id
    page = visible_text(client.get(url).text)
    assert f"Approved by {users.council_commissioner.name} on {format_date(held.minutes_approved_at)}" in page
    assert "Night staffing was discussed." in page and "Approve the minutes" not in page

    # The minute-taker's edit is refused with the reason; the approved text stays.
    act_as(users.lead)
    response = client.post(url, data=_minutes_form(held, **{f"discussion_{sunrise_item.id}": "Rewritten history"}))
    assert response.status_code == 200
    assert f"The minutes were approved on {format_date(held.minutes_approved_at)}: add an amendment instead" in response.text
    assert "Rewritten history" in response.text
    db.session.refresh(entry)
    assert entry.discussion == "Night staffing was discussed."

    amend = f"/meetings/{held.id}/items/{sunrise_item.id}/amend"
    response = client.post(amend, data={"text": " ", "reason": ""})
    assert response.status_code == 200
    assert "Enter the correction" in response.text and "Enter why the minutes are being corrected" in response.text
    response = client.post(amend, data={"text": "The visit is in June.", "reason": "The date was misheard."})
    assert response.status_code == 302
    page = visible_text(client.get(url).text)
    today = format_date(datetime.now(UTC))
    assert f"Amended on {today} by {users.lead.name}: The visit is in June. Reason: The date was misheard." in page
    assert "An unannounced visit in May." in page
    db.session.refresh(entry)
    assert entry.decisions == "An unannounced visit in May."
    assert db.session.scalar(sa.select(sa.func.count(MinuteAmendment.id))) == 1
    # The invited manager now reads the approved minutes and the amendment, without the recorders' links.
    act_as(users.manager)
    page = visible_text(client.get(url).text)
    assert "Night staffing was discussed." in page and "Amended on" in page and "Add an amendment" not in page
    assert client.get(amend).status_code == 403


def test_the_rules_hold_when_the_operations_are_called_directly(held, make_meeting, intel_world, acting):
    users = intel_world.users
    item = held.agenda[0]
    with pytest.raises(ops.MinutesError, match="not been approved yet"):
        ops.amend_minutes(item, text="x", reason="y", by=acting(users.lead))
    with pytest.raises(ops.MinutesError, match="Only the chair"):
        ops.approve_minutes(held, by=acting(users.lead))
    with pytest.raises(ops.MinutesError, match="You may not record"):
        ops.save_minute(item, discussion="x", decisions=None, by=acting(users.manager))
    scheduled = make_meeting(providers=[intel_world.sunrise])
    with pytest.raises(ops.MinutesError, match="once the meeting has been marked as held"):
        ops.approve_minutes(scheduled, by=acting(users.council_commissioner))
    ops.save_minute(item, discussion="Kept", decisions=None, by=acting(users.lead))
    ops.approve_minutes(held, by=acting(users.council_commissioner))
    with pytest.raises(ops.MinutesError, match="add an amendment instead"):
        ops.save_minute(item, discussion="Changed", decisions=None, by=acting(users.lead))
    with pytest.raises(ops.MinutesError, match="attendance|amendment"):
        ops.record_attendance(held, {held.attendees[0].id: Attendance.PRESENT}, by=acting(users.lead))


def test_the_chair_approves_only_a_held_meeting(make_meeting, intel_world, client, act_as):
    users = intel_world.users
    meeting = make_meeting(starts_at=_past(), providers=[intel_world.sunrise], minute_taker=users.lead)
    act_as(users.council_commissioner)
    assert "You can approve the minutes once the meeting has been marked as held." in client.get(f"/meetings/{meeting.id}/minutes").text
    response = client.post(f"/meetings/{meeting.id}/minutes/approve", follow_redirects=True)
    assert "The minutes can be approved once the meeting has been marked as held" in response.text
    db.session.refresh(meeting)
    assert meeting.minutes_approved_at is None


def test_attendance_is_recorded_once_the_meeting_has_started(make_meeting, held, intel_world, client, act_as, acting):
    users = intel_world.users
    upcoming = make_meeting(providers=[intel_world.sunrise], minute_taker=users.lead, invite=[users.manager])
    act_as(users.lead)
    assert "Attendance can be recorded once the meeting has started." in client.get(f"/meetings/{upcoming.id}/minutes").text
    with pytest.raises(ops.MinutesError, match="once the meeting has started"):
        ops.record_attendance(upcoming, {upcoming.attendees[0].id: Attendance.PRESENT}, by=acting(users.lead))

    by_user = {attendee.user_id: attendee for attendee in held.attendees}
    page = client.get(f"/meetings/{held.id}/minutes").text
    assert f"{users.manager.name} (Sunrise Care)" in visible_text(page)
    form = _minutes_form(held, **{
        f"attendance_{by_user[users.council_commissioner.id].id}": "PRESENT",
        f"attendance_{by_user[users.lead.id].id}": "PRESENT",
        f"attendance_{by_user[users.manager.id].id}": "APOLOGIES",
    })
    assert client.post(f"/meetings/{held.id}/minutes", data=form).status_code == 302
    db.session.refresh(by_user[users.manager.id])
    assert by_user[users.manager.id].attendance is Attendance.APOLOGIES
    assert by_user[users.lead.id].attendance is Attendance.PRESENT

    # Before approval the manager sees neither minutes nor attendance; afterwards both.
    act_as(users.manager)
    page = visible_text(client.get(f"/meetings/{held.id}/minutes").text)
    assert "The minutes have not been approved yet" in page and "Sent apologies" not in page
    assert client.post(f"/meetings/{held.id}/minutes", data=form).status_code == 403
    ops.approve_minutes(held, by=acting(users.council_commissioner))
    db.session.commit()
    page = visible_text(client.get(f"/meetings/{held.id}/minutes").text)
    assert f"{users.manager.name} (Sunrise Care) Sent apologies" in page


def test_guests_at_a_meeting_about_an_adult_are_named_only_to_those_who_may_see_the_adults_details(
    make_meeting, adult_concern, intel_world, client, act_as,
):
    users = intel_world.users
    meeting = make_meeting(kind=MeetingKind.ADULT_SAFEGUARDING, title="Safeguarding meeting", organiser=users.lead,
                           minute_taker=users.sab_member, concern=adult_concern, starts_at=_past())
    db.session.add(Attendee(meeting_id=meeting.id, guest_name="Jo Example", guest_email="jo@example.org",
                            guest_relationship=GuestRelationship.ADULT))
    db.session.commit()
    act_as(users.lead)
    page = visible_text(client.get(f"/meetings/{meeting.id}/minutes").text)
    assert "Jo Example (the adult the meeting is about)" in page
    read = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "meeting.minutes.view")).all()
    assert [(event.actor_id, event.object_id) for event in read] == [(users.lead.id, str(meeting.id))]
    # The Board member taking the minutes has no agreement to see the adult's details.
    act_as(users.sab_member)
    page = visible_text(client.get(f"/meetings/{meeting.id}/minutes").text)
    assert "Jo Example" not in page and "The adult the meeting is about" in page


def test_a_provider_manager_sees_only_their_own_providers_minutes_and_actions(
    make_meeting, intel_world, client, act_as, acting,
):
    users = intel_world.users
    meeting = make_meeting(status=MeetingStatus.HELD, starts_at=_past(), providers=[intel_world.sunrise, intel_world.moonlight],
                           minute_taker=users.lead, chair=users.lead, invite=[users.manager, users.other_manager])
    sunrise_item, moonlight_item, _ = meeting.agenda
    lead = acting(users.lead)
    ops.save_minute(sunrise_item, discussion="Sunrise rotas reviewed", decisions=None, by=lead)
    ops.save_minute(moonlight_item, discussion="Moonlight falls reviewed", decisions=None, by=lead)
    due = datetime.now(UTC).date() + timedelta(days=10)
    sunrise_action = ops.add_action(meeting, description="Sunrise to send rotas", owner_membership=users.manager.active_memberships[0],
                                    due_on=due, agenda_item=sunrise_item, by=lead)
    moonlight_action = ops.add_action(meeting, description="Moonlight to audit falls",
                                      owner_membership=users.other_manager.active_memberships[0], due_on=due,
                                      agenda_item=moonlight_item, by=lead)
    ops.approve_minutes(meeting, by=lead)
    db.session.commit()

    act_as(users.manager)
    page = visible_text(client.get(f"/meetings/{meeting.id}/minutes").text)
    assert "Sunrise rotas reviewed" in page and "Sunrise to send rotas" in page
    # The invitees are listed; the other provider's item, minutes and actions are not.
    assert "Moonlight falls reviewed" not in page and "Moonlight to audit falls" not in page and "2. Moonlight Care" not in page
    assert client.get(f"/meeting-actions/{moonlight_action.id}").status_code == 404
    assert client.get(f"/meetings/{meeting.id}/items/{moonlight_item.id}/amend").status_code == 404
    assert client.get(f"/meeting-actions/{sunrise_action.id}").status_code == 200
    act_as(users.other_manager)
    page = visible_text(client.get(f"/meetings/{meeting.id}/minutes").text)
    assert "Moonlight falls reviewed" in page and "Moonlight to audit falls" in page
    assert "Sunrise rotas reviewed" not in page and "Sunrise to send rotas" not in page and "1. Sunrise Care" not in page


def test_no_minutes_or_action_form_gives_a_server_error_whatever_is_typed(held, intel_world, client, act_as, acting):
    field = re.compile(r'name="([a-z0-9_]+)"')

    users = intel_world.users
    action = ops.add_action(held, description="Rotas", owner_membership=users.manager.active_memberships[0],
                            due_on=datetime.now(UTC).date() + timedelta(days=5), by=acting(users.lead))
    db.session.commit()
    act_as(users.lead)
    urls = [f"/meetings/{held.id}/minutes", f"/meetings/{held.id}/actions/new", f"/meeting-actions/{action.id}"]
    failures = []
    for url in urls:
        names = sorted(set(field.findall(client.get(url).text)) - {"csrf_token"})
        assert len(names) > 3, url
        for value in GARBAGE:
            for payload in ({name: value for name in names}, {name: [value] * 4 for name in names}):
                if client.post(url, data=payload).status_code >= 500:
                    failures.append(f"{url} with {value[:20]!r}")
    assert not failures, "\n".join(failures)
