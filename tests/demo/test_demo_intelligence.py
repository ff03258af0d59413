"""The demo area's provider intelligence: a year for every service, and Meadowbank's pattern caught early."""

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.agencies.models import Service
from portal.agreements.sharing import london_today
from portal.concerns.models import Concern
from portal.core.codes import AbuseType, KeyQuestion, Rating, Role
from portal.demo.intelligence import MEADOWBANK, RIVERSIDE_HOUSE
from portal.intelligence.models import (
    ActionStatus,
    Inspection,
    IntelligenceItem,
    MonitoringVisit,
    RegisterEntry,
    RiskBand,
    RiskSignal,
    SourceType,
)
from portal.intelligence.risk import ItemFacts, assess, current_rules
from portal.people.models import User
from portal.policy import intelligence_items_visible_to

ICB_COMMISSIONER = "commissioner@icb.northshire.example"
RIVERSIDE_MANAGER = "manager@riverside.northshire.example"


@pytest.fixture
def demo(db_session):
    """The demo, seeded once for the package (tests/demo/conftest.py)."""
    return {service.name: service for service in db_session.scalars(sa.select(Service))}


def _user(db_session, email: str, role: Role) -> User:
    user = db_session.scalar(sa.select(User).where(User.email == email))
    user.membership = next(m for m in user.active_memberships if m.role is role)
    return user


def _signals(db_session, service: Service) -> list[RiskSignal]:
    return db_session.scalars(sa.select(RiskSignal).where(RiskSignal.service_id == service.id)).all()


def _every_service_has_a_year_of_intelligence_from_every_source_and_mostly_green_signals(demo, db_session):
    items = db_session.scalars(sa.select(IntelligenceItem)).all()
    today = london_today()
    assert set(Counter(item.source for item in items)) == set(SourceType)
    assert all(item.occurred_on <= today for item in items)
    assert {item.service_id for item in items} == {service.id for service in demo.values()}
    for service in demo.values():
        dates = [item.occurred_on for item in items if item.service_id == service.id]
        assert (today - min(dates)).days >= 180, service.name
    assert any(item.severity.name == "POSITIVE" for item in items if item.source is SourceType.FEEDBACK)

    changed = 0
    for service in demo.values():
        history = db_session.scalars(
            sa.select(Inspection).where(Inspection.service_id == service.id).order_by(Inspection.published_on)
        ).all()
        if len(history) >= 2 and history[-1].ratings() != history[-2].ratings():
            changed += 1
    assert changed >= 10
    visits = db_session.scalars(sa.select(MonitoringVisit)).all()
    assert {visit.service_id for visit in visits} == {service.id for service in demo.values()}
    assert all(len(visit.scores) == 16 for visit in visits)
    assert any(visit.actions for visit in visits)

    bands = Counter(signal.band for signal in db_session.scalars(sa.select(RiskSignal).where(RiskSignal.includes_confidential)))
    assert sum(bands.values()) == len(demo)
    assert bands[RiskBand.GREEN] > len(demo) / 2
    assert bands[RiskBand.AMBER] >= 1


def _meadowbank_is_red_and_converging_on_safe_and_well_led(demo, db_session):
    meadowbank = demo[MEADOWBANK]
    signals = _signals(db_session, meadowbank)
    assert len(signals) == 2
    for signal in signals:
        assert signal.band is RiskBand.RED
        assert {KeyQuestion.SAFE, KeyQuestion.WELL_LED} <= set(signal.converging_questions)
        assert signal.latest_rating is Rating.INADEQUATE
    full = next(signal for signal in signals if signal.includes_confidential)
    assert set(full.converging_questions) == {KeyQuestion.SAFE, KeyQuestion.WELL_LED}
    converging_sources = {reason["source"] for reason in full.reasons if reason["converging"]}
    assert {"CONTRACT_MONITORING", "COMPLAINT", "WHISTLEBLOWING", "SAFEGUARDING_CONCERN", "INSPECTION"} <= converging_sources

    entry = db_session.scalar(sa.select(RegisterEntry).where(RegisterEntry.service_id == meadowbank.id))
    assert entry.owner.email == ICB_COMMISSIONER and entry.review_on == london_today() + timedelta(days=14)

    concerns = db_session.scalars(sa.select(Concern).where(Concern.service_id == meadowbank.id)).all()
    organisational = [c for c in concerns if {AbuseType.ORGANISATIONAL, AbuseType.NEGLECT} <= c.abuse_types]
    assert len(organisational) >= 2


def _meadowbanks_pattern_was_there_before_the_inspection_dropped_to_inadequate(demo, db_session):
    meadowbank = demo[MEADOWBANK]
    history = db_session.scalars(
        sa.select(Inspection).where(Inspection.service_id == meadowbank.id).order_by(Inspection.published_on)
    ).all()
    today = london_today()
    assert history[-1].overall is Rating.INADEQUATE and 5 <= (today - history[-1].published_on).days <= 20
    assert history[-2].overall is Rating.GOOD and (today - history[-2].published_on).days > 365

    day_before = history[-1].published_on - timedelta(days=1)
    rows = db_session.execute(
        sa.select(IntelligenceItem.id, IntelligenceItem.occurred_on, IntelligenceItem.source, IntelligenceItem.severity,
                  IntelligenceItem.key_question_bits, IntelligenceItem.summary, IntelligenceItem.confidential)
        .where(IntelligenceItem.service_id == meadowbank.id, IntelligenceItem.occurred_on <= day_before)
    ).all()
    earlier = assess(current_rules(), [ItemFacts(*row) for row in rows], day_before)
    assert earlier.band is RiskBand.RED
    assert set(KeyQuestion.from_bits(earlier.converging_bits)) == {KeyQuestion.SAFE, KeyQuestion.WELL_LED}


def _riverside_house_has_an_open_icb_action_for_its_manager_who_never_sees_the_whistleblower(demo, db_session):
    riverside = demo[RIVERSIDE_HOUSE]
    visits = db_session.scalars(
        sa.select(MonitoringVisit).where(MonitoringVisit.service_id == riverside.id,
                                         MonitoringVisit.commissioner.has(name="NHS Northshire Integrated Care Board"))
    ).all()
    open_actions = [a for visit in visits for a in visit.actions
                    if a.status is ActionStatus.OPEN and a.due_on > london_today()]
    assert open_actions
    assert any(a.status is ActionStatus.COMPLETED and a.provider_response for visit in visits for a in visit.actions)

    [whistleblowing] = db_session.scalars(
        sa.select(IntelligenceItem).where(IntelligenceItem.service_id == riverside.id,
                                          IntelligenceItem.source == SourceType.WHISTLEBLOWING)
    ).all()
    assert whistleblowing.confidential
    manager = _user(db_session, RIVERSIDE_MANAGER, Role.PROVIDER_MANAGER)
    seen_by_manager = db_session.scalars(intelligence_items_visible_to(manager)).all()
    assert seen_by_manager and riverside.id in {item.service_id for item in seen_by_manager}
    assert whistleblowing.id not in {item.id for item in seen_by_manager}
    commissioner = _user(db_session, ICB_COMMISSIONER, Role.COMMISSIONER)
    assert whistleblowing.id in {item.id for item in db_session.scalars(intelligence_items_visible_to(commissioner))}


def test_the_demo_area_has_a_year_of_intelligence_and_meadowbanks_pattern_is_caught_early(demo, db_session):
    # One seeding for all the checks: building the demo takes seconds, most of all on PostgreSQL.
    _every_service_has_a_year_of_intelligence_from_every_source_and_mostly_green_signals(demo, db_session)
    _meadowbank_is_red_and_converging_on_safe_and_well_led(demo, db_session)
    _meadowbanks_pattern_was_there_before_the_inspection_dropped_to_inadequate(demo, db_session)
    _riverside_house_has_an_open_icb_action_for_its_manager_who_never_sees_the_whistleblower(demo, db_session)
