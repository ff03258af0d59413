"""A small partnership for the personal-data controls: a council with two safeguarding leads and an
administrator, the police with two designated leads, a provider whose staff raise a concern about
Edith Marsh (no agreement shares personal data with the police), an inspector, and another area."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from portal.concerns import operations
from portal.concerns.operations import AdultDetails
from portal.core.codes import AbuseType, AgencyKind, Role
from portal.extensions import db
from tests.notifications.conftest import _smtp_controller, smtp  # noqa: F401 - the real SMTP server
from tests.reports.conftest import known_concerns, report_world  # noqa: F401 - the MSP report's concerns

ADULT = AdultDetails(
    name="Edith Marsh", date_of_birth=date(1941, 3, 2), nhs_number="9434765919", address="4 Quay Street",
    postcode="PR1 2AB",
)


@dataclass
class World:
    area: object
    council: object
    police: object
    lead: object
    second_lead: object
    admin: object
    police_lead: object
    police_colleague: object
    staff: object
    inspector: object
    other_lead: object
    concern: object


def acting(user):
    user.membership = user.active_memberships[0]
    return user


@pytest.fixture
def world(db_session, make_area, make_agency, make_service, make_user) -> World:
    area = make_area("Privacyshire")
    council = make_agency(AgencyKind.LOCAL_AUTHORITY, area=area, name="Privacyshire Council")
    police = make_agency(AgencyKind.POLICE, area=area, name="Privacyshire Police")
    regulator = make_agency(AgencyKind.REGULATOR, area=area, name="Privacy Regulator")
    provider = make_agency(AgencyKind.CARE_PROVIDER, area=area, name="Harbour Care")
    service = make_service(provider)
    other_council = make_agency(AgencyKind.LOCAL_AUTHORITY, area=make_area("Elsewhere"), name="Elsewhere Council")
    people = {
        "lead": make_user(Role.SAFEGUARDING_LEAD, agency=council, email="lead@council.example", name="Lee Lead"),
        "second_lead": make_user(Role.SAFEGUARDING_LEAD, agency=council, email="second@council.example", name="Sam Second"),
        "admin": make_user(Role.ADMINISTRATOR, agency=council, email="admin@council.example", name="Ada Admin"),
        "police_lead": make_user(Role.SAFEGUARDING_LEAD, agency=police, email="dsl@police.example", name="Tamsin Reed"),
        "police_colleague": make_user(Role.SAFEGUARDING_LEAD, agency=police, email="dsl2@police.example", name="Pat Colleague"),
        "staff": make_user(Role.PROVIDER_STAFF, agency=provider, email="staff@harbour.example", name="Sky Staff"),
        "inspector": make_user(Role.INSPECTOR, agency=regulator, email="inspector@regulator.example", name="Ivy Inspector"),
        "other_lead": make_user(Role.SAFEGUARDING_LEAD, agency=other_council, email="lead@elsewhere.example", name="Oli Other"),
    }
    concern = operations.raise_concern(
        area=area, raised_by=acting(people["staff"]), service=service, what_happened="Mrs Marsh was left without food",
        abuse_types={AbuseType.NEGLECT}, adult=ADULT,
    )
    people["staff"].membership = None
    db.session.commit()
    return World(area=area, council=council, police=police, concern=concern, **people)
