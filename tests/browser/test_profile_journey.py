"""The provider profile in a real browser, on the Northshire demo data.

A commissioner goes from Providers to Meadowbank Care Group and its home, reads why the risk
signal is red (the converging sources and the items behind them) and filters the timeline; the
manager of Riverside House answers an improvement action from the ICB's visit, and the
commissioner sees the answer. Every page is checked with axe.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import COMMISSIONER, PROVIDER_MANAGER, assert_accessible, new_context, sign_in

pytestmark = pytest.mark.browser


def _click(page, locator):
    """Click something that loads a new page, and wait for that page."""
    with page.expect_navigation():
        locator.click()


def _signed_in(browser, live_server, email: str, role: str):
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, live_server, email)
    if page.url.startswith(live_server.url + "/choose-agency"):
        page.get_by_role("radio", name=role).check()
        _click(page, page.get_by_role("button", name="Continue"))
    return page


def _main(page) -> str:
    return page.inner_text("main")


def test_commissioner_follows_meadowbank_from_providers_to_the_reasons_and_filters_the_timeline(browser, live_server):
    page = _signed_in(browser, live_server, COMMISSIONER, "Commissioner or quality officer")
    try:
        _click(page, page.get_by_role("link", name="Providers", exact=True))
        expect(page.get_by_role("heading", level=1)).to_have_text("Providers")
        assert_accessible(page, "the list of providers")

        _click(page, page.get_by_role("link", name="Meadowbank Care Group", exact=True))
        expect(page.get_by_role("heading", level=1)).to_have_text("Meadowbank Care Group")
        assert page.locator("canvas[role=img]").count() >= 2
        assert_accessible(page, "Meadowbank Care Group's profile")

        _click(page, page.locator("#services").locator("..").get_by_role("link", name="Meadowbank", exact=True).first)
        expect(page.get_by_role("heading", level=1)).to_have_text("Meadowbank")
        main = _main(page)
        assert "Converging on Safe" in main and "Well-led" in main.split("Converging on", 1)[1].split("\n", 1)[0]
        reasons = page.locator("#reasons-table")
        expect(reasons).to_contain_text("Whistleblowing")
        expect(reasons).to_contain_text("Contract-monitoring visit")
        expect(page.locator("#ratings")).to_be_visible()
        assert "Down: was Good" in main

        page.get_by_text("Show the data as a table").first.click()
        expect(page.locator("table").filter(has_text="Published").first).to_be_visible()
        assert_accessible(page, "Meadowbank's service page")

        page.get_by_label("Source", exact=True).select_option(label="Whistleblowing")
        _click(page, page.get_by_role("button", name="Filter the timeline"))
        rows = page.locator("#timeline ~ .portal-table-scroll tbody tr")
        expect(rows.first).to_be_visible()
        sources = rows.locator("td:nth-child(2)").all_inner_texts()
        assert sources and set(sources) == {"Whistleblowing"}
        expect(page.get_by_role("link", name="Clear the filters")).to_be_visible()
        assert_accessible(page, "Meadowbank's timeline, filtered")

        _click(page, page.get_by_role("link", name="How the risk signal works").first)
        expect(page.get_by_role("heading", level=1)).to_have_text("How the risk signal works")
        assert_accessible(page, "the risk rules")
    finally:
        page.context.close()


def test_provider_manager_answers_an_improvement_action_and_never_sees_the_whistleblower(browser, live_server):
    page = _signed_in(browser, live_server, PROVIDER_MANAGER, "Provider manager")
    try:
        _click(page, page.get_by_role("link", name="Providers", exact=True))
        _click(page, page.get_by_role("link", name="Riverside Care Homes Ltd", exact=True))
        _click(page, page.get_by_role("link", name="Riverside House", exact=True).first)
        main = _main(page)
        assert "sleep on shift" not in main and "Whistleblowing" not in page.inner_text("#timeline ~ .portal-table-scroll")
        assert "Recorded by" not in main
        assert_accessible(page, "Riverside House for its manager")

        _click(page, page.locator("#visits ~ table").first.get_by_role("link").first)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Contract-monitoring visit of")
        assert_accessible(page, "the visit for the provider's manager")
        answer = page.get_by_role("link", name="Answer action 1")
        _click(page, answer)
        assert_accessible(page, "the answer form")
        _click(page, page.get_by_role("button", name="Send response"))
        expect(page.locator(".govuk-error-summary")).to_contain_text("Enter what has been done")
        assert_accessible(page, "the answer form with an error")
        page.get_by_label("What has been done?").fill("Weekly weights started for everyone; two referrals made to the dietitian.")
        _click(page, page.get_by_role("button", name="Send response"))
        expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your response has been sent")
        expect(page.locator("#improvement-plan ~ .govuk-summary-card").first).to_contain_text("Provider has responded")
        visit_url = page.url.split("#")[0]
    finally:
        page.context.close()

    commissioner = _signed_in(browser, live_server, COMMISSIONER, "Commissioner or quality officer")
    try:
        commissioner.goto(visit_url)
        expect(commissioner.locator("main")).to_contain_text("two referrals made to the dietitian")
        expect(commissioner.get_by_role("button", name="Complete action 1")).to_be_visible()
        assert_accessible(commissioner, "the visit for the commissioner")
    finally:
        commissioner.context.close()
