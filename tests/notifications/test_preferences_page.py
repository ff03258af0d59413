"""A person's notification settings page: choices saved, audited and obeyed; the mandatory ones fixed."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.concerns import operations
from portal.core.codes import AbuseType, AgencyKind, Role
from portal.notifications.models import (
    DeliveryState,
    EmailDelivery,
    Notification,
    NotificationEvent,
    NotificationPreference,
    PreferenceChoice,
)
from portal.notifications.operations import preferences_of

E = NotificationEvent
CHOOSABLE = [event for event in NotificationEvent if not event.mandatory]


@pytest.fixture
def people(db_session, area, make_agency, make_service, make_user):
    council = make_agency(AgencyKind.LOCAL_AUTHORITY, name="Settings council")
    provider = make_agency(AgencyKind.CARE_PROVIDER, name="Settings provider")
    return SimpleNamespace(
        service=make_service(provider),
        lead=make_user(Role.SAFEGUARDING_LEAD, agency=council, email="lead@settings.example"),
        staff=make_user(Role.PROVIDER_STAFF, agency=provider, email="staff@settings.example"),
    )


def raise_concern(db_session, area, people):
    staff = people.staff
    staff.membership = staff.active_memberships[0]
    concern = operations.raise_concern(
        area=area, raised_by=staff, service=people.service, what_happened="Medication missed twice",
        abuse_types={AbuseType.NEGLECT},
    )
    staff.membership = None
    db_session.commit()
    return concern


def answers(**overrides) -> dict[str, str]:
    """Every question on the page answered 'straight away', except those given."""
    data = {event.name.lower(): PreferenceChoice.IMMEDIATELY.name for event in CHOOSABLE}
    data.update(overrides)
    return data


def checked(text: str, name: str) -> str | None:
    """The value of the radio button chosen for ``name`` on the page."""
    for tag in re.findall(r"<input[^>]*>", text):
        if f'name="{name}"' in tag and "checked" in tag:
            return re.search(r'value="([^"]+)"', tag).group(1)
    return None


def test_the_page_asks_about_each_event_and_shows_the_mandatory_ones_read_only(people, client, act_as, app):
    act_as(people.lead)

    text = client.get("/notifications/preferences").text

    for event in CHOOSABLE:
        assert checked(text, event.name.lower()) == "IMMEDIATELY"
        assert event.explanation.replace("'", "&#39;") in text
    assert 'name="concern_assigned"' not in text
    assert "A concern was assigned to you" in text and "Always sent straight away" in text
    assert "neither an email nor a notification in the portal" in text
    assert app.config["DIGEST_HOUR"] == 7 and "sent at 7am (UK time) the next morning" in text


def test_the_digest_hour_comes_from_the_settings(people, client, act_as, app):
    act_as(people.lead)
    previous = app.config["DIGEST_HOUR"]
    app.config["DIGEST_HOUR"] = 18
    try:
        text = client.get("/notifications/preferences").text
    finally:
        app.config["DIGEST_HOUR"] = previous
    assert "sent at 6pm (UK time) the next day" in text


def test_saving_choices_keeps_them_audits_them_and_shows_them_again(people, client, act_as, db_session):
    act_as(people.lead)

    response = client.post(
        "/notifications/preferences",
        data=answers(concern_raised="OFF", concern_comment="DAILY_DIGEST"),
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert "Your choices have been saved." in response.text
    assert checked(response.text, "concern_raised") == "OFF"
    assert checked(response.text, "concern_comment") == "DAILY_DIGEST"
    chosen = preferences_of(people.lead.id)
    assert chosen[E.CONCERN_RAISED] is PreferenceChoice.OFF
    assert chosen[E.CONCERN_COMMENT] is PreferenceChoice.DAILY_DIGEST
    assert chosen[E.CONCERN_TRIAGED] is PreferenceChoice.IMMEDIATELY
    [event] = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "notifications.preferences_changed")).all()
    assert event.actor_id == people.lead.id
    assert json.loads(event.details) == {"CONCERN_RAISED": "OFF", "CONCERN_COMMENT": "DAILY_DIGEST"}

    again = client.post("/notifications/preferences", data=answers(concern_raised="OFF", concern_comment="DAILY_DIGEST"),
                        follow_redirects=True)
    assert "Nothing changed" in again.text
    assert db_session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "notifications.preferences_changed")
    ) == 1


def test_off_means_no_notification_in_the_portal_and_no_email(people, client, act_as, db_session, area):
    act_as(people.lead)
    client.post("/notifications/preferences", data=answers(concern_raised="OFF"))

    concern = raise_concern(db_session, area, people)

    recipient = Notification.recipient_id == people.lead.id
    assert db_session.scalars(sa.select(Notification).where(recipient, Notification.concern_id == concern.id)).all() == []
    assert db_session.scalars(sa.select(EmailDelivery).where(EmailDelivery.recipient_id == people.lead.id)).all() == []


def test_a_daily_summary_keeps_the_email_for_the_summary_and_notifies_in_the_portal_now(
    people, client, act_as, db_session, area
):
    act_as(people.lead)
    client.post("/notifications/preferences", data=answers(concern_raised="DAILY_DIGEST"))

    concern = raise_concern(db_session, area, people)

    [note] = db_session.scalars(sa.select(Notification).where(Notification.recipient_id == people.lead.id)).all()
    assert note.concern_id == concern.id
    [email] = db_session.scalars(sa.select(EmailDelivery).where(EmailDelivery.recipient_id == people.lead.id)).all()
    assert email.state is DeliveryState.IN_DIGEST_QUEUE


def test_a_crafted_request_cannot_turn_off_what_is_always_sent(people, client, act_as, db_session):
    act_as(people.lead)

    response = client.post("/notifications/preferences", data=answers(concern_raised="OFF", concern_assigned="OFF"))

    assert response.status_code == 200
    assert "govuk-error-summary" in response.text
    assert "A concern was assigned to you is always sent and cannot be changed" in response.text
    assert db_session.scalars(sa.select(NotificationPreference)).all() == []
    assert preferences_of(people.lead.id)[E.CONCERN_ASSIGNED] is PreferenceChoice.IMMEDIATELY
    assert db_session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "notifications.preferences_changed")
    ) == 0


@pytest.mark.parametrize(
    "data, message",
    [
        pytest.param(answers(concern_raised="LOUDLY"), "Select one of the options", id="unknown choice"),
        pytest.param({k: v for k, v in answers().items() if k != "concern_closed"},
                     "A concern was closed: select straight away, in a daily summary email or off", id="question left out"),
    ],
)
def test_an_answer_that_is_not_one_of_the_options_is_shown_as_an_error(people, client, act_as, db_session, data, message):
    act_as(people.lead)

    response = client.post("/notifications/preferences", data=data)

    assert response.status_code == 200
    assert response.text.count(message) == 2  # in the error summary and beside the question
    assert db_session.scalars(sa.select(NotificationPreference)).all() == []


def test_the_notifications_list_links_to_the_settings(people, client, act_as):
    act_as(people.lead)
    assert 'href="/notifications/preferences"' in client.get("/notifications").text


def test_the_settings_page_needs_sign_in(client):
    for method in ("GET", "POST"):
        response = client.open("/notifications/preferences", method=method)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_saving_needs_the_forms_token(people, app, client, act_as, db_session):
    act_as(people.lead)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post("/notifications/preferences", data=answers(concern_raised="OFF"))
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert refused.status_code == 400
    assert db_session.scalars(sa.select(NotificationPreference)).all() == []
