"""An area for intelligence tests: a council and an ICB that commission, a regulator and a Board
sharing provider intelligence with the council, two providers, and a person in every role."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from portal.core.codes import AgencyKind, DataCategory, KeyQuestion, Role
from portal.extensions import db
from portal.intelligence import operations as intel
from portal.intelligence.models import Severity, SourceType


@pytest.fixture
def intel_world(make_area, make_agency, make_service, make_commissioning, make_user, make_agreement):
    """Services: ``home`` (Sunrise Care, commissioned by the council) and ``elsewhere`` (Moonlight Care,
    commissioned by the ICB only). The agreement joins council, regulator and Board for provider
    intelligence, so the inspector sees ``home`` (its commissioner is a party) but not ``elsewhere``."""
    area = make_area("Intelshire")
    council = make_agency(AgencyKind.LOCAL_AUTHORITY, area=area, name="Intelshire Council")
    icb = make_agency(AgencyKind.NHS_ICB, area=area, name="Intelshire ICB")
    regulator = make_agency(AgencyKind.REGULATOR, area=area, name="Intelshire Regulator")
    board = make_agency(AgencyKind.SAB, area=area, name="Intelshire Board")
    police = make_agency(AgencyKind.POLICE, area=area, name="Intelshire Police")
    sunrise = make_agency(AgencyKind.CARE_PROVIDER, area=area, name="Sunrise Care")
    moonlight = make_agency(AgencyKind.CARE_PROVIDER, area=area, name="Moonlight Care")
    home = make_service(sunrise, name="Sunrise House")
    elsewhere = make_service(moonlight, name="Moonlight Lodge")
    make_commissioning(home, council)
    make_commissioning(elsewhere, icb)
    make_agreement([council, regulator, board], categories={DataCategory.PROVIDER_INTELLIGENCE}, title="Intel agreement")
    users = SimpleNamespace(
        lead=make_user(Role.SAFEGUARDING_LEAD, agency=council, email="lead@intel.example", name="Lena Lead"),
        council_commissioner=make_user(Role.COMMISSIONER, agency=council, email="cc@intel.example", name="Cora Council"),
        icb_commissioner=make_user(Role.COMMISSIONER, agency=icb, email="ic@intel.example", name="Ivan ICB"),
        inspector=make_user(Role.INSPECTOR, agency=regulator, email="inspector@intel.example", name="Iris Inspector"),
        manager=make_user(Role.PROVIDER_MANAGER, agency=sunrise, email="manager@intel.example", name="Mo Manager"),
        staff=make_user(Role.PROVIDER_STAFF, agency=sunrise, email="staff@intel.example", name="Sid Staff"),
        other_manager=make_user(Role.PROVIDER_MANAGER, agency=moonlight, email="moon@intel.example", name="Mia Moon"),
        sab_member=make_user(Role.SAB_MEMBER, agency=police, email="member@intel.example", name="Pat Police"),
        sab_chair=make_user(Role.SAB_CHAIR, agency=board, email="chair@intel.example", name="Cas Chair"),
        admin=make_user(Role.ADMINISTRATOR, agency=council, email="admin@intel.example", name="Ada Admin"),
    )
    return SimpleNamespace(
        area=area, council=council, icb=icb, regulator=regulator, board=board, police=police,
        sunrise=sunrise, moonlight=moonlight, home=home, elsewhere=elsewhere, users=users,
    )


@pytest.fixture
def acting():
    """Put a person in their first role, as signing in would, for calling operations directly."""

    def act(user):
        user.membership = user.active_memberships[0]
        return user

    return act


@pytest.fixture
def add_item(intel_world):
    """Record an item through the operation the pages use, and commit (so signals are refreshed)."""

    def add(service=None, *, source=SourceType.COMPLAINT, severity=Severity.MODERATE, questions=(KeyQuestion.SAFE,),
            days_ago=1, summary="Something happened", confidential=None, supplied_by=None, by=None):
        item = intel.record_item(
            service or intel_world.home,
            intel.ItemDetails(
                occurred_on=date.today() - timedelta(days=days_ago), source=source, key_questions=set(questions),
                severity=severity, summary=summary, confidential=confidential,
            ),
            by=by, supplied_by=supplied_by or intel_world.council,
        )
        db.session.commit()
        return item

    return add
