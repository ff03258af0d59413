"""The demo area's concerns: the whole lifecycle, the SAC code lists, and Jo's story end to end."""

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa

from portal.agreements.sharing import london_today
from portal.audit.operations import verify_chain
from portal.concerns import operations
from portal.concerns.models import Adult, Comment, Concern, ConsentOverride
from portal.concerns.validators import nhs_number_is_valid
from portal.core.codes import (
    AbuseType,
    ActionResult,
    ConcernStatus,
    ConsentToShare,
    MentalCapacity,
    MspAsked,
    OutcomesAchieved,
    PrimarySupportReason,
    RaisedVia,
    RiskLocation,
    RiskOutcome,
    RiskSource,
    Role,
    Sex,
    TriageDecision,
)
from portal.core.db import utcnow
from portal.core.workdays import working_days_between
from portal.demo.concerns import JO_NAME, JO_NEIGHBOUR
from portal.demo.intelligence import MEADOWBANK_CONCERNS
from portal.demo.msp_year import WHAT_HAPPENED as BACKGROUND_WHAT_HAPPENED
from portal.demo.seed import RIVERSIDE, seed_demo
from portal.people.models import User
from portal.policy import adult_details_disclosure, concerns_visible_to


@pytest.fixture
def demo(db_session):
    """The demo, seeded once for the package (tests/demo/conftest.py)."""
    return db_session.scalars(sa.select(Concern).order_by(Concern.id)).all()


def _user(db_session, email: str, role: Role) -> User:
    user = db_session.scalar(sa.select(User).where(User.email == email))
    user.membership = next(m for m in user.active_memberships if m.role is role)
    return user


def _jo(concerns) -> Concern:
    [jo] = [c for c in concerns if c.adult is not None and c.adult.name == JO_NAME]
    return jo


def _check_lifecycle_and_code_lists(concerns, db_session):
    assert len(concerns) >= 60
    statuses = Counter(c.status for c in concerns)
    assert set(statuses) == set(ConcernStatus)
    assert statuses[ConcernStatus.SUBMITTED] >= 10 and statuses[ConcernStatus.CLOSED] >= 20

    closed = [c for c in concerns if c.status is ConcernStatus.CLOSED]
    assert set().union(*(c.abuse_types for c in closed)) == set(AbuseType)
    assert {c.action_result for c in closed} == set(ActionResult)
    assert {c.risk_outcome for c in closed} == set(RiskOutcome)
    assert {c.outcomes_achieved for c in closed} - {None} == set(OutcomesAchieved)
    assert any(len(c.abuse_types) > 1 for c in concerns)

    assert {c.risk_location for c in concerns} == set(RiskLocation)
    assert {c.risk_source for c in concerns} == set(RiskSource)
    assert {c.raised_via for c in concerns} == set(RaisedVia)
    assert {c.triage_decision for c in concerns} - {None} == set(TriageDecision)
    assert {c.msp_asked for c in closed} == set(MspAsked)
    assert {c.mental_capacity for c in concerns} - {None} == set(MentalCapacity)
    assert {c.consent for c in concerns} - {None} == set(ConsentToShare)
    for concern in concerns:
        if concern.triage_decision is not None and concern.triage_decision.needs_reason:
            assert concern.triage_reason

    adults = db_session.scalars(sa.select(Adult)).all()
    assert {a.primary_support_reason for a in adults} - {None} == set(PrimarySupportReason)
    assert {a.sex for a in adults} - {None} == set(Sex)
    today = london_today()
    ages = [(today - a.date_of_birth).days // 365.2425 for a in adults if a.date_of_birth]
    bands = {next(label for label, top in (("18-64", 64), ("65-74", 74), ("75-84", 84), ("85-94", 94), ("95+", 999)) if age <= top) for age in ages}
    assert bands == {"18-64", "65-74", "75-84", "85-94", "95+"}
    assert min(ages) >= 18
    numbers = [a.nhs_number for a in adults if a.nhs_number]
    assert len(numbers) >= 30 and len(set(numbers)) == len(numbers)
    assert all(nhs_number_is_valid(n) for n in numbers)


def _check_raisers_dates_and_timelines(concerns, db_session):
    now = utcnow()
    raisers = {c.raised_by.email if c.raised_by else None for c in concerns}
    assert {
        None, "staff@riverside.northshire.example", "manager@riverside.northshire.example", "commissioner@icb.northshire.example",
        "inspector@regulator.northshire.example", "lead@council.northshire.example",
    } <= raisers
    for concern in concerns:
        if concern.raised_via is RaisedVia.PROVIDER:
            assert concern.provider.name == RIVERSIDE and concern.raising_agency.name == RIVERSIDE
        if concern.raised_via is RaisedVia.PUBLIC:
            assert concern.raised_by is None and concern.raising_agency is None
        times = [event.occurred_at for event in concern.events]
        assert concern.events[0].kind == "raised" and times[0] == concern.raised_at
        assert times == sorted(times) and times[-1] < now
        if concern.triaged_at:
            assert concern.raised_at < concern.triaged_at < now
        if concern.status is ConcernStatus.CLOSED:
            assert concern.raised_at < concern.closed_at < now
        else:
            assert concern.closed_at is None
    raised = sorted(c.raised_at for c in concerns)
    assert (raised[-1] - raised[0]).days >= 300 and (now - raised[0]).days <= 366
    # References follow the order concerns were raised in; the intelligence seed records its two
    # Meadowbank concerns after these, and the MSP year its background concerns, as an import of
    # past concerns would.
    meadowbank = {story.what for story in MEADOWBANK_CONCERNS}
    first = [c for c in concerns if c.what_happened not in meadowbank | set(BACKGROUND_WHAT_HAPPENED.values())]
    assert len([c for c in concerns if c.what_happened in meadowbank]) == len(meadowbank)
    assert [c.reference for c in sorted(first, key=lambda c: c.raised_at)] == sorted(c.reference for c in first)

    reopened = [c for c in concerns if "reopened" in [e.kind for e in c.events]]
    assert 1 <= len(reopened) <= 2
    assert {c.status for c in reopened} <= {ConcernStatus.IN_PROGRESS, ConcernStatus.CLOSED}

    overrides = db_session.scalars(sa.select(ConsentOverride)).all()
    assert len(overrides) >= 2 and len({o.reason for o in overrides}) == len(overrides)
    assert any(not o.adult_told and o.not_told_reason for o in overrides)
    assert any(o.decided_by.email == "manager@riverside.northshire.example" for o in overrides)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Comment).where(Comment.local_authority_only)) >= 1
    assert len({c.agency_id for c in db_session.scalars(sa.select(Comment))}) >= 3
    linked = [c for c in concerns if "linked" in [e.kind for e in c.events]]
    assert linked and len(linked[0].adult.concerns) == 2


def _check_triage_queue(concerns):
    waiting = [c for c in concerns if c.status is ConcernStatus.SUBMITTED]
    assert len(waiting) >= 10
    days = [working_days_between(c.raised_at.date(), date.today()) for c in waiting]
    assert min(days) <= 1 and max(days) >= 10
    assert any(c.immediate_risk and c.immediate_risk.name in {"RED", "AMBER"} for c in waiting)


def _check_advocacy_gate(concerns, db_session):
    [held] = [c for c in concerns if c.status is ConcernStatus.TRIAGED and c.advocate_required]
    assert not held.advocate_recorded
    lead = _user(db_session, "lead@council.northshire.example", Role.SAFEGUARDING_LEAD)
    with pytest.raises(operations.ConcernError, match="independent advocate"):
        operations.start_work(held, by=lead)
    in_progress_with_advocate = [c for c in concerns if c.status is ConcernStatus.IN_PROGRESS and c.advocate_required]
    assert len(in_progress_with_advocate) >= 2 and all(c.advocate_recorded for c in in_progress_with_advocate)


def _check_icb_sees_adults_who_consented(db_session):
    commissioner = _user(db_session, "commissioner@icb.northshire.example", Role.COMMISSIONER)
    visible = db_session.scalars(concerns_visible_to(commissioner)).all()
    others = [c for c in visible if c.raising_agency is None or c.raising_agency.name != "NHS Northshire Integrated Care Board"]
    given = [c for c in others if c.adult and c.consent is ConsentToShare.GIVEN]
    refused = [c for c in others if c.adult and c.consent is ConsentToShare.REFUSED and not c.overrides]
    overridden = [c for c in others if c.adult and c.overrides]
    assert given and refused and overridden
    assert all(adult_details_disclosure(commissioner, c).allowed for c in given + overridden)
    assert not any(adult_details_disclosure(commissioner, c).allowed for c in refused)


def test_the_demo_concerns_cover_the_lifecycle_every_code_list_and_jos_story(demo, db_session):
    """Seeding takes seconds, so one seeded area serves every check."""
    _check_lifecycle_and_code_lists(demo, db_session)
    _check_raisers_dates_and_timelines(demo, db_session)
    _check_triage_queue(demo)
    _check_advocacy_gate(demo, db_session)
    _check_jos_story(demo)
    _check_icb_sees_adults_who_consented(db_session)
    assert verify_chain().intact
    count = db_session.scalar(sa.select(sa.func.count()).select_from(Concern))
    assert seed_demo() is False
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Concern)) == count


def _check_jos_story(demo):
    jo = _jo(demo)
    assert jo.raised_via is RaisedVia.PUBLIC and jo.raised_by is None
    assert jo.reporter_relationship == "Neighbour" and jo.reporter_name == JO_NEIGHBOUR
    assert jo.abuse_types == {AbuseType.FINANCIAL}
    assert (jo.risk_location, jo.risk_source) == (RiskLocation.OWN_HOME, RiskSource.KNOWN)
    assert jo.triage_decision is TriageDecision.S42_ENQUIRY
    assert jo.assigned_to.email == jo.triaged_by.email == "lead@council.northshire.example"
    assert jo.adult.sex is Sex.FEMALE and jo.adult.date_of_birth and nhs_number_is_valid(jo.adult.nhs_number)

    assert jo.msp_asked is MspAsked.ASKED_EXPRESSED and "neighbour has told people" in jo.adult_views
    assert "District Nurse" in jo.preferred_contact
    assert "GP surgery" in jo.preferred_meeting_place and "home" in jo.preferred_meeting_place
    assert jo.wants_to_attend_meetings is True
    assert jo.mental_capacity is MentalCapacity.NOT_LACKED
    assert jo.substantial_difficulty is True and jo.appropriate_person is False and jo.advocate_required
    assert jo.advocate_name and jo.advocate_organisation == "Northshire Advocacy Hub"
    assert len(jo.desired_outcomes) >= 2
    assert any("decides who handles my money" in o.words for o in jo.desired_outcomes)
    assert jo.consent is ConsentToShare.GIVEN

    assert jo.status is ConcernStatus.CLOSED
    assert jo.action_result is ActionResult.RISK_ACTION and jo.risk_outcome is RiskOutcome.REDUCED
    assert jo.outcomes_achieved is OutcomesAchieved.PARTIALLY
    assert "listened to" in jo.adult_feedback and "plain words" in jo.adult_feedback

    kinds = [e.kind for e in jo.events]
    wanted = iter(["raised", "triaged", "msp", "advocate", "started", "closed"])
    step = next(wanted)
    for kind in kinds:
        if kind == step:
            step = next(wanted, None)
    assert step is None, kinds
    assert kinds.index("msp") < kinds.index("advocate") < kinds.index("started")
    assert kinds[-1] == "closed" and kinds.count("comment") >= 2
    assert [e.occurred_at for e in jo.events] == sorted(e.occurred_at for e in jo.events)
    assert jo.advocate_arranged_on <= jo.events[kinds.index("started")].occurred_at.date()
