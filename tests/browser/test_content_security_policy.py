"""The strict Content-Security-Policy breaks nothing: Chromium reports no violation on the portal's
pages, GOV.UK Frontend's inline line runs (allowed by its hash) and its JavaScript starts from the
file, and the charts draw from their JSON blocks."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.agencies.models import Agency
from portal.concerns.models import Concern
from portal.extensions import db
from tests.browser.conftest import COMMISSIONER, signed_in

pytestmark = pytest.mark.browser

LEAD = "lead@council.northshire.example"
CHAIR = "chair@sab.northshire.example"

#: Collects the page's policy violations before any of its own scripts run.
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`);
});
"""


def _ids(live_server) -> dict:
    with live_server.app.app_context():
        ids = {
            "concern": db.session.scalar(sa.select(Concern.id).order_by(Concern.id).limit(1)),
            "riverside": db.session.scalar(sa.select(Agency.id).where(Agency.name == "Riverside Care Homes Ltd")),
        }
        db.session.remove()
    return ids


def _listening(page):
    page.context.add_init_script(LISTEN)
    messages = []
    page.on("console", lambda message: messages.append(message.text) if "Content Security Policy" in message.text else None)
    return messages


def _assert_policy_kept(page, url: str, console: list[str]):
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url} answered {response and response.status}"
    page.wait_for_load_state("load")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    violations = page.evaluate("window.__violations")
    assert not violations and not console, f"{url}: {violations} {console}"
    body_classes = page.evaluate("document.body.className")
    assert "govuk-frontend-supported" in body_classes, f"{url}: GOV.UK Frontend's inline line did not run"
    started = page.evaluate(
        "Array.from(document.querySelectorAll('[data-module]')).filter("
        "el => Array.from(el.attributes).some(a => a.name.endsWith('-init'))).length"
    )
    assert started > 0, f"{url}: GOV.UK Frontend's JavaScript (static/js/init.js) did not start its components"


def test_the_sign_in_page_keeps_the_policy(page, live_server):
    console = _listening(page)
    _assert_policy_kept(page, live_server.url + "/sign-in", console)


@pytest.mark.parametrize("email, role, paths", [
    pytest.param(LEAD, None, ["/home", "/concerns/{concern}", "/meetings"], id="lead: home, a concern, meetings"),
    pytest.param(COMMISSIONER, "Commissioner", ["/providers/{riverside}"], id="commissioner: a provider profile with charts"),
    pytest.param(CHAIR, None, ["/escalations/oversight"], id="the Board's chair: oversight with charts"),
])
def test_signed_in_pages_keep_the_policy(browser, live_server, email, role, paths):
    page = signed_in(browser, live_server, email, role)
    try:
        console = _listening(page)
        ids = _ids(live_server)
        for path in paths:
            _assert_policy_kept(page, live_server.url + path.format(**ids), console)
            if "charts" in path or path.startswith(("/providers", "/escalations/oversight")):
                assert page.locator("canvas").count() > 0, f"{path}: no chart was drawn"
        if "/meetings" in paths:
            with page.expect_navigation():
                page.locator("main table a").first.click()
            assert "/meetings/" in page.url
            _assert_policy_kept(page, page.url, console)
    finally:
        page.context.close()
