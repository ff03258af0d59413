"""An area for intelligence tests: a council and an ICB that commission, a regulator and a Board
sharing provider intelligence with the council, two providers, and a person in every role.

The area (``intel_world``) is built once per module and shared by its tests, each in a savepoint
rolled back afterwards (``register_world`` in tests/conftest.py); so is every world registered
here, in tests/escalations and in tests/meetings, which use the same ``db_session``."""

from __future__ import annotations

import functools
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from portal.core.codes import AgencyKind, DataCategory, KeyQuestion, Role
from portal.extensions import db
from portal.intelligence import operations as intel
from portal.intelligence.models import Severity, SourceType
from tests.conftest import register_world, world_db_session, world_part

#: This directory's tests share worlds built once per module (tests/conftest.py).
db_session = world_db_session


def build_intel_world(make) -> SimpleNamespace:
    """Services: ``home`` (Sunrise Care, commissioned by the council) and ``elsewhere`` (Moonlight Care,
    commissioned by the ICB only). The agreement joins council, regulator and Board for provider
    intelligence, so the inspector sees ``home`` (its commissioner is a party) but not ``elsewhere``."""
    area = make.area("Intelshire")
    council = make.agency(AgencyKind.LOCAL_AUTHORITY, area=area, name="Intelshire Council")
    icb = make.agency(AgencyKind.NHS_ICB, area=area, name="Intelshire ICB")
    regulator = make.agency(AgencyKind.REGULATOR, area=area, name="Intelshire Regulator")
    board = make.agency(AgencyKind.SAB, area=area, name="Intelshire Board")
    police = make.agency(AgencyKind.POLICE, area=area, name="Intelshire Police")
    sunrise = make.agency(AgencyKind.CARE_PROVIDER, area=area, name="Sunrise Care")
    moonlight = make.agency(AgencyKind.CARE_PROVIDER, area=area, name="Moonlight Care")
    home = make.service(sunrise, name="Sunrise House")
    elsewhere = make.service(moonlight, name="Moonlight Lodge")
    make.commissioning(home, council)
    make.commissioning(elsewhere, icb)
    make.agreement([council, regulator, board], categories={DataCategory.PROVIDER_INTELLIGENCE}, title="Intel agreement")
    users = SimpleNamespace(
        lead=make.user(Role.SAFEGUARDING_LEAD, agency=council, email="lead@intel.example", name="Lena Lead"),
        council_commissioner=make.user(Role.COMMISSIONER, agency=council, email="cc@intel.example", name="Cora Council"),
        icb_commissioner=make.user(Role.COMMISSIONER, agency=icb, email="ic@intel.example", name="Ivan ICB"),
        inspector=make.user(Role.INSPECTOR, agency=regulator, email="inspector@intel.example", name="Iris Inspector"),
        manager=make.user(Role.PROVIDER_MANAGER, agency=sunrise, email="manager@intel.example", name="Mo Manager"),
        staff=make.user(Role.PROVIDER_STAFF, agency=sunrise, email="staff@intel.example", name="Sid Staff"),
        other_manager=make.user(Role.PROVIDER_MANAGER, agency=moonlight, email="moon@intel.example", name="Mia Moon"),
        sab_member=make.user(Role.SAB_MEMBER, agency=police, email="member@intel.example", name="Pat Police"),
        sab_chair=make.user(Role.SAB_CHAIR, agency=board, email="chair@intel.example", name="Cas Chair"),
        admin=make.user(Role.ADMINISTRATOR, agency=council, email="admin@intel.example", name="Ada Admin"),
    )
    return SimpleNamespace(
        area=area, council=council, icb=icb, regulator=regulator, board=board, police=police,
        sunrise=sunrise, moonlight=moonlight, home=home, elsewhere=elsewhere, users=users,
    )


register_world("intel_world", ("intel_world",), lambda make: {"intel_world": build_intel_world(make)})
intel_world = world_part("intel_world")


@pytest.fixture
def acting():
    """Put a person in their first role, as signing in would, for calling operations directly."""

    def act(user):
        user.membership = user.active_memberships[0]
        return user

    return act


def record_test_item(world, service=None, *, source=SourceType.COMPLAINT, severity=Severity.MODERATE,
                     questions=(KeyQuestion.SAFE,), days_ago=1, summary="Something happened", confidential=None,
                     supplied_by=None, by=None):
    """Record an item through the operation the pages use, and commit (so signals are refreshed)."""
    item = intel.record_item(
        service or world.home,
        intel.ItemDetails(
            occurred_on=date.today() - timedelta(days=days_ago), source=source, key_questions=set(questions),
            severity=severity, summary=summary, confidential=confidential,
        ),
        by=by, supplied_by=supplied_by or world.council,
    )
    db.session.commit()
    return item


@pytest.fixture
def add_item(intel_world):
    """:func:`record_test_item` in the test's world (default: about Sunrise House, supplied by the council)."""
    return functools.partial(record_test_item, intel_world)
