"""Sign-on through an agency's own identity provider, in a real browser, under the portal's real
Content-Security-Policy.

The HTTP tests (tests/auth/oidc) prove the protocol; only a browser proves that people can use
it: Chromium applies ``form-action`` to the redirect that follows a form post, so the email step
(a post to /sign-in answered by a redirect to the provider) and sign-out (a post answered by a
redirect to the provider's end-session page) fail for every real person if the policy leaves the
provider out, while every HTTP test passes.

The agency is the demo's NHS trust, whose people no other browser test signs in as; its one
person is invited by the module's fixture. The provider is npm's ``oidc-provider``
(tests/oidc/provider.mjs), started for this module with a client that returns to the served
portal; under ``CI=true`` the tests fail, not skip, when Node or the package is missing.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from portal.agencies.models import Agency
from portal.auth import oidc, oidc_operations
from portal.core.codes import Role
from portal.demo.seed import TRUST
from portal.extensions import db
from portal.people.models import User
from portal.people.operations import invite_person
from tests.auth.oidc.provider import CLIENT_ID, CLIENT_SECRET, start_provider, stop_provider
from tests.browser.conftest import ADMIN, assert_accessible, button, click, heading, new_context, sign_in

pytestmark = pytest.mark.browser

DOMAIN = "trust.northshire.example"
NURSE = f"nurse.lead@{DOMAIN}"
NURSE_NAME = "Nadia Lewis"
STRANGER = f"stranger@{DOMAIN}"
#: The provider's accounts: the login typed on its page → the claims it vouches for.
ACCOUNTS = {
    "nadia": {"email": NURSE, "email_verified": True, "name": NURSE_NAME},
    "stranger": {"email": STRANGER, "email_verified": True, "name": "Stan Ranger"},
}

#: Reports each policy violation to the test at once, so that one on a page the browser is
#: leaving (a blocked form redirect) is not lost with the page.
LISTEN = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def provider(live_server):
    running = start_provider([live_server.url], accounts=ACCOUNTS)
    yield running
    stop_provider(running)


@pytest.fixture(scope="module")
def trust(live_server):
    """The trust's id, with its designated safeguarding lead invited (an account with a role there).
    Its sign-on is turned off again afterwards: the provider stops with this module."""
    with live_server.app.app_context():
        agency = db.session.scalar(sa.select(Agency).where(Agency.name == TRUST))
        if db.session.scalar(sa.select(User.id).where(User.email == NURSE)) is None:
            invite_person(email=NURSE, name=NURSE_NAME, job_title="Named nurse for safeguarding adults", agency=agency,
                          role=Role.SAFEGUARDING_LEAD, invited_by=None)
            db.session.commit()
        agency_id = agency.id
        db.session.remove()
    yield agency_id
    with live_server.app.app_context():
        agency = db.session.get(Agency, agency_id)
        found = oidc_operations.provider_of(agency)
        if found is not None and found.enabled:
            settings = {name: getattr(found, name) for name in oidc_operations.ProviderSettings.__dataclass_fields__}
            oidc_operations.configure_provider(
                agency, oidc_operations.ProviderSettings(**settings | {"client_secret": None, "enabled": False}), by=None
            )
            db.session.commit()
        db.session.remove()


class Watch:
    """Policy violations, console errors and script errors on the portal's pages of a browser."""

    def __init__(self, context, portal: str):
        self.portal = portal
        self.problems: list[str] = []
        context.expose_binding("__reportViolation", lambda source, text: self._note(source["frame"].url, text))
        context.add_init_script(LISTEN)

    def page(self, page):
        def console(message):
            # A refusal page answers 403, and Chromium logs its own page's status: the test checks that itself.
            own_status = message.text.startswith("Failed to load resource") and message.location.get("url") == page.url
            if message.type == "error" and not own_status:
                self._note(page.url, f"console: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda error: self._note(page.url, f"script error: {error}"))
        return page

    def _note(self, url: str, text: str) -> None:
        if url.startswith(self.portal + "/"):
            self.problems.append(f"{url}: {text}")

    def assert_none(self) -> None:
        assert not self.problems, "\n".join(self.problems)


def _fresh_browser(browser, live_server):
    context = new_context(browser)
    # The provider's pages import a web font from Google: no network here, so fail it at once.
    context.route(re.compile(r"^https?://fonts\.(googleapis|gstatic)\.com/"), lambda route: route.abort())
    watch = Watch(context, live_server.url)
    return watch.page(context.new_page()), watch


def _redirected_to_the_provider(page, watch: Watch, name: str) -> None:
    """Press a portal button whose form the portal answers with a redirect to the provider."""
    try:
        click(page, button(page, name))
    except PlaywrightError as error:
        # Chromium stops a form's redirect that the page's form-action does not allow.
        pytest.fail(f"{name!r} on {page.url} did not lead anywhere ({error.message.splitlines()[0]}):\n" + "\n".join(watch.problems))


def _sign_in_at_the_provider(page, watch: Watch, provider, email: str, login: str) -> None:
    """The portal's sign-in page, then the provider's login (any password) and consent pages."""
    page.fill("#email", email)
    _redirected_to_the_provider(page, watch, "Continue")
    assert page.url.startswith(provider.issuer + "/interaction/"), (
        f"the browser did not reach the provider's login page (a blocked form redirect stays on the portal): {page.url}"
    )
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password will do")
    click(page, button(page, "Sign-in"))
    if page.url.startswith(provider.issuer + "/interaction/"):
        click(page, button(page, "Continue"))  # consent, on the first sign-in of an account


def _enabled_provider(live_server, agency_id: int):
    with live_server.app.app_context():
        found = oidc_operations.provider_of(db.session.get(Agency, agency_id))
        enabled = found is not None and found.enabled
        db.session.remove()
    return enabled


def test_administrator_connects_the_trust_to_its_provider_and_its_lead_signs_in_and_out_there(browser, live_server, provider, trust):
    admin, admin_watch = _fresh_browser(browser, live_server)
    try:
        sign_in(admin, live_server, ADMIN)
        admin.goto(f"{live_server.url}/admin/agencies/{trust}")
        click(admin, admin.get_by_role("link", name="Sign-on through the agency's identity provider"))
        expect(heading(admin)).to_have_text("Sign-on through the agency's identity provider")
        registration = admin.locator("main .govuk-summary-list").last
        expect(registration).to_contain_text(f"{live_server.url}/sign-in/callback")
        expect(registration).to_contain_text(f"{live_server.url}/signed-out")

        admin.get_by_label("Discovery URL").fill(provider.discovery_url)
        admin.get_by_label("Client ID").fill(CLIENT_ID)
        admin.get_by_label("Client secret").fill(CLIENT_SECRET)
        admin.get_by_label("Email domains").fill(DOMAIN)
        admin.get_by_label("People at this agency may still sign in with a portal password").uncheck()
        click(admin, button(admin, "Save sign-on settings"))
        expect(admin.locator(".govuk-notification-banner--success")).to_contain_text("Sign-on settings saved")

        click(admin, button(admin, "Test connection"))
        expect(admin.locator(".govuk-notification-banner--success")).to_contain_text(
            "The connection works. The provider answered and accepted the client id and secret"
        )
        status = admin.locator("main .govuk-summary-list").first
        expect(status).to_contain_text(f"Issuer {provider.issuer}")
        expect(status).to_contain_text("Passed:")
        assert_accessible(admin, "the sign-on settings with a passed test")

        admin.get_by_label("Sign-on through this provider is on").check()
        click(admin, button(admin, "Save sign-on settings"))
        expect(admin.locator(".govuk-notification-banner--success")).to_contain_text("Sign-on settings saved")
        expect(status).to_contain_text("Status On")
        admin_watch.assert_none()
    finally:
        admin.context.close()

    page, watch = _fresh_browser(browser, live_server)
    try:
        page.goto(f"{live_server.url}/sign-in")
        _sign_in_at_the_provider(page, watch, provider, NURSE.upper(), "nadia")
        assert page.url == f"{live_server.url}/home", page.url
        expect(page.locator(".portal-acting-as")).to_contain_text(f"Signed in as {NURSE_NAME}")
        expect(page.locator(".portal-acting-as")).to_contain_text(f"Safeguarding lead, {TRUST}")
        assert_accessible(page, "home, signed in through the provider")

        visited: list[str] = []
        page.on("framenavigated", lambda frame: frame == page.main_frame and visited.append(frame.url))
        _redirected_to_the_provider(page, watch, "Sign out")
        if page.url.startswith(provider.issuer + "/"):
            click(page, button(page, "Yes, sign me out"))  # the provider's end-session page asks first
        end_session = provider.metadata()["end_session_endpoint"]
        assert any(url.startswith(end_session) for url in visited), f"sign-out never reached {end_session}: {visited}"
        assert page.url == f"{live_server.url}/signed-out", f"the provider did not send the person back: {page.url}"
        expect(heading(page)).to_have_text("You have signed out")
        expect(page.locator(".portal-acting-as")).to_have_count(0)
        assert_accessible(page, "the signed-out page")

        page.goto(f"{live_server.url}/home")
        assert page.url.startswith(f"{live_server.url}/sign-in"), f"still signed in after sign-out: {page.url}"
        watch.assert_none()
    finally:
        page.context.close()


def test_a_person_without_a_role_at_the_trust_is_refused_after_the_provider_and_nobody_is_signed_in(browser, live_server, provider, trust):
    if not _enabled_provider(live_server, trust):
        # Run on its own: connect the trust as the administrator's journey above would.
        _connect(live_server, trust, provider)
    page, watch = _fresh_browser(browser, live_server)
    try:
        page.goto(f"{live_server.url}/sign-in")
        _sign_in_at_the_provider(page, watch, provider, STRANGER, "stranger")
        assert page.url.startswith(f"{live_server.url}/sign-in/callback"), page.url
        expect(heading(page)).to_have_text("You could not be signed in")
        expect(page.locator("main")).to_contain_text(
            f"There is no account for this email address at {TRUST}. Ask your partnership administrator to invite you"
        )
        expect(page.locator(".portal-acting-as")).to_have_count(0)
        assert_accessible(page, "the sign-on refusal page")

        click(page, page.get_by_role("link", name="Go to the sign-in page"))
        expect(heading(page)).to_have_text("Sign in")
        page.goto(f"{live_server.url}/home")
        assert page.url.startswith(f"{live_server.url}/sign-in"), f"someone is signed in after a refusal: {page.url}"
        watch.assert_none()
    finally:
        page.context.close()


def _connect(live_server, agency_id: int, provider) -> None:
    with live_server.app.app_context(), live_server.app.test_request_context(base_url=live_server.url):
        agency = db.session.get(Agency, agency_id)
        settings = oidc_operations.ProviderSettings(
            discovery_url=provider.discovery_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            scopes="openid email profile", email_claim="email", allowed_domains=[DOMAIN], local_passwords_allowed=False,
            jit_enabled=False, jit_role=None, enabled=True,
        )
        test = oidc.test_connection(oidc.ConnectionSettings(provider.discovery_url, CLIENT_ID, CLIENT_SECRET))
        assert test.ok, test.message
        oidc_operations.configure_provider(agency, settings, by=None, test=test)
        db.session.commit()
        db.session.remove()
