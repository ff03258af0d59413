"""A ``next`` address never sends a person to another site, nor splits the response's headers.

Each hostile address is judged the way a browser would read the resulting Location header: tabs
and newlines dropped, backslashes taken as slashes, relative to the portal's own address.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from portal.auth.sessions import safe_next

HOSTILE = [
    "//evil.example",
    "https://evil.example",
    "http:evil.example",
    "/\\evil.example",
    "\\/\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "///evil.example",
    "https:/evil.example",
    "/\r\nLocation: https://evil.example",
    "/%0d%0aLocation:%20https://evil.example",
    "/home\r\nSet-Cookie: portal_session=stolen",
    "@evil.example",
    "evil.example",
]
PORTAL = "http://localhost/"


def _stays_here(location: str) -> bool:
    """Where a browser would go from this Location header: on the portal, or somewhere else."""
    as_browser_reads = location.replace("\t", "").replace("\r", "").replace("\n", "").replace("\\", "/").strip()
    target = urlsplit(urljoin(PORTAL, as_browser_reads))
    return target.scheme == "http" and target.netloc == "localhost"


@pytest.mark.parametrize("target", HOSTILE)
def test_safe_next_refuses_every_way_off_the_site(target):
    kept = safe_next(target)
    assert kept is None or _stays_here(kept)


@pytest.mark.parametrize("target", ["/concerns/1", "/register?band=RED&page=2", "/home"])
def test_safe_next_keeps_the_portals_own_pages(target):
    assert safe_next(target) == target


def test_choosing_an_agency_never_redirects_off_the_site(world, client, sign_in_as, db_session):
    from portal.core.codes import Role
    from portal.people.models import Membership, User

    commissioner = db_session.get(User, world.users["COUNCIL_COMMISSIONER"])
    second = Membership(user=commissioner, agency_id=world.ids["provider"], role=Role.PROVIDER_MANAGER)
    db_session.add(second)
    db_session.commit()
    for target in HOSTILE:
        sign_in_as(commissioner.id)
        response = client.post("/choose-agency", query_string={"next": target}, data={"membership": second.id})
        assert response.status_code == 302, target
        location = response.headers["Location"]
        assert _stays_here(location), f"{target!r} sent the person to {location!r}"
        assert "\r" not in location and "\n" not in location
        assert "Set-Cookie" not in response.headers or "stolen" not in response.headers["Set-Cookie"]


def test_signing_in_never_redirects_off_the_site(world, client, db_session):
    from tests.conftest import TEST_PASSWORD

    for target in HOSTILE:
        with client.session_transaction() as session:
            session.clear()
        email = "safeguarding_lead@attack.example"
        response = client.post("/sign-in", query_string={"next": target}, data={"email": email, "password": TEST_PASSWORD})
        # Email first (home-realm discovery) may ask for the password on a second step.
        for _ in range(3):
            if response.status_code != 200:
                break
            response = client.post(response.request.full_path, data={"email": email, "password": TEST_PASSWORD})
        assert response.status_code == 302, f"{target!r}: {response.status_code}"
        assert _stays_here(response.headers["Location"]), f"{target!r} sent the person to {response.headers['Location']!r}"
