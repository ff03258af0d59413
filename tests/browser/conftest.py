"""Browser tests: the real portal served over HTTP, driven by Debian's Chromium through Playwright.

The portal under test runs in a thread of this process with a database of its own (a PostgreSQL
database when ``DATABASE_URL`` points at a PostgreSQL server, otherwise a SQLite file): a copy of
the run's database loaded once with the Northshire demo data (``seeded_demo_database``). CSRF
protection is on, as in production, so every form is submitted the way a person's browser would
submit it.

Helpers for the test modules (import them with ``from tests.browser.conftest import ...``):

- :func:`sign_in` signs a demo account in through the sign-in page;
- :func:`assert_accessible` runs axe-core (WCAG 2.2 A and AA rules) on the page.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from portal import create_app
from portal.demo.seed import ACCOUNTS, DEMO_PASSWORD
from portal.extensions import db
from tests.conftest import copy_of_database, make_test_config

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() == "true"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CSS = PROJECT_ROOT / "portal" / "static" / "build" / "portal.css"

#: WCAG 2.0, 2.1 and 2.2 at levels A and AA: what public sector bodies must meet.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}
#: Playwright waits this long (ms) for an element or a navigation before failing a test.
TIMEOUT_MS = 10_000

ADMIN = "admin@council.northshire.example"
COMMISSIONER = "commissioner@icb.northshire.example"
PROVIDER_MANAGER = "manager@riverside.northshire.example"
DEMO_EMAILS = [account.email for account in ACCOUNTS]


# The portal, served -----------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture(scope="session")
def live_database_url(tmp_path_factory, seeded_demo_database):
    """A database for the served portal alone, with the demo loaded: a copy of the run's seeded demo
    (tests/conftest.py), never the transaction the other tests use."""
    with copy_of_database(seeded_demo_database.url, tmp_path_factory, "browser") as url:
        yield url


@pytest.fixture(scope="session")
def live_server(live_database_url):
    """The portal with the demo data, served on a free port of 127.0.0.1 in a daemon thread."""
    if not CSS.exists():
        message = f"{CSS.relative_to(PROJECT_ROOT)} is missing: run `make assets` (the colour-contrast checks need the CSS)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    app = create_app(make_test_config(live_database_url, WTF_CSRF_ENABLED=True))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="portal-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


# The browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = (
            f"{CHROMIUM} is not installed, so the browser tests cannot run. "
            "`make test` installs it (apt-get install chromium); never `playwright install`."
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip("!" * 20 + " BROWSER TESTS SKIPPED: " + message + " " + "!" * 20)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


def new_context(browser, **options):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def page(browser, live_server):
    """A fresh browser (no cookies) and one tab, for one test."""
    context = new_context(browser)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def _signed_in_tabs(browser, live_server):
    """One browser tab per demo account, signed in through the form the first time it is asked for."""
    tabs = {}

    def tab_for(email: str):
        tab = tabs.get(email)
        if tab is None or tab.is_closed():
            context = new_context(browser)
            tab = context.new_page()
            sign_in(tab, live_server, email)
            assert tab.locator(".portal-acting-as").count() == 1, f"{email} could not sign in: {tab.url}"
            tabs[email] = tab
        return tab

    try:
        yield tab_for
    finally:
        for tab in tabs.values():
            tab.context.close()


@pytest.fixture
def page_as(_signed_in_tabs):
    """``page_as(email)``: the tab of a demo account, signed in once and shared between tests.

    Starting a browser context and a tab for each test would cost about as much as the checks
    themselves, so tests that only look at pages share a tab per account: each test goes to its
    own address first and changes nothing that another test relies on. A person with several roles
    may or may not have chosen an agency already in that tab. Journeys that need a clean session
    use the ``page`` fixture and sign in themselves.
    """
    return _signed_in_tabs


# Helpers ----------------------------------------------------------------------------------------


def sign_in(page, live_server, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the sign-in page, as a person would: the email first, then the password."""
    page.goto(f"{live_server.url}/sign-in")
    page.fill("#email", email)
    with page.expect_navigation():
        page.get_by_role("button", name="Continue", exact=True).click()
    page.fill("#password", password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()


def assert_accessible(page, what: str | None = None) -> None:
    """Fail, listing each problem, if axe-core finds WCAG 2.2 A or AA violations on the page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS)
    if results.violations_count == 0:
        return
    lines = [f"{results.violations_count} accessibility violation(s) on {what or page.url}:"]
    for violation in results.response["violations"]:
        nodes = violation["nodes"]
        targets = ", ".join(" ".join(map(str, node["target"])) for node in nodes[:3])
        more = f" and {len(nodes) - 3} more" if len(nodes) > 3 else ""
        lines.append(
            f"- {violation['id']} ({violation.get('impact') or 'unknown impact'}): {violation['help']}\n"
            f"    at {targets}{more}\n    {violation.get('helpUrl', '')}"
        )
    raise AssertionError("\n".join(lines))


# Helpers the journeys share -------------------------------------------------------------------


def click(page, locator):
    """Click something that loads a new page, and wait for that page."""
    with page.expect_navigation():
        locator.click()


def signed_in(browser, live_server, email: str, role: str | None = None):
    """A fresh browser signed in as the account, in ``role`` when it has more than one."""
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, live_server, email)
    if page.url.startswith(live_server.url + "/choose-agency"):
        page.get_by_role("radio", name=role).check()
        click(page, page.get_by_role("button", name="Continue"))
    assert page.locator(".portal-acting-as").count() == 1, f"{email} could not sign in: {page.url}"
    return page


def heading(page):
    return page.get_by_role("heading", level=1)


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def link(page, name: str):
    return page.get_by_role("link", name=name, exact=True)
