"""Fixtures for concerns: an area with a council, a provider and its service, and a factory."""

import pytest

from portal.concerns import operations
from portal.concerns.operations import AdultDetails
from portal.core.codes import AbuseType, AgencyKind, Role


@pytest.fixture
def council(make_agency):
    return make_agency(AgencyKind.LOCAL_AUTHORITY, name="Testshire Council")


@pytest.fixture
def provider(make_agency):
    return make_agency(AgencyKind.CARE_PROVIDER, name="Sunrise Care")


@pytest.fixture
def service(make_service, provider):
    return make_service(provider, name="Sunrise House")


@pytest.fixture
def lead(make_user, council):
    user = make_user(Role.SAFEGUARDING_LEAD, agency=council, email="lead@council.example", name="Sam Lead")
    user.membership = user.active_memberships[0]
    return user


@pytest.fixture
def staff(make_user, provider):
    user = make_user(Role.PROVIDER_STAFF, agency=provider, email="staff@sunrise.example", name="Pat Staff")
    user.membership = user.active_memberships[0]
    return user


@pytest.fixture
def make_concern(db_session, area, service, staff):
    """A concern raised through the real operation; keyword arguments override the defaults."""

    def make(raised_by=staff, adult_name: str | None = "Jo Example", **overrides):
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
        db_session.commit()
        return concern

    return make
