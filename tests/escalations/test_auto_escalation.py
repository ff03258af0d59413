"""The automation: reminders before a stage's deadline, breach notices at it, and the portal's own
move up the ladder once the grace period has passed, as the scheduled task runs it.

Times are frozen: escalations are raised with ``now=`` and the reminder function and the task are
run with ``now=`` (and the clock held there, so that the rules of who may open what agree).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal import policy
from portal.audit.models import AuditEvent
from portal.escalations import operations as ops
from portal.escalations.ladder import stage_deadline
from portal.escalations.ladder_operations import details_from_ladder, save_ladder
from portal.escalations.models import EscalationState, EventKind, StageOutcome
from portal.extensions import db
from portal.notifications.models import Notification, NotificationEvent, NotificationIntent, Reminder
from portal.notifications.reminders import fire_due_reminders
from tests.escalations.conftest import MONDAY, as_acting

S = EscalationState


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


#: The first stage of an escalation raised at MONDAY: due Monday 16 November at 17:00, reminded on
#: the Friday before at 09:00, and moved up by the portal on Wednesday 18 November at 17:00.
REMINDER, DEADLINE, MOVES_UP = utc(2026, 11, 13, 9, 0), utc(2026, 11, 16, 17, 0), utc(2026, 11, 18, 17, 0)


@pytest.fixture
def people(intel_world):
    users = intel_world.users
    return {name: as_acting(getattr(users, name)) for name in vars(users)}


def reminders(escalation, kind: str, stage: int = 1) -> dict[int, Reminder]:
    """The stage's reminders of one kind ("due" or "breach"), by recipient."""
    rows = db.session.scalars(sa.select(Reminder).where(Reminder.key.like(f"escalation:{escalation.id}:stage:{stage}:{kind}:%")))
    return {row.recipient_id: row for row in rows}


def notified(escalation, event: NotificationEvent) -> dict[int, str]:
    """Who received an in-app notification of this kind about the escalation, with its words."""
    rows = db.session.execute(
        sa.select(Notification.recipient_id, Notification.summary)
        .where(Notification.link == f"/escalations/{escalation.id}", Notification.event == event)
    ).all()
    return dict(rows)


def fire(at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        return fire_due_reminders(now=at)


def may_open(person, escalation, at: datetime) -> bool:
    with time_machine.travel(at, tick=False):
        return db.session.scalar(
            policy.escalations_visible_to(person).where(policy._escalation_models().Escalation.id == escalation.id)
        ) is not None


def run_task(at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        return ops.escalate_overdue(now=at)


# Reminders and breach notices ------------------------------------------------------------------


def test_raising_arms_a_reminder_before_the_deadline_and_a_breach_notice_at_it(raise_about, people):
    escalation = raise_about(now=MONDAY)
    ids = {name: person.id for name, person in people.items()}

    due = reminders(escalation, "due")
    assert set(due) == {ids["staff"], ids["manager"]}  # those answering at the first stage
    assert {(row.due_at, row.event) for row in due.values()} == {(REMINDER, NotificationEvent.ESCALATION_DUE)}
    breach = reminders(escalation, "breach")
    # Both sides at this stage and the next: the council's lead joins the raising side at stage 2.
    assert set(breach) == {ids["staff"], ids["manager"], ids["council_commissioner"], ids["lead"]}
    assert {(row.due_at, row.event) for row in breach.values()} == {(DEADLINE, NotificationEvent.ESCALATION_BREACHED)}

    assert fire(REMINDER - timedelta(minutes=1)) == 0
    assert fire(REMINDER) == 2
    assert notified(escalation, NotificationEvent.ESCALATION_DUE) == {
        person: f"Response due by 5pm on Monday 16 November 2026: escalation {escalation.reference} (stage 1)"
        for person in (ids["staff"], ids["manager"])
    }

    # The lead may not open it until the first stage's deadline passes unanswered.
    assert not may_open(people["lead"], escalation, DEADLINE - timedelta(minutes=1))
    assert fire(DEADLINE - timedelta(minutes=1)) == 0
    assert fire(DEADLINE) == 4
    breached = notified(escalation, NotificationEvent.ESCALATION_BREACHED)
    assert set(breached) == set(breach)
    assert set(breached.values()) == {f"No response by the deadline: escalation {escalation.reference} (stage 1)"}
    # Everyone told may open it (the notification's audience), and nobody else was told.
    for name in ("staff", "manager", "council_commissioner", "lead"):
        assert may_open(people[name], escalation, DEADLINE), name
    for name in ("icb_commissioner", "other_manager", "inspector"):
        assert not may_open(people[name], escalation, DEADLINE), name
    assert fire(DEADLINE + timedelta(days=1)) == 0  # each fires once


def test_a_response_cancels_the_stages_reminders(raise_about, people):
    escalation = raise_about(now=MONDAY)
    ops.acknowledge(escalation, by=people["staff"], now=MONDAY + timedelta(hours=1))
    assert all(row.cancelled_at is None for row in reminders(escalation, "due").values())
    ops.respond(escalation, "We have added a night check.", by=people["staff"], now=MONDAY + timedelta(hours=2))
    db.session.commit()

    assert all(row.cancelled_at is not None for row in [*reminders(escalation, "due").values(),
                                                         *reminders(escalation, "breach").values()])
    assert fire(REMINDER) == 0 and fire(DEADLINE) == 0
    assert notified(escalation, NotificationEvent.ESCALATION_BREACHED) == {}


def test_a_new_stage_arms_its_own_reminders(raise_about, people):
    ids = {name: person.id for name, person in people.items()}
    escalation = raise_about(now=MONDAY)
    tuesday = utc(2026, 11, 10, 10, 0)
    ops.acknowledge(escalation, by=people["staff"], now=tuesday)
    ops.respond(escalation, "We disagree.", by=people["staff"], now=tuesday)
    ops.escalate(escalation, "The answer does not deal with the falls.", by=people["council_commissioner"], now=tuesday)
    db.session.commit()

    # Stage 2 from Tuesday 10 November: due Tuesday 17 November, reminded Monday 16 at 09:00.
    assert escalation.deadline_at == utc(2026, 11, 17, 17, 0)
    due = reminders(escalation, "due", stage=2)
    assert set(due) == {ids["manager"]}  # first-line managers answer at stage 2
    assert due[ids["manager"]].due_at == utc(2026, 11, 16, 9, 0)
    assert set(reminders(escalation, "breach", stage=2)) == {ids["manager"], ids["council_commissioner"], ids["lead"]}

    assert fire(DEADLINE) == 1  # stage 2's reminder came due on Monday morning; stage 1's were cancelled
    assert fire(utc(2026, 11, 17, 17, 0)) == 3
    assert set(notified(escalation, NotificationEvent.ESCALATION_BREACHED).values()) == {
        f"No response by the deadline: escalation {escalation.reference} (stage 2)"}


def test_at_the_last_stage_the_breach_notice_goes_to_the_boards_chair(raise_about, people):
    escalation = raise_about(now=MONDAY)
    now = MONDAY
    while escalation.stage < 4:
        answering = people["staff"] if escalation.stage == 1 else people["manager"]
        ops.acknowledge(escalation, by=answering, now=now)
        ops.respond(escalation, "Our answer.", by=answering, now=now)
        ops.escalate(escalation, "Not settled.", by=people["council_commissioner"], now=now)
    db.session.commit()
    assert set(reminders(escalation, "breach", stage=4)) == {
        people["manager"].id, people["council_commissioner"].id, people["lead"].id, people["sab_chair"].id}


# Automatic escalation -------------------------------------------------------------------------


def test_the_task_moves_only_unanswered_escalations_past_their_grace_period_one_stage(raise_about, people, intel_world):
    ids = {name: person.id for name, person in people.items()}
    staff, raiser = people["staff"], people["council_commissioner"]
    unanswered = raise_about(now=MONDAY)
    acknowledged = raise_about(now=MONDAY)
    ops.acknowledge(acknowledged, by=staff, now=MONDAY)
    responded = raise_about(now=MONDAY)
    ops.acknowledge(responded, by=staff, now=MONDAY)
    ops.respond(responded, "We will look at it.", by=staff, now=MONDAY)
    withdrawn = raise_about(now=MONDAY)
    ops.withdraw(withdrawn, "Sorted out.", by=raiser, now=MONDAY)
    resolved = raise_about(now=MONDAY)
    ops.acknowledge(resolved, by=staff, now=MONDAY)
    ops.respond(resolved, "Done.", by=staff, now=MONDAY)
    ops.resolve(resolved, "Agreed.", "Talk sooner.", by=raiser, now=MONDAY)
    raised_tuesday = raise_about(now=MONDAY + timedelta(days=1))  # moves up on Thursday 19 November
    db.session.commit()

    assert run_task(MOVES_UP - timedelta(minutes=1)) == 0
    assert run_task(MOVES_UP) == 2
    assert run_task(MOVES_UP) == 0  # running it twice moves nothing more

    for escalation in (unanswered, acknowledged):
        db.session.refresh(escalation)
        first, second = escalation.stages
        assert (escalation.stage, escalation.state) == (2, S.OPEN)
        assert (first.outcome, first.ended_at) == (StageOutcome.AUTO_ESCALATED, MOVES_UP)
        moved = [event for event in escalation.events if event.kind is EventKind.AUTO_ESCALATED]
        assert [(event.actor_id, event.agency_id, event.stage, event.occurred_at) for event in moved] == [
            (None, None, 1, MOVES_UP)]
        assert moved[0].text == ("No response by the deadline (5pm on Monday 16 November 2026), "
                                 "and the grace period of 2 working days has passed")
        # The new stage's deadline is computed afresh from the moment it started.
        assert second.started_at == MOVES_UP
        assert second.deadline_at == escalation.deadline_at == stage_deadline(MOVES_UP, 5, harm_imminent=False)
        assert escalation.deadline_at == utc(2026, 11, 25, 17, 0)
        assert escalation.auto_escalate_at == utc(2026, 11, 27, 17, 0)
        [intent] = db.session.scalars(sa.select(NotificationIntent).where(
            NotificationIntent.subject_id == escalation.id, NotificationIntent.event == NotificationEvent.ESCALATION_ESCALATED))
        assert intent.actor_id is None
        assert intent.summary == f"Escalated by the portal to stage 2: escalation {escalation.reference} (stage 2)"
        # Everyone at both stages, the raiser included (the portal moved it, not them).
        assert set(intent.recipient_ids) == {ids["staff"], ids["manager"], ids["council_commissioner"], ids["lead"]}
        assert set(notified(escalation, NotificationEvent.ESCALATION_ESCALATED)) == set(intent.recipient_ids)
        audit = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "escalation.auto_escalate", AuditEvent.object_id == str(escalation.id)))
        assert audit.actor_id is None and audit.summary == f"the portal escalated {escalation.reference} to stage 2"

    for escalation, state in ((responded, S.RESPONDED), (withdrawn, S.WITHDRAWN), (resolved, S.RESOLVED),
                              (raised_tuesday, S.OPEN)):
        db.session.refresh(escalation)
        assert (escalation.stage, escalation.state, len(escalation.stages)) == (1, state, 1)
    # Raised a day later: its own grace period ends a day later.
    assert run_task(utc(2026, 11, 19, 17, 0)) == 1
    db.session.refresh(raised_tuesday)
    assert raised_tuesday.stage == 2


def test_the_task_never_moves_an_escalation_at_the_top_stage(raise_about, people):
    escalation = raise_about(now=MONDAY)
    now = MONDAY
    while escalation.stage < 4:
        answering = people["staff"] if escalation.stage == 1 else people["manager"]
        ops.acknowledge(escalation, by=answering, now=now)
        ops.respond(escalation, "Our answer.", by=answering, now=now)
        ops.escalate(escalation, "Not settled.", by=people["council_commissioner"], now=now)
    db.session.commit()
    assert escalation.auto_escalate_at is None
    long_after = utc(2027, 6, 1, 12, 0)
    assert escalation.breached(long_after)
    assert run_task(long_after) == 0
    db.session.refresh(escalation)
    assert (escalation.stage, escalation.state) == (4, S.OPEN)


def test_where_harm_is_imminent_it_moves_up_hours_after_the_deadline(raise_about, people):
    imminent = raise_about(now=MONDAY, harm_imminent=True)
    ordinary = raise_about(now=MONDAY)
    # Due at 17:00 on Monday 9 November; moved up two hours later, that evening.
    assert run_task(utc(2026, 11, 9, 18, 59)) == 0
    assert run_task(utc(2026, 11, 9, 19, 0)) == 1
    db.session.refresh(imminent)
    db.session.refresh(ordinary)
    assert (imminent.stage, ordinary.stage) == (2, 1)
    [moved] = [event for event in imminent.events if event.kind is EventKind.AUTO_ESCALATED]
    assert moved.text == ("No response by the deadline (5pm on Monday 9 November 2026), "
                          "and the grace period of 2 hours has passed")
    # Stage 2 started after the close of day: due at the close of the next working day.
    assert (imminent.deadline_at, imminent.auto_escalate_at) == (utc(2026, 11, 10, 17, 0), utc(2026, 11, 10, 19, 0))


def test_the_grace_period_is_the_areas_setting(raise_about, people):
    ladder = details_from_ladder(policy.escalation_ladder(people["admin"].membership.agency.area_id))
    ladder.grace_working_days = 0
    ladder.imminent_grace_hours = 5
    save_ladder(ladder, by=people["admin"], version=None)
    db.session.commit()

    escalation = raise_about(now=MONDAY)
    imminent = raise_about(now=MONDAY, harm_imminent=True)
    assert (escalation.auto_escalate_at, imminent.auto_escalate_at) == (DEADLINE, utc(2026, 11, 9, 22, 0))
    assert run_task(utc(2026, 11, 9, 21, 59)) == 0
    assert run_task(utc(2026, 11, 9, 22, 0)) == 1
    db.session.refresh(imminent)
    assert imminent.stage == 2
    ops.withdraw(imminent, "Dealt with at a meeting.", by=people["council_commissioner"], now=utc(2026, 11, 10, 9, 0))
    db.session.commit()
    assert run_task(DEADLINE - timedelta(minutes=1)) == 0
    assert run_task(DEADLINE) == 1
    db.session.refresh(escalation)
    assert escalation.stage == 2
    [moved] = [event for event in escalation.events if event.kind is EventKind.AUTO_ESCALATED]
    assert moved.text.endswith("the grace period of 0 working days has passed")
