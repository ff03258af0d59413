"""The demo area's year of concerns: every cell of the MSP and outcome report's tables has a figure.

Counted here with plain queries, by the rules the report uses (see the SAC section of
CODE-LISTS.md), not with the report's own code: concerns raised in the last twelve months (SG1),
enquiries started (triaged as a section 42 or other enquiry) in them, and enquiries concluded
(closed) in them (SG2 to SG4).
"""

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.agreements.sharing import london_today
from portal.concerns.models import Adult, Concern, ConcernAbuseType, ConcernEvent
from portal.core.codes import (
    AbuseType,
    ActionResult,
    ConcernStatus,
    MentalCapacity,
    MspAsked,
    OutcomesAchieved,
    PrimarySupportReason,
    RiskLocation,
    RiskOutcome,
    RiskSource,
    Sex,
    TriageDecision,
)
from portal.core.db import utcnow
from portal.demo.msp_year import WHAT_HAPPENED

BANDS = (("18-64", 64), ("65-74", 74), ("75-84", 84), ("85-94", 94), ("95+", 999))
ENQUIRIES = (TriageDecision.S42_ENQUIRY, TriageDecision.OTHER_ENQUIRY)


@pytest.fixture
def demo(db_session):
    """The demo, seeded once for the package (tests/demo/conftest.py)."""
    since = utcnow() - timedelta(days=365)
    rows = db_session.execute(
        sa.select(Concern, Adult).outerjoin(Adult, Concern.adult_id == Adult.id)
        .where(sa.or_(Concern.raised_at >= since, Concern.triaged_at >= since, Concern.closed_at >= since))
    ).all()
    types = {}
    for concern_id, abuse_type in db_session.execute(sa.select(ConcernAbuseType.concern_id, ConcernAbuseType.abuse_type)):
        types.setdefault(concern_id, set()).add(abuse_type)
    return since, rows, types


def _band(adult, concern):
    if adult is None or adult.date_of_birth is None:
        return None
    raised = concern.raised_at.date()
    age = raised.year - adult.date_of_birth.year - ((raised.month, raised.day) < (adult.date_of_birth.month, adult.date_of_birth.day))
    return next(label for label, top in BANDS if age <= top)


def _breakdowns(pairs):
    return (
        {_band(adult, concern) for concern, adult in pairs},
        {adult.sex if adult else None for concern, adult in pairs},
        {adult.primary_support_reason if adult else None for concern, adult in pairs},
    )


def _sg1_concerns_and_enquiries_started_have_every_age_band_sex_and_support_reason(since, rows):
    raised = [(c, a) for c, a in rows if c.raised_at >= since]
    bands = {label for label, _ in BANDS}
    for decision in (None, *ENQUIRIES):
        counted = raised if decision is None else [
            (c, a) for c, a in rows if c.triage_decision is decision and c.triaged_at and c.triaged_at >= since]
        got_bands, sexes, reasons = _breakdowns(counted)
        assert bands <= got_bands, decision
        assert set(Sex) <= sexes, decision
        assert set(PrimarySupportReason) <= reasons, decision


def _sg2_to_sg4_concluded_enquiries_have_every_category(since, rows, types):
    for decision in ENQUIRIES:
        concluded = [c for c, _ in rows if c.triage_decision is decision and c.status is ConcernStatus.CLOSED
                     and c.closed_at >= since]
        assert set().union(*(types[c.id] for c in concluded)) == set(AbuseType), decision
        assert {c.risk_location for c in concluded} >= set(RiskLocation), decision
        assert {c.risk_source for c in concluded} >= set(RiskSource), decision
        assert {c.action_result for c in concluded} >= set(ActionResult), decision
        assert {c.risk_outcome for c in concluded} >= set(RiskOutcome), decision
        assert {c.mental_capacity for c in concluded} >= set(MentalCapacity), decision
        lacked = [c for c in concluded if c.mental_capacity is MentalCapacity.LACKED]
        supported = [c for c in lacked if c.advocate_name or c.appropriate_person is True]
        assert supported and len(supported) < len(lacked), decision
        assert {c.msp_asked for c in concluded} >= set(MspAsked), decision
        expressed = [c for c in concluded if c.msp_asked is MspAsked.ASKED_EXPRESSED]
        assert {c.outcomes_achieved for c in expressed} >= set(OutcomesAchieved), decision


def _the_background_is_a_believable_year(db_session, rows, types):
    background = [(c, a) for c, a in rows if c.what_happened in set(WHAT_HAPPENED.values())]
    assert 200 <= len(background) <= 300
    statuses = Counter(c.status for c, _ in background)
    assert statuses[ConcernStatus.SUBMITTED] == 0
    assert statuses[ConcernStatus.CLOSED] > 3 * statuses[ConcernStatus.IN_PROGRESS] > 0
    # Not about any service: the demo's provider intelligence and risk register stay as they are.
    assert all(c.service_id is None and c.provider_id is None for c, _ in background)
    assert all(c.what_happened in {WHAT_HAPPENED[t] for t in types[c.id]} for c, _ in background)
    decisions = Counter(c.triage_decision for c, _ in background)
    assert decisions[TriageDecision.S42_ENQUIRY] > decisions[TriageDecision.OTHER_ENQUIRY] > 0
    assert decisions[TriageDecision.NO_FURTHER_ACTION] + decisions[TriageDecision.SIGNPOSTED] > len(background) / 4
    for concern, adult in background:
        assert concern.raised_at < concern.triaged_at and _band(adult, concern) is not None
        if concern.status is ConcernStatus.CLOSED:
            assert concern.triaged_at < concern.closed_at < utcnow()
            if concern.msp_asked is MspAsked.ASKED_EXPRESSED:
                assert concern.outcomes_achieved is not None
        if concern.advocate_required:
            assert concern.advocate_name
    # Each has a timeline that starts with its raising, and the references are new ones.
    sample = background[0][0]
    kinds = db_session.scalars(sa.select(ConcernEvent.kind).where(ConcernEvent.concern_id == sample.id).order_by(ConcernEvent.id)).all()
    assert kinds[:2] == ["raised", "triaged"]
    references = [c.reference for c, _ in background]
    assert len(set(references)) == len(references)
    assert min(c.raised_at for c, _ in background).date() >= london_today() - timedelta(days=366)


def test_the_demo_year_of_concerns_gives_every_table_of_the_msp_report_a_figure(demo, db_session):
    since, rows, types = demo
    _sg1_concerns_and_enquiries_started_have_every_age_band_sex_and_support_reason(since, rows)
    _sg2_to_sg4_concluded_enquiries_have_every_category(since, rows, types)
    _the_background_is_a_believable_year(db_session, rows, types)
