"""Retention: each area's administrators set how long each category of personal data is kept after
a concern closes; a daily task redacts what has passed it, once, keeping the national figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import time_machine

from config import celery_settings
from portal.audit.models import AuditEvent
from portal.concerns import operations as concern_operations
from portal.concerns.models import Adult, Concern
from portal.core.codes import ConcernStatus
from portal.extensions import db
from portal.privacy import operations
from portal.privacy.models import REDACTED, Redaction, RetentionCategory, RetentionSetting
from portal.reports.msp import Period, build_report
from tests.privacy.conftest import acting
from workers.tasks.privacy import redact_expired as redact_task

FIELDS = {"adult_details": "72", "adult_voice": "72", "reporter_contact": "24", "meeting_guests": "24"}


def audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def close_long_ago(concern: Concern, when=datetime(2019, 5, 1, 12, tzinfo=UTC), **fields) -> None:
    """A concern worked and closed in 2019 (written straight in: the lifecycle is tested elsewhere)."""
    values = dict(status=ConcernStatus.CLOSED, closed_at=when, adult_views="She wants to stay at home with Bob",
                  advocate_name="Alex Advocate", reporter_name="Nina Neighbour", reporter_contact="07700 900123")
    values.update(fields)
    for name, value in values.items():
        setattr(concern, name, value)
    db.session.commit()


# The settings page ----------------------------------------------------------------------------


def test_administrators_set_each_categorys_months_and_every_change_is_kept_and_audited(world, act_as):
    client = act_as(world.admin)
    page = client.get("/admin/retention").text
    assert all(f'value="{months}"' in page for months in ("72", "24")) and "No changes" in page
    response = client.post("/admin/retention", data={**FIELDS, "adult_details": "84"})
    assert response.status_code == 302
    assert client.post("/admin/retention", data={**FIELDS, "adult_details": "84"}).status_code == 302
    response = client.post("/admin/retention", data={**FIELDS, "adult_details": "96", "reporter_contact": "12"})
    settings = db.session.scalars(sa.select(RetentionSetting).order_by(RetentionSetting.id)).all()
    assert [(s.category, s.months, s.set_by_id) for s in settings] == [
        (RetentionCategory.ADULT_DETAILS, 84, world.admin.id), (RetentionCategory.ADULT_DETAILS, 96, world.admin.id),
        (RetentionCategory.REPORTER_CONTACT, 12, world.admin.id),
    ]
    current = operations.retention_for(world.area.id)
    assert current[RetentionCategory.ADULT_DETAILS].months == 96 and current[RetentionCategory.ADULT_VOICE].is_default
    assert [json for json in (e.details for e in audit("privacy.retention_set"))][-1] == (
        '{"after":12,"before":24,"category":"REPORTER_CONTACT"}')
    page = client.get("/admin/retention").text
    assert 'value="96"' in page and "Ada Admin" in page
    # Another area keeps its own (the defaults).
    assert operations.retention_for(world.other_lead.active_memberships[0].agency.area_id)[
        RetentionCategory.ADULT_DETAILS].months == 72


@pytest.mark.parametrize(("value", "message"), [
    ("", "Enter how many months to keep the adult&#39;s personal details"),
    ("six", "must be a whole number"),
    ("0", "must be between 1 and 1,200"),
    ("-12", "must be between 1 and 1,200"),
    ("1201", "must be between 1 and 1,200"),
    ("7.5", "must be a whole number"),
    ("99999999999999", "too large"),
])
def test_bad_retention_input_is_refused_with_a_message_and_nothing_saved(world, act_as, value, message):
    response = act_as(world.admin).post("/admin/retention", data={**FIELDS, "adult_details": value})
    assert response.status_code == 200
    assert "There is a problem" in response.text and message in response.text
    assert db.session.scalar(sa.select(sa.func.count(RetentionSetting.id))) == 0


def test_only_administrators_set_retention(world, act_as):
    for who in (world.lead, world.police_lead, world.staff):
        assert act_as(who).get("/admin/retention").status_code == 403


# Redaction ------------------------------------------------------------------------------------


def test_redaction_removes_the_personal_details_of_a_concern_closed_past_retention_and_says_so(world, act_as):
    close_long_ago(world.concern)
    concern_operations.add_comment(world.concern, body="Spoke to Edith; Mrs Marsh is safe", local_authority_only=False,
                                   by=acting(world.lead))
    db.session.commit()
    assert redact_task.delay().get() == 4  # the eager task: each category once
    db.session.expire_all()
    concern, adult = world.concern, world.concern.adult
    assert (adult.name, adult.date_of_birth, adult.nhs_number, adult.address, adult.postcode) == (None,) * 5
    assert concern.what_happened == f"Mrs {REDACTED} was left without food"
    assert concern.comments[0].body == f"Spoke to {REDACTED}; Mrs {REDACTED} is safe"
    assert (concern.adult_views, concern.advocate_name) == (REDACTED, REDACTED)
    assert (concern.reporter_name, concern.reporter_contact) == (None, None)
    [age] = db.session.scalars(sa.select(Redaction.age_band).where(Redaction.category == RetentionCategory.ADULT_DETAILS))
    assert age == 4  # 85-94 on the day it was raised
    audited = audit("privacy.redact")
    # The adult's own record, and each category on the concern.
    assert [(e.object_type, e.object_id) for e in audited] == [("Adult", str(adult.id))] + [("Concern", str(concern.id))] * 4
    assert not any("Edith" in e.summary + e.details or "Marsh" in e.summary + e.details for e in audited)
    page = act_as(world.lead).get(f"/concerns/{concern.id}").text
    assert f"Personal details redacted on {date.today().day}" in page and "under the retention setting" in page
    assert "Edith" not in page and "9434765919" not in page


def test_redaction_happens_once_however_often_it_runs(world):
    close_long_ago(world.concern)
    assert operations.redact_expired() == 4
    events = len(audit("privacy.redact"))
    assert operations.redact_expired() == 0 and redact_task.delay().get() == 0
    assert len(audit("privacy.redact")) == events
    # The (concern, category) row is the guard a task running side by side would meet.
    db.session.add(Redaction(concern_id=world.concern.id, category=RetentionCategory.ADULT_VOICE, months=72))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_nothing_is_redacted_before_its_time_or_from_a_reopened_concern(world, act_as):
    close_long_ago(world.concern, when=datetime.now(UTC).replace(microsecond=0))
    assert operations.redact_expired() == 0
    close_long_ago(world.concern)
    concern_operations.reopen_concern(world.concern, reason="New information from the GP", by=acting(world.lead))
    db.session.commit()
    assert operations.redact_expired() == 0
    assert world.concern.adult.name == "Edith Marsh" and world.concern.adult_views


def test_an_adult_whose_other_concern_is_still_open_keeps_their_details(world):
    close_long_ago(world.concern)
    later = concern_operations.raise_concern(
        area=world.area, raised_by=acting(world.lead), service=None, what_happened="Another worry",
        abuse_types={next(iter(world.concern.abuse_types))},
    )
    later.adult = world.concern.adult
    db.session.commit()
    assert operations.redact_expired() == 3  # the concern's other categories
    db.session.expire_all()
    assert world.concern.adult.name == "Edith Marsh"
    assert db.session.scalar(sa.select(sa.func.count(Redaction.id)).where(
        Redaction.category == RetentionCategory.ADULT_DETAILS)) == 0


def test_an_areas_shorter_setting_redacts_sooner(world, act_as):
    close_long_ago(world.concern, when=datetime(2026, 1, 1, tzinfo=UTC))
    with time_machine.travel(datetime(2027, 3, 1, tzinfo=UTC), tick=False):
        assert operations.redact_expired() == 0
        operations.set_retention(world.area, {RetentionCategory.REPORTER_CONTACT: 12}, by=world.admin)
        db.session.commit()
        assert operations.redact_expired() == 1
    [redaction] = db.session.scalars(sa.select(Redaction)).all()
    assert (redaction.category, redaction.months, redaction.setting_id is not None) == (
        RetentionCategory.REPORTER_CONTACT, 12, True)


def test_the_msp_figures_are_exactly_the_same_after_redaction(known_concerns, report_world, db_session):
    area = report_world.area
    period = Period(date(2026, 4, 1), date(2026, 10, 31))
    before = [(t.code, row, column, value) for t, row, column, value in build_report(area.id, period).cells()]
    rounded = [(t.code, r, c, v) for t, r, c, v in build_report(area.id, period, publication_rules=True).cells()]
    with time_machine.travel(datetime(2026, 12, 15, tzinfo=UTC), tick=False):
        operations.set_retention(area, {category: 1 for category in RetentionCategory},
                                 by=report_world.users["administrator"])
        assert operations.redact_expired() > 0
    db.session.expire_all()
    redacted = db.session.scalars(sa.select(Adult).where(Adult.area_id == area.id, Adult.date_of_birth.is_(None),
                                                         Adult.name.is_(None))).all()
    assert len(redacted) >= 4  # the adults whose concerns are all closed
    assert [(t.code, r, c, v) for t, r, c, v in build_report(area.id, period).cells()] == before
    assert [(t.code, r, c, v) for t, r, c, v in build_report(area.id, period, publication_rules=True).cells()] == rounded


def test_the_task_runs_daily_at_a_quiet_hour_and_in_the_embedded_scheduler(app, monkeypatch):
    entry = celery_settings(None, redaction_hour=3)["beat_schedule"]["privacy-redact-expired"]
    assert entry["task"] == "workers.tasks.privacy.redact_expired" == redact_task.name
    assert entry["schedule"].hour == {3} and entry["schedule"].minute == {30}

    from portal.notifications import scheduler

    ran = SimpleNamespace(calls=0)
    for module, name in (("portal.escalations.operations", "escalate_overdue"), ("portal.notifications.dispatch", "run_sweep"),
                         ("portal.notifications.dispatch", "run_digests"),
                         ("portal.intelligence.operations", "refresh_outdated_signals")):
        monkeypatch.setattr(f"{module}.{name}", lambda: None)
    monkeypatch.setattr("portal.privacy.operations.redact_expired", lambda: setattr(ran, "calls", ran.calls + 1))
    with time_machine.travel(datetime(2026, 6, 1, 1, 0, tzinfo=UTC), tick=False):  # 02:00 in London
        scheduler.tick(app)
    with time_machine.travel(datetime(2026, 6, 1, 3, 0, tzinfo=UTC), tick=False):  # 04:00 in London
        scheduler.tick(app)
    assert ran.calls == 1
