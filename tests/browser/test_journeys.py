"""Journeys people take through the portal, checked by what they would see on the screen."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.extensions import db
from portal.people.models import Invitation
from portal.people.operations import invitation_link
from tests.browser.conftest import ADMIN, COMMISSIONER, new_context, sign_in

pytestmark = pytest.mark.browser

REFUSAL = "Enter the email address and password for your account"


def _click(page, locator):
    """Click something that loads a new page, and wait for that page."""
    with page.expect_navigation():
        locator.click()


def _newest_invitation_link(live_server) -> str:
    """The link the invitation email would carry (no mail server is set: the app only logs it)."""
    with live_server.app.app_context():
        invitation = db.session.scalar(sa.select(Invitation).order_by(Invitation.id.desc()).limit(1))
        link = invitation_link(invitation)
        db.session.remove()
    parts = urlsplit(link)  # built on PUBLIC_URL: point it at the server under test
    return live_server.url + parts.path + (f"?{parts.query}" if parts.query else "")


def test_administrator_invites_a_person_who_sets_a_password_and_signs_in(page, browser, live_server):
    email = f"jo.rivers.{uuid.uuid4().hex[:6]}@oakfield.northshire.example"
    sign_in(page, live_server, ADMIN)
    _click(page, page.get_by_role("navigation", name="Main menu").get_by_role("link", name="People"))
    _click(page, page.get_by_role("button", name="Invite a person"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite a person")

    page.get_by_label("Full name").fill("Jo Rivers")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Job title (optional)").fill("Deputy manager")
    page.get_by_label("Agency").select_option(label="Oakfield Healthcare (Care provider)")
    page.get_by_label("Provider manager", exact=True).check()
    _click(page, page.get_by_role("button", name="Send invitation"))

    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text(f"Invitation sent to {email}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Jo Rivers")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Not yet: invited")
    expect(page.locator("main table")).to_contain_text("Oakfield Healthcare")
    expect(page.locator("main table")).to_contain_text("Provider manager")

    link = _newest_invitation_link(live_server)
    context = new_context(browser)  # the invited person's own browser
    try:
        invited = context.new_page()
        invited.goto(link)
        expect(invited.get_by_role("heading", level=1)).to_have_text("Set your password")
        expect(invited.locator("main")).to_contain_text(email)
        invited.get_by_label("Create a password").fill("copper kettle meadow lark")
        invited.get_by_label("Confirm your password").fill("copper kettle meadow lark")
        _click(invited, invited.get_by_role("button", name="Set password"))

        expect(invited.locator(".govuk-notification-banner--success")).to_contain_text("Your password is set")
        sign_in(invited, live_server, email, "copper kettle meadow lark")
        assert invited.url == live_server.url + "/home"
        expect(invited.locator("main")).to_contain_text("You are working as Provider manager for Oakfield Healthcare")
        expect(invited.locator(".portal-acting-as")).to_contain_text("Signed in as Jo Rivers")
    finally:
        context.close()

    page.reload()
    expect(page.locator(".govuk-summary-list")).to_contain_text("Yes")
    expect(page.locator(".govuk-summary-list")).not_to_contain_text("Not yet: invited")


def test_bad_input_is_explained_and_what_was_typed_is_kept(page_as, live_server):
    page = page_as(ADMIN)
    page.goto(live_server.url + "/admin/agencies")
    _click(page, page.get_by_role("link", name="Oakfield Healthcare"))
    _click(page, page.get_by_role("button", name="Add a service"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a service")

    page.get_by_label("Service name").fill("Oakfield Court")
    page.get_by_label("Regulator location ID").fill("12345")
    page.get_by_label("Service type").select_option(label="Care home service without nursing")
    page.get_by_label("Address").fill("4 Garden Row, Westmere")
    page.get_by_label("Postcode").fill("NS5 7H")
    page.get_by_label("Registered beds").fill("18")
    _click(page, page.get_by_role("button", name="Save service"))

    assert page.title().startswith("Error: ")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    links = summary.get_by_role("link")
    expect(links).to_have_count(2)
    expect(links.nth(0)).to_have_text(re.compile("Enter a location ID in the regulator's format"))
    expect(links.nth(0)).to_have_attribute("href", "#location_ref")
    expect(links.nth(1)).to_have_text("Enter a real UK postcode, like SW1A 1AA")
    expect(links.nth(1)).to_have_attribute("href", "#postcode")
    # Each message is repeated beside its field.
    expect(page.locator("#location_ref-error")).to_contain_text("Enter a location ID")
    expect(page.locator("#postcode-error")).to_contain_text("Enter a real UK postcode")

    # What was typed is still there, so only the mistakes need retyping.
    expect(page.get_by_label("Service name")).to_have_value("Oakfield Court")
    expect(page.get_by_label("Regulator location ID")).to_have_value("12345")
    expect(page.get_by_label("Postcode")).to_have_value("NS5 7H")
    expect(page.get_by_label("Address")).to_have_value("4 Garden Row, Westmere")
    expect(page.get_by_label("Registered beds")).to_have_value("18")
    expect(page.get_by_label("Service type")).to_have_value("CARE_HOME_RESIDENTIAL")

    links.nth(0).click()
    expect(page.locator("#location_ref")).to_be_focused()

    # Putting the mistakes right saves the service.
    page.get_by_label("Regulator location ID").fill(f"1-{uuid.uuid4().int % 10**9:09d}")
    page.get_by_label("Postcode").fill("ns5 7hq")
    _click(page, page.get_by_role("button", name="Save service"))
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Oakfield Court added.")
    expect(page.locator(".govuk-summary-list")).to_contain_text("4 Garden Row, Westmere, NS5 7HQ")


def test_wrong_password_is_refused_without_saying_whether_the_account_exists(browser, live_server):
    seen = {}
    for label, email in (("known", "inspector@regulator.northshire.example"), ("unknown", "nobody@regulator.northshire.example")):
        context = new_context(browser)
        try:
            page = context.new_page()
            sign_in(page, live_server, email, "definitely not the password")
            assert urlsplit(page.url).path == "/sign-in"
            assert page.title().startswith("Error: ")
            summary = page.locator(".govuk-error-summary")
            expect(summary).to_be_visible()
            expect(summary).to_contain_text("There is a problem")
            expect(summary).to_contain_text(REFUSAL)
            expect(page.locator("#password-error")).to_contain_text(REFUSAL)
            expect(page.get_by_label("Email address")).to_have_value(email)
            expect(page.get_by_label("Password", exact=True)).to_have_value("")
            assert page.locator(".portal-acting-as").count() == 0
            text = page.inner_text("main")
            for giveaway in ("not found", "no account", "does not exist", "not registered", "unknown"):
                assert giveaway not in text.lower(), f"the {label} account's refusal says {giveaway!r}"
            seen[label] = text.replace(email, "EMAIL")
        finally:
            context.close()
    assert seen["known"] == seen["unknown"], "the refusal differs between a known and an unknown email"


def test_commissioner_chooses_an_agency_then_switches_back(page, live_server):
    sign_in(page, live_server, COMMISSIONER)
    assert urlsplit(page.url).path == "/choose-agency"
    expect(page.get_by_role("heading", level=1)).to_have_text("Which agency are you working for now?")
    expect(page.get_by_role("radio")).to_have_count(2)

    page.get_by_label("Northshire Safeguarding Adults Board – Safeguarding Adults Board member").check()
    _click(page, page.get_by_role("button", name="Continue"))
    assert urlsplit(page.url).path == "/home"
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "You are now working for Northshire Safeguarding Adults Board."
    )
    expect(page.locator("main")).to_contain_text(
        "You are working as Safeguarding Adults Board member for Northshire Safeguarding Adults Board"
    )
    expect(page.locator(".portal-acting-as")).to_contain_text("Safeguarding Adults Board member, Northshire Safeguarding Adults Board")

    _click(page, page.get_by_role("link", name="Switch agency"))
    assert urlsplit(page.url).path == "/choose-agency"
    expect(page.get_by_label("Northshire Safeguarding Adults Board – Safeguarding Adults Board member")).to_be_checked()
    page.get_by_label("NHS Northshire Integrated Care Board – Commissioner or quality officer").check()
    _click(page, page.get_by_role("button", name="Continue"))
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "You are now working for NHS Northshire Integrated Care Board."
    )
    expect(page.locator("main")).to_contain_text(
        "You are working as Commissioner or quality officer for NHS Northshire Integrated Care Board"
    )
