"""The demo area's escalations: every stage, state and kind of subject, breaches the running portal
will not move at once, one moved up by the portal, learning captured, and no adult named."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.agreements.sharing import london_today
from portal.concerns.models import Adult
from portal.concerns.privacy import names_the_adult
from portal.core.codes import Role
from portal.core.db import utcnow
from portal.core.workdays import LONDON
from portal.demo.seed import ACCOUNTS
from portal.escalations.ladder import DEFAULT_LADDER, auto_escalate_time, stage_deadline
from portal.escalations.models import (
    Escalation,
    EscalationState,
    EscalationSubject,
    EventKind,
    StageOutcome,
    ViewGivenBy,
)
from portal.escalations.operations import escalate_overdue
from portal.intelligence.models import IntelligenceItem, SourceType
from portal.notifications.models import NotificationIntent, Reminder

LEAD = "lead@council.northshire.example"
POLICE_LEAD = "lead@police.northshire.example"
CHAIR = "chair@sab.northshire.example"


@pytest.fixture
def demo(db_session):
    """The demo, seeded once for the package (tests/demo/conftest.py)."""
    return db_session.scalars(sa.select(Escalation).order_by(Escalation.id)).all()


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _texts(escalation: Escalation) -> list[str]:
    texts = [escalation.disagreement, escalation.wanted, escalation.outcome, escalation.learning,
             escalation.withdrawn_reason, escalation.adult_view]
    texts += [event.text for event in escalation.events] + [stage.response for stage in escalation.stages]
    return [text for text in texts if text]


def _every_stage_state_and_kind_of_subject(demo):
    assert {e.stage for e in demo} == {1, 2, 3, 4}
    assert {e.state for e in demo} == set(EscalationState)
    assert {e.subject for e in demo} == set(EscalationSubject)
    assert len({e.raising_agency_id for e in demo}) >= 4 and len({e.receiving_agency_id for e in demo}) >= 4
    assert len({t for e in demo for t in e.abuse_types}) >= 5
    assert len({q for e in demo for q in e.key_questions}) >= 4
    service_types = {e.service.service_type for e in demo if e.service} | {
        e.concern.service.service_type for e in demo if e.concern and e.concern.service}
    assert len(service_types) >= 3
    assert any(e.harm_imminent for e in demo)
    [withdrawn] = [e for e in demo if e.state is EscalationState.WITHDRAWN]
    assert withdrawn.withdrawn_reason and withdrawn.closed_at
    # The police's designated lead is a demo account who raises and answers escalations for the force.
    assert any(a.email == POLICE_LEAD and a.role is Role.SAFEGUARDING_LEAD for a in ACCOUNTS)
    assert {POLICE_LEAD} <= {e.raised_by.email for e in demo}


def _deadlines_are_computed_and_moves_are_in_the_past_in_order(demo):
    now = utcnow()
    for escalation in demo:
        for stage in escalation.stages:
            working_days = DEFAULT_LADDER.stage(stage.number).working_days
            assert stage.deadline_at == stage_deadline(stage.started_at, working_days, harm_imminent=escalation.harm_imminent)
        times = [event.occurred_at for event in escalation.events]
        assert escalation.events[0].kind is EventKind.RAISED and times[0] == escalation.raised_at
        assert times == sorted(times) and times[-1] < now
        assert escalation.deadline_at == escalation.current_stage.deadline_at


def _breached_ones_stay_put_until_their_grace_period_ends(demo):
    now = utcnow()
    breached = [e for e in demo if e.breached(now)]
    within_grace = [e for e in breached if e.stage < DEFAULT_LADDER.top and e.auto_escalate_at > now]
    assert len(within_grace) >= 2
    for escalation in breached:
        if escalation.stage < DEFAULT_LADDER.top:
            assert escalation.auto_escalate_at == auto_escalate_time(escalation.deadline_at, DEFAULT_LADDER, harm_imminent=escalation.harm_imminent)
            assert escalation.auto_escalate_at > now


def _one_was_moved_up_by_the_portal_with_its_reason(demo):
    moved = [(e, event) for e in demo for event in e.events if event.kind is EventKind.AUTO_ESCALATED]
    assert len(moved) == 1
    escalation, event = moved[0]
    assert event.actor_id is None and event.stage == 1
    assert "No response by the deadline" in event.text and "grace period" in event.text
    assert escalation.stages[0].outcome is StageOutcome.AUTO_ESCALATED and escalation.stages[0].responded_at is None
    assert escalation.stages[1].started_at == event.occurred_at and escalation.stage == 2
    assert escalation.raised_by.email == POLICE_LEAD and escalation.subject is EscalationSubject.DISAGREEMENT
    # The people told about it saw it when it happened, not when the demo was loaded.
    escalated = escalation.stages[1].started_at
    told = [i for i in _intents(escalation) if "Escalated by the portal" in i.summary]
    assert told and all(i.created_at == escalated for i in told)


def _intents(escalation):
    from portal.extensions import db

    return db.session.scalars(sa.select(NotificationIntent).where(
        NotificationIntent.subject_type == "escalation", NotificationIntent.subject_id == escalation.id)).all()


def _resolved_with_outcome_and_learning_this_quarter_and_last(demo):
    resolved = [e for e in demo if e.state is EscalationState.RESOLVED]
    assert resolved and all(e.outcome and e.learning and e.closed_at for e in resolved)
    assert all(e.current_stage.outcome is StageOutcome.RESOLVED for e in resolved)
    quarter = _quarter_start(london_today())
    previous = _quarter_start(quarter - timedelta(days=1))
    closed_on = [e.closed_at.astimezone(LONDON).date() for e in resolved]
    assert any(day >= quarter for day in closed_on)
    assert any(previous <= day < quarter for day in closed_on)


def _the_adults_view_and_the_boards_mediation(demo):
    [about_concern] = [e for e in demo if e.subject is EscalationSubject.CONCERN and e.stage == 4]
    assert about_concern.adult_view and about_concern.adult_view_by is ViewGivenBy.ADVOCATE
    assert about_concern.adult_view_recorded_by.email == LEAD
    [noted] = [event for event in about_concern.events if event.kind is EventKind.ADULT_VIEW]
    assert about_concern.adult_view not in noted.text
    [note] = [event for event in about_concern.events if event.kind is EventKind.MEDIATION_NOTE]
    assert note.actor.email == CHAIR and note.stage == 4


def _no_text_names_an_adult(demo, db_session):
    names = [name.lower() for name in db_session.scalars(sa.select(Adult.name).where(Adult.name.is_not(None)))]
    for escalation in demo:
        for text in _texts(escalation):
            assert not any(name in text.lower() for name in names), (escalation.reference, text)
            assert not names_the_adult(text, escalation.concern), (escalation.reference, text)


def _the_service_escalations_are_intelligence(demo, db_session):
    about_services = [e for e in demo if e.subject is EscalationSubject.SERVICE]
    items = db_session.scalars(sa.select(IntelligenceItem).where(IntelligenceItem.source == SourceType.ESCALATION)).all()
    assert {item.escalation_id for item in items} == {e.id for e in about_services}


def _nothing_old_is_left_to_fire_or_move(demo, db_session):
    now = utcnow()
    stale = db_session.scalar(sa.select(sa.func.count()).select_from(Reminder).where(
        Reminder.key.like("escalation:%"), Reminder.due_at < now - timedelta(minutes=10),
        Reminder.fired_at.is_(None), Reminder.cancelled_at.is_(None)))
    assert stale == 0
    before = [(e.id, e.stage, e.state) for e in demo]
    assert escalate_overdue() == 0
    after = [(e.id, e.stage, e.state) for e in db_session.scalars(sa.select(Escalation).order_by(Escalation.id))]
    assert after == before


def test_the_demo_escalations_cover_every_stage_and_state_and_none_moves_when_the_portal_starts(demo, db_session):
    # One seeding for all the checks: building the demo takes seconds, most of all on PostgreSQL.
    _every_stage_state_and_kind_of_subject(demo)
    _deadlines_are_computed_and_moves_are_in_the_past_in_order(demo)
    _breached_ones_stay_put_until_their_grace_period_ends(demo)
    _one_was_moved_up_by_the_portal_with_its_reason(demo)
    _resolved_with_outcome_and_learning_this_quarter_and_last(demo)
    _the_adults_view_and_the_boards_mediation(demo)
    _no_text_names_an_adult(demo, db_session)
    _the_service_escalations_are_intelligence(demo, db_session)
    _nothing_old_is_left_to_fire_or_move(demo, db_session)
