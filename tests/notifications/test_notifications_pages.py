"""A person's in-app notifications: only their own, newest first, and marking them all read."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.concerns import operations
from portal.core.codes import AbuseType, AgencyKind, Role
from portal.notifications.models import Notification, NotificationEvent


@pytest.fixture
def setting(db_session, area, make_agency, make_service, make_user):
    council = make_agency(AgencyKind.LOCAL_AUTHORITY, name="Note council")
    provider = make_agency(AgencyKind.CARE_PROVIDER, name="Note provider")
    service = make_service(provider)
    lead = make_user(Role.SAFEGUARDING_LEAD, agency=council, email="lead@note.example")
    other_lead = make_user(Role.SAFEGUARDING_LEAD, agency=council, email="other-lead@note.example")
    staff = make_user(Role.PROVIDER_STAFF, agency=provider, email="staff@note.example")
    staff.membership = staff.active_memberships[0]
    concern = operations.raise_concern(
        area=area, raised_by=staff, service=service, what_happened="Medication missed twice", abuse_types={AbuseType.NEGLECT},
    )
    staff.membership = None
    db_session.commit()
    return lead, other_lead, staff, concern


def notes_of(db_session, user):
    return db_session.scalars(sa.select(Notification).where(Notification.recipient_id == user.id)).all()


def test_the_list_shows_only_the_persons_own_notifications_newest_first(setting, client, act_as, db_session):
    lead, other_lead, staff, concern = setting
    [raised] = notes_of(db_session, lead)
    older = Notification(
        recipient_id=lead.id, event=NotificationEvent.CONCERN_COMMENT, concern_id=concern.id,
        summary=f"An older note: {concern.reference}", created_at=datetime.now(UTC) - timedelta(days=3), read_at=datetime.now(UTC),
    )
    someone_elses = Notification(
        recipient_id=other_lead.id, event=NotificationEvent.CONCERN_ASSIGNED, concern_id=concern.id,
        summary="Not for the lead", created_at=datetime.now(UTC),
    )
    db_session.add_all([older, someone_elses])
    db_session.commit()
    act_as(lead)

    text = client.get("/notifications").text

    assert "Not for the lead" not in text
    assert text.index(raised.summary) < text.index("An older note")
    assert f'href="/concerns/{concern.id}"' in text
    assert text.count("govuk-tag--blue\">Unread") == 1
    assert re.search(r"Notifications \(1<span class=\"govuk-visually-hidden\"> unread</span>\)", text)


def test_mark_all_read_marks_only_the_persons_own(setting, client, act_as, db_session):
    lead, other_lead, staff, concern = setting
    assert len(notes_of(db_session, other_lead)) == 1
    act_as(lead)

    response = client.post("/notifications/read", follow_redirects=True)

    assert response.status_code == 200
    assert "1 notification marked as read" in response.text
    assert "Notifications (0" in response.text
    assert all(n.read_at is not None for n in notes_of(db_session, lead))
    assert all(n.read_at is None for n in notes_of(db_session, other_lead))
    again = client.post("/notifications/read", follow_redirects=True)
    assert "You had no unread notifications" in again.text


def test_mark_all_read_needs_the_forms_token(setting, app, client, act_as, db_session):
    lead, *_ = setting
    act_as(lead)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post("/notifications/read")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/notifications").text).group(1)
        accepted = client.post("/notifications/read", data={"csrf_token": token})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert refused.status_code == 400
    assert accepted.status_code == 302


def test_the_signed_in_bar_shows_the_unread_count_and_the_public_pages_do_not(setting, client, act_as):
    assert "Notifications (" not in client.get("/").text
    lead, other_lead, staff, concern = setting
    act_as(staff)
    assert "Notifications (0" in client.get("/home").text
    act_as(lead)
    assert "Notifications (1" in client.get("/home").text


def test_notifications_need_sign_in(client):
    for method, url in (("GET", "/notifications"), ("POST", "/notifications/read")):
        response = client.open(url, method=method)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_each_notification_links_to_its_own_subject(setting, client, act_as, db_session):
    lead, other_lead, staff, concern = setting
    db_session.add_all([
        Notification(recipient_id=lead.id, event=NotificationEvent.CONCERN_AWAITING_TRIAGE, concern_id=concern.id,
                     summary="A reminder with a link", link=f"/concerns/{concern.id}/triage", created_at=datetime.now(UTC)),
        Notification(recipient_id=lead.id, event=NotificationEvent.CONCERN_COMMENT, concern_id=concern.id,
                     summary="An older note with no link", created_at=datetime.now(UTC) - timedelta(days=1)),
        Notification(recipient_id=lead.id, event=NotificationEvent.CONCERN_COMMENT, summary="About nothing in particular",
                     created_at=datetime.now(UTC) - timedelta(days=2)),
        Notification(recipient_id=lead.id, event=NotificationEvent.CONCERN_COMMENT, summary="Pointing elsewhere",
                     link="//elsewhere.example/phish", created_at=datetime.now(UTC) - timedelta(days=3)),
    ])
    db_session.commit()
    act_as(lead)

    text = client.get("/notifications").text

    assert f'<a class="govuk-link" href="/concerns/{concern.id}/triage">A reminder with a link</a>' in text
    assert f'<a class="govuk-link" href="/concerns/{concern.id}">An older note with no link</a>' in text
    assert ">About nothing in particular</a>" not in text and "About nothing in particular" in text
    assert "elsewhere.example" not in text
