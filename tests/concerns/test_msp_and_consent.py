"""Making Safeguarding Personal: the advocacy gate, capacity, desired outcomes, consent and its override."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal import policy
from portal.audit.models import AuditEvent
from portal.concerns import operations
from portal.concerns.models import ConsentOverride
from portal.concerns.operations import ConcernError
from portal.core.codes import ConcernStatus, ConsentToShare, MentalCapacity, OverrideReason

S = ConcernStatus


def audit_actions(db_session, concern) -> list[str]:
    query = (
        sa.select(AuditEvent.action)
        .where(AuditEvent.object_type == "Concern", AuditEvent.object_id == str(concern.id))
        .order_by(AuditEvent.seq)
    )
    return list(db_session.scalars(query))


# The advocacy gate ----------------------------------------------------------------------------


def test_work_cannot_start_until_an_advocate_is_recorded_when_the_adult_has_difficulty_and_nobody_to_help(
    concern_at, lead, record_msp, db_session
):
    concern = concern_at(S.TRIAGED)
    record_msp(concern, by=lead, substantial_difficulty=True, appropriate_person=False)

    with pytest.raises(ConcernError, match="An independent advocate must be arranged first"):
        operations.start_work(concern, by=lead)
    assert concern.status is S.TRIAGED

    operations.record_advocate(
        concern, name="Alex Advocate", organisation="Testshire Advocacy", arranged_on=date.today(), by=lead
    )
    operations.start_work(concern, by=lead)
    db_session.commit()

    assert concern.status is S.IN_PROGRESS
    assert concern.advocate_name == "Alex Advocate"
    assert concern.advocate_organisation == "Testshire Advocacy"
    assert [event.kind for event in concern.events][-2:] == ["advocate", "started"]
    assert "concern.advocate" in audit_actions(db_session, concern)


@pytest.mark.parametrize(
    ("substantial_difficulty", "appropriate_person"),
    [(True, True), (False, False), (False, True), (None, None), (True, None), (None, False)],
    ids=["yes-yes", "no-no", "no-yes", "unknown-unknown", "yes-unknown", "unknown-no"],
)
def test_work_starts_without_an_advocate_for_any_other_answers(
    substantial_difficulty, appropriate_person, concern_at, lead, record_msp
):
    concern = concern_at(S.TRIAGED)
    record_msp(concern, by=lead, substantial_difficulty=substantial_difficulty, appropriate_person=appropriate_person)

    operations.start_work(concern, by=lead)

    assert concern.status is S.IN_PROGRESS


def test_an_advocate_arranged_in_the_future_is_refused_and_the_gate_still_holds(concern_at, lead, record_msp):
    concern = concern_at(S.TRIAGED)
    record_msp(concern, by=lead, substantial_difficulty=True, appropriate_person=False)

    with pytest.raises(ConcernError, match="The date arranged must be today or in the past") as refused:
        operations.record_advocate(
            concern, name="Alex Advocate", organisation=None, arranged_on=date.today() + timedelta(days=1), by=lead
        )

    assert refused.value.field == "advocate_arranged_on"
    assert concern.advocate_name is None
    with pytest.raises(ConcernError, match="An independent advocate must be arranged first"):
        operations.start_work(concern, by=lead)


@pytest.mark.parametrize("name", ["", "   "])
def test_an_advocate_needs_a_name(name, concern_at, lead):
    concern = concern_at(S.TRIAGED)
    with pytest.raises(ConcernError, match="Enter the advocate's name"):
        operations.record_advocate(concern, name=name, organisation=None, arranged_on=date.today(), by=lead)
    assert not concern.advocate_recorded


# Capacity and the MSP conversation ------------------------------------------------------------


@pytest.mark.parametrize("decision", [None, "", "   "])
def test_an_adult_lacking_capacity_needs_a_best_interests_decision(decision, concern_at, lead, record_msp):
    concern = concern_at(S.IN_PROGRESS)
    with pytest.raises(ConcernError, match="Enter the best-interests decision") as refused:
        record_msp(concern, by=lead, mental_capacity=MentalCapacity.LACKED, best_interests_decision=decision)
    assert refused.value.field == "best_interests_decision"
    assert concern.mental_capacity is None


def test_the_best_interests_decision_and_past_and_present_wishes_are_kept(concern_at, lead, record_msp, db_session):
    concern = concern_at(S.IN_PROGRESS)
    record_msp(
        concern,
        by=lead,
        mental_capacity=MentalCapacity.LACKED,
        best_interests_decision="Move to respite while the enquiry runs",
        past_present_wishes="Has always said she wants to stay near her daughter",
    )
    db_session.commit()
    db_session.expire_all()

    assert concern.mental_capacity is MentalCapacity.LACKED
    assert concern.best_interests_decision == "Move to respite while the enquiry runs"
    assert concern.past_present_wishes == "Has always said she wants to stay near her daughter"


@pytest.mark.parametrize(
    "capacity", [MentalCapacity.NOT_LACKED, MentalCapacity.DONT_KNOW, MentalCapacity.NOT_RECORDED, None]
)
def test_no_best_interests_decision_is_needed_unless_the_adult_lacks_capacity(capacity, concern_at, lead, record_msp):
    concern = concern_at(S.IN_PROGRESS)
    record_msp(concern, by=lead, mental_capacity=capacity)
    assert concern.mental_capacity is capacity


def test_updating_the_msp_record_names_what_changed_on_the_timeline(concern_at, lead, record_msp, db_session):
    concern = concern_at(S.IN_PROGRESS)
    events_before = len(concern.events)

    record_msp(concern, by=lead, adult_views="I want to stay at home", preferred_contact="My District Nurse")
    record_msp(concern, by=lead, adult_views="I want to stay at home", preferred_contact="My District Nurse")
    db_session.commit()

    added = concern.events[events_before:]
    assert [event.kind for event in added] == ["msp"]
    assert "the adult's views" in added[0].summary
    assert "who they prefer to talk to" in added[0].summary


def test_desired_outcomes_are_added_to_over_time_and_earlier_ones_stay_as_they_were(
    concern_at, lead, staff, db_session
):
    concern = concern_at(S.IN_PROGRESS)
    first_moment = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(first_moment, tick=False):
        operations.add_desired_outcome(concern, words="I want the shouting to stop", by=lead)
    db_session.commit()
    with time_machine.travel(first_moment + timedelta(days=5), tick=False):
        operations.add_desired_outcome(concern, words="  I want to choose who helps me wash  ", by=staff)
    db_session.commit()
    db_session.expire_all()

    outcomes = concern.desired_outcomes
    assert [o.words for o in outcomes] == ["I want the shouting to stop", "I want to choose who helps me wash"]
    assert outcomes[0].recorded_at == first_moment
    assert outcomes[0].recorded_by == lead
    assert outcomes[1].recorded_at == first_moment + timedelta(days=5)
    assert outcomes[1].recorded_by == staff


@pytest.mark.parametrize("words", ["", "   "])
def test_an_empty_desired_outcome_is_refused(words, concern_at, lead):
    concern = concern_at(S.IN_PROGRESS)
    with pytest.raises(ConcernError, match="Enter the outcome the adult wants"):
        operations.add_desired_outcome(concern, words=words, by=lead)
    assert concern.desired_outcomes == []


def test_the_msp_record_of_a_closed_concern_cannot_be_changed(concern_at, lead, record_msp):
    concern = concern_at(S.CLOSED)
    with pytest.raises(ConcernError, match="This concern is closed: reopen it to change the record"):
        record_msp(concern, by=lead, adult_views="Changed my mind")
    with pytest.raises(ConcernError, match="This concern is closed: reopen it to add outcomes"):
        operations.add_desired_outcome(concern, words="Something new", by=lead)
    assert concern.adult_views is None
    assert concern.desired_outcomes == []


def test_the_msp_record_can_be_changed_again_once_reopened(concern_at, lead, record_msp):
    concern = concern_at(S.CLOSED)
    operations.reopen_concern(concern, reason="New information", by=lead)
    record_msp(concern, by=lead, adult_views="I want to move")
    assert concern.adult_views == "I want to move"


# Consent and overriding a refusal -------------------------------------------------------------


def override(concern, by, **changes):
    values = {
        "reason": OverrideReason.RISK_TO_OTHERS,
        "explanation": "Other residents are at risk from the same member of staff",
        "adult_told": True,
        "not_told_reason": None,
    }
    values.update(changes)
    return operations.override_consent(concern, by=by, **values)


@pytest.mark.parametrize(
    "consent", [ConsentToShare.GIVEN, ConsentToShare.NOT_POSSIBLE, None], ids=["given", "not_possible", "unrecorded"]
)
def test_only_a_refusal_of_consent_can_be_overridden(consent, make_concern, lead):
    concern = make_concern(consent=consent)
    with pytest.raises(ConcernError, match="Only a refusal of consent can be overridden"):
        override(concern, lead)
    assert concern.overrides == []


@pytest.mark.parametrize("explanation", [None, "", "   "])
def test_an_override_needs_an_explanation(explanation, make_concern, lead):
    concern = make_concern(consent=ConsentToShare.REFUSED)
    with pytest.raises(ConcernError, match="Explain why the adult's refusal is being overridden") as refused:
        override(concern, lead, explanation=explanation)
    assert refused.value.field == "explanation"
    assert concern.overrides == []


@pytest.mark.parametrize("not_told_reason", [None, "", "   "])
def test_an_override_the_adult_was_not_told_about_needs_the_reason(not_told_reason, make_concern, lead):
    concern = make_concern(consent=ConsentToShare.REFUSED)
    with pytest.raises(ConcernError, match="Enter why the adult has not been told") as refused:
        override(concern, lead, adult_told=False, not_told_reason=not_told_reason)
    assert refused.value.field == "not_told_reason"
    assert concern.overrides == []


def test_an_override_records_why_who_when_and_whether_the_adult_was_told(make_concern, lead, db_session):
    concern = make_concern(consent=ConsentToShare.REFUSED)
    moment = datetime(2026, 11, 18, 14, 15, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        override(
            concern,
            lead,
            reason=OverrideReason.COERCION,
            adult_told=False,
            not_told_reason=" Telling her now would put her at risk from her son ",
        )
    db_session.commit()
    db_session.expire_all()

    [recorded] = concern.overrides
    assert recorded.reason is OverrideReason.COERCION
    assert recorded.explanation == "Other residents are at risk from the same member of staff"
    assert recorded.decided_by == lead
    assert recorded.decided_at == moment
    assert recorded.adult_told is False
    assert recorded.not_told_reason == "Telling her now would put her at risk from her son"
    assert concern.consent is ConsentToShare.REFUSED
    assert concern.events[-1].summary == "Refusal of consent overridden: Coercion or undue influence is suspected"
    assert audit_actions(db_session, concern)[-1] == "concern.override"


def test_every_override_in_the_area_is_listed_for_the_areas_safeguarding_leads_only(
    partnership, make_concern, db_session
):
    concern = make_concern(consent=ConsentToShare.REFUSED)
    recorded = override(concern, partnership.council_lead)
    db_session.commit()

    def listed_for(user):
        return list(db_session.scalars(policy.overrides_visible_to(user)))

    assert listed_for(partnership.council_lead) == [recorded]
    for name in ("other_area_lead", "council_commissioner", "manager_a", "administrator", "sab_chair"):
        assert listed_for(partnership.people[name]) == [], name
    assert db_session.scalars(sa.select(ConsentOverride)).all() == [recorded]


@pytest.mark.parametrize(
    ("who", "may_override"),
    [
        ("council_lead", True),
        ("manager_a", True),
        ("manager_b", False),
        ("staff_a", False),
        ("other_staff_a", False),
        ("council_commissioner", False),
        ("icb_commissioner", False),
        ("inspector", False),
        ("other_area_lead", False),
        ("administrator", False),
        ("sab_chair", False),
    ],
)
def test_who_may_override_a_refusal_of_consent(who, may_override, partnership, make_concern):
    concern = make_concern(raised_by=partnership.staff_a, consent=ConsentToShare.REFUSED)
    assert policy.can_override_consent(partnership.people[who], concern) is may_override
