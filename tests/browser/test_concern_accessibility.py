"""axe-core finds no WCAG 2.2 A or AA problems on any page of concerns, as each person sees it.

Every page of the concerns issue is checked: raising (signed in and public, empty and with
errors, and the public confirmation), the lists and the search, a concern as the safeguarding lead
sees it and as partners see it with the adult's details withheld, every case-work action, the
consent overrides and the notifications. Pages are reached as a person reaches them (forms
submitted with the browser, CSRF on), and the demo concern each page needs is picked from the
database at the moment of the test, by the state it must be in, so that nothing depends on the
order the tests run in. Nothing here changes a demo concern: forms are only opened, or submitted
in a way the portal refuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal import policy
from portal.concerns.models import Adult, Concern
from portal.core.codes import AgencyKind, ConcernStatus, ConsentToShare, MspAsked, RaisedVia
from portal.demo.concerns import JO_NAME
from portal.extensions import db, limiter
from portal.people.models import User
from tests.browser.conftest import COMMISSIONER, PROVIDER_MANAGER, assert_accessible

pytestmark = pytest.mark.browser

LEAD = "lead@council.northshire.example"
STAFF = "staff@riverside.northshire.example"
INSPECTOR = "inspector@regulator.northshire.example"
ICB_ROLE = "NHS Northshire Integrated Care Board – Commissioner or quality officer"

REFERENCE = re.compile(r"C-\d{4}-\d{6}")


# Helpers --------------------------------------------------------------------------------------


def _open(page, url: str, status: int = 200):
    response = page.goto(url)
    assert response is not None and response.status == status, f"{url} answered {response and response.status}, not {status}"
    return response


def _click(page, locator):
    """Click something that loads a new page, and wait for that page."""
    with page.expect_navigation():
        locator.click()


def _heading(page, text: str | re.Pattern):
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def _submit_with_errors(page, button: str):
    """Press the form's button with what is there, and expect the portal to refuse it, explained.

    Every link in the error summary must lead to something on the page.
    """
    _click(page, page.get_by_role("button", name=button, exact=True))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    assert page.title().startswith("Error: "), f"the title of {page.url} does not start with 'Error: '"
    links = summary.get_by_role("link")
    assert links.count() > 0
    by_field = []
    for i in range(links.count()):
        text, href = links.nth(i).inner_text().strip(), links.nth(i).get_attribute("href")
        assert href.startswith("#") and page.locator(href).count() == 1, f"{text!r} links to {href}, not on the page"
        if href != "#main-content":  # a problem with the whole record has no field to sit beside
            by_field.append(text)
    messages = page.locator(".govuk-error-message:not(.govuk-character-count__message)").all_inner_texts()
    beside_fields = [m.removeprefix("Error:").strip() for m in messages]
    assert by_field == beside_fields, "the error summary and the messages beside the fields differ, or are in another order"


def _concern(live_server, *where, order_by=(Concern.id,)) -> tuple[int, str]:
    """The id and reference of the first concern in the served portal's database that matches."""
    with live_server.app.app_context():
        row = db.session.execute(sa.select(Concern.id, Concern.reference).where(*where).order_by(*order_by).limit(1)).first()
        db.session.remove()
    assert row is not None, f"no demo concern matches {where}"
    return row.id, row.reference


def _withheld_from(live_server, email: str, agency_kind: AgencyKind, because: str) -> tuple[int, str, str]:
    """A concern this person may open but whose adult's details are withheld from them for this
    reason: its id, its reference and the adult's name (which must not be on their screen)."""
    with live_server.app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        user.membership = next(m for m in user.active_memberships if m.agency.kind is agency_kind)
        concerns = db.session.scalars(
            policy.concerns_visible_to(user).where(Concern.adult_id.is_not(None)).order_by(Concern.id)
        ).all()
        found = next(
            (
                (c.id, c.reference, c.adult.name)
                for c in concerns
                if policy.adult_details_disclosure(user, c).withheld_because == because
            ),
            None,
        )
        db.session.remove()
    assert found is not None, f"no demo concern shows {email} {because!r}"
    return found


def _working_for(page, base: str, role: str):
    """People with more than one role say which agency they are working for first."""
    _open(page, base + "/choose-agency")
    page.get_by_label(role).check()
    _click(page, page.get_by_role("button", name="Continue"))


def _jo(server) -> tuple[int, str]:
    """Jo's story from the demo data: the neighbour's public report, carried through to closure."""
    return _concern(
        server,
        Concern.raised_via == RaisedVia.PUBLIC,
        Concern.status == ConcernStatus.CLOSED,
        Concern.adult_id.in_(sa.select(Adult.id).where(Adult.name == JO_NAME)),
    )


# Raising, signed in ---------------------------------------------------------------------------


def _raise_form(page, server):
    _open(page, server.url + "/concerns")
    _click(page, page.get_by_role("button", name="Raise a concern"))
    _heading(page, "Raise a concern")


def _raise_form_with_errors(page, server):
    _raise_form(page, server)
    _submit_with_errors(page, "Raise concern")


# Lists and search -----------------------------------------------------------------------------


def _path(path: str, heading: str):
    def go(page, server):
        _open(page, server.url + path)
        _heading(page, heading)

    return go


def _search_with_filters(page, server):
    _open(page, server.url + "/concerns/search")
    page.get_by_label("Status").select_option(label="Closed")
    page.get_by_label("Type of abuse or neglect").select_option(label="Financial or Material Abuse")
    _click(page, page.get_by_role("button", name="Search", exact=True))
    assert "status=CLOSED" in page.url
    expect(page.locator("main table caption")).to_contain_text("your search")
    expect(page.locator("main table tbody")).to_contain_text("Financial or Material Abuse")


def _search_with_an_error(page, server):
    _open(page, server.url + "/concerns/search")
    dates = page.get_by_role("group", name="Raised on or after")
    dates.get_by_label("Day").fill("31")
    dates.get_by_label("Month").fill("2")
    dates.get_by_label("Year").fill("2026")
    _click(page, page.get_by_role("button", name="Search", exact=True))
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Correct the problem above")


# One concern ----------------------------------------------------------------------------------


def _lead_sees_jo(page, server):
    concern_id, reference = _jo(server)
    _open(page, f"{server.url}/concerns/{concern_id}")
    _heading(page, re.compile(reference))
    expect(page.locator("main")).to_contain_text(JO_NAME)
    assert page.locator("#adult-withheld").count() == 0


def _empty_comment(page, server):
    concern_id, _ = _concern(server, IN_PROGRESS)
    _open(page, f"{server.url}/concerns/{concern_id}")
    _submit_with_errors(page, "Add comment")
    expect(page.locator("#body-error")).to_contain_text("Enter a comment")


def _staff_sees_their_own(page, server):
    concern_id, reference = _concern(
        server, Concern.raised_by_id.in_(sa.select(User.id).where(User.email == STAFF)), Concern.adult_id.is_not(None)
    )
    _open(page, f"{server.url}/concerns/{concern_id}")
    _heading(page, re.compile(reference))


def _withheld(email: str, agency_kind: AgencyKind, because: str, role: str | None = None):
    def go(page, server):
        concern_id, reference, name = _withheld_from(server, email, agency_kind, because)
        if role:
            _working_for(page, server.url, role)
        _open(page, f"{server.url}/concerns/{concern_id}")
        _heading(page, re.compile(reference))
        expect(page.locator("#adult-withheld")).to_contain_text(f"The adult's personal details are {because}.")
        expect(page.locator("main .portal-withheld").first).to_have_text(because.capitalize())
        expect(page.locator("main")).not_to_contain_text(name)

    return go


# Case work ------------------------------------------------------------------------------------


def _action(action: str, heading: str, *where, errors: str | None = None):
    """The page of one action on a demo concern in the state the action needs (no action: the concern's own page)."""

    def go(page, server):
        concern_id, reference = _concern(server, *where)
        _open(page, f"{server.url}/concerns/{concern_id}" + (f"/{action}" if action else ""))
        _heading(page, heading)
        if action:
            expect(page.locator(".govuk-caption-l")).to_have_text(f"Concern {reference}")
        else:
            expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
        if errors:
            _submit_with_errors(page, errors)

    return go


SUBMITTED = Concern.status == ConcernStatus.SUBMITTED
TRIAGED = Concern.status == ConcernStatus.TRIAGED
IN_PROGRESS = Concern.status == ConcernStatus.IN_PROGRESS
CLOSED = Concern.status == ConcernStatus.CLOSED
ADVOCATE_NEEDED = sa.and_(
    Concern.substantial_difficulty.is_(True), Concern.appropriate_person.is_(False), Concern.advocate_name.is_(None)
)
OUTCOMES_EXPRESSED = Concern.msp_asked == MspAsked.ASKED_EXPRESSED
SHARED_ADULT = Concern.adult_id.in_(
    sa.select(Concern.adult_id).where(Concern.adult_id.is_not(None)).group_by(Concern.adult_id).having(sa.func.count() > 1)
)


def _adult_with_errors(page, server):
    concern_id, _ = _concern(server, SHARED_ADULT)
    _open(page, f"{server.url}/concerns/{concern_id}/adult")
    page.get_by_label("NHS number (optional)").fill("123 456 7890")
    _submit_with_errors(page, "Save details")
    expect(page.locator("#nhs_number-error")).to_contain_text("NHS number")


def _overrides(page, server):
    _open(page, server.url + "/concerns/overrides")
    _heading(page, "Consent overrides")
    expect(page.locator("main table tbody a").first).to_have_text(REFERENCE)


def _notifications(page, server):
    _open(page, server.url + "/notifications")
    _heading(page, "Notifications")
    expect(page.locator("main table tbody tr").first).not_to_contain_text("You have no notifications")


#: Each page: who looks at it, and how they get there (``go(page, live_server)``).
SIGNED_IN_PAGES: dict[str, tuple[str, Callable]] = {
    "raise a concern": (STAFF, _raise_form),
    "raise a concern with errors": (STAFF, _raise_form_with_errors),
    "my concerns": (STAFF, _path("/concerns", "Concerns you raised")),
    "organisation concerns": (PROVIDER_MANAGER, _path("/concerns/organisation", "Concerns raised by Riverside Care Homes Ltd")),
    "triage queue": (LEAD, _path("/concerns/triage", "Triage queue")),
    "search": (LEAD, _path("/concerns/search", "Search concerns")),
    "search with filters": (LEAD, _search_with_filters),
    "search with an error": (LEAD, _search_with_an_error),
    "search as provider staff": (STAFF, _path("/concerns/search", "Search concerns")),
    "concern as the lead": (LEAD, _lead_sees_jo),
    "concern with an empty comment": (LEAD, _empty_comment),
    "concern held by the advocacy gate": (LEAD, _action("", re.compile("C-"), TRIAGED, ADVOCATE_NEEDED)),
    "concern with a refusal of consent overridden": (LEAD, _action("", re.compile("C-"), Concern.overrides.any())),
    "concern as the provider staff who raised it": (STAFF, _staff_sees_their_own),
    "concern as the inspector, withheld": (
        INSPECTOR, _withheld(INSPECTOR, AgencyKind.REGULATOR, policy.NO_AGREEMENT),
    ),
    "concern as the ICB commissioner, withheld": (
        COMMISSIONER, _withheld(COMMISSIONER, AgencyKind.NHS_ICB, policy.NO_CONSENT, role=ICB_ROLE),
    ),
    "triage": (LEAD, _action("triage", "Triage this concern", SUBMITTED)),
    "triage with errors": (LEAD, _action("triage", "Triage this concern", SUBMITTED, errors="Record triage decision")),
    "assign": (LEAD, _action("assign", re.compile("safeguarding lead"), SUBMITTED)),
    "start, held by the advocacy gate": (LEAD, _action("start", "Start work on this concern", TRIAGED, ADVOCATE_NEEDED)),
    "start, refused by the advocacy gate": (
        LEAD, _action("start", "Start work on this concern", TRIAGED, ADVOCATE_NEEDED, errors="Start work"),
    ),
    "MSP record": (LEAD, _action("msp", "Making Safeguarding Personal record", IN_PROGRESS, OUTCOMES_EXPRESSED)),
    "new desired outcome": (LEAD, _action("outcomes/new", "Add an outcome the adult wants", IN_PROGRESS, OUTCOMES_EXPRESSED)),
    "advocate": (LEAD, _action("advocate", "Record the independent advocate", TRIAGED, ADVOCATE_NEEDED)),
    "advocate with errors": (
        LEAD, _action("advocate", "Record the independent advocate", TRIAGED, ADVOCATE_NEEDED, errors="Record advocate"),
    ),
    "adult": (LEAD, _action("adult", "The adult's details", SHARED_ADULT)),
    "adult with errors": (LEAD, _adult_with_errors),
    "consent": (LEAD, _action("consent", "Consent to share", IN_PROGRESS)),
    "override": (
        LEAD,
        _action(
            "override", "Override the refusal of consent",
            Concern.consent == ConsentToShare.REFUSED, ~Concern.overrides.any(), Concern.status != ConcernStatus.CLOSED,
        ),
    ),
    "override with errors": (
        LEAD,
        _action(
            "override", "Override the refusal of consent",
            Concern.consent == ConsentToShare.REFUSED, ~Concern.overrides.any(), Concern.status != ConcernStatus.CLOSED,
            errors="Override the refusal",
        ),
    ),
    "close": (LEAD, _action("close", "Close this concern", IN_PROGRESS, OUTCOMES_EXPRESSED, Concern.desired_outcomes.any())),
    "close with errors": (
        LEAD,
        _action("close", "Close this concern", IN_PROGRESS, OUTCOMES_EXPRESSED, Concern.desired_outcomes.any(), errors="Close concern"),
    ),
    "reopen": (LEAD, _action("reopen", "Reopen this concern", CLOSED)),
    "reopen with errors": (LEAD, _action("reopen", "Reopen this concern", CLOSED, errors="Reopen concern")),
    "consent overrides": (LEAD, _overrides),
    "notifications": (LEAD, _notifications),
}


@pytest.mark.parametrize("who, go", SIGNED_IN_PAGES.values(), ids=SIGNED_IN_PAGES.keys())
def test_concerns_page_is_accessible(page_as, live_server, who, go):
    page = page_as(who)
    go(page, live_server)
    assert_accessible(page)


# The public form, for someone with no account -------------------------------------------------


@pytest.fixture
def public_form_quota():
    """Every browser here comes from 127.0.0.1, which the public form allows only a few reports an
    hour: start each test with a clean count (the limit itself is tested in tests/concerns)."""
    limiter.reset()


def _public_form(page, server):
    _open(page, server.url + "/report-a-concern")
    _heading(page, "Tell us you are worried about an adult")


def _public_form_with_errors(page, server):
    _public_form(page, server)
    _submit_with_errors(page, "Send report")


def _public_report_sent(page, server):
    _public_form(page, server)
    page.get_by_label("What are you worried about?").fill("The man at number 9 has not opened his curtains for a week.")
    _click(page, page.get_by_role("button", name="Send report", exact=True))
    expect(page.locator(".govuk-panel")).to_contain_text("Report sent")
    expect(page.locator(".govuk-panel")).to_contain_text(REFERENCE)


PUBLIC_PAGES = {
    "public form": _public_form,
    "public form with errors": _public_form_with_errors,
    "public form, report sent": _public_report_sent,
}


@pytest.mark.parametrize("go", PUBLIC_PAGES.values(), ids=PUBLIC_PAGES.keys())
def test_public_concern_page_is_accessible(page, live_server, public_form_quota, go):
    go(page, live_server)
    assert_accessible(page)
