from portal.concerns import operations
from portal.core.codes import ActionResult, ConcernStatus, MspAsked, OutcomesAchieved, RiskOutcome, TriageDecision


def test_a_concern_goes_from_raised_to_closed(make_concern, lead, db_session):
    concern = make_concern()
    assert concern.reference.startswith("C-")
    operations.triage_concern(concern, decision=TriageDecision.S42_ENQUIRY, reason=None, by=lead, assign_to=lead)
    operations.start_work(concern, by=lead)
    operations.record_msp(
        concern, by=lead, msp_asked=MspAsked.ASKED_EXPRESSED, adult_views="I want it to stop", preferred_contact="District Nurse",
        preferred_meeting_place="GP surgery", wants_to_attend_meetings=True, mental_capacity=None,
        best_interests_decision=None, past_present_wishes=None, substantial_difficulty=False, appropriate_person=True,
    )
    operations.add_desired_outcome(concern, words="I want my money back", by=lead)
    operations.close_concern(
        concern, action_result=ActionResult.RISK_ACTION, risk_outcome=RiskOutcome.REDUCED,
        outcomes_achieved=OutcomesAchieved.PARTIALLY, adult_feedback="They listened to me", by=lead,
    )
    db_session.commit()
    assert concern.status is ConcernStatus.CLOSED
    assert [e.kind for e in concern.events] == ["raised", "triaged", "assigned", "started", "msp", "outcome", "closed"]
