"""The risk register in a real browser, on the demo data: Meadowbank is the pattern it exists to catch.

A commissioner opens the register and finds Meadowbank at the top, Red and converging, with its
reasons; filters to Red, sorts, downloads the spreadsheet and names the risk's owner and review
date. The Board's chair sees the register too, without confidential items. axe checks each page.
"""

from __future__ import annotations

import csv
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.core.workdays import london_today
from portal.demo.intelligence import MEADOWBANK
from tests.browser.conftest import COMMISSIONER, PROVIDER_MANAGER, assert_accessible, sign_in

pytestmark = pytest.mark.browser

CHAIR = "chair@sab.northshire.example"
COMMISSIONER_NAME = "Chris Patel"


def _click(page, locator):
    """Click something that loads a new page, and wait for that page."""
    with page.expect_navigation():
        locator.click()


def _apply(page):
    _click(page, page.get_by_role("button", name="Apply", exact=True))


def _rows(page):
    return page.locator("table.portal-register tbody tr")


def _service_names(page) -> list[str]:
    return [name.strip() for name in _rows(page).locator("th a").all_inner_texts()]


def _meadowbank(page):
    return _rows(page).filter(has=page.locator("th", has_text=MEADOWBANK)).first


def test_a_commissioner_finds_meadowbank_filters_sorts_exports_and_names_the_owner(page, live_server):
    sign_in(page, live_server, COMMISSIONER)
    # The ICB's commissioner also sits on the Board: they work as the ICB's commissioner here.
    page.get_by_label(re.compile(r"Integrated Care Board – Commissioner")).check()
    _click(page, page.get_by_role("button", name="Continue"))
    _click(page, page.get_by_role("link", name="Risk register", exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text("Risk register")
    # Other journeys on the same demo server raise concerns elsewhere, so Meadowbank is found by
    # name rather than expected first.
    top = _meadowbank(page)
    expect(top.locator("th")).to_contain_text(MEADOWBANK)
    expect(top.locator(".govuk-tag--red")).to_have_text("Red")
    expect(top.locator(".govuk-tag--purple")).to_have_text("Converging")
    expect(top).to_contain_text("Safe")
    expect(top).to_contain_text("Well-led")
    expect(top).to_contain_text("Inadequate")
    expect(top.locator("li")).to_have_count(3)
    expect(top.get_by_role("link", name=re.compile(r"and \d+ more"))).to_be_visible()
    assert_accessible(page, "the risk register")

    page.get_by_role("group", name="RAG band").get_by_label("Red", exact=True).check()
    _apply(page)
    assert "band=RED" in page.url
    bands = _rows(page).locator(".govuk-tag--red, .govuk-tag--yellow, .govuk-tag--green").all_inner_texts()
    assert bands and set(bands) == {"Red"}
    expect(_meadowbank(page).locator("th")).to_contain_text(MEADOWBANK)

    page.get_by_label("Sort by").select_option("NAME")
    _apply(page)
    names = _service_names(page)
    assert MEADOWBANK in names and names == sorted(names, key=str.casefold)
    expect(page.get_by_role("group", name="RAG band").get_by_label("Red", exact=True)).to_be_checked()
    assert_accessible(page, "the register filtered to Red, by name")

    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("as a spreadsheet")).click()
    assert download.value.suggested_filename.startswith("risk-register-")
    with open(download.value.path(), encoding="utf-8-sig", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert [row["Service"] for row in exported] == names
    assert {row["RAG band"] for row in exported} == {"Red"}
    meadowbank = next(row for row in exported if row["Service"] == MEADOWBANK)
    assert "Safe" in meadowbank["Converging on"] and "Well-led" in meadowbank["Converging on"]
    assert meadowbank["Last inspection rating"] == "Inadequate"
    assert meadowbank["Contributing items (largest first)"].count(" | ") >= 2

    _click(page, page.get_by_role("link", name=f"Change the owner and review date of {MEADOWBANK}"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Owner and review date")
    assert_accessible(page, "a register entry")
    review = london_today() + timedelta(days=21)
    page.get_by_label("Risk owner").select_option(label=COMMISSIONER_NAME)
    page.get_by_label("Day").fill(str(review.day))
    page.get_by_label("Month").fill(str(review.month))
    page.get_by_label("Year").fill(str(review.year))
    _click(page, page.get_by_role("button", name="Save register entry"))
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(MEADOWBANK)
    row = _rows(page).filter(has=page.locator("th", has_text=MEADOWBANK)).first
    expect(row).to_contain_text(COMMISSIONER_NAME)
    expect(row).to_contain_text(f"Review by {review.day} {review:%B %Y}")


def test_the_boards_chair_sees_the_register_without_confidential_items(page_as, live_server):
    page = page_as(CHAIR)
    page.goto(f"{live_server.url}/register")
    expect(page.get_by_role("heading", level=1)).to_have_text("Risk register")
    expect(page.locator(".govuk-inset-text")).to_contain_text("Confidential items, such as whistleblowing, are not shown")
    expect(_meadowbank(page).locator(".govuk-tag--red")).to_have_text("Red")
    expect(page.get_by_role("link", name=re.compile("^Change the owner"))).to_have_count(0)
    assert "Whistleblowing" not in page.locator("table.portal-register").inner_text()
    assert_accessible(page, "the chair's risk register")


def test_a_provider_manager_sees_only_their_own_services(page_as, live_server):
    page = page_as(PROVIDER_MANAGER)
    page.goto(f"{live_server.url}/register")
    expect(page.get_by_role("heading", level=1)).to_have_text("Risk register")
    assert MEADOWBANK not in _service_names(page)
    assert _service_names(page), "the manager's own services are on the register"
