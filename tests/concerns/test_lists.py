"""Lists and search of concerns: never more than the detail page allows, and the triage queue.

One area: the council (lead, commissioner, administrator), the ICB (commissioner), the regulator
(inspector), the board (member), provider A (services A1, A2; two staff and a manager) and
provider B (service B1; staff and a manager). The council commissions A1, the ICB commissions B1.
Concerns, named by who raised them about what:

- ``a1_staff``: provider A's first staff member, about A1
- ``a2_other_staff``: provider A's second staff member, about A2
- ``b1_staff``: provider B's staff member, about B1
- ``b1_icb``: the ICB's commissioner, about B1
- ``a2_inspector``: the inspector, about A2
- ``none_lead``: the council's lead, about no service
- ``public``: a member of the public, about no service
- ``elsewhere``: another area's lead, in that area
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import time_machine

from portal.concerns import operations
from portal.concerns.operations import AdultDetails
from portal.core.codes import RAG, AbuseType, AgencyKind, Role, TriageDecision
from portal.core.templating import LONDON
from tests.conftest import register_world, world_part

ADULT_NAME = "Marigold Secretname"


@dataclass
class World:
    users: dict
    concerns: dict


def _acting(user):
    user.membership = user.active_memberships[0]
    return user


def build_world(make) -> World:
    area = make.area("Listshire")
    agency = {
        "council": make.agency(AgencyKind.LOCAL_AUTHORITY, area=area, name="List council"),
        "icb": make.agency(AgencyKind.NHS_ICB, area=area, name="List ICB"),
        "regulator": make.agency(AgencyKind.REGULATOR, area=area, name="List regulator"),
        "board": make.agency(AgencyKind.SAB, area=area, name="List board"),
        "a": make.agency(AgencyKind.CARE_PROVIDER, area=area, name="Provider A"),
        "b": make.agency(AgencyKind.CARE_PROVIDER, area=area, name="Provider B"),
    }
    services = {
        "a1": make.service(agency["a"], name="A One"),
        "a2": make.service(agency["a"], name="A Two"),
        "b1": make.service(agency["b"], name="B One"),
    }
    make.commissioning(services["a1"], agency["council"])
    make.commissioning(services["b1"], agency["icb"])
    people = {
        "staff_a": (Role.PROVIDER_STAFF, "a"),
        "other_staff_a": (Role.PROVIDER_STAFF, "a"),
        "manager_a": (Role.PROVIDER_MANAGER, "a"),
        "staff_b": (Role.PROVIDER_STAFF, "b"),
        "manager_b": (Role.PROVIDER_MANAGER, "b"),
        "council_commissioner": (Role.COMMISSIONER, "council"),
        "icb_commissioner": (Role.COMMISSIONER, "icb"),
        "inspector": (Role.INSPECTOR, "regulator"),
        "lead": (Role.SAFEGUARDING_LEAD, "council"),
        "sab_member": (Role.SAB_MEMBER, "board"),
        "administrator": (Role.ADMINISTRATOR, "council"),
    }
    users = {name: make.user(role, agency=agency[where], email=f"{name}@list.example", name=name) for name, (role, where) in people.items()}
    other_area = make.area("Otherlist")
    users["other_lead"] = make.user(Role.SAFEGUARDING_LEAD, agency=make.agency(AgencyKind.LOCAL_AUTHORITY, area=other_area), email="other@list.example")

    def raise_(by, service, types, target_area=area):
        raiser = _acting(users[by]) if by else None
        concern = operations.raise_concern(
            area=target_area, raised_by=raiser, service=services.get(service), what_happened=f"Raised by {by} about {service}",
            abuse_types=types, adult=AdultDetails(name=ADULT_NAME),
        )
        if raiser is not None:
            raiser.membership = None
        return concern

    concerns = {
        "a1_staff": raise_("staff_a", "a1", {AbuseType.PHYSICAL}),
        "a2_other_staff": raise_("other_staff_a", "a2", {AbuseType.NEGLECT}),
        "b1_staff": raise_("staff_b", "b1", {AbuseType.FINANCIAL, AbuseType.NEGLECT}),
        "b1_icb": raise_("icb_commissioner", "b1", {AbuseType.ORGANISATIONAL}),
        "a2_inspector": raise_("inspector", "a2", {AbuseType.PSYCHOLOGICAL}),
        "none_lead": raise_("lead", None, {AbuseType.SELF_NEGLECT}),
        "public": raise_(None, None, set()),
        "elsewhere": raise_("other_lead", None, {AbuseType.PHYSICAL}, target_area=other_area),
    }
    make.session.commit()
    return World(users=users, concerns=concerns)


register_world("concern_lists", ("lists_world",), lambda make: {"lists_world": build_world(make)})
lists_world = world_part("lists_world")


@pytest.fixture
def world(lists_world):
    """The area of the module's docstring, built once for the module (tests/conftest.py, register_world)."""
    return lists_world


ROLES = [
    "staff_a", "other_staff_a", "manager_a", "staff_b", "manager_b", "council_commissioner",
    "icb_commissioner", "inspector", "lead", "sab_member", "administrator", "other_lead",
]

#: What each person's search shows with no filters, written out by hand from the policy.
EXPECTED = {
    "staff_a": {"a1_staff"},
    "other_staff_a": {"a2_other_staff"},
    "manager_a": {"a1_staff", "a2_other_staff"},
    "staff_b": {"b1_staff"},
    "manager_b": {"b1_staff"},
    "council_commissioner": {"a1_staff", "none_lead"},
    "icb_commissioner": {"b1_staff", "b1_icb"},
    "inspector": {"a1_staff", "a2_other_staff", "b1_staff", "b1_icb", "a2_inspector"},
    "lead": {"a1_staff", "a2_other_staff", "b1_staff", "b1_icb", "a2_inspector", "none_lead", "public"},
    "sab_member": set(),
    "administrator": set(),
    "other_lead": {"elsewhere"},
}

REFERENCE = re.compile(r">(C-\d{4}-\d{6})</a>")


def listed(client, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    assert ADULT_NAME not in response.text, f"{url} shows the adult's name"
    return set(REFERENCE.findall(response.text))


def names(world, references: set[str]) -> set[str]:
    by_reference = {c.reference: name for name, c in world.concerns.items()}
    return {by_reference[r] for r in references}


@pytest.mark.parametrize("role", ROLES)
def test_search_shows_exactly_the_concerns_the_detail_page_opens(role, world, client, act_as):
    act_as(world.users[role])
    openable = {c.reference for c in world.concerns.values() if client.get(f"/concerns/{c.id}").status_code == 200}
    searched = listed(client, "/concerns/search")
    assert searched == openable
    assert names(world, searched) == EXPECTED[role]


@pytest.mark.parametrize("role", ROLES)
def test_my_and_organisation_lists_are_within_what_the_detail_page_opens(role, world, client, act_as):
    act_as(world.users[role])
    openable = {c.reference for c in world.concerns.values() if client.get(f"/concerns/{c.id}").status_code == 200}
    mine = listed(client, "/concerns")
    organisation = listed(client, "/concerns/organisation")
    assert mine <= organisation <= openable
    user = world.users[role]
    assert mine == {c.reference for c in world.concerns.values() if c.raised_by_id == user.id}


def test_provider_manager_sees_the_whole_organisation_and_staff_only_their_own(world, client, act_as):
    act_as(world.users["manager_a"])
    assert names(world, listed(client, "/concerns/organisation")) == {"a1_staff", "a2_other_staff"}
    assert listed(client, "/concerns") == set()
    act_as(world.users["staff_a"])
    assert names(world, listed(client, "/concerns/organisation")) == {"a1_staff"}
    assert names(world, listed(client, "/concerns")) == {"a1_staff"}


def test_lists_need_sign_in(client):
    for url in ("/concerns", "/concerns/organisation", "/concerns/search", "/concerns/triage"):
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], url


def test_only_safeguarding_leads_see_the_triage_queue(world, client, act_as):
    for role in ROLES:
        act_as(world.users[role])
        expected = 200 if role in {"lead", "other_lead"} else 403
        assert client.get("/concerns/triage").status_code == expected, role


def test_search_filters_narrow_the_scoped_results(world, client, act_as):
    act_as(world.users["lead"])
    c = world.concerns
    reference = c["b1_staff"].reference
    assert names(world, listed(client, f"/concerns/search?reference={reference.lower()}")) == {"b1_staff"}
    assert names(world, listed(client, f"/concerns/search?reference={reference[2:]}")) == {"b1_staff"}, "the C- may be left off"
    assert names(world, listed(client, f"/concerns/search?reference={reference[:-1]}")) >= {"b1_staff"}
    assert listed(client, "/concerns/search?reference=C-1999-") == set()
    assert listed(client, "/concerns/search?reference=%25") == set(), "a % is a character, not a wildcard"
    b1 = c["b1_staff"].service_id
    assert names(world, listed(client, f"/concerns/search?service={b1}")) == {"b1_staff", "b1_icb"}
    assert names(world, listed(client, "/concerns/search?abuse_type=NEGLECT")) == {"a2_other_staff", "b1_staff"}
    assert names(world, listed(client, f"/concerns/search?abuse_type=NEGLECT&service={b1}")) == {"b1_staff"}
    assert listed(client, "/concerns/search?status=CLOSED") == set()
    assert len(listed(client, "/concerns/search?status=SUBMITTED")) == 7


def test_search_by_status_and_dates(world, client, act_as, db_session):
    lead = _acting(world.users["lead"])
    c = world.concerns
    operations.triage_concern(c["public"], decision=TriageDecision.S42_ENQUIRY, reason=None, by=lead)
    c["a1_staff"].raised_at = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)  # 10 January in London (GMT)
    c["b1_staff"].raised_at = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # 1 July in London (BST)
    db_session.commit()
    act_as(world.users["lead"])
    assert names(world, listed(client, "/concerns/search?status=TRIAGED")) == {"public"}
    january = "raised_from-day=10&raised_from-month=1&raised_from-year=2026&raised_to-day=10&raised_to-month=1&raised_to-year=2026"
    assert names(world, listed(client, f"/concerns/search?{january}")) == {"a1_staff"}
    july = "raised_from-day=1&raised_from-month=7&raised_from-year=2026&raised_to-day=1&raised_to-month=7&raised_to-year=2026"
    assert names(world, listed(client, f"/concerns/search?{july}")) == {"b1_staff"}
    june = "raised_to-day=30&raised_to-month=6&raised_to-year=2026&raised_from-day=11&raised_from-month=1&raised_from-year=2026"
    assert names(world, listed(client, f"/concerns/search?{june}")) == set()
    # The dates stay in the boxes, and paging links keep them.
    page = client.get(f"/concerns/search?{january}").text
    assert 'name="raised_from-day"' in page and 'value="10"' in page


def test_the_search_offers_only_services_the_person_can_see_concerns_about(world, client, act_as):
    act_as(world.users["manager_a"])
    page = client.get("/concerns/search").text
    assert "A One (Provider A)" in page and "A Two (Provider A)" in page and "B One" not in page
    act_as(world.users["icb_commissioner"])
    page = client.get("/concerns/search").text
    assert "B One (Provider B)" in page and "A One" not in page
    act_as(world.users["staff_a"])
    b1 = world.concerns["b1_staff"].service_id
    response = client.get(f"/concerns/search?service={b1}")
    assert "Select one of the services listed" in response.text
    assert REFERENCE.findall(response.text) == []


BAD_SEARCHES = [
    "reference=%00%01",
    "reference=" + "x" * 5000,
    "service=abc",
    "service=-1",
    "service=99999999999999999999",
    "status=NOPE",
    "status=%00",
    "abuse_type=submitted",
    "raised_from-day=31&raised_from-month=2&raised_from-year=2026",
    "raised_from-day=x&raised_from-month=y&raised_from-year=z",
    "raised_from-day=1&raised_from-month=1&raised_from-year=0",
    "raised_from-day=1&raised_from-month=1",
    "raised_to-day=31&raised_to-month=12&raised_to-year=9999",
    "raised_from-day=1&raised_from-month=1&raised_from-year=1000",
    "raised_from-day=99999999999999999999&raised_from-month=1&raised_from-year=2026",
    "raised_from-day=2&raised_from-month=1&raised_from-year=2026&raised_to-day=1&raised_to-month=1&raised_to-year=2026",
    "page=-5",
    "page=99999999999999999999",
    "page=abc",
    "status=SUBMITTED&status=CLOSED&service=1&service=x",
]


@pytest.mark.parametrize("query", BAD_SEARCHES)
def test_bad_search_parameters_never_give_a_server_error(query, world, client, act_as):
    act_as(world.users["lead"])
    response = client.get(f"/concerns/search?{query}")
    assert response.status_code == 200
    assert ADULT_NAME not in response.text


def test_bad_dates_are_explained_on_the_page(world, client, act_as):
    act_as(world.users["lead"])
    text = html.unescape(client.get("/concerns/search?raised_from-day=31&raised_from-month=2&raised_from-year=2026").text)
    assert "There is a problem" in text and "Raised on or after must be a real date" in text
    assert 'href="#raised_from-day"' in text
    text = html.unescape(
        client.get(
            "/concerns/search?raised_from-day=2&raised_from-month=1&raised_from-year=2026&raised_to-day=1&raised_to-month=1&raised_to-year=2026"
        ).text
    )
    assert "must be the same as or after" in text
    text = html.unescape(client.get("/concerns/search?status=NOPE").text)
    assert "Select a status from the list" in text
    text = html.unescape(client.get("/concerns/search?abuse_type=SUBMITTED").text)
    assert "Select a type of abuse or neglect from the list" in text


# The triage queue -----------------------------------------------------------------------------


def _triage_rows(text: str) -> list[tuple[str, str, int]]:
    """(reference, immediate risk, working days waiting) for each row of the queue, in order."""
    rows = []
    for row in re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', text, re.S)[1:]:
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if len(cells) == 7:
            rows.append((cells[0], cells[4], int(cells[5])))
    return rows


def test_triage_queue_is_oldest_first_counting_working_days(world, client, act_as, db_session):
    lead = _acting(world.users["lead"])
    c = world.concerns
    for name in ("a1_staff", "a2_other_staff", "b1_icb", "a2_inspector", "none_lead"):
        operations.triage_concern(c[name], decision=TriageDecision.QUALITY_CONCERN, reason=None, by=lead)
    london = lambda *args: datetime(*args, tzinfo=LONDON).astimezone(UTC)  # noqa: E731
    # Monday 25 May 2026 is the Spring bank holiday; the queue is read on Tuesday 26 May.
    c["public"].raised_at = london(2026, 5, 21, 16, 0)  # Thursday: Friday and Tuesday count
    c["b1_staff"].raised_at = london(2026, 5, 22, 0, 30)  # Friday in London, still Thursday in UTC
    c["b1_staff"].immediate_risk = RAG.RED
    db_session.commit()

    with time_machine.travel(datetime(2026, 5, 26, 9, 0, tzinfo=LONDON), tick=False):
        newest = operations.raise_concern(
            area=c["public"].area, raised_by=None, service=None, what_happened="Raised today", abuse_types=set(),
        )
        db_session.commit()
        act_as(world.users["lead"])
        response = client.get("/concerns/triage")

    assert response.status_code == 200
    rows = _triage_rows(response.text)
    assert [(ref, days) for ref, _, days in rows] == [
        (c["public"].reference, 2),
        (c["b1_staff"].reference, 1),
        (newest.reference, 0),
    ]
    assert rows[1][1].startswith("Red")
    assert "1 concern says the adult is at immediate risk of serious harm" in response.text
    assert ADULT_NAME not in response.text
    assert c["a1_staff"].reference not in response.text, "triaged concerns leave the queue"
    assert c["elsewhere"].reference not in response.text, "another area's concerns are not in the queue"


def test_navigation_marks_only_the_closest_match(world, client, act_as):
    act_as(world.users["lead"])
    text = client.get("/concerns/triage").text
    active = re.findall(r'govuk-service-navigation__item--active">\s*<a[^>]*>\s*(?:<strong[^>]*>)?\s*([^<]+?)\s*<', text)
    assert active == ["Triage"]
    text = client.get("/concerns/search").text
    active = re.findall(r'govuk-service-navigation__item--active">\s*<a[^>]*>\s*(?:<strong[^>]*>)?\s*([^<]+?)\s*<', text)
    assert active == ["Concerns"]
