"""Journeys through concerns, checked by what each person sees on the screen.

A care provider's member of staff raises a concern; a member of the public reports one with no
account; and Jo's story from the Making Safeguarding Personal guide is carried through the portal
from the neighbour's public report to closure with her outcomes "partially achieved", as the
issue's "Done when" asks. Last, a closed concern is reopened.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.concerns.models import Adult, Concern
from portal.core.codes import ConcernStatus, ConsentToShare
from portal.demo.concerns import JO_NAME
from portal.extensions import db, limiter
from tests.browser.conftest import new_context, sign_in

pytestmark = pytest.mark.browser

LEAD = "lead@council.northshire.example"
LEAD_NAME = "Sam Okafor"
STAFF = "staff@riverside.northshire.example"

REFERENCE = re.compile(r"C-\d{4}-\d{6}")


# Helpers --------------------------------------------------------------------------------------


def _click(page, locator):
    """Click something that loads a new page, and wait for that page."""
    with page.expect_navigation():
        locator.click()


def _button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def _heading(page):
    return page.get_by_role("heading", level=1)


def _success(page):
    return page.locator(".govuk-notification-banner--success")


def _no_errors(page):
    assert page.locator(".govuk-error-summary").count() == 0, page.locator(".govuk-error-summary").inner_text()


def _group(page, legend: str):
    """The radios or checkboxes under one question, found by the question a person reads."""
    return page.get_by_role("group", name=legend, exact=True)


def _choose(page, legend: str, answer: str):
    _group(page, legend).get_by_label(answer, exact=True).check()


def _summary_value(page, key: str):
    """The value beside a key in one of the concern page's summary lists."""
    exactly = re.compile(rf"^\s*{re.escape(key)}\s*$")
    row = page.locator(".govuk-summary-list__row").filter(has=page.locator(".govuk-summary-list__key", has_text=exactly))
    expect(row).to_have_count(1)
    return row.locator(".govuk-summary-list__value")


def _status(page):
    return _heading(page).locator(".govuk-tag")


def _timeline(page) -> list[str]:
    """The timeline's entries, oldest first (the page lists them newest first)."""
    return list(reversed(page.locator(".portal-timeline li").all_inner_texts()))


def _in_order(entries: list[str], expected: list[str]) -> None:
    """Each expected text appears in an entry after the entry where the one before it appeared."""
    position = -1
    for text in expected:
        later = [i for i, entry in enumerate(entries) if i > position and text in entry]
        assert later, f"{text!r} is not on the timeline after entry {position}: {entries}"
        position = later[0]


@pytest.fixture
def public_form_quota():
    """Every browser here comes from 127.0.0.1, which the public form allows only a few reports an
    hour: start each test with a clean count (the limit itself is tested in tests/concerns)."""
    limiter.reset()


# A care provider raises a concern -------------------------------------------------------------


def test_provider_staff_raise_a_concern_about_their_service_and_follow_it(page, live_server):
    what_happened = f"Mr Adeyemi was left in wet bedding overnight on the first floor. Ref {uuid.uuid4().hex[:8]}."
    sign_in(page, live_server, STAFF)
    _click(page, page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Concerns"))
    expect(_heading(page)).to_have_text("Concerns you raised")
    _click(page, page.get_by_role("button", name="Raise a concern"))
    expect(_heading(page)).to_have_text("Raise a concern")
    expect(page.locator(".govuk-caption-l")).to_have_text("Riverside Care Homes Ltd")

    service = page.get_by_label("Which service is the concern about?")
    services = [s.strip() for s in service.locator("option").all_inner_texts()]
    assert services[0] == "Select a service"
    assert all(s.endswith("(Riverside Care Homes Ltd)") for s in services[1:]), services  # only their own
    service.select_option(label="Riverside House (Riverside Care Homes Ltd)")
    page.get_by_label("What happened?").fill(what_happened)
    _choose(page, "Types of abuse or neglect", "Neglect and Acts of Omission")
    _choose(page, "Where is the risk?", "Care Home - Nursing")
    _choose(page, "Who or what is the source of the risk? (optional)", "Service Provider")
    _choose(page, "Is the adult at immediate risk?", "Amber: risk of harm that needs action soon")
    page.get_by_label("What was done straight away? (optional)").fill("Told the nurse in charge; skin checked.")
    page.get_by_label("Full name (optional)").fill("Tunde Adeyemi")
    _click(page, _button(page, "Raise concern"))

    _no_errors(page)
    expect(_success(page)).to_contain_text(
        re.compile(r"Concern C-\d{4}-\d{6} raised\. The local authority's safeguarding team has been told\.")
    )
    reference = REFERENCE.search(_success(page).inner_text()).group()
    assert abs(int(reference[2:6]) - date.today().year) <= 1, f"{reference} does not carry the year it was raised"
    expect(_heading(page)).to_contain_text(reference)
    expect(_status(page)).to_have_text("Submitted")
    expect(_summary_value(page, "Service")).to_have_text("Riverside House (Riverside Care Homes Ltd)")
    expect(_summary_value(page, "What happened")).to_have_text(what_happened)
    expect(_summary_value(page, "Types of abuse or neglect")).to_have_text("Neglect and Acts of Omission")
    expect(_summary_value(page, "Location of risk")).to_have_text("Care Home - Nursing")
    expect(_summary_value(page, "Source of risk")).to_have_text("Service Provider")
    expect(_summary_value(page, "Immediate risk")).to_have_text("Amber: risk of harm that needs action soon")
    expect(_summary_value(page, "Name")).to_have_text("Tunde Adeyemi")
    expect(_summary_value(page, "Raised")).to_contain_text("by Priya Shah, Riverside Care Homes Ltd")
    # Staff raise and follow; they do not triage.
    expect(page.get_by_role("link", name="Triage this concern")).to_have_count(0)

    page.goto(live_server.url + "/home")
    _click(page, page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Concerns"))
    expect(_heading(page)).to_have_text("Concerns you raised")
    first_row = page.locator("main table tbody tr").first  # newest first
    expect(first_row.get_by_role("link")).to_have_text(reference)
    expect(first_row).to_contain_text("Riverside House")
    expect(first_row).to_contain_text("Submitted")
    expect(page.locator("main table")).not_to_contain_text("Tunde Adeyemi")  # a list never shows the adult's name
    _click(page, first_row.get_by_role("link", name=reference))
    expect(_heading(page)).to_contain_text(reference)


# A member of the public reports a concern -----------------------------------------------------


def test_member_of_the_public_reports_a_concern_without_an_account(page, live_server, public_form_quota):
    page.goto(live_server.url + "/report-a-concern")
    expect(_heading(page)).to_have_text("Tell us you are worried about an adult")
    assert page.locator(".portal-acting-as").count() == 0  # nobody is signed in
    expect(page.locator("main")).to_contain_text("You do not need an account")

    # The trap for bots is out of sight, out of the accessibility tree and out of the tab order.
    trap = page.locator("#website")
    expect(trap).to_have_count(1)
    for hidden in (trap, page.locator("label[for=website]")):
        painted = hidden.evaluate(
            """e => {
                e.scrollIntoView({block: 'center'});
                const box = e.getBoundingClientRect();
                const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
                return hit === e || e.contains(hit);
            }"""
        )
        assert not painted, "the trap field can be seen and clicked"
    assert trap.evaluate("e => e.closest('[aria-hidden=true]') !== null"), "the trap field is in the accessibility tree"
    expect(page.get_by_role("textbox", name=re.compile("leave this", re.IGNORECASE))).to_have_count(0)
    expect(page.get_by_role("textbox", name="What are you worried about?")).to_have_count(1)  # the query itself works
    assert trap.get_attribute("tabindex") == "-1"
    for _ in range(80):  # the keyboard goes through the whole form to its button, never landing on the trap
        page.keyboard.press("Tab")
        focused = page.evaluate("[document.activeElement.id, document.activeElement.textContent.trim()]")
        assert focused[0] != "website", "the keyboard reaches the trap field"
        if focused[1] == "Send report":
            break
    else:
        pytest.fail("the keyboard never reached the Send report button")

    # They fill in only what they want to.
    page.get_by_label("What are you worried about?").fill(
        "The man in the flat above mine shouts at his wife and I have not seen her go out for two weeks."
    )
    _choose(page, "Where is it happening? (optional)", "In their own home")
    _click(page, _button(page, "Send report"))

    _no_errors(page)
    panel = page.locator(".govuk-panel")
    expect(panel.get_by_role("heading")).to_have_text("Report sent")
    expect(panel).to_contain_text("Your reference number")
    expect(panel).to_contain_text(REFERENCE)
    expect(page.get_by_role("heading", name="What happens next")).to_be_visible()
    expect(page.locator("main")).to_contain_text("within a working day or two")
    assert page.locator(".portal-acting-as").count() == 0


# Jo's story, end to end -----------------------------------------------------------------------


def _find_in_triage_queue(page, reference: str):
    """The triage queue is oldest first and paged: follow "Next" until the reference is listed."""
    while True:
        link = page.locator("main table").get_by_role("link", name=reference, exact=True)
        if link.count():
            return link
        following = page.get_by_role("link", name=re.compile("^Next"))
        assert following.count(), f"{reference} is not in the triage queue"
        _click(page, following.first)


def test_jos_story_from_the_neighbours_report_to_closure(page, browser, live_server, public_form_quota):
    arranged = date.today() - timedelta(days=1)
    first_outcome = "I want my daughter to stop taking my money, but I don't want her in trouble with the police."
    second_outcome = "I want to be the one who decides who handles my money."
    feedback = "I felt listened to and I knew who to ring. I have my own bank card back, but my daughter and I are still not really talking."

    # 1. Jo's neighbour reports it on the public form, with no account.
    neighbour_context = new_context(browser)
    try:
        neighbour = neighbour_context.new_page()
        neighbour.goto(live_server.url + "/report-a-concern")
        neighbour.get_by_label("Which council area does the adult live in?").select_option(label="Northshire")
        neighbour.get_by_label("What are you worried about?").fill(
            "My neighbour's daughter has been taking her money. She comes round on pension day and takes her bank card."
        )
        _choose(neighbour, "Do you think the adult is in danger right now? (optional)", "No")
        _choose(neighbour, "Where is it happening? (optional)", "In their own home")
        neighbour.get_by_label("Their name (optional)").fill(JO_NAME)
        neighbour.get_by_label("Their address (optional)").fill("4 Orchard Row, Kingsford")
        neighbour.get_by_label("Your name (optional)").fill("Maureen Tilsley")
        neighbour.get_by_label("How do you know the adult? (optional)").fill("Neighbour")
        _click(neighbour, _button(neighbour, "Send report"))
        _no_errors(neighbour)
        expect(neighbour.locator(".govuk-panel")).to_contain_text(REFERENCE)
        reference = REFERENCE.search(neighbour.locator(".govuk-panel").inner_text()).group()
        expect(neighbour.get_by_role("heading", name="What happens next")).to_be_visible()
    finally:
        neighbour_context.close()

    # 2. The safeguarding lead signs in and finds it in the triage queue by its reference.
    sign_in(page, live_server, LEAD)
    _click(page, page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Triage"))
    expect(_heading(page)).to_have_text("Triage queue")
    expect(page.locator("main")).to_contain_text("the longest-waiting first")
    waiting = [int(n) for n in page.locator("main table tbody td.govuk-table__cell--numeric").all_inner_texts()]
    assert waiting == sorted(waiting, reverse=True), f"the queue is not oldest first: {waiting}"
    link = _find_in_triage_queue(page, reference)
    row = page.locator("main table tbody tr").filter(has=page.get_by_role("link", name=reference, exact=True))
    expect(row).to_contain_text("Not known: public report")
    expect(row).to_contain_text("Green")  # "not in danger right now"
    _click(page, link)
    expect(_heading(page)).to_contain_text(reference)
    expect(_status(page)).to_have_text("Submitted")
    expect(_summary_value(page, "Raised")).to_contain_text("a member of the public")
    expect(_summary_value(page, "Name")).to_have_text(JO_NAME)
    expect(_summary_value(page, "Reported by")).to_contain_text("Maureen Tilsley")
    expect(_summary_value(page, "Location of risk")).to_have_text("Own Home")

    # 3. Triage: a section 42 enquiry, assigned to themselves.
    _click(page, page.get_by_role("button", name="Triage this concern"))
    expect(_heading(page)).to_have_text("Triage this concern")
    _choose(page, "What is your decision?", "Section 42 enquiry")
    page.get_by_label("Safeguarding lead to work on it (optional)").select_option(label=LEAD_NAME)
    _click(page, _button(page, "Record triage decision"))
    _no_errors(page)
    expect(_success(page)).to_contain_text("Triage decision recorded: Section 42 enquiry.")
    expect(_status(page)).to_have_text("Triaged")
    expect(_summary_value(page, "Decision")).to_have_text("Section 42 enquiry")
    expect(_summary_value(page, "Safeguarding lead")).to_have_text(LEAD_NAME)

    # 4. The Making Safeguarding Personal conversation, with Jo's District Nurse.
    _click(page, page.get_by_role("link", name="Edit the Making Safeguarding Personal record"))
    expect(_heading(page)).to_have_text("Making Safeguarding Personal record")
    _choose(page, "Was the adult, or their representative, asked what outcomes they want?", "Yes they were asked and outcomes were expressed")
    page.get_by_label("The adult's views").fill(
        "Jo is worried her neighbour has told people. She wants to know what will happen and who to contact. She loves her daughter."
    )
    page.get_by_label("Who do they prefer to talk to?").fill("Her District Nurse, Nia Penhaligon")
    page.get_by_label("Where do they prefer to meet?").fill("At the GP surgery (Kingsford Health Centre)")
    _choose(page, "Do they want to attend meetings about them?", "Yes")
    _choose(page, "Did the adult lack capacity to make decisions about the safeguarding enquiry?", "No, they did not lack capacity")
    _choose(page, "Does the adult have substantial difficulty being involved?", "Yes")
    _choose(page, "Is there an appropriate person, such as family or a friend, to support them?", "No")
    _click(page, _button(page, "Save the record"))
    _no_errors(page)
    expect(_success(page)).to_contain_text("The Making Safeguarding Personal record has been saved.")
    expect(_summary_value(page, "Independent advocate")).to_have_text("Required – not yet arranged")

    # 5. Work cannot start yet: the advocacy gate.
    expect(page.locator(".portal-actions .govuk-warning-text")).to_contain_text(
        "Work cannot start until an independent advocate is recorded"
    )
    _click(page, page.get_by_role("button", name="Start work"))
    expect(_heading(page)).to_have_text("Start work on this concern")
    _click(page, _button(page, "Start work"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text(
        "An independent advocate must be arranged first: the adult has substantial difficulty being involved and nobody "
        "appropriate to support them. Record the advocate, then start work."
    )
    page.goto(page.url.removesuffix("/start"))
    expect(_status(page)).to_have_text("Triaged")  # nothing moved

    # 6. An independent advocate is arranged.
    _click(page, page.get_by_role("link", name="Record the independent advocate"))
    expect(_heading(page)).to_have_text("Record the independent advocate")
    page.get_by_label("Advocate's name").fill("Cerys Lockwood")
    page.get_by_label("Organisation (optional)").fill("Northshire Advocacy Hub")
    when = _group(page, "Date arranged")
    when.get_by_label("Day").fill(str(arranged.day))
    when.get_by_label("Month").fill(str(arranged.month))
    when.get_by_label("Year").fill(str(arranged.year))
    _click(page, _button(page, "Record advocate"))
    _no_errors(page)
    expect(_success(page)).to_contain_text("The independent advocate has been recorded.")
    expect(page.locator(".portal-actions .govuk-warning-text")).to_have_count(0)

    # 7. Two outcomes Jo wants, in her own words.
    for words in (first_outcome, second_outcome):
        _click(page, page.get_by_role("link", name="Add an outcome the adult wants"))
        expect(_heading(page)).to_have_text("Add an outcome the adult wants")
        page.get_by_label("What does the adult want to happen?").fill(words)
        _click(page, _button(page, "Add outcome"))
        _no_errors(page)
        expect(_success(page)).to_contain_text("Desired outcome added.")

    # 8. Jo agrees to her information being shared.
    _click(page, page.get_by_role("link", name="Record consent to share"))
    _choose(page, "Has the adult agreed to their information being shared with partner agencies?", "Consent given")
    _click(page, _button(page, "Save consent"))
    _no_errors(page)
    expect(_success(page)).to_contain_text("Consent to share recorded: Consent given.")

    # 9. Now work starts.
    _click(page, page.get_by_role("button", name="Start work"))
    _click(page, _button(page, "Start work"))
    _no_errors(page)
    expect(_success(page)).to_contain_text("Work on this concern has started.")
    expect(_status(page)).to_have_text("In progress")

    # 10. A comment for the people working on it.
    page.get_by_label("Add a comment").fill(
        "Nia visited today: Jo wants her daughter at the next meeting, at the GP surgery, with her advocate there."
    )
    _click(page, _button(page, "Add comment"))
    _no_errors(page)
    expect(_success(page)).to_contain_text("Comment added.")
    expect(page.locator(".portal-comment")).to_contain_text("Jo wants her daughter at the next meeting")

    # 11. Closing, with the outcomes and Jo's feedback.
    _click(page, page.get_by_role("button", name="Close this concern"))
    expect(_heading(page)).to_have_text("Close this concern")
    expect(_group(page, "Were the outcomes the adult wanted achieved?")).to_contain_text(first_outcome)
    _choose(page, "What action was taken, and with what result?", "Risk identified and action taken")
    _choose(page, "What happened to the risk?", "Risk reduced")
    _choose(page, "Were the outcomes the adult wanted achieved?", "Partially Achieved")
    page.get_by_label("The adult's feedback on their experience (optional)").fill(feedback)
    _click(page, _button(page, "Close concern"))
    _no_errors(page)
    expect(_success(page)).to_contain_text(f"{reference} is closed.")

    # 12. What the concern page shows now.
    expect(_status(page)).to_have_text("Closed")
    expect(_summary_value(page, "Action and result")).to_have_text("Risk identified and action taken")
    expect(_summary_value(page, "Risk")).to_have_text("Risk reduced")
    expect(_summary_value(page, "Desired outcomes achieved")).to_have_text("Partially Achieved")
    expect(_summary_value(page, "The adult's feedback")).to_have_text(feedback)
    expect(_summary_value(page, "Independent advocate")).to_contain_text("Cerys Lockwood, Northshire Advocacy Hub")
    expect(_summary_value(page, "Prefers to talk to")).to_contain_text("District Nurse")
    expect(_summary_value(page, "Prefers to meet")).to_contain_text("GP surgery")
    expect(_summary_value(page, "Wants to attend meetings")).to_have_text("Yes")
    expect(_summary_value(page, "Mental capacity")).to_have_text("No, they did not lack capacity")
    expect(_summary_value(page, "Consent to share")).to_have_text("Consent given")
    outcomes = page.locator("h3:has-text('in their own words') + ul li")
    expect(outcomes).to_have_count(2)
    expect(outcomes.nth(0)).to_contain_text(first_outcome)
    expect(outcomes.nth(1)).to_contain_text(second_outcome)
    _in_order(_timeline(page), [
        "Raised by the public form",
        "Triaged: Section 42 enquiry",
        f"Assigned to {LEAD_NAME}",
        "Making Safeguarding Personal record updated",
        "Independent advocate recorded: Cerys Lockwood",
        "Desired outcome added",
        "Desired outcome added",
        "Consent to share: Consent given",
        "Work started",
        "Comment from Northshire County Council",
        "Closed: Risk identified and action taken; Risk reduced; outcomes partially achieved",
    ])
    # Closed is closed: the only way on is to reopen it.
    expect(page.get_by_role("button", name="Reopen this concern")).to_be_visible()
    expect(page.get_by_role("button", name="Start work")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit the Making Safeguarding Personal record")).to_have_count(0)


# Reopening ------------------------------------------------------------------------------------


def test_closed_concern_is_reopened_with_a_reason(page_as, live_server):
    with live_server.app.app_context():
        # The most recently closed demo concern, but never Jo's (other tests look at hers).
        row = db.session.execute(
            sa.select(Concern.id, Concern.reference)
            .where(Concern.status == ConcernStatus.CLOSED)
            .where(~Concern.adult_id.in_(sa.select(Adult.id).where(Adult.name == JO_NAME)) | Concern.adult_id.is_(None))
            .order_by(Concern.closed_at.desc(), Concern.id.desc())
            .limit(1)
        ).first()
        db.session.remove()
    assert row is not None
    reason = "The daughter has started visiting on pension day again; the adult asked us to look at it again."

    page = page_as(LEAD)
    page.goto(f"{live_server.url}/concerns/{row.id}")
    expect(_status(page)).to_have_text("Closed")
    _click(page, page.get_by_role("button", name="Reopen this concern"))
    expect(_heading(page)).to_have_text("Reopen this concern")

    # A reason is needed.
    _click(page, _button(page, "Reopen concern"))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter why the concern is being reopened")
    page.goto(f"{live_server.url}/concerns/{row.id}")
    expect(_status(page)).to_have_text("Closed")

    _click(page, page.get_by_role("button", name="Reopen this concern"))
    page.get_by_label("Why is the concern being reopened?").fill(reason)
    _click(page, _button(page, "Reopen concern"))
    _no_errors(page)
    expect(_success(page)).to_contain_text(f"{row.reference} has been reopened.")
    expect(_status(page)).to_have_text("In progress")
    expect(page.get_by_role("heading", name="Outcome", exact=True)).to_have_count(0)  # the old closure's answers are gone
    expect(page.get_by_role("button", name="Close this concern")).to_be_visible()
    entries = _timeline(page)
    assert f"Reopened: {reason}" in entries[-1], entries[-1]
    _in_order(entries, ["Closed: ", f"Reopened: {reason}"])


# Found while writing these journeys, and fixed ---------------------------------------------------


def test_lead_sees_how_the_public_reporter_knows_the_adult(page_as, live_server):
    """Jo's neighbour said she is Jo's neighbour: the safeguarding lead should be able to read that."""
    with live_server.app.app_context():
        row = db.session.execute(
            sa.select(Concern.id, Concern.reporter_name, Concern.reporter_relationship)
            .where(Concern.adult_id.in_(sa.select(Adult.id).where(Adult.name == JO_NAME)))
            .where(Concern.reporter_relationship.is_not(None))
            .order_by(Concern.id)
            .limit(1)
        ).first()
        db.session.remove()
    assert row is not None and row.reporter_relationship == "Neighbour"
    page = page_as(LEAD)
    page.goto(f"{live_server.url}/concerns/{row.id}")
    reported_by = _summary_value(page, "Reported by")
    expect(reported_by).to_contain_text(row.reporter_name)
    expect(reported_by).to_contain_text(row.reporter_relationship, timeout=1_000)


def test_override_form_lists_every_problem_at_once(page_as, live_server):
    with live_server.app.app_context():
        concern_id = db.session.scalar(
            sa.select(Concern.id)
            .where(Concern.consent == ConsentToShare.REFUSED, ~Concern.overrides.any(), Concern.status != ConcernStatus.CLOSED)
            .order_by(Concern.id)
            .limit(1)
        )
        db.session.remove()
    assert concern_id is not None
    page = page_as(LEAD)
    page.goto(f"{live_server.url}/concerns/{concern_id}/override")
    _group(page, "Has the adult been told their refusal is being overridden?").get_by_label("No", exact=True).check()
    _click(page, _button(page, "Override the refusal"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Select why the refusal is being overridden")
    expect(summary).to_contain_text("Explain why the adult's refusal is being overridden", timeout=1_000)
    expect(summary).to_contain_text("Enter why the adult has not been told", timeout=1_000)
