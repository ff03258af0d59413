"""Calendar emails: one per attendee and never twice, overtaken invitations not sent, a real SMTP
round trip read back as Outlook and Google would, GOV.UK Notify, and the deliveries page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from portal.core.codes import AgencyKind, Role
from portal.core.db import utcnow
from portal.core.templating import format_datetime
from portal.extensions import db
from portal.meetings.calendar import queue_calendar_emails
from portal.meetings.models import Attendee, GuestRelationship, MeetingKind, MeetingStatus, PlaceKind
from portal.notifications.models import DeliveryKind, DeliveryState, EmailDelivery
from tests.notifications import conftest as mail_fixtures
from tests.notifications import test_notify_backend as notify_fixtures
from tests.notifications.conftest import body_of, html_of

# The real SMTP server (aiosmtpd) and the stand-in for GOV.UK Notify, from the notifications tests.
_smtp_controller, smtp, notify = mail_fixtures._smtp_controller, mail_fixtures.smtp, notify_fixtures.notify

ADULT_NAME, ADULT_EMAIL = "Jo Example", "jo.example@home.example"


def calendar_emails(db_session):
    query = sa.select(EmailDelivery).where(EmailDelivery.kind == DeliveryKind.CALENDAR).order_by(EmailDelivery.id)
    return list(db_session.scalars(query))


def parts(message):
    """The message's calendar part (inside multipart/alternative) and its attachments, by name."""
    [alternative] = [p for p in message.walk() if p.get_content_type() == "multipart/alternative"]
    [calendar] = [p for p in alternative.iter_parts() if p.get_content_type() == "text/calendar"]
    attachments = {p.get_filename(): p for p in message.iter_attachments()}
    return calendar, attachments


def _as_text(content) -> str:
    return content.decode() if isinstance(content, bytes) else content


@pytest.fixture
def adult_meeting(make_meeting, intel_world, adult_concern):
    users = intel_world.users
    meeting = make_meeting(
        kind=MeetingKind.ADULT_SAFEGUARDING, title="Safeguarding meeting", organiser=users.lead,
        invite=[users.manager], concern=adult_concern, place_kind=PlaceKind.ADDRESS, place="Intelton GP surgery",
    )
    db.session.add(Attendee(meeting_id=meeting.id, guest_name=ADULT_NAME, guest_email=ADULT_EMAIL,
                            guest_relationship=GuestRelationship.ADULT))
    db.session.commit()
    return meeting


def test_one_email_per_attendee_and_queuing_again_adds_none(db_session, make_meeting, intel_world):
    users = intel_world.users
    meeting = make_meeting(invite=[users.manager, users.inspector])
    guest = Attendee(meeting_id=meeting.id, guest_name="Gail Guest", guest_email="gail@guest.example",
                     guest_relationship=GuestRelationship.OTHER)
    no_email = Attendee(meeting_id=meeting.id, guest_name="No Email", guest_relationship=GuestRelationship.FAMILY)
    db.session.add_all([guest, no_email])

    queued = queue_calendar_emails(meeting, meeting.attendees + [guest, no_email])
    assert len(queued) == 4  # the organiser, two invitees and the guest; nobody without an address
    assert queue_calendar_emails(meeting, [guest, *meeting.attendees]) == []
    db_session.commit()

    emails = calendar_emails(db_session)
    assert len(emails) == 4 and len({e.key for e in emails}) == 4
    by_attendee = {e.attendee_id: e for e in emails}
    assert by_attendee[guest.id].recipient_id is None
    assert {e.recipient_id for e in emails} == {users.council_commissioner.id, users.manager.id, users.inspector.id, None}
    assert all(e.calendar_sequence == 0 and e.key.endswith("-seq0-request") for e in emails)
    assert all(e.state is DeliveryState.SENT for e in emails)  # handed over after the commit
    assert queue_calendar_emails(meeting, meeting.attendees) == []

    # A change raises the sequence: everyone gets an update, once.
    meeting.sequence = 1
    assert len(queue_calendar_emails(meeting, meeting.attendees)) == 4
    assert queue_calendar_emails(meeting, meeting.attendees) == []

    # Taken off the list, invited again: a cancellation, then a fresh invitation.
    manager = next(a for a in meeting.attendees if a.user_id == users.manager.id)
    manager.removed_at = utcnow()
    [cancel] = queue_calendar_emails(meeting, [manager], cancel=True)
    assert cancel.key.endswith("-seq1-cancel") and queue_calendar_emails(meeting, [manager], cancel=True) == []
    manager.removed_at = None
    [again] = queue_calendar_emails(meeting, [manager])
    assert again.key.endswith("-seq1-request-2")
    db_session.commit()
    assert again.state is DeliveryState.SENT
    # The cancellation had not gone when they were invited again: it would only undo the invitation.
    assert cancel.state is DeliveryState.FAILED and "invited again" in cancel.last_error


def test_an_invitation_overtaken_by_a_change_or_a_removal_is_not_sent(db_session, make_meeting, intel_world, smtp):
    users = intel_world.users
    meeting = make_meeting(invite=[users.manager, users.inspector])
    manager = next(a for a in meeting.attendees if a.user_id == users.manager.id)
    inspector = next(a for a in meeting.attendees if a.user_id == users.inspector.id)
    [first] = queue_calendar_emails(meeting, [manager])
    [invited] = queue_calendar_emails(meeting, [inspector])
    db_session.flush()
    meeting.sequence = 1
    [update] = queue_calendar_emails(meeting, [manager])
    inspector.removed_at = utcnow()
    [removal] = queue_calendar_emails(meeting, [inspector], cancel=True)
    db_session.commit()

    assert first.state is DeliveryState.FAILED and "changed again" in first.last_error
    assert invited.state is DeliveryState.FAILED and "taken off the list" in invited.last_error
    assert update.state is DeliveryState.SENT and removal.state is DeliveryState.SENT
    [to_manager] = smtp.to(users.manager.email)
    assert to_manager["Subject"].startswith("Updated: Provider quality meeting, ")
    assert Calendar.from_ical(parts(to_manager)[0].get_content())["METHOD"] == "REQUEST"
    [to_inspector] = smtp.to(users.inspector.email)
    assert to_inspector["Subject"].startswith("You are no longer invited: Provider quality meeting")
    assert "taken off the list" in body_of(to_inspector)
    assert 'method="CANCEL"' in parts(to_inspector)[0]["Content-Type"]

    # A cancellation is never overtaken: cancelling the meeting reaches everyone.
    meeting.status, meeting.sequence = MeetingStatus.CANCELLED, 2
    current = [a for a in meeting.attendees if a.removed_at is None]
    assert len(queue_calendar_emails(meeting, current)) == 2
    db_session.commit()
    [cancelled] = [m for m in smtp.to(users.manager.email) if m["Subject"].startswith("Cancelled: ")]
    event = Calendar.from_ical(parts(cancelled)[0].get_content()).walk("VEVENT")[0]
    assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 2


def test_an_invitation_through_a_real_smtp_server_is_read_as_a_calendar_invitation(
    db_session, adult_meeting, intel_world, smtp, app,
):
    users = intel_world.users
    meeting = adult_meeting
    queue_calendar_emails(meeting, meeting.attendees)
    db_session.commit()
    assert {e.state for e in calendar_emails(db_session)} == {DeliveryState.SENT}

    [message] = smtp.to(users.manager.email)
    assert message["Subject"] == f"Invitation: Safeguarding meeting, {format_datetime(meeting.starts_at)}"
    assert message.get_content_type() == "multipart/mixed"
    calendar_part, attachments = parts(message)
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"
    assert set(attachments) == {"invite.ics"}
    calendar = Calendar.from_ical(attachments["invite.ics"].get_content())
    assert calendar["METHOD"] == "REQUEST"
    assert calendar_part.get_content().encode() == attachments["invite.ics"].get_content()
    event = calendar.walk("VEVENT")[0]
    assert str(event["UID"]) == meeting.uid and event["LOCATION"] == "Intelton GP surgery"

    text, html = body_of(message), html_of(message)
    assert "Intelton GP surgery" in text and "(UK time)" in text and users.lead.email in text
    assert f"{app.config['PUBLIC_URL']}/meetings/{meeting.id}" in text
    assert f"/meetings/{meeting.id}/calendar.ics" in text and f"/meetings/{meeting.id}" in html
    decoded = str(message["Subject"]) + "".join(
        _as_text(part.get_content()) for part in message.walk() if not part.is_multipart()
    )
    assert ADULT_NAME not in decoded and ADULT_EMAIL not in decoded

    # The adult's own email: their copy, plain words and who to contact, no portal link.
    [to_adult] = smtp.to(ADULT_EMAIL)
    text = body_of(to_adult)
    assert text.startswith(f"Hello {ADULT_NAME},") and "/meetings/" not in text
    assert f"Please tell {users.lead.name} whether you can come, by emailing {users.lead.email}" in text
    event = Calendar.from_ical(parts(to_adult)[1]["invite.ics"].get_content()).walk("VEVENT")[0]
    assert f"mailto:{ADULT_EMAIL}" in [str(a) for a in event["ATTENDEE"]]


def test_gov_uk_notify_gets_the_text_with_the_link_to_the_file(db_session, make_meeting, intel_world, notify, app):
    users = intel_world.users
    meeting = make_meeting(invite=[users.manager])
    manager = next(a for a in meeting.attendees if a.user_id == users.manager.id)
    [email] = queue_calendar_emails(meeting, [manager])
    db_session.commit()
    assert email.state is DeliveryState.SENT
    [sent] = notify.received
    assert sent["email_address"] == users.manager.email and sent["reference"] == email.key
    assert sent["personalisation"]["subject"].startswith("Invitation: Provider quality meeting, ")
    assert f"{app.config['PUBLIC_URL']}/meetings/{meeting.id}/calendar.ics" in sent["personalisation"]["body"]


def test_administrators_see_a_guests_email_without_the_address(db_session, client, act_as, adult_meeting, intel_world,
                                                               make_area, make_agency, make_user):
    guest = next(a for a in adult_meeting.attendees if a.user_id is None)
    [email] = queue_calendar_emails(adult_meeting, [guest])
    db_session.commit()
    email.state, email.last_error = DeliveryState.FAILED, "Refused: 550 no such mailbox"
    db_session.commit()

    act_as(intel_world.users.admin)
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert "Meeting guest (address withheld)" in page
    assert ADULT_EMAIL not in page and ADULT_NAME not in page and "jo.example" not in page
    row = re.search(r"Meeting guest \(address withheld\).*?</tr>", page, re.S).group(0)
    assert "Meeting invitation, update or cancellation" in row and "Try again" in row

    response = client.post(f"/admin/notifications/{email.id}/resend", follow_redirects=True)
    assert response.status_code == 200
    assert "to Meeting guest (address withheld) has been handed over" in response.get_data(as_text=True)
    db_session.refresh(email)
    assert email.state is DeliveryState.SENT

    elsewhere = make_agency(AgencyKind.LOCAL_AUTHORITY, area=make_area("Otherwhere"), name="Other council")
    act_as(make_user(Role.ADMINISTRATOR, agency=elsewhere, email="admin@otherwhere.example"))
    assert "Meeting guest" not in client.get("/admin/notifications").get_data(as_text=True)
    assert client.post(f"/admin/notifications/{email.id}/resend").status_code == 404

