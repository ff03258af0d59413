"""axe-core finds no WCAG 2.2 A or AA problems on the portal's pages, with and without errors shown.

Each page is reached the way a person would reach it (links clicked, forms submitted with the
browser), so the check sees what they see: the portal's own CSS, GOV.UK Frontend's JavaScript,
error summaries and success banners.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.agencies.models import Agency, Service
from portal.extensions import db
from tests.browser.conftest import (
    ADMIN,
    COMMISSIONER,
    DEMO_EMAILS,
    PROVIDER_MANAGER,
    assert_accessible,
    sign_in,
)

pytestmark = pytest.mark.browser

LEAD = "lead@council.northshire.example"


def _open(page, url: str, status: int = 200):
    response = page.goto(url)
    assert response is not None and response.status == status, f"{url} answered {response and response.status}, not {status}"
    return response


def _click_and_wait(page, locator):
    with page.expect_navigation():
        locator.click()


def _submit(page, button: str):
    _click_and_wait(page, page.get_by_role("button", name=button, exact=True))
    assert page.locator(".govuk-error-summary").is_visible(), f"no error summary after submitting {page.url} empty"


def test_the_check_reports_what_axe_finds(page):
    """The harness itself: a page with known problems fails, and the message names them."""
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Broken</title></head><body><main><h1>Broken</h1>'
        '<p style="color:#bbb;background:#fff">Pale grey text</p><img src="data:,"></main></body></html>'
    )
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page, "a broken page")
    message = str(failure.value)
    assert "accessibility violation(s) on a broken page" in message
    assert "- color-contrast (serious): Elements must meet minimum color contrast ratio thresholds" in message
    assert "- image-alt (critical)" in message
    assert "at img" in message


# Pages anyone can see -------------------------------------------------------------------------

PUBLIC_PAGES = {
    "start": "/",
    "sign-in": "/sign-in",
    "glossary": "/glossary",
    "glossary search": "/glossary?q=advocate",
    "accessibility statement": "/accessibility",
    "privacy notice": "/privacy",
}


@pytest.mark.parametrize("path", PUBLIC_PAGES.values(), ids=PUBLIC_PAGES.keys())
def test_public_page_is_accessible(page, live_server, path):
    _open(page, live_server.url + path)
    assert_accessible(page)


def test_not_found_page_is_accessible(page, live_server):
    _open(page, live_server.url + "/no-such-page", status=404)
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    assert_accessible(page)


def test_sign_in_page_with_an_error_is_accessible(page, live_server):
    sign_in(page, live_server, "staff@riverside.northshire.example", "not the right password")
    assert page.locator(".govuk-error-summary").is_visible()
    assert_accessible(page)


# Signed in ------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", DEMO_EMAILS, ids=[email.split("@")[0] for email in DEMO_EMAILS])
def test_home_page_is_accessible_for_every_role(page_as, live_server, email):
    page = page_as(email)
    _open(page, live_server.url + "/home")
    if page.url.startswith(live_server.url + "/choose-agency"):
        page.get_by_role("radio").first.check()
        _click_and_wait(page, page.get_by_role("button", name="Continue"))
    assert page.url == live_server.url + "/home"
    assert "You are working as" in page.inner_text("main")
    assert_accessible(page)


def _admin_page(path):
    def go(page, base):
        _open(page, base + path)

    return go


def _agency_page(page, base):
    _open(page, base + "/admin/agencies")
    _click_and_wait(page, page.locator("main table a").first)
    assert "/admin/agencies/" in page.url


def _new_agency_with_errors(page, base):
    _open(page, base + "/admin/agencies/new")
    _submit(page, "Save agency")


def _service_page(page, base):
    _open(page, base + "/admin/agencies")
    _click_and_wait(page, page.get_by_role("link", name="Riverside Care Homes Ltd"))
    _click_and_wait(page, page.get_by_role("link", name="Riverside House", exact=True))
    assert "/admin/services/" in page.url


def _service_edit_page(page, base):
    _service_page(page, base)
    _click_and_wait(page, page.get_by_role("button", name="Change service details"))
    assert page.url.endswith("/edit")


def _invite_with_errors(page, base):
    _open(page, base + "/admin/people/invite")
    _submit(page, "Send invitation")


def _person_page(page, base):
    _open(page, base + "/admin/people")
    _click_and_wait(page, page.locator("main table a").first)
    assert "/admin/people/" in page.url


def _agreement_page(page, base):
    _open(page, base + "/agreements")
    _click_and_wait(page, page.locator("main table a").first)
    assert "/agreements/" in page.url


def _new_agreement_with_errors(page, base):
    _open(page, base + "/admin/agreements/new")
    _submit(page, "Save agreement")


ADMIN_PAGES = {
    "agencies": _admin_page("/admin/agencies"),
    "agency": _agency_page,
    "new agency": _admin_page("/admin/agencies/new"),
    "new agency with errors": _new_agency_with_errors,
    "service": _service_page,
    "service edit": _service_edit_page,
    "people": _admin_page("/admin/people"),
    "invite": _admin_page("/admin/people/invite"),
    "invite with errors": _invite_with_errors,
    "person": _person_page,
    "agreements": _admin_page("/agreements"),
    "agreement": _agreement_page,
    "new agreement": _admin_page("/admin/agreements/new"),
    "new agreement with errors": _new_agreement_with_errors,
    "audit trail": _admin_page("/admin/audit"),
    "email deliveries": _admin_page("/admin/notifications"),
    "email deliveries, one state": _admin_page("/admin/notifications?state=SENT"),
}


@pytest.mark.parametrize("go", ADMIN_PAGES.values(), ids=ADMIN_PAGES.keys())
def test_administrator_page_is_accessible(page_as, live_server, go):
    page = page_as(ADMIN)
    go(page, live_server.url)
    assert_accessible(page)


ACCOUNT_PAGES = {
    "account": "/account",
    "two-factor set-up": "/account/two-factor",
    "change password": "/account/password",
    "notification settings": "/notifications/preferences",
}


@pytest.mark.parametrize("path", ACCOUNT_PAGES.values(), ids=ACCOUNT_PAGES.keys())
def test_account_page_is_accessible(page_as, live_server, path):
    page = page_as(LEAD)
    _open(page, live_server.url + path)
    assert_accessible(page)


def test_notification_settings_saved_are_accessible(page_as, live_server):
    """Saving the choices as they are changes nothing, and shows the success banner."""
    page = page_as(LEAD)
    _open(page, live_server.url + "/notifications/preferences")
    _click_and_wait(page, page.get_by_role("button", name="Save choices"))
    assert page.locator(".govuk-notification-banner--success").is_visible()
    assert_accessible(page)


# Error summaries ------------------------------------------------------------------------------

FORMS_WITH_ERRORS = [
    pytest.param("/admin/agencies/new", "Save agency", id="new agency"),
    pytest.param("/admin/people/invite", "Send invitation", id="invite"),
    pytest.param("/admin/agencies/{oakfield}/services/new", "Save service", id="new service"),
    pytest.param("/admin/services/{riverside_house}/commissioners/new", "Add commissioner", id="new commissioner"),
    pytest.param("/admin/agreements/new", "Save agreement", id="new agreement"),
    pytest.param("/account/password", "Change password", id="change password"),
]


def _ids(live_server) -> dict:
    with live_server.app.app_context():
        ids = {
            "oakfield": db.session.scalar(sa.select(Agency.id).where(Agency.name == "Oakfield Healthcare")),
            "riverside_house": db.session.scalar(sa.select(Service.id).where(Service.name == "Riverside House")),
        }
        db.session.remove()
    return ids


@pytest.mark.parametrize("path, button", FORMS_WITH_ERRORS)
def test_error_summary_links_each_error_to_its_field_in_page_order(page_as, live_server, path, button):
    """GOV.UK's error summary: every error, in the order of the page, each a link to its field."""
    page = page_as(ADMIN)
    _open(page, live_server.url + path.format(**_ids(live_server)))
    _submit(page, button)
    assert page.title().startswith("Error: ")
    links = page.locator(".govuk-error-summary__list a")
    summary = [(links.nth(i).inner_text().strip(), links.nth(i).get_attribute("href")) for i in range(links.count())]
    for text, href in summary:
        assert href.startswith("#") and page.locator(href).count() == 1, f"{text!r} links to {href}, which is not on the page"
    beside_fields = [m.removeprefix("Error:").strip() for m in page.locator(".govuk-error-message").all_inner_texts()]
    assert [text for text, _ in summary] == beside_fields


def test_choose_agency_page_is_accessible(page_as, live_server):
    page = page_as(COMMISSIONER)
    _open(page, live_server.url + "/choose-agency")
    assert page.get_by_role("radio").count() == 2
    assert_accessible(page)


def test_own_agency_page_is_accessible(page_as, live_server):
    page = page_as(PROVIDER_MANAGER)
    _open(page, live_server.url + "/agency")
    assert "Riverside Care Homes Ltd" in page.inner_text("h1")
    assert_accessible(page)
