"""The demo's personal-data controls: Northshire's retention settings, concerns already redacted
under its short setting for reporters' details, and the police lead's break glass awaiting review."""

from __future__ import annotations

import sqlalchemy as sa

from portal.agencies.models import Area
from portal.demo.seed import AREA_NAME
from portal.people.models import User
from portal.privacy.models import BreakGlassGrant, Redaction, RetentionCategory
from portal.privacy.operations import retention_for


def test_the_demo_has_retention_settings_a_redacted_concern_and_a_break_glass_to_review(db_session, act_as):
    area = db_session.scalar(sa.select(Area).where(Area.name == AREA_NAME))
    retention = retention_for(area.id)
    assert retention[RetentionCategory.REPORTER_CONTACT].months == 9 and not retention[RetentionCategory.REPORTER_CONTACT].is_default
    assert retention[RetentionCategory.ADULT_DETAILS].is_default

    redacted = db_session.scalars(sa.select(Redaction)).all()
    assert redacted and {r.category for r in redacted} == {RetentionCategory.REPORTER_CONTACT}
    # Only the reporters' details went: the adults' stay for the default six years.
    assert all(r.concern.reporter_name is None and r.concern.reporter_contact is None for r in redacted)
    assert any(r.concern.adult is not None and r.concern.adult.name for r in redacted)

    [grant] = db_session.scalars(sa.select(BreakGlassGrant)).all()
    assert grant.user.email == "lead@police.northshire.example" and grant.reviewed_at is None
    lead = db_session.scalar(sa.select(User).where(User.email == "lead@council.northshire.example"))
    page = act_as(lead).get("/privacy/break-glass").text
    assert grant.concern.reference in page and "Awaiting review" in page
    page = act_as(lead).get(f"/concerns/{redacted[0].concern_id}").text
    assert "Personal details redacted on" in page
