"""Lists, exports, charts and searches never show more than the detail pages behind them.

For every person of the matrix and relationship worlds, each object (a concern, a service, a
provider, a meeting, an escalation, an agreement, an import, a person) is looked for by a string
only it shows (its reference, name or title) on every list, CSV export and search where it could
appear. A list that shows everything the person may see ("exactly") must show an object if and
only if its own page opens for them; a list of a part of that ("yours", "your organisation's")
must show nothing whose page does not open. The adult's name appears on no list, export, chart
or search that the concern's own page would not show it on. Which items and charts show the
confidential whistleblower is written out by hand.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from tests.permissions_world import OK, RELATIONSHIP_VIEWERS, ROLES, build_relationship_world, module_world

world_connection, db_session, world = module_world(build_relationship_world)

VIEWERS = ROLES + ["OTHER_AREA_ADMIN"] + RELATIONSHIP_VIEWERS

#: Each kind of object: name in the world -> (its page, the string that marks it on a list).
#: A marker in ``{braces}`` is taken from the world's markers (a reference known once it is raised).
OBJECTS = {
    "concern": {
        "concern": ("/concerns/{concern}", "{concern}"),
        "consented_concern": ("/concerns/{consented_concern}", "{consented_concern}"),
        "far_concern": ("/concerns/{far_concern}", "{far_concern}"),
    },
    "service": {
        "service": ("/services/{service}", "Matrix Service One"),
        "service_two": ("/services/{service_two}", "Matrix Service Two"),
        "far_service": ("/services/{far_service}", "Far Service"),
    },
    "provider": {
        "provider": ("/providers/{provider}", "Provider One"),
        "provider_two": ("/providers/{provider_two}", "Provider Two"),
        "far_provider": ("/providers/{far_provider}", "Far Provider"),
    },
    "meeting": {
        "meeting": ("/meetings/{meeting}", "Matrix quality meeting"),
        "adult_meeting": ("/meetings/{adult_meeting}", "Matrix adult meeting"),
    },
    "meeting_action": {"meeting_action": ("/meeting-actions/{meeting_action}", "Matrix meeting action")},
    "escalation": {
        "escalation": ("/escalations/{escalation}", "{escalation}"),
        "concern_escalation": ("/escalations/{concern_escalation}", "{concern_escalation}"),
    },
    "agreement": {
        "agreement": ("/agreements/{agreement}", "Matrix agreement"),
        "partner_agreement": ("/agreements/{partner_agreement}", "Partner agreement"),
    },
    "import": {"import": ("/imports/{import}", "ratings.csv")},
    "person": {"person": ("/admin/people/{person}", "spare@matrix.example")},
}

#: Lists that show every object of a kind the person may open, and nothing else.
EXACT = [
    ("/concerns/search", "concern"),
    ("/register", "service"),
    ("/register.csv", "service"),
    ("/providers", "provider"),
    ("/providers", "service"),
    ("/meetings", "meeting"),
    ("/escalations", "escalation"),
    ("/agreements", "agreement"),
    ("/imports", "import"),
    ("/admin/people", "person"),
]
#: Lists of a part of what the person may open: theirs, their organisation's, those waiting for
#: triage, their notifications, what the Board oversees, the escalations about a concern.
#: (A service's timeline and the register name the concerns and escalations about the service, by
#: reference and type, to everyone who sees its intelligence: what they may open is then decided
#: by the links, below.)
PART = [
    ("/concerns", "concern"),
    ("/concerns/organisation", "concern"),
    ("/concerns/triage", "concern"),
    ("/meeting-actions", "meeting_action"),
    ("/notifications", "concern"),
    ("/notifications", "escalation"),
    ("/notifications", "meeting"),
    ("/escalations/oversight", "escalation"),
    ("/escalations/oversight.csv", "escalation"),
    ("/concerns/{concern}", "escalation"),
]
#: Every list, export, chart and search, and the pages that list what is about them: none may show
#: an adult's name its concern's page does not, nor link to a page that does not open.
EVERY_LIST = sorted(
    {page for page, _ in EXACT + PART}
    | {"/reports/msp", "/reports/msp.csv", "/admin/audit", "/admin/notifications", "/concerns/search?q=Adult",
       "/providers/{provider}", "/services/{service}", "/services/{service_two}", "/visits/{visit}",
       "/meetings/{meeting}", "/meetings/{meeting}/pack", "/meetings/{meeting}/minutes", "/escalations/{escalation}",
       "/escalations/{concern_escalation}", "/home", "/agency", "/concerns/{consented_concern}"}
)
#: Links to an object's page, and to what may be done to it.
OBJECT_LINK = re.compile(
    r'href="(/(?:concerns|escalations|services|providers|meetings|meeting-actions|agreements|imports|visits|items|actions'
    r'|admin/people|admin/agencies|admin/services)/\d+[^"#?]*)'
)
ADULTS = {"concern": "Matrix Adult", "consented_concern": "Consenting Adult", "far_concern": "Far Adult"}


@dataclass(frozen=True)
class Page:
    status_code: int
    text: str


@pytest.fixture(scope="module")
def pages_seen():
    """Pages already fetched in this module, per person: the tests here only read, so each page is
    fetched once per person rather than once per test (four times the requests otherwise)."""
    return {}


@pytest.fixture
def page_as(world, client, act_as, pages_seen):
    """``page_as(viewer)`` signs the viewer in and gives ``get(url)``, fetching each page once."""

    def sign_in(viewer):
        act_as(world.users[viewer])

        def get(url, **query):
            key = (viewer, url, tuple(sorted(query.items())))
            if key not in pages_seen:
                response = client.get(url, query_string=query or None)
                pages_seen[key] = Page(response.status_code, response.text)
            return pages_seen[key]

        return get

    return sign_in


def _opens(get, world) -> dict[str, set[str]]:
    """For each kind, the objects whose own page opens for the person signed in."""
    return {
        kind: {name for name, (page, _) in objects.items() if get(page.format(**world.ids)).status_code == OK}
        for kind, objects in OBJECTS.items()
    }


def _content(response) -> str:
    """What a page shows inside its <main> (not the header naming the person's own agency), as text
    (not a search form's echo of what was asked); a CSV export whole; nothing when it is refused."""
    if response.status_code != OK:
        return ""
    text = response.text
    if "<main" in text:
        text = text[text.index("<main"):text.index("</main>")]
    return re.sub(r"<[^>]+>", " ", text)


def _shown(text: str, kind: str, world) -> set[str]:
    return {name for name, (_, marker) in OBJECTS[kind].items() if marker.format(**world.markers) in text}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_lists_and_exports_show_exactly_what_the_detail_pages_open(viewer, world, page_as):
    get = page_as(viewer)
    opens = _opens(get, world)
    wrong = []
    for page, kind in EXACT:
        shown = _shown(_content(get(page.format(**world.ids))), kind, world)
        if shown != opens[kind]:
            wrong.append(f"{page} shows {sorted(shown)}; the {kind} pages that open: {sorted(opens[kind])}")
    for page, kind in PART:
        shown = _shown(_content(get(page.format(**world.ids))), kind, world)
        if shown - opens[kind]:
            wrong.append(f"{page} shows {sorted(shown - opens[kind])}, whose own page does not open")
    assert not wrong, f"{viewer}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_every_link_on_a_list_leads_to_a_page_that_opens(viewer, world, page_as):
    get = page_as(viewer)
    wrong = []
    for page in EVERY_LIST:
        response = get(page.format(**world.ids))
        for link in sorted(set(OBJECT_LINK.findall(response.text)) if response.status_code == OK else ()):
            if get(link).status_code != OK:
                wrong.append(f"{page} links to {link}, which answers {get(link).status_code}")
    assert not wrong, f"{viewer}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_searching_finds_only_concerns_the_person_may_open(viewer, world, page_as):
    get = page_as(viewer)
    for name, (page, marker) in OBJECTS["concern"].items():
        reference = marker.format(**world.markers)
        opens = get(page.format(**world.ids)).status_code == OK
        found = reference in _content(get("/concerns/search", reference=reference))
        assert found == opens, (name, found, opens)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_the_adults_name_appears_on_no_list_where_the_concern_would_withhold_it(viewer, world, page_as):
    get = page_as(viewer)
    sees = {adult for name, adult in ADULTS.items() if adult in get(OBJECTS["concern"][name][0].format(**world.ids)).text}
    leaks = {
        page: sorted(adult for adult in set(ADULTS.values()) - sees if adult in get(page.format(**world.ids)).text)
        for page in EVERY_LIST
    }
    assert not any(leaks.values()), {page: names for page, names in leaks.items() if names}


#: Who sees the confidential whistleblower on the service's timeline, its charts and the register:
#: those who see the service and confidential intelligence (commissioners of it or sharing with the
#: council, the regulator's inspector, the council's lead); never the provider or the Board.
SEES_WHISTLEBLOWER = {
    "SAFEGUARDING_LEAD", "INSPECTOR", "COUNCIL_COMMISSIONER", "SHARING_COMMISSIONER", "JOINT_COMMISSIONER",
    "UNSHARED_COMMISSIONER",
}
SEES_SERVICE = SEES_WHISTLEBLOWER | {"PROVIDER_MANAGER", "SAB_MEMBER", "SAB_CHAIR"}


def _chart_series(text: str) -> set[str]:
    """The labels of every series in the page's chart data blocks."""
    blocks = re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', text, re.S)
    return {series["label"] for block in blocks for series in json.loads(block).get("series", [])}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_timelines_charts_and_the_register_show_the_whistleblower_only_to_those_who_may_see_it(viewer, world, page_as):
    get = page_as(viewer)
    for page in ("/services/{service}", "/providers/{provider}"):
        response = get(page.format(**world.ids))
        assert (response.status_code == OK) == (viewer in SEES_SERVICE), page
        if response.status_code != OK:
            continue
        assert ("Matrix complaint" in response.text), page
        assert ("Matrix whistleblower" in response.text) == (viewer in SEES_WHISTLEBLOWER), page
        assert ("Whistleblowing" in _chart_series(response.text)) == (viewer in SEES_WHISTLEBLOWER), page
    for page in ("/register", "/register.csv"):
        assert "Matrix whistleblower" not in get(page).text or viewer in SEES_WHISTLEBLOWER, page
