"""Invitations and replies: inviting people, agencies and guests, taking people off the list,
answering, the agenda, who sees guests' names, and lists that never show more than the pages."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.meetings import operations as ops
from portal.meetings.calendar import method_of
from portal.meetings.models import (
    Attendee,
    GuestRelationship,
    MeetingAction,
    MeetingKind,
    MeetingStatus,
    Reply,
)
from portal.meetings.operations import MeetingError
from portal.notifications.models import DeliveryKind, EmailDelivery, NotificationEvent, NotificationIntent


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def emails_to(attendee: Attendee) -> list[EmailDelivery]:
    return db.session.scalars(
        sa.select(EmailDelivery).where(EmailDelivery.kind == DeliveryKind.CALENDAR, EmailDelivery.attendee_id == attendee.id)
        .order_by(EmailDelivery.id)
    ).all()


def attendee_of(meeting, user) -> Attendee:
    return db.session.scalar(sa.select(Attendee).where(Attendee.meeting_id == meeting.id, Attendee.user_id == user.id))


def role(user):
    return user.active_memberships[0]


@pytest.fixture
def adult_meeting(intel_world, make_meeting, adult_concern):
    """A safeguarding meeting about Jo, organised by the lead, with the Sunrise manager (whose
    agency raised the concern), the inspector (no agreement for personal data, but sees concerns
    about the area's services) and a Board member (neither) invited."""
    users = intel_world.users
    return make_meeting(kind=MeetingKind.ADULT_SAFEGUARDING, title="Safeguarding planning meeting", organiser=users.lead,
                        concern=adult_concern, invite=[users.manager, users.inspector, users.sab_member])


# Inviting -----------------------------------------------------------------------------------------


def test_people_are_invited_once_by_name_or_by_agency(intel_world, client, act_as, make_meeting):
    users = intel_world.users
    meeting = make_meeting(organiser=users.council_commissioner)
    act_as(users.council_commissioner)
    text = page(client.get(f"/meetings/{meeting.id}/invitees"))
    assert "<legend class=\"govuk-fieldset__legend govuk-fieldset__legend--s\">Sunrise Care</legend>" in text
    assert "Mia Moon – Provider manager" in text
    response = client.post(f"/meetings/{meeting.id}/invitees", data={
        "people-submitted": "1", "people-people": [str(role(users.inspector).id), str(role(users.sab_member).id)]})
    assert response.status_code == 302
    assert "2 people invited." in page(client.get(f"/meetings/{meeting.id}/invitees"))
    inspector = attendee_of(meeting, users.inspector)
    assert [(e.calendar_sequence, method_of(e)) for e in emails_to(inspector)] == [(0, "REQUEST")]
    [invitation] = db.session.scalars(sa.select(NotificationIntent).where(
        NotificationIntent.event == NotificationEvent.MEETING_INVITATION, NotificationIntent.subject_id == meeting.id)).all()
    assert sorted(invitation.recipient_ids) == sorted([users.inspector.id, users.sab_member.id])

    # A whole care provider: its managers, not its staff; nobody is invited twice.
    client.post(f"/meetings/{meeting.id}/invitees", data={"agency-submitted": "1", "agency-agency": str(intel_world.sunrise.id)})
    client.post(f"/meetings/{meeting.id}/invitees", data={"people-submitted": "1", "people-people": [str(role(users.inspector).id)]})
    invited = db.session.scalars(sa.select(Attendee.user_id).where(Attendee.meeting_id == meeting.id)).all()
    assert sorted(invited) == sorted([users.council_commissioner.id, users.inspector.id, users.sab_member.id, users.manager.id])
    assert len(emails_to(inspector)) == 1

    text = page(client.post(f"/meetings/{meeting.id}/invitees", data={"people-submitted": "1"}))
    assert 'href="#people-people">Select the people to invite</a>' in text
    text = page(client.post(f"/meetings/{meeting.id}/invitees", data={"agency-submitted": "1", "agency-agency": ""}))
    assert "Select an agency" in text


def test_taking_someone_off_the_list_cancels_their_entry_and_hides_the_meeting(intel_world, client, act_as, make_meeting):
    users = intel_world.users
    meeting = make_meeting(organiser=users.council_commissioner, invite=[users.manager], minute_taker=users.lead)
    manager = attendee_of(meeting, users.manager)
    act_as(users.council_commissioner)
    text = page(client.get(f"/meetings/{meeting.id}/invitees"))
    assert f'name="remove-attendee" value="{manager.id}"' in text
    assert f'name="remove-attendee" value="{attendee_of(meeting, users.lead).id}"' not in text
    response = client.post(f"/meetings/{meeting.id}/invitees", data={"remove-submitted": "1", "remove-attendee": str(manager.id)})
    assert response.status_code == 302
    db.session.refresh(manager)
    assert manager.removed_at is not None
    assert [(e.calendar_sequence, method_of(e)) for e in emails_to(manager)] == [(0, "CANCEL")]
    [told] = db.session.scalars(sa.select(NotificationIntent).where(NotificationIntent.event == NotificationEvent.MEETING_CANCELLED)).all()
    assert (told.subject_type, told.subject_id, told.recipient_ids) == ("meeting_cancelled", meeting.id, [users.manager.id])
    db.session.refresh(meeting)
    assert meeting.sequence == 0

    act_as(users.manager)
    assert client.get(f"/meetings/{meeting.id}").status_code == 404
    assert meeting.title not in page(client.get("/meetings"))

    # Invited again: the same row comes back, waiting for an answer.
    ops.invite_people(meeting, [role(users.manager)], by=_as(users.council_commissioner))
    db.session.commit()
    db.session.refresh(manager)
    assert manager.removed_at is None and manager.reply is Reply.NEEDS_ACTION
    assert [method_of(e) for e in emails_to(manager)] == ["CANCEL", "REQUEST"]

    with pytest.raises(MeetingError, match="organiser cannot be taken off"):
        ops.remove_attendee(meeting, attendee_of(meeting, users.council_commissioner), by=_as(users.council_commissioner))
    with pytest.raises(MeetingError, match="minute-taker cannot"):
        ops.remove_attendee(meeting, attendee_of(meeting, users.lead), by=_as(users.council_commissioner))


def _as(user):
    user.membership = user.active_memberships[0]
    return user


def test_inviting_to_later_meetings_of_a_series_too(intel_world, acting):
    users = intel_world.users
    from datetime import time

    first, second, third = ops.schedule_meeting(ops.ScheduleDetails(
        title="Monthly quality", purpose="Share", day=date.today() + timedelta(days=3), starts=time(10), ends=time(11),
        place_kind=ops.PlaceKind.ADDRESS, place="County Hall", repeat=ops.Repeat.MONTHLY_DATE, occurrences=3,
    ), by=acting(users.council_commissioner))
    db.session.commit()
    ops.invite_people(second, [role(users.manager)], by=users.council_commissioner, later_in_series_too=True)
    assert [attendee_of(m, users.manager) is not None for m in (first, second, third)] == [False, True, True]


# Guests -------------------------------------------------------------------------------------------


def test_a_guest_needs_an_email_address_and_is_only_for_a_meeting_about_an_adult(
    intel_world, client, act_as, adult_meeting, make_meeting,
):
    act_as(intel_world.users.lead)
    url = f"/meetings/{adult_meeting.id}/invitees"
    text = page(client.post(url, data={"guest-submitted": "1", "guest-name": "Jo Example", "guest-email": "",
                                       "guest-relationship": "ADULT"}))
    assert 'href="#guest-email">Enter an email address for Jo Example, so the invitation reaches them</a>' in text
    assert 'value="Jo Example"' in text
    text = page(client.post(url, data={"guest-submitted": "1", "guest-name": "Jo Example", "guest-email": "jo@",
                                       "guest-relationship": "ADULT"}))
    assert "Enter an email address in the correct format, like name@example.org" in text and 'value="jo@"' in text
    text = page(client.post(url, data={"guest-submitted": "1", "guest-name": "", "guest-email": "", "guest-relationship": ""}))
    assert "Enter the guest's name" in text and "Select who the guest is" in text
    assert client.post(url, data={"guest-submitted": "1", "guest-name": "Jo Example", "guest-email": "jo@example.org",
                                  "guest-relationship": "ADULT"}).status_code == 302
    guest = db.session.scalar(sa.select(Attendee).where(Attendee.meeting_id == adult_meeting.id, Attendee.user_id.is_(None)))
    assert (guest.guest_name, guest.guest_email, guest.guest_relationship) == ("Jo Example", "jo@example.org", GuestRelationship.ADULT)
    assert [method_of(e) for e in emails_to(guest)] == ["REQUEST"]
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "meetings.attendee.invite_guest"))
    assert "Jo" not in audit.summary and "jo@" not in audit.details
    text = page(client.post(url, data={"guest-submitted": "1", "guest-name": "Jo", "guest-email": "JO@example.org",
                                       "guest-relationship": "ADULT"}))
    assert "Someone with this email address is already invited" in text

    quality = make_meeting(organiser=intel_world.users.lead)
    assert "Invite a guest" not in page(client.get(f"/meetings/{quality.id}/invitees"))
    with pytest.raises(MeetingError, match="Only a meeting about an adult"):
        ops.invite_guest(quality, name="Jo", email="jo@example.org", relationship=GuestRelationship.ADULT,
                         by=intel_world.users.lead)


def test_guests_names_are_shown_only_to_those_who_may_see_the_adults_details(intel_world, client, act_as, adult_meeting):
    users = intel_world.users
    ops.invite_guest(adult_meeting, name="Jo Example", email="jo@example.org", relationship=GuestRelationship.ADULT,
                     by=_as(users.lead))
    ops.invite_guest(adult_meeting, name="Alex Advocate", email="alex@advocacy.example", relationship=GuestRelationship.ADVOCATE,
                     by=users.lead)
    db.session.commit()
    for user in (users.inspector, users.sab_member):
        act_as(user)
        text = page(client.get(f"/meetings/{adult_meeting.id}"))
        assert "The adult the meeting is about" in text and "Their advocate" in text
        assert "Jo Example" not in text and "Alex Advocate" not in text and "jo@example.org" not in text
        concern_link = f'href="/concerns/{adult_meeting.concern_id}">Concern '
        assert (concern_link in text) is (user is users.inspector)
    assert "An adult: the concern is not one you can open" in text
    seen = sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "meetings.meeting.view_guests")
    assert db.session.scalar(seen) == 0
    act_as(users.manager)
    text = page(client.get(f"/meetings/{adult_meeting.id}"))
    assert "Jo Example (the adult the meeting is about)" in text and "Alex Advocate (their advocate)" in text
    assert db.session.scalar(seen) == 1
    act_as(users.lead)
    assert f'href="/concerns/{adult_meeting.concern_id}">Concern ' in page(client.get(f"/meetings/{adult_meeting.id}"))


# Replies ------------------------------------------------------------------------------------------


def test_an_invitee_answers_for_themselves_and_the_organiser_records_a_guests_answer(intel_world, client, act_as, adult_meeting):
    users = intel_world.users
    guest = ops.invite_guest(adult_meeting, name="Jo Example", email="jo@example.org",
                             relationship=GuestRelationship.ADULT, by=_as(users.lead))
    db.session.commit()
    act_as(users.manager)
    text = page(client.post(f"/meetings/{adult_meeting.id}/reply", data={"reply": "", "note": "Typed note"}))
    assert 'href="#reply">Select whether you will attend</a>' in text and 'value="Typed note"' in text
    response = client.post(f"/meetings/{adult_meeting.id}/reply", data={"reply": "TENTATIVE", "note": "Depends on cover"})
    assert response.status_code == 302
    mine = attendee_of(adult_meeting, users.manager)
    assert (mine.reply, mine.reply_note, mine.replied_at is not None) == (Reply.TENTATIVE, "Depends on cover", True)
    assert "You answered maybe" in page(client.get(f"/meetings/{adult_meeting.id}"))
    assert client.get(f"/meetings/{adult_meeting.id}/invitees/{guest.id}/reply").status_code == 403
    with pytest.raises(MeetingError, match="cannot answer for"):
        ops.record_reply(mine, Reply.DECLINED, by=_as(users.inspector))

    act_as(users.lead)
    url = f"/meetings/{adult_meeting.id}/invitees/{guest.id}/reply"
    assert "Record the reply of Jo Example (the adult the meeting is about)" in page(client.get(url))
    assert client.post(url, data={"reply": "ACCEPTED", "note": "Told me by phone"}).status_code == 302
    db.session.refresh(guest)
    assert (guest.reply, guest.reply_note) == (Reply.ACCEPTED, "Told me by phone")
    actions = db.session.scalars(sa.select(AuditEvent.summary).where(AuditEvent.action == "meetings.attendee.reply")).all()
    assert actions == ["recorded their own reply to 'Safeguarding planning meeting': Maybe",
                       "recorded a guest's reply to 'Safeguarding planning meeting': Accepted"]
    assert client.get(f"/meetings/{adult_meeting.id}/invitees/{mine.id}/reply").status_code == 403


def test_someone_not_invited_cannot_reply(intel_world, client, act_as, make_meeting):
    users = intel_world.users
    meeting = make_meeting(organiser=users.council_commissioner)
    act_as(users.manager)
    assert client.post(f"/meetings/{meeting.id}/reply", data={"reply": "ACCEPTED"}).status_code == 404


# The agenda ---------------------------------------------------------------------------------------


def test_agenda_items_are_added_before_any_other_business_moved_and_removed(intel_world, client, act_as, make_meeting):
    users = intel_world.users
    meeting = make_meeting(organiser=users.lead, providers=[intel_world.sunrise])
    act_as(users.lead)
    url = f"/meetings/{meeting.id}/agenda"
    assert client.post(url, data={"add-title": "", "add-provider": str(intel_world.moonlight.id)}).status_code == 302
    assert client.post(url, data={"add-title": "Training update", "add-provider": ""}).status_code == 302
    text = page(client.post(url, data={"add-title": "", "add-provider": ""}))
    assert "Enter what the item is about, or choose a provider" in text
    db.session.refresh(meeting)
    assert [item.title for item in meeting.agenda] == ["Sunrise Care", "Moonlight Care", "Training update", "Any other business"]
    training = meeting.agenda[2]
    assert client.post(url, data={"item-item": str(training.id), "item-change": "up"}).status_code == 302
    db.session.refresh(meeting)
    assert [item.title for item in meeting.agenda][1:3] == ["Training update", "Moonlight Care"]
    sunrise = meeting.agenda[0]
    db.session.add(MeetingAction(meeting_id=meeting.id, agenda_item_id=sunrise.id, description="Check rotas",
                                 owner_id=users.manager.id, owner_agency_id=intel_world.sunrise.id,
                                 due_on=date.today() + timedelta(days=7), created_by_id=users.lead.id))
    db.session.commit()
    text = page(client.post(url, data={"item-item": str(sunrise.id), "item-change": "remove"}))
    assert "'Sunrise Care' has minutes or actions, so it stays on the agenda" in text
    assert client.post(url, data={"item-item": str(training.id), "item-change": "remove"}).status_code == 302
    db.session.refresh(meeting)
    assert [(item.position, item.title) for item in meeting.agenda] == [
        (1, "Sunrise Care"), (2, "Moonlight Care"), (3, "Any other business")]


def test_the_agenda_shows_only_the_provider_items_a_person_may_see(intel_world, client, act_as, make_meeting):
    users = intel_world.users
    meeting = make_meeting(organiser=users.lead, providers=[intel_world.sunrise, intel_world.moonlight], invite=[users.manager])
    act_as(users.manager)
    text = page(client.get(f"/meetings/{meeting.id}"))
    assert "<li>Sunrise Care</li>" in text and "Moonlight Care" not in text
    assert "1 item about another provider, not shown" in text


# Lists --------------------------------------------------------------------------------------------


def test_lists_never_show_a_meeting_the_person_may_not_open(intel_world, client, act_as, make_meeting, adult_concern):
    users = intel_world.users
    make_meeting(title="Quality A", organiser=users.council_commissioner, invite=[users.manager], providers=[intel_world.sunrise])
    make_meeting(title="Safeguarding B", kind=MeetingKind.ADULT_SAFEGUARDING, organiser=users.lead, concern=adult_concern)
    make_meeting(title="Board C", kind=MeetingKind.SAB_BOARD, organiser=users.sab_chair, invite=[users.sab_member])
    make_meeting(title="Summit D", kind=MeetingKind.RISK_SUMMIT, organiser=users.icb_commissioner, minute_taker=users.inspector,
                 status=MeetingStatus.CANCELLED)
    make_meeting(title="Past E", organiser=users.lead, invite=[users.staff],
                 starts_at=datetime.now(UTC).replace(microsecond=0) - timedelta(days=30))
    titles = ["Quality A", "Safeguarding B", "Board C", "Summit D", "Past E"]
    ids = dict(db.session.execute(sa.text("SELECT title, id FROM meeting")).all())
    for user in vars(users).values():
        act_as(user)
        listing = client.get("/meetings")
        if user is users.admin:
            assert listing.status_code == 403
            continue
        listed = {title for title in titles if title in page(listing)}
        openable = {title for title in titles if client.get(f"/meetings/{ids[title]}").status_code == 200}
        assert listed == openable, user.name
    act_as(users.inspector)
    assert {title for title in titles if title in page(client.get("/meetings"))} == {"Summit D"}


def test_only_the_organiser_or_chair_changes_a_meeting_whoever_calls_the_operation(intel_world, acting, make_meeting):
    """The operations refuse on their own, so a command or a task cannot go round the pages' checks."""
    users = intel_world.users
    meeting = make_meeting(minute_taker=users.lead, invite=[users.inspector],
                           starts_at=datetime.now(UTC) - timedelta(hours=1))
    minute_taker, invitee = acting(users.lead), acting(users.inspector)
    attempts = [
        lambda by: ops.invite_people(meeting, [users.manager.active_memberships[0]], by=by),
        lambda by: ops.add_agenda_item(meeting, title="Staffing", by=by),
        lambda by: ops.remove_attendee(meeting, next(a for a in meeting.attendees if a.user_id == users.inspector.id), by=by),
        lambda by: ops.cancel_meeting(meeting, reason="Not needed", by=by),
        lambda by: ops.hold_meeting(meeting, by=by),
    ]
    for attempt in attempts:
        for person in (minute_taker, invitee):
            with pytest.raises(MeetingError, match="Only the meeting's organiser or chair"):
                attempt(person)
    assert meeting.status is MeetingStatus.SCHEDULED and len(meeting.attendees) == 3
    ops.hold_meeting(meeting, by=acting(users.council_commissioner))
    assert meeting.status is MeetingStatus.HELD
