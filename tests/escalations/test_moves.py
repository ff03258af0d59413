"""Every move on an escalation, allowed and refused, and who is told of each.

The world: the council's commissioner (Cora) escalates Sunrise House's quality to Sunrise Care.
At the first stage Sunrise's staff (Sid) and manager (Mo) answer for Sunrise and only Cora
speaks for the council; from the second stage the council's lead (Lena) joins the raising side
and only Sunrise's manager answers; at the fourth the Board's chair (Cas) mediates.
"""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.core.concurrency import ConcurrentEditError
from portal.core.rules import WHOLE_RECORD
from portal.escalations import operations as ops
from portal.escalations.models import (
    EscalationEvent,
    EscalationState,
    EscalationSubject,
    EventKind,
    StageOutcome,
    ViewGivenBy,
)
from portal.extensions import db
from portal.notifications.models import NotificationEvent, NotificationIntent
from tests.conftest import register_world, world_part
from tests.escalations.conftest import MONDAY, as_acting, raise_escalation
from tests.intelligence.conftest import build_intel_world

S = EscalationState
OK, REFUSED, FORBIDDEN = "allowed", "refused", "forbidden"
LATER = MONDAY + timedelta(hours=1)  # well before the first stage's deadline (Monday 16 November, 17:00)

#: state -> move -> (the receiving side's answer, the raising side's answer), written out by hand.
EXPECTED = {
    S.OPEN: {
        "acknowledge": (OK, FORBIDDEN), "respond": (REFUSED, FORBIDDEN), "resolve": (REFUSED, REFUSED),
        "escalate": (FORBIDDEN, REFUSED), "withdraw": (FORBIDDEN, OK),
    },
    S.ACKNOWLEDGED: {
        "acknowledge": (REFUSED, FORBIDDEN), "respond": (OK, FORBIDDEN), "resolve": (REFUSED, REFUSED),
        "escalate": (FORBIDDEN, REFUSED), "withdraw": (FORBIDDEN, OK),
    },
    S.RESPONDED: {
        "acknowledge": (REFUSED, FORBIDDEN), "respond": (REFUSED, FORBIDDEN), "resolve": (OK, OK),
        "escalate": (FORBIDDEN, OK), "withdraw": (FORBIDDEN, OK),
    },
    S.RESOLVED: {
        "acknowledge": (REFUSED, FORBIDDEN), "respond": (REFUSED, FORBIDDEN), "resolve": (REFUSED, REFUSED),
        "escalate": (FORBIDDEN, REFUSED), "withdraw": (FORBIDDEN, REFUSED),
    },
    S.WITHDRAWN: {
        "acknowledge": (REFUSED, FORBIDDEN), "respond": (REFUSED, FORBIDDEN), "resolve": (REFUSED, REFUSED),
        "escalate": (FORBIDDEN, REFUSED), "withdraw": (FORBIDDEN, REFUSED),
    },
}
SIDES = ("receiving", "raising")

#: What each move's event is, and how it leaves the escalation.
MOVE_RESULT = {
    "acknowledge": (EventKind.ACKNOWLEDGED, S.ACKNOWLEDGED, 1),
    "respond": (EventKind.RESPONDED, S.RESPONDED, 1),
    "resolve": (EventKind.RESOLVED, S.RESOLVED, 1),
    "escalate": (EventKind.ESCALATED, S.OPEN, 2),
    "withdraw": (EventKind.WITHDRAWN, S.WITHDRAWN, 1),
}


def make_move(move: str, escalation, by, now, **texts):
    """Each move with sensible words unless the test gives others."""
    if move == "acknowledge":
        return ops.acknowledge(escalation, by=by, now=now)
    if move == "respond":
        return ops.respond(escalation, texts.get("response", "The rota has been reviewed."), by=by, now=now)
    if move == "resolve":
        return ops.resolve(escalation, texts.get("outcome", "A second night carer from December."),
                           texts.get("learning", "Check night rotas at each visit."), by=by, now=now)
    if move == "escalate":
        return ops.escalate(escalation, texts.get("reason", "The response does not address the falls."), by=by, now=now)
    return ops.withdraw(escalation, texts.get("reason", "Settled by telephone."), by=by, now=now)


def people_of(intel_world) -> dict:
    users = intel_world.users
    return {
        "receiving": as_acting(users.staff), "manager": as_acting(users.manager), "raising": as_acting(users.council_commissioner),
        "lead": as_acting(users.lead), "chair": as_acting(users.sab_chair), "member": as_acting(users.sab_member),
        "icb": as_acting(users.icb_commissioner), "other_provider": as_acting(users.other_manager),
    }


@pytest.fixture
def people(intel_world):
    return people_of(intel_world)


def bring_to(state: EscalationState, raise_about, people):
    """An escalation at its first stage, brought to a state by the moves that lead there."""
    escalation = raise_about(now=MONDAY)
    if state in {S.ACKNOWLEDGED, S.RESPONDED, S.RESOLVED}:
        ops.acknowledge(escalation, by=people["receiving"], now=MONDAY + timedelta(minutes=10))
    if state in {S.RESPONDED, S.RESOLVED}:
        ops.respond(escalation, "We will look at the rota.", by=people["receiving"], now=MONDAY + timedelta(minutes=20))
    if state is S.RESOLVED:
        ops.resolve(escalation, "Agreed a review.", "Rotas matter.", by=people["raising"], now=MONDAY + timedelta(minutes=30))
    if state is S.WITHDRAWN:
        ops.withdraw(escalation, "Sorted out.", by=people["raising"], now=MONDAY + timedelta(minutes=30))
    db.session.commit()
    return escalation


def _build_escalations_in_state(make):
    world = build_intel_world(make)
    raise_about = functools.partial(raise_escalation, world)
    in_state = {state.name: bring_to(state, raise_about, people_of(world)) for state in EXPECTED}
    return {"intel_world": world, "escalations_in_state": in_state}


register_world("escalations_in_state", ("intel_world", "escalations_in_state"), _build_escalations_in_state)
escalations_in_state = world_part("escalations_in_state")


@pytest.fixture
def in_state(raise_about, people, escalations_in_state):
    """An escalation at its first stage, brought to a state by the moves that lead there.

    The first asked for in each state is one the module built once (tests/conftest.py, register_world).
    """
    ready = dict(escalations_in_state)

    def make(state: EscalationState):
        escalation = ready.pop(state.name, None) or bring_to(state, raise_about, people)
        assert escalation.state is state
        return escalation

    return make


def intents(escalation, event: NotificationEvent | None = None) -> list[NotificationIntent]:
    query = sa.select(NotificationIntent).where(
        NotificationIntent.subject_type == "escalation", NotificationIntent.subject_id == escalation.id
    )
    if event is not None:
        query = query.where(NotificationIntent.event == event)
    return list(db.session.scalars(query.order_by(NotificationIntent.id)))


def told(escalation, event: NotificationEvent) -> set[int]:
    """Who the last intent of this kind was for."""
    return set(intents(escalation, event)[-1].recipient_ids)


# The state machine, move by move -----------------------------------------------------------


CASES = [(state, move, side) for state in EXPECTED for move in EXPECTED[state] for side in SIDES]


@pytest.mark.parametrize(("state", "move", "side"), CASES, ids=[f"{s.name.lower()}-{m}-{d}" for s, m, d in CASES])
def test_each_move_from_each_state_by_each_side(state, move, side, in_state, people):
    escalation = in_state(state)
    person = people[side]
    events_before = len(escalation.events)
    expected = EXPECTED[state][move][SIDES.index(side)]

    if expected == FORBIDDEN:
        with pytest.raises(PermissionError):
            make_move(move, escalation, person, LATER)
    elif expected == REFUSED:
        with pytest.raises(ops.EscalationError) as refused:
            make_move(move, escalation, person, LATER)
        assert refused.value.field == WHOLE_RECORD
        if state.closed:
            assert str(refused.value) == f"This escalation is {state.label.lower()}, so it can no longer change"
    else:
        make_move(move, escalation, person, LATER)
        db.session.commit()
        kind, new_state, stage = MOVE_RESULT[move]
        assert (escalation.state, escalation.stage) == (new_state, stage)
        event = escalation.events[-1]
        assert (event.kind, event.actor_id, event.agency_id, event.occurred_at, event.stage) == (
            kind, person.id, person.membership.agency_id, LATER, 1)
        return
    db.session.rollback()
    db.session.refresh(escalation)
    assert escalation.state is state and len(escalation.events) == events_before


@pytest.mark.parametrize("state", list(EXPECTED), ids=lambda s: s.name.lower())
def test_allowed_moves_agrees_with_the_operations(state, in_state, people):
    escalation = in_state(state)
    for index, side in enumerate(SIDES):
        wanted = {move for move, answers in EXPECTED[state].items() if answers[index] == OK}
        assert ops.allowed_moves(people[side], escalation, LATER) == wanted, side
    # Those who may see it but do not answer for a side at this stage: no move at all.
    for bystander in ("lead", "chair", "member", "icb", "other_provider"):
        assert ops.allowed_moves(people[bystander], escalation, LATER) == set(), bystander
        for move in ops.MOVES:
            with pytest.raises(PermissionError):
                make_move(move, escalation, people[bystander], LATER)


@pytest.mark.parametrize("state", [S.OPEN, S.ACKNOWLEDGED], ids=lambda s: s.name.lower())
def test_the_raiser_may_escalate_an_unanswered_stage_only_once_its_deadline_has_passed(state, in_state, people):
    escalation = in_state(state)
    deadline = escalation.deadline_at
    raiser = people["raising"]
    assert "escalate" not in ops.allowed_moves(raiser, escalation, deadline - timedelta(minutes=1))
    with pytest.raises(ops.EscalationError, match="once the other agency has responded, or when its deadline has passed"):
        ops.escalate(escalation, "No answer yet", by=raiser, now=deadline - timedelta(minutes=1))

    assert "escalate" in ops.allowed_moves(raiser, escalation, deadline)
    ops.escalate(escalation, "No answer by the deadline", by=raiser, now=deadline)
    db.session.commit()
    first, second = escalation.stages
    assert (first.outcome, first.ended_at) == (StageOutcome.ESCALATED, deadline)
    assert (escalation.stage, escalation.state, second.started_at) == (2, S.OPEN, deadline)
    escalated = escalation.events[-1]
    assert (escalated.kind, escalated.actor_id, escalated.stage, escalated.text) == (
        EventKind.ESCALATED, raiser.id, 1, "No answer by the deadline")


def climb_to(escalation, stage: int, people, start=LATER):
    """Answer and escalate stage by stage (Sunrise's manager answers from the second stage)."""
    now = start
    while escalation.stage < stage:
        answering = people["receiving"] if escalation.stage == 1 else people["manager"]
        ops.acknowledge(escalation, by=answering, now=now)
        ops.respond(escalation, f"Our answer at stage {escalation.stage}.", by=answering, now=now)
        ops.escalate(escalation, f"Not settled at stage {escalation.stage}.", by=people["raising"], now=now)
        now += timedelta(hours=1)
        db.session.commit()
    return now


def test_the_top_stage_cannot_be_escalated_further(in_state, people):
    escalation = in_state(S.OPEN)
    now = climb_to(escalation, 4, people)
    assert [stage.number for stage in escalation.stages] == [1, 2, 3, 4]
    assert escalation.auto_escalate_at is None  # nothing above it to move to
    ops.acknowledge(escalation, by=people["manager"], now=now)
    ops.respond(escalation, "Our final answer.", by=people["manager"], now=now)
    assert "escalate" not in ops.allowed_moves(people["raising"], escalation, now)
    with pytest.raises(ops.EscalationError, match="This is the last stage"):
        ops.escalate(escalation, "Still not settled", by=people["raising"], now=now)
    # Past its deadline too.
    with pytest.raises(ops.EscalationError, match="This is the last stage"):
        ops.escalate(escalation, "Still not settled", by=people["raising"], now=now + timedelta(days=60))


def test_moves_need_their_words(in_state, people):
    responded = in_state(S.RESPONDED)
    with pytest.raises(ops.EscalationError) as no_outcome:
        ops.resolve(responded, "  ", None, by=people["raising"], now=LATER)
    assert [field for field, _ in no_outcome.value.problems] == ["outcome", "learning"]
    assert no_outcome.value.problems[0][1] == "Enter the outcome both agencies agreed"
    with pytest.raises(ops.EscalationError) as no_reason:
        ops.escalate(responded, "", by=people["raising"], now=LATER)
    assert no_reason.value.problems == [("reason", "Say why the response does not settle it")]
    with pytest.raises(ops.EscalationError) as no_withdraw_reason:
        ops.withdraw(responded, None, by=people["raising"], now=LATER)
    assert no_withdraw_reason.value.problems == [("reason", "Say why you are withdrawing the escalation")]
    acknowledged = in_state(S.ACKNOWLEDGED)
    with pytest.raises(ops.EscalationError) as no_response:
        ops.respond(acknowledged, "", by=people["receiving"], now=LATER)
    assert no_response.value.problems == [("response", "Enter your response")]
    db.session.rollback()
    db.session.refresh(responded)
    assert responded.state is S.RESPONDED and responded.outcome is None


def test_a_move_based_on_an_old_version_is_refused(in_state, people):
    escalation = in_state(S.OPEN)
    old = escalation.version
    ops.acknowledge(escalation, by=people["receiving"], now=LATER)
    db.session.commit()
    with pytest.raises(ConcurrentEditError):
        ops.withdraw(escalation, "Sorted.", by=people["raising"], version=old, now=LATER)


# Who is told ------------------------------------------------------------------------------


def test_who_is_told_of_each_move(in_state, people, intel_world):
    ids = {name: person.id for name, person in people.items()}
    escalation = in_state(S.OPEN)
    # Raising: the receiving agency's people at the first stage.
    [raised] = intents(escalation, NotificationEvent.ESCALATION_RAISED)
    assert set(raised.recipient_ids) == {ids["receiving"], ids["manager"]}
    assert raised.summary == f"An escalation was raised with your agency: escalation {escalation.reference} (stage 1)"
    assert raised.link == f"/escalations/{escalation.id}"

    # Both sides as it moves (never the person who moved it).
    ops.acknowledge(escalation, by=people["receiving"], now=LATER)
    db.session.commit()
    assert told(escalation, NotificationEvent.ESCALATION_UPDATED) == {ids["raising"], ids["manager"]}
    ops.respond(escalation, "We will review.", by=people["manager"], now=LATER)
    db.session.commit()
    assert told(escalation, NotificationEvent.ESCALATION_UPDATED) == {ids["raising"], ids["receiving"]}

    # Escalating: the next stage's people join (the council's lead, on the raising side).
    ops.escalate(escalation, "Not settled.", by=people["raising"], now=LATER)
    db.session.commit()
    assert told(escalation, NotificationEvent.ESCALATION_ESCALATED) == {ids["receiving"], ids["manager"], ids["lead"]}
    climb_to(escalation, 3, people)
    assert ids["chair"] not in told(escalation, NotificationEvent.ESCALATION_ESCALATED)
    climb_to(escalation, 4, people)
    # At the fourth stage the Board's chair, who mediates there, is told too.
    assert told(escalation, NotificationEvent.ESCALATION_ESCALATED) == {
        ids["receiving"], ids["manager"], ids["lead"], ids["chair"]}

    ops.acknowledge(escalation, by=people["manager"], now=LATER)
    ops.respond(escalation, "Final answer.", by=people["manager"], now=LATER)
    ops.resolve(escalation, "Agreed at the meeting.", "Escalate sooner.", by=people["lead"], now=LATER)
    db.session.commit()
    assert told(escalation, NotificationEvent.ESCALATION_UPDATED) == {ids["raising"], ids["receiving"], ids["manager"]}
    # Nobody else in the area was ever told.
    everyone = {uid for intent in intents(escalation) for uid in intent.recipient_ids}
    assert everyone == {ids["receiving"], ids["manager"], ids["raising"], ids["lead"], ids["chair"]}


# The Board's mediation and the adult's view --------------------------------------------------


def test_the_boards_chair_adds_a_mediation_note_only_at_the_fourth_stage(in_state, people):
    escalation = in_state(S.OPEN)
    for stage in (1, 2, 3):
        climb_to(escalation, stage, people)
        with pytest.raises(PermissionError):
            ops.add_mediation_note(escalation, "Let us meet.", by=people["chair"], now=LATER)
    climb_to(escalation, 4, people)
    with pytest.raises(PermissionError):
        ops.add_mediation_note(escalation, "Let us meet.", by=people["member"], now=LATER)
    with pytest.raises(PermissionError):  # the chair mediates; the agencies decide
        ops.acknowledge(escalation, by=people["chair"], now=LATER)

    ops.add_mediation_note(escalation, "Both agencies to bring their rotas to the meeting.", by=people["chair"], now=LATER)
    db.session.commit()
    note = escalation.events[-1]
    assert (note.kind, note.actor_id, note.stage, note.text) == (
        EventKind.MEDIATION_NOTE, people["chair"].id, 4, "Both agencies to bring their rotas to the meeting.")
    assert told(escalation, NotificationEvent.ESCALATION_UPDATED) >= {people["manager"].id, people["raising"].id}
    assert escalation.state is S.OPEN  # a note is not a move


def test_the_adults_view_is_recorded_only_by_someone_at_the_current_stage_who_may_see_the_adult(
    raise_about, adult_concern, people, intel_world
):
    # Sunrise's manager escalates the concern (about Jo Example, at Sunrise House) to the ICB, which
    # has no agreement to see the adult's details.
    escalation = raise_about(by=people["manager"], subject=EscalationSubject.CONCERN, concern=adult_concern,
                             to=intel_world.icb, disagreement="The ICB's funding decision leaves nights uncovered.",
                             wanted="Funding for a night carer.")
    with pytest.raises(PermissionError):  # at the stage, receiving, but may not see the adult's details
        ops.record_adult_view(escalation, "I want to stay here.", ViewGivenBy.ADULT, by=people["icb"], now=LATER)
    with pytest.raises(PermissionError):  # may see the adult, but answers for no side
        ops.record_adult_view(escalation, "I want to stay here.", ViewGivenBy.ADULT, by=people["lead"], now=LATER)
    with pytest.raises(PermissionError):  # the Board never sees the adult's details
        ops.record_adult_view(escalation, "I want to stay here.", ViewGivenBy.ADULT, by=people["chair"], now=LATER)
    with pytest.raises(ops.EscalationError) as missing:
        ops.record_adult_view(escalation, "", None, by=people["manager"], now=LATER)
    assert [field for field, _ in missing.value.problems] == ["view", "given_by"]

    ops.record_adult_view(escalation, "I want to stay at Sunrise House with a carer at night.", ViewGivenBy.ADVOCATE,
                          by=people["manager"], now=LATER)
    db.session.commit()
    assert (escalation.adult_view_by, escalation.adult_view_recorded_by_id) == (ViewGivenBy.ADVOCATE, people["manager"].id)
    event = escalation.events[-1]
    assert (event.kind, event.actor_id, event.text) == (EventKind.ADULT_VIEW, people["manager"].id, "Their advocate's view was recorded")
    # The timeline says that it was recorded, never what was said.
    assert not db.session.scalar(sa.select(sa.func.count(EscalationEvent.id)).where(
        EscalationEvent.escalation_id == escalation.id, EscalationEvent.text.contains("carer at night")))
