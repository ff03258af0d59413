"""Break glass: a designated lead whose sight of the adult's details is withheld sees them in an
emergency, for a limited time, with a reason; the leads are told at once; the area's leads review it."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa
import time_machine

from portal.audit.models import AuditEvent
from portal.core.codes import AgencyKind, Role
from portal.core.db import utcnow
from portal.core.workdays import LONDON
from portal.extensions import db
from portal.notifications.models import Notification, NotificationEvent, NotificationPreference, PreferenceChoice
from portal.people.models import Membership
from portal.privacy.models import BreakGlassGrant
from tests.notifications.conftest import body_of, html_of

REASON = "The police are at the door and need her address to reach her tonight"


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def break_glass(client, concern, reason=REASON, confirm="y"):
    return client.post(f"/concerns/{concern.id}/break-glass", data={"reason": reason, "confirm": confirm})


def test_a_partner_lead_sees_the_withheld_details_under_break_glass_with_a_banner_and_audited(world, act_as):
    client = act_as(world.police_lead)
    page = client.get(f"/concerns/{world.concern.id}").text
    assert "Edith Marsh" not in page and "withheld: no agreement" in page and "break-glass-link" in page
    form = client.get(f"/concerns/{world.concern.id}/break-glass").text
    assert "only in an emergency" in form and "60 minutes" in form

    response = break_glass(client, world.concern)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/concerns/{world.concern.id}#adult")
    page = client.get(f"/concerns/{world.concern.id}").text
    assert "Edith Marsh" in page and "9434765919" in page
    grant = db.session.scalars(sa.select(BreakGlassGrant)).one()
    until = grant.expires_at.astimezone(LONDON).strftime("%H:%M")
    assert f"You are seeing these details under break glass until {until}" in page
    assert grant.expires_at - grant.granted_at == timedelta(minutes=60)
    assert (grant.user_id, grant.membership_id, grant.reason) == (
        world.police_lead.id, world.police_lead.active_memberships[0].id, REASON)

    [used] = events("privacy.break_glass")
    assert (used.object_type, used.object_id, used.actor_id) == ("Concern", str(world.concern.id), world.police_lead.id)
    assert json.loads(used.details)["reason"] == REASON
    [seen] = events("concern.view_personal")
    assert json.loads(seen.details)["break_glass"] is True and "break glass" in seen.summary
    assert "Break glass: Tamsin Reed, Privacyshire Police" in page  # on the concern's timeline


def test_a_reason_of_a_few_words_or_no_confirmation_is_refused_with_an_error_summary(world, act_as):
    client = act_as(world.police_lead)
    response = break_glass(client, world.concern, reason="urgent, need it")
    assert response.status_code == 200
    assert "There is a problem" in response.text and "Explain the emergency in at least 5 words" in response.text
    response = break_glass(client, world.concern, reason="", confirm="")
    assert "Explain the emergency that needs the adult&#39;s details now" in response.text
    assert "Confirm that you understand this use will be reviewed" in response.text
    assert db.session.scalar(sa.select(sa.func.count(BreakGlassGrant.id))) == 0
    assert events("privacy.break_glass") == []


def test_the_grant_ends_after_the_configured_time_and_holds_only_in_that_role(world, act_as, make_agency):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        break_glass(act_as(world.police_lead), world.concern)
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert "Edith Marsh" in act_as(world.police_lead).get(f"/concerns/{world.concern.id}").text
        # The same person acting as the lead of another agency does not carry the grant with them.
        trust = make_agency(AgencyKind.NHS_TRUST, area=world.area, name="Privacyshire Trust")
        second_role = Membership(user_id=world.police_lead.id, agency_id=trust.id, role=Role.SAFEGUARDING_LEAD)
        db.session.add(second_role)
        db.session.commit()
        page = act_as(world.police_lead, second_role).get(f"/concerns/{world.concern.id}").text
        assert "Edith Marsh" not in page and "withheld: no agreement" in page
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        page = act_as(world.police_lead).get(f"/concerns/{world.concern.id}").text
        assert "Edith Marsh" not in page and "withheld: no agreement" in page and "break-glass-link" in page


def test_breaking_glass_emails_the_council_leads_and_the_own_agencys_leads_at_once_without_the_adult(world, act_as, smtp):
    # A lead who chose a daily summary for everything still hears of this straight away.
    db.session.add(NotificationPreference(user_id=world.police_colleague.id, event=NotificationEvent.BREAK_GLASS_USED,
                                          choice=PreferenceChoice.DAILY_DIGEST))
    db.session.commit()
    smtp.clear()
    break_glass(act_as(world.police_lead), world.concern)
    told = {m["To"] for m in smtp.messages if "Break glass" in m["Subject"]}
    assert told == {world.lead.email, world.second_lead.email, world.police_colleague.email}
    for message in smtp.messages:
        text = body_of(message) + html_of(message) + message["Subject"]
        assert "Edith" not in text and "Marsh" not in text and "9434765919" not in text and "Quay Street" not in text
    [message] = smtp.to(world.lead.email)
    assert world.concern.reference in message["Subject"] and "/privacy/break-glass" in body_of(message)
    in_app = db.session.scalars(sa.select(Notification.recipient_id).where(
        Notification.event == NotificationEvent.BREAK_GLASS_USED)).all()
    assert sorted(in_app) == sorted([world.lead.id, world.second_lead.id, world.police_colleague.id])
    assert NotificationEvent.BREAK_GLASS_USED.mandatory


def test_nobody_breaks_glass_on_a_concern_they_cannot_see(world, act_as):
    client = act_as(world.other_lead)
    assert client.get(f"/concerns/{world.concern.id}/break-glass").status_code == 404
    assert break_glass(client, world.concern).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(BreakGlassGrant.id))) == 0


def test_someone_who_already_sees_the_details_goes_back_to_the_concern(world, act_as):
    client = act_as(world.lead)
    response = client.get(f"/concerns/{world.concern.id}/break-glass")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/concerns/{world.concern.id}")
    assert break_glass(client, world.concern).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(BreakGlassGrant.id))) == 0
    assert "break-glass-link" not in client.get(f"/concerns/{world.concern.id}").text


def test_a_role_without_break_glass_is_refused_even_where_details_are_withheld(world, act_as):
    client = act_as(world.inspector)
    page = client.get(f"/concerns/{world.concern.id}").text
    assert "withheld: no agreement" in page and "break-glass-link" not in page
    assert client.get(f"/concerns/{world.concern.id}/break-glass").status_code == 403
    assert break_glass(client, world.concern).status_code == 403


def test_the_areas_leads_review_each_use_with_a_note_and_the_review_is_audited(world, act_as):
    break_glass(act_as(world.police_lead), world.concern)
    grant = db.session.scalars(sa.select(BreakGlassGrant)).one()

    police_list = act_as(world.police_lead).get("/privacy/break-glass").text
    assert REASON in police_list and "Awaiting review" in police_list and "/review" not in police_list
    assert act_as(world.police_lead).get(f"/privacy/break-glass/{grant.id}/review").status_code == 403
    assert act_as(world.other_lead).get(f"/privacy/break-glass/{grant.id}/review").status_code == 404
    assert act_as(world.staff).get("/privacy/break-glass").status_code == 403

    client = act_as(world.lead)
    page = client.get("/privacy/break-glass").text
    assert all(text in page for text in ("Tamsin Reed, Privacyshire Police", REASON, world.concern.reference, "Awaiting review"))
    assert "Edith" not in page
    response = client.post(f"/privacy/break-glass/{grant.id}/review", data={"note": "  "})
    assert response.status_code == 200 and "Enter what the review found" in response.text
    response = client.post(f"/privacy/break-glass/{grant.id}/review", data={"note": "Justified: police welfare check"})
    assert response.status_code == 302
    db.session.refresh(grant)
    assert grant.reviewed_by_id == world.lead.id and grant.review_note == "Justified: police welfare check"
    [reviewed] = events("privacy.break_glass_reviewed")
    assert (reviewed.object_type, reviewed.object_id, reviewed.actor_id) == ("BreakGlassGrant", str(grant.id), world.lead.id)
    assert "Reviewed" in client.get("/privacy/break-glass").text
    assert client.post(f"/privacy/break-glass/{grant.id}/review", data={"note": "again"}).status_code == 302
    assert len(events("privacy.break_glass_reviewed")) == 1
