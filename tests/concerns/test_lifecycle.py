"""The concern lifecycle: submitted → triaged → in progress → closed (and reopened), and nothing else."""

from datetime import UTC, datetime
from itertools import product

import pytest
import sqlalchemy as sa
import time_machine

from portal.audit.models import AuditEvent
from portal.concerns import operations
from portal.concerns.operations import ConcernError
from portal.core.codes import (
    ActionResult,
    ConcernStatus,
    MspAsked,
    OutcomesAchieved,
    RiskOutcome,
    TriageDecision,
)
from portal.core.rules import WHOLE_RECORD

S = ConcernStatus


def audit_actions(db_session, concern) -> list[str]:
    query = (
        sa.select(AuditEvent.action)
        .where(AuditEvent.object_type == "Concern", AuditEvent.object_id == str(concern.id))
        .order_by(AuditEvent.seq)
    )
    return list(db_session.scalars(query))


def triage(concern, lead):
    operations.triage_concern(concern, decision=TriageDecision.S42_ENQUIRY, reason=None, by=lead)


def start(concern, lead):
    operations.start_work(concern, by=lead)


def close(concern, lead):
    operations.close_concern(
        concern,
        action_result=ActionResult.RISK_ACTION,
        risk_outcome=RiskOutcome.REDUCED,
        outcomes_achieved=None,
        adult_feedback=None,
        by=lead,
    )


def reopen(concern, lead):
    operations.reopen_concern(concern, reason="The family report the bruising has returned", by=lead)


#: Each operation that moves a concern: what it does, where it should land, the timeline entry and audit action.
MOVES = {
    "triage": (triage, S.TRIAGED, "triaged", "concern.triage"),
    "start": (start, S.IN_PROGRESS, "started", "concern.start"),
    "close": (close, S.CLOSED, "closed", "concern.close"),
    "reopen": (reopen, S.IN_PROGRESS, "reopened", "concern.reopen"),
}

#: What each status may move to, written out by hand.
CAN_MOVE_TO = {
    S.SUBMITTED: [S.TRIAGED],
    S.TRIAGED: [S.IN_PROGRESS],
    S.IN_PROGRESS: [S.CLOSED],
    S.CLOSED: [S.IN_PROGRESS],
}



@pytest.mark.parametrize(("current", "wanted"), list(product(S, S)), ids=lambda s: s.name)
def test_the_lifecycle_allows_only_the_four_moves(current, wanted):
    assert (wanted in operations.allowed_moves(current)) == (wanted in CAN_MOVE_TO[current])


@pytest.mark.parametrize(
    ("move", "current"),
    [("triage", S.SUBMITTED), ("start", S.TRIAGED), ("close", S.IN_PROGRESS), ("reopen", S.CLOSED)],
)
def test_an_allowed_move_changes_status_and_goes_on_the_timeline_and_audit_trail(
    move, current, concern_at, lead, db_session
):
    do, lands_on, timeline_kind, audit_action = MOVES[move]
    concern = concern_at(current)
    events_before, audit_before = len(concern.events), audit_actions(db_session, concern)

    do(concern, lead)
    db_session.commit()

    assert concern.status is lands_on
    assert [event.kind for event in concern.events[events_before:]] == [timeline_kind]
    assert concern.events[-1].actor_id == lead.id
    assert concern.events[-1].agency_id == lead.membership.agency_id
    assert audit_actions(db_session, concern)[len(audit_before) :] == [audit_action]


@pytest.mark.parametrize(
    ("move", "current"),
    [
        ("triage", S.TRIAGED),
        ("triage", S.IN_PROGRESS),
        ("triage", S.CLOSED),
        ("start", S.SUBMITTED),
        ("start", S.IN_PROGRESS),
        ("start", S.CLOSED),
        ("close", S.SUBMITTED),
        ("close", S.TRIAGED),
        ("close", S.CLOSED),
        ("reopen", S.SUBMITTED),
        ("reopen", S.TRIAGED),
        ("reopen", S.IN_PROGRESS),
    ],
)
def test_a_move_outside_the_lifecycle_is_refused_and_explained(move, current, concern_at, lead, db_session):
    do = MOVES[move][0]
    concern = concern_at(current)
    events_before, audit_before = len(concern.events), audit_actions(db_session, concern)

    with pytest.raises(ConcernError) as refused:
        do(concern, lead)

    message = str(refused.value)
    assert f"This concern is {current.label.lower()}" in message
    for reachable in CAN_MOVE_TO[current]:
        if "can only move to:" in message:
            assert reachable.label.lower() in message.split("can only move to:")[1]
        else:  # the right status by the wrong move (start a closed one): name the move to make
            assert operations.TRANSITIONS[(current, reachable)] in message.split("from here it can only be")[1]
    assert concern.status is current
    assert len(concern.events) == events_before
    assert audit_actions(db_session, concern) == audit_before


def test_closing_a_submitted_concern_says_it_can_only_be_triaged(concern_at, lead):
    concern = concern_at(S.SUBMITTED)
    with pytest.raises(
        ConcernError,
        match="This concern is submitted, so it cannot move to closed. From here it can only move to: triaged.",
    ):
        close(concern, lead)


def test_triage_records_the_decision_who_decided_and_when(make_concern, lead, db_session):
    concern = make_concern()
    moment = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        operations.triage_concern(concern, decision=TriageDecision.QUALITY_CONCERN, reason=None, by=lead)
    db_session.commit()

    assert concern.triage_decision is TriageDecision.QUALITY_CONCERN
    assert concern.triaged_by == lead
    assert concern.triaged_at == moment
    assert concern.events[-1].summary == "Triaged: Quality concern for the provider"


@pytest.mark.parametrize("decision", [TriageDecision.NO_FURTHER_ACTION, TriageDecision.SIGNPOSTED])
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_no_further_action_and_signposting_need_a_reason(decision, reason, make_concern, lead):
    concern = make_concern()
    with pytest.raises(ConcernError, match=f"Enter why the decision is {decision.label.lower()}") as refused:
        operations.triage_concern(concern, decision=decision, reason=reason, by=lead)
    assert refused.value.field == "reason"
    assert concern.status is S.SUBMITTED


@pytest.mark.parametrize("decision", [TriageDecision.NO_FURTHER_ACTION, TriageDecision.SIGNPOSTED])
def test_the_reason_for_no_further_action_or_signposting_is_kept_and_shown_on_the_timeline(
    decision, make_concern, lead, db_session
):
    concern = make_concern()
    operations.triage_concern(concern, decision=decision, reason="  Already known to the GP  ", by=lead)
    db_session.commit()
    assert concern.triage_reason == "Already known to the GP"
    assert concern.events[-1].summary == f"Triaged: {decision.label} – Already known to the GP"


@pytest.mark.parametrize(
    "decision", [TriageDecision.S42_ENQUIRY, TriageDecision.OTHER_ENQUIRY, TriageDecision.QUALITY_CONCERN]
)
def test_enquiries_and_quality_concerns_need_no_reason(decision, make_concern, lead):
    concern = make_concern()
    operations.triage_concern(concern, decision=decision, reason=None, by=lead)
    assert concern.status is S.TRIAGED
    assert concern.triage_reason is None


def test_closing_without_the_outcomes_lists_everything_missing(concern_at, lead, record_msp):
    concern = concern_at(S.IN_PROGRESS)
    record_msp(concern, by=lead, msp_asked=MspAsked.ASKED_EXPRESSED)

    with pytest.raises(ConcernError) as refused:
        operations.close_concern(
            concern, action_result=None, risk_outcome=None, outcomes_achieved=None, adult_feedback=None, by=lead
        )

    assert [field for field, _ in refused.value.problems] == [
        "action_result", "risk_outcome", "outcomes_achieved", WHOLE_RECORD,
    ]
    assert "Record the outcomes the adult wanted" in refused.value.problems[-1][1]
    assert concern.status is S.IN_PROGRESS
    assert concern.closed_at is None


def test_a_risk_outcome_is_needed_only_where_a_risk_was_found_or_not_ruled_out(concern_at, lead, db_session):
    """SG2e counts risk outcomes for enquiries where risk was identified or inconclusive."""
    for result in (ActionResult.NO_RISK_NO_ACTION, ActionResult.CEASED):
        concern = concern_at(S.IN_PROGRESS)
        operations.close_concern(concern, action_result=result, risk_outcome=None, outcomes_achieved=None, adult_feedback=None, by=lead)
        assert concern.status is S.CLOSED and concern.risk_outcome is None
    concern = concern_at(S.IN_PROGRESS)
    with pytest.raises(ConcernError, match="Select whether the risk was removed"):
        operations.close_concern(concern, action_result=ActionResult.INCONCLUSIVE_ACTION, risk_outcome=None, outcomes_achieved=None, adult_feedback=None, by=lead)


def test_closing_needs_the_adults_own_words_when_they_expressed_outcomes(concern_at, lead, record_msp):
    concern = concern_at(S.IN_PROGRESS)
    record_msp(concern, by=lead, msp_asked=MspAsked.ASKED_EXPRESSED)
    with pytest.raises(ConcernError, match="Record the outcomes the adult wanted, in their own words"):
        operations.close_concern(concern, action_result=ActionResult.RISK_ACTION, risk_outcome=RiskOutcome.REDUCED, outcomes_achieved=OutcomesAchieved.FULLY, adult_feedback=None, by=lead)
    operations.add_desired_outcome(concern, words="I want to stay in my flat", by=lead)
    operations.close_concern(concern, action_result=ActionResult.RISK_ACTION, risk_outcome=RiskOutcome.REDUCED, outcomes_achieved=OutcomesAchieved.FULLY, adult_feedback=None, by=lead)
    assert concern.status is S.CLOSED


def test_reopening_clears_the_earlier_closures_answers_but_keeps_its_timeline_entry(concern_at, lead):
    concern = concern_at(S.CLOSED)
    operations.reopen_concern(concern, reason="The adult told us it is happening again", by=lead)
    assert (concern.action_result, concern.risk_outcome, concern.outcomes_achieved, concern.closed_at) == (None, None, None, None)
    assert [e.kind for e in concern.events].count("closed") == 1


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("action_result", "Select the action taken and its result"),
        ("risk_outcome", "Select whether the risk was removed, reduced or remained"),
    ],
)
def test_closing_needs_the_action_and_result_and_the_risk_outcome(missing, message, concern_at, lead):
    concern = concern_at(S.IN_PROGRESS)
    answers = {"action_result": ActionResult.RISK_NO_ACTION, "risk_outcome": RiskOutcome.REMAINED, missing: None}
    with pytest.raises(ConcernError, match=message) as refused:
        operations.close_concern(concern, outcomes_achieved=None, adult_feedback=None, by=lead, **answers)
    assert refused.value.field == missing
    assert concern.status is S.IN_PROGRESS


def test_closing_needs_whether_outcomes_were_achieved_when_the_adult_expressed_them(concern_at, lead, record_msp):
    concern = concern_at(S.IN_PROGRESS)
    record_msp(concern, by=lead, msp_asked=MspAsked.ASKED_EXPRESSED)
    with pytest.raises(ConcernError, match="Select whether the outcomes the adult wanted were achieved") as refused:
        operations.close_concern(
            concern,
            action_result=ActionResult.RISK_ACTION,
            risk_outcome=RiskOutcome.REDUCED,
            outcomes_achieved=None,
            adult_feedback=None,
            by=lead,
        )
    assert refused.value.field == "outcomes_achieved"
    assert concern.status is S.IN_PROGRESS


@pytest.mark.parametrize(
    "asked", [MspAsked.ASKED_NOT_EXPRESSED, MspAsked.NO, MspAsked.DONT_KNOW, MspAsked.NOT_RECORDED]
)
def test_closing_does_not_ask_about_outcomes_achieved_when_none_were_expressed(
    asked, concern_at, lead, record_msp, db_session
):
    concern = concern_at(S.IN_PROGRESS)
    record_msp(concern, by=lead, msp_asked=asked)
    operations.close_concern(
        concern,
        action_result=ActionResult.RISK_ACTION,
        risk_outcome=RiskOutcome.REMOVED,
        outcomes_achieved=OutcomesAchieved.FULLY,
        adult_feedback=None,
        by=lead,
    )
    db_session.commit()
    assert concern.status is S.CLOSED
    assert concern.outcomes_achieved is None


def test_closing_is_refused_until_the_adult_being_asked_about_outcomes_is_recorded(make_concern, lead):
    concern = make_concern()
    triage(concern, lead)
    start(concern, lead)
    assert concern.msp_asked is None

    with pytest.raises(
        ConcernError, match="Record whether the adult was asked what outcomes they wanted before closing"
    ):
        close(concern, lead)
    assert concern.status is S.IN_PROGRESS


def test_closing_keeps_the_outcomes_and_the_adults_feedback(concern_at, lead, record_msp, db_session):
    concern = concern_at(S.IN_PROGRESS)
    record_msp(concern, by=lead, msp_asked=MspAsked.ASKED_EXPRESSED)
    operations.add_desired_outcome(concern, words="I want to feel safe", by=lead)
    moment = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)

    with time_machine.travel(moment, tick=False):
        operations.close_concern(
            concern,
            action_result=ActionResult.RISK_ACTION,
            risk_outcome=RiskOutcome.REDUCED,
            outcomes_achieved=OutcomesAchieved.PARTIALLY,
            adult_feedback="  They listened to me.  ",
            by=lead,
        )
    db_session.commit()
    db_session.expire_all()

    assert concern.status is S.CLOSED
    assert concern.closed_at == moment
    assert concern.action_result is ActionResult.RISK_ACTION
    assert concern.risk_outcome is RiskOutcome.REDUCED
    assert concern.outcomes_achieved is OutcomesAchieved.PARTIALLY
    assert concern.adult_feedback == "They listened to me."
    assert (
        concern.events[-1].summary
        == "Closed: Risk identified and action taken; Risk reduced; outcomes partially achieved"
    )


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_reopening_needs_a_reason(reason, concern_at, lead):
    concern = concern_at(S.CLOSED)
    with pytest.raises(ConcernError, match="Enter why the concern is being reopened") as refused:
        operations.reopen_concern(concern, reason=reason, by=lead)
    assert refused.value.field == "reason"
    assert concern.status is S.CLOSED


def test_reopening_puts_the_reason_on_the_timeline_and_clears_the_closing_date(concern_at, lead, db_session):
    concern = concern_at(S.CLOSED)
    assert concern.closed_at is not None

    operations.reopen_concern(concern, reason=" New disclosure to the District Nurse ", by=lead)
    db_session.commit()

    assert concern.status is S.IN_PROGRESS
    assert concern.closed_at is None
    assert concern.events[-1].summary == "Reopened: New disclosure to the District Nurse"


def test_references_go_up_by_one_within_a_year_and_start_again_in_a_new_year(make_concern):
    with time_machine.travel(datetime(2026, 12, 31, 23, 0, tzinfo=UTC), tick=False):
        first = make_concern()
        second = make_concern()
    with time_machine.travel(datetime(2027, 1, 1, 0, 30, tzinfo=UTC), tick=False):
        new_year = make_concern()
        next_in_new_year = make_concern()

    number = int(first.reference.removeprefix("C-2026-"))
    assert first.reference == f"C-2026-{number:06d}"
    assert second.reference == f"C-2026-{number + 1:06d}"
    assert new_year.reference == "C-2027-000001"
    assert next_in_new_year.reference == "C-2027-000002"


def test_a_concern_can_be_carried_from_raised_to_closed_and_every_step_is_on_the_timeline(
    make_concern, lead, record_msp, db_session
):
    concern = make_concern()
    operations.triage_concern(concern, decision=TriageDecision.S42_ENQUIRY, reason=None, by=lead, assign_to=lead)
    operations.start_work(concern, by=lead)
    record_msp(
        concern,
        by=lead,
        msp_asked=MspAsked.ASKED_EXPRESSED,
        adult_views="I want it to stop",
        preferred_contact="District Nurse",
        preferred_meeting_place="GP surgery",
        wants_to_attend_meetings=True,
        substantial_difficulty=False,
        appropriate_person=True,
    )
    operations.add_desired_outcome(concern, words="I want my money back", by=lead)
    operations.close_concern(
        concern,
        action_result=ActionResult.RISK_ACTION,
        risk_outcome=RiskOutcome.REDUCED,
        outcomes_achieved=OutcomesAchieved.PARTIALLY,
        adult_feedback="They listened to me",
        by=lead,
    )
    db_session.commit()

    assert concern.status is S.CLOSED
    assert [event.kind for event in concern.events] == [
        "raised",
        "triaged",
        "assigned",
        "started",
        "msp",
        "outcome",
        "closed",
    ]
    assert audit_actions(db_session, concern) == [
        "concern.raise",
        "concern.triage",
        "concern.assign",
        "concern.start",
        "concern.msp",
        "concern.outcome",
        "concern.close",
    ]
