"""Fixtures for concerns: an area with a council, a provider and its service, and a factory.

The partnership (and its four concerns) is built once per module and shared by its tests (see
``register_world`` in tests/conftest.py); in a test that has it, ``area``, ``council``, ``provider``,
``service``, ``lead`` and ``staff`` are the partnership's own.
"""

import functools
from datetime import date
from types import SimpleNamespace

import pytest

from portal.concerns import operations
from portal.concerns.operations import AdultDetails
from portal.core.codes import (
    AbuseType,
    ActionResult,
    AgencyKind,
    ConcernStatus,
    ConsentToShare,
    MspAsked,
    RiskOutcome,
    Role,
    Sex,
    TriageDecision,
)
from portal.extensions import db
from tests.conftest import Factories, register_world, world_db_session, world_part

#: This directory's tests share worlds built once per module (tests/conftest.py).
db_session = world_db_session


@pytest.fixture
def area(make_area, module_worlds, db_session):
    return module_worlds.part_if_any("area", db_session) or make_area("Testshire")


@pytest.fixture
def council(make_agency, module_worlds, db_session):
    return module_worlds.part_if_any("council", db_session) or make_agency(AgencyKind.LOCAL_AUTHORITY, name="Testshire Council")


@pytest.fixture
def provider(make_agency, module_worlds, db_session):
    return module_worlds.part_if_any("provider", db_session) or make_agency(AgencyKind.CARE_PROVIDER, name="Sunrise Care")


@pytest.fixture
def service(make_service, provider, module_worlds, db_session):
    return module_worlds.part_if_any("service", db_session) or make_service(provider, name="Sunrise House")


def _lead(make, council):
    user = make.user(Role.SAFEGUARDING_LEAD, agency=council, email="lead@council.example", name="Sam Lead")
    user.membership = user.active_memberships[0]
    return user


def _staff(make, provider):
    user = make.user(Role.PROVIDER_STAFF, agency=provider, email="staff@sunrise.example", name="Pat Staff")
    user.membership = user.active_memberships[0]
    return user


@pytest.fixture
def lead(factories, council, module_worlds, db_session):
    return module_worlds.part_if_any("lead", db_session) or _lead(factories, council)


@pytest.fixture
def staff(factories, provider, module_worlds, db_session):
    return module_worlds.part_if_any("staff", db_session) or _staff(factories, provider)


def raise_test_concern(area, service, staff, /, raised_by=..., adult_name: str | None = "Jo Example", **overrides):
    """A concern raised through the real operation (by ``staff`` about ``service`` in ``area`` unless
    told otherwise); keyword arguments override the defaults."""
    raised_by = staff if raised_by is ... else raised_by
    values = {
        "area": area,
        "raised_by": raised_by,
        "service": service if raised_by is not None else overrides.pop("service", None),
        "what_happened": "Bruising noticed on the adult's arm during personal care.",
        "abuse_types": {AbuseType.PHYSICAL},
        "adult": AdultDetails(name=adult_name) if adult_name else None,
    }
    values.update(overrides)
    concern = operations.raise_concern(**values)
    db.session.commit()
    return concern


@pytest.fixture
def make_concern(db_session, area, service, staff):
    """A concern raised through the real operation; keyword arguments override the defaults."""
    return functools.partial(raise_test_concern, area, service, staff)


@pytest.fixture
def record_msp(db_session):
    """Record Making Safeguarding Personal answers through the real operation; others stay unanswered."""

    def record(concern, *, by, **answers):
        values = dict.fromkeys(operations.MSP_FIELDS)
        values.update(answers)
        operations.record_msp(concern, by=by, **values)

    return record


@pytest.fixture
def concern_at(db_session, make_concern, lead, record_msp):
    """A concern moved by the real operations to ``status``, the adult having been asked about outcomes."""

    def make(status: ConcernStatus, **overrides):
        concern = make_concern(**overrides)
        record_msp(concern, by=lead, msp_asked=MspAsked.ASKED_NOT_EXPRESSED)
        if status is not ConcernStatus.SUBMITTED:
            operations.triage_concern(concern, decision=TriageDecision.S42_ENQUIRY, reason=None, by=lead)
        if status in {ConcernStatus.IN_PROGRESS, ConcernStatus.CLOSED}:
            operations.start_work(concern, by=lead)
        if status is ConcernStatus.CLOSED:
            operations.close_concern(
                concern,
                action_result=ActionResult.RISK_ACTION,
                risk_outcome=RiskOutcome.REDUCED,
                outcomes_achieved=None,
                adult_feedback=None,
                by=lead,
            )
        db_session.commit()
        assert concern.status is status
        return concern

    return make


def build_partnership(make) -> dict:
    """One area's partners and a person in every role, plus a safeguarding lead from another area.

    Provider A (``provider``) runs service A1 (``service``), commissioned by the council and the
    ICB; provider B runs service B1, commissioned by the council alone. Everyone acts in their only
    membership. Returns the world's parts: ``partnership`` and the fixtures it is made of.
    """
    area = make.area("Testshire")
    make = Factories(make.session, make.password_hash, default_area=area)
    council = make.agency(AgencyKind.LOCAL_AUTHORITY, name="Testshire Council")
    provider = make.agency(AgencyKind.CARE_PROVIDER, name="Sunrise Care")
    service = make.service(provider, name="Sunrise House")
    lead, staff = _lead(make, council), _staff(make, provider)
    icb = make.agency(AgencyKind.NHS_ICB, name="Testshire ICB")
    regulator = make.agency(AgencyKind.REGULATOR, name="Care Regulator")
    board = make.agency(AgencyKind.SAB, name="Testshire Safeguarding Adults Board")
    police = make.agency(AgencyKind.POLICE, name="Testshire Police")
    provider_b = make.agency(AgencyKind.CARE_PROVIDER, name="Hillside Homes")
    service_b = make.service(provider_b, name="Hillside Court")
    make.commissioning(service, council)
    make.commissioning(service, icb)
    make.commissioning(service_b, council)
    elsewhere = make.area("Otherton")
    other_council = make.agency(AgencyKind.LOCAL_AUTHORITY, name="Otherton Council", area=elsewhere)

    def person(role, agency, name):
        user = make.user(role, agency=agency, name=name)
        user.membership = user.active_memberships[0]
        return user

    people = {
        "council_lead": lead,
        "council_commissioner": person(Role.COMMISSIONER, council, "Cal Commissioner"),
        "icb_commissioner": person(Role.COMMISSIONER, icb, "Ira Commissioner"),
        "inspector": person(Role.INSPECTOR, regulator, "Ines Inspector"),
        "staff_a": staff,
        "other_staff_a": person(Role.PROVIDER_STAFF, provider, "Ola Staff"),
        "manager_a": person(Role.PROVIDER_MANAGER, provider, "Max Manager"),
        "staff_b": person(Role.PROVIDER_STAFF, provider_b, "Bea Staff"),
        "manager_b": person(Role.PROVIDER_MANAGER, provider_b, "Ben Manager"),
        "council_sab_member": person(Role.SAB_MEMBER, council, "Cy Member"),
        "police_sab_member": person(Role.SAB_MEMBER, police, "Pip Member"),
        "sab_member": person(Role.SAB_MEMBER, board, "Sol Member"),
        "sab_chair": person(Role.SAB_CHAIR, board, "Cass Chair"),
        "administrator": person(Role.ADMINISTRATOR, council, "Ada Admin"),
        "other_area_lead": person(Role.SAFEGUARDING_LEAD, other_council, "Otto Lead"),
    }
    partnership = SimpleNamespace(
        area=area,
        council=council,
        icb=icb,
        regulator=regulator,
        board=board,
        police=police,
        provider_a=provider,
        service_a=service,
        provider_b=provider_b,
        service_b=service_b,
        other_area=elsewhere,
        other_council=other_council,
        people=people,
        **people,
    )
    return {"partnership": partnership, "area": area, "council": council, "provider": provider, "service": service,
            "lead": lead, "staff": staff}


def build_partnership_concerns(make) -> dict:
    """Four concerns in the partnership, named by what sets them apart.

    ``given``: raised by provider A's staff about A1, consent given. ``refused``: raised by another of
    provider A's staff about A1, consent refused. ``public``: from the public form, about no service.
    ``icb``: raised by the ICB's commissioner about B1, consent given.
    """
    world = build_partnership(make)
    p = world["partnership"]
    make_concern = functools.partial(raise_test_concern, world["area"], world["service"], world["staff"])
    world["partnership_concerns"] = {
        "given": make_concern(
            raised_by=p.staff_a,
            service=p.service_a,
            consent=ConsentToShare.GIVEN,
            adult=AdultDetails(
                name="Jo Given",
                date_of_birth=date(1941, 3, 2),
                nhs_number="9434765919",
                sex=Sex.FEMALE,
                address="1 Elm Row",
            ),
        ),
        "refused": make_concern(
            raised_by=p.other_staff_a,
            service=p.service_a,
            consent=ConsentToShare.REFUSED,
            adult=AdultDetails(name="Jo Refused", date_of_birth=date(1950, 6, 7), nhs_number="4010232137"),
        ),
        "public": make_concern(
            raised_by=None,
            service=None,
            abuse_types=set(),
            adult=AdultDetails(name="Jo Public"),
            reporter_name="Nel Neighbour",
            reporter_contact="07700 900123",
            reporter_relationship="Neighbour",
        ),
        "icb": make_concern(
            raised_by=p.icb_commissioner,
            service=p.service_b,
            consent=ConsentToShare.GIVEN,
            adult=AdultDetails(name="Jo Icb", date_of_birth=date(1938, 1, 9)),
        ),
    }
    return world


register_world("partnership", ("partnership",), build_partnership)
register_world("partnership_concerns", ("partnership", "partnership_concerns"), build_partnership_concerns)
partnership = world_part("partnership")
partnership_concerns = world_part("partnership_concerns")
