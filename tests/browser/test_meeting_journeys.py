"""Partnership meetings in a real browser, on the Northshire demo data.

Three journeys, each checked by what people see on the screen and with axe on every page:

1. The ICB's commissioner schedules a monthly provider quality meeting (after a first try with the
   end before the start and a date in the past), invites the regulator's inspector and Riverside's
   manager, downloads the calendar file and builds the agenda pack; Riverside's manager accepts
   and reads a pack that leaves Meadowbank out.
2. The demo's latest provider quality meeting, which took place but is not yet marked as held: the
   chair marks it held, the minute-taker records attendance, minutes and an action, the chair
   approves, the minute-taker amends; Riverside's manager finishes the action, and the next
   meeting carries only the unfinished ones.
3. Jo's review meeting at home: the safeguarding lead writes the summary for Jo, checks its
   wording, rewrites it plainly, saves it and records that it was shared; Riverside's manager
   cannot open the meeting at all.

The journeys share the live server and its demo data, so each works on meetings of its own: a
new series (1), the demo's unheld meeting (2), Jo's home meeting (3).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from icalendar import Calendar
from playwright.sync_api import expect

from portal.core.workdays import london_today
from portal.demo.concerns import JO_NAME
from portal.demo.meetings import SERIES_TITLE
from portal.extensions import db
from portal.meetings.models import Meeting
from tests.browser.conftest import COMMISSIONER, PROVIDER_MANAGER, assert_accessible
from tests.browser.conftest import button as _button
from tests.browser.conftest import click as _click
from tests.browser.conftest import heading as _heading
from tests.browser.conftest import link as _link
from tests.browser.conftest import signed_in as _signed_in

pytestmark = pytest.mark.browser

LEAD = "lead@council.northshire.example"
COMMISSIONER_ROLE = "Commissioner or quality officer"


# Helpers --------------------------------------------------------------------------------------


def _success(page):
    return page.locator(".govuk-notification-banner--success")


def _errors(page):
    return page.locator(".govuk-error-summary")


def _no_errors(page):
    assert _errors(page).count() == 0, _errors(page).inner_text()


def _group(page, legend: str | re.Pattern):
    """The radios, checkboxes or date boxes under one question, found by the question."""
    return page.get_by_role("group", name=legend, exact=isinstance(legend, str))


def _fill_date(page, legend: str, day) -> None:
    boxes = _group(page, legend)
    boxes.get_by_label("Day").fill(str(day.day))
    boxes.get_by_label("Month").fill(str(day.month))
    boxes.get_by_label("Year").fill(str(day.year))


def _summary_value(page, key: str):
    row = page.locator(".govuk-summary-list__row").filter(
        has=page.locator(".govuk-summary-list__key", has_text=re.compile(rf"^\s*{re.escape(key)}\s*$"))
    )
    return row.first.locator(".govuk-summary-list__value")


def _row(page, table, text: str):
    return page.locator(table).locator("tbody tr").filter(has_text=text)


def _main(page) -> str:
    return page.inner_text("main")


def _clock(at: time) -> str:
    return f"{at.hour % 12 or 12}:{at.minute:02d}{'am' if at.hour < 12 else 'pm'}"


def _long_date(day) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


# 1. Schedule and invite -----------------------------------------------------------------------

TITLE = "Care home quality review"
PURPOSE = "To share what partners know about the quality and safety of care homes in the north of the county."
PLACE = "NHS Northshire ICB, Kingsford House, Room 4, Station Road, Kingsford"
STARTS, ENDS = time(14, 30), time(16, 0)
#: Meadowbank's newest intelligence in the demo (17 days ago): inside the pack's look-back.
NEW_AT_MEADOWBANK = "A son found his father in soiled bedding"


def _schedule_form(page, *, day, starts: str, ends: str) -> None:
    _group(page, "What kind of meeting is it?").get_by_label("Provider quality and information-sharing meeting").check()
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("What is the meeting for?").fill(PURPOSE)
    _fill_date(page, "Date", day)
    page.get_by_label("Start time").fill(starts)
    page.get_by_label("End time").fill(ends)
    _group(page, "Where is the meeting?").get_by_label("At an address").check()
    page.get_by_label("Address, or the name of the place").fill(PLACE)
    _group(page, "Does it repeat?").get_by_label("Every month on the same weekday").check()
    page.get_by_label("How many meetings?").fill("3")
    providers = _group(page, "Providers on the agenda")
    providers.get_by_label("Meadowbank Care Group", exact=True).check()
    providers.get_by_label("Riverside Care Homes Ltd", exact=True).check()


def test_commissioner_schedules_a_monthly_quality_meeting_invites_people_and_builds_the_pack(browser, live_server):
    day = london_today() + timedelta(days=23)
    page = _signed_in(browser, live_server, COMMISSIONER, COMMISSIONER_ROLE)
    try:
        _click(page, _link(page, "Meetings"))
        expect(_heading(page)).to_have_text("Meetings")
        assert_accessible(page, "the commissioner's meetings")

        _click(page, _button(page, "Schedule a meeting"))  # a link styled as a button
        expect(_heading(page)).to_have_text("Schedule a meeting")
        assert_accessible(page, "the schedule form")

        # The end before the start, on a day already gone: both said, nothing typed lost.
        _schedule_form(page, day=london_today() - timedelta(days=2), starts="14:30", ends="13:00")
        _click(page, _button(page, "Schedule the meeting"))
        expect(_errors(page)).to_contain_text("The end must be after the start")
        expect(_errors(page)).to_contain_text("The meeting must start in the future")
        expect(page.get_by_label("Title", exact=True)).to_have_value(TITLE)
        expect(page.get_by_label("What is the meeting for?")).to_have_value(PURPOSE)
        expect(page.get_by_label("Address, or the name of the place")).to_have_value(PLACE)
        expect(page.get_by_label("End time")).to_have_value("13:00")
        expect(_group(page, "Providers on the agenda").get_by_label("Meadowbank Care Group", exact=True)).to_be_checked()
        expect(_group(page, "Does it repeat?").get_by_label("Every month on the same weekday")).to_be_checked()
        assert_accessible(page, "the schedule form with errors")

        _fill_date(page, "Date", day)
        page.get_by_label("End time").fill("16:00")
        _click(page, _button(page, "Schedule the meeting"))
        _no_errors(page)
        expect(_success(page)).to_contain_text("3 meetings scheduled")
        expect(_heading(page)).to_have_text("Invite people")
        assert_accessible(page, "the invitees page")

        # Invite the regulator's inspector and Riverside's manager, to the whole series.
        page.get_by_label("Ines Romero – Inspector").check()
        page.get_by_label("Morgan Ellis – Provider manager").check()
        page.locator("#invite-people").get_by_label("Invite them to the later meetings of this series too").check()
        _click(page, _button(page, "Invite the people selected"))
        _no_errors(page)
        expect(_success(page)).to_contain_text("2 people invited.")
        for name in ("Ines Romero", "Morgan Ellis"):
            expect(_row(page, "#invited", name)).to_contain_text("Not answered yet")
        assert_accessible(page, "the invitees page after inviting")

        _click(page, _link(page, "Back to the meeting").first)
        expect(_heading(page)).to_contain_text(TITLE)
        expect(_summary_value(page, "When")).to_have_text(
            f"{_long_date(day)}, {_clock(STARTS)} to {_clock(ENDS)} (UK time)"
        )
        expect(_summary_value(page, "Where")).to_have_text(PLACE)
        expect(page.locator("#series")).to_contain_text("Meeting 1 of 3")
        expect(page.locator("#agenda ~ ol").first).to_contain_text("Meadowbank Care Group")
        assert_accessible(page, "the new meeting's page")
        meeting_url = page.url.split("#")[0]
        meeting_id = int(meeting_url.rstrip("/").rsplit("/", 1)[1])

        # The calendar file, as a calendar program would read it.
        with page.expect_download() as downloading:
            _link(page, "Add it to your calendar (.ics file)").click()
        calendar = Calendar.from_ical(Path(downloading.value.path()).read_bytes())
        with live_server.app.app_context():
            uid = db.session.scalar(sa.select(Meeting.uid).where(Meeting.id == meeting_id))
            db.session.remove()
        assert str(calendar["METHOD"]) == "PUBLISH"
        assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/London"]
        (event,) = calendar.walk("VEVENT")
        assert str(event["UID"]) == uid
        assert str(event["SUMMARY"]) == TITLE
        start = event["DTSTART"]
        assert start.params["TZID"] == "Europe/London"
        assert start.dt.replace(tzinfo=None) == datetime.combine(day, STARTS)
        assert event["DTEND"].dt.replace(tzinfo=None) == datetime.combine(day, ENDS)

        # The agenda pack, with Meadowbank's newest intelligence.
        _click(page, _link(page, "Agenda pack"))
        expect(_heading(page)).to_have_text("Agenda pack")
        expect(page.locator("main")).to_contain_text("The agenda pack has not been built yet.")
        assert_accessible(page, "the agenda pack before it is built")
        _click(page, _button(page, "Build the agenda pack"))
        expect(_success(page)).to_contain_text("Agenda pack version 1 built")
        meadowbank = page.locator("section").filter(
            has=page.get_by_role("heading", level=2, name=re.compile(r"Meadowbank Care Group$"))
        )
        expect(meadowbank).to_contain_text("About Meadowbank Care Group.")
        expect(meadowbank.locator("caption", has_text="Intelligence since").first).to_be_visible()
        expect(meadowbank).to_contain_text(NEW_AT_MEADOWBANK)
        assert_accessible(page, "the agenda pack for the commissioner")
    finally:
        page.context.close()

    manager = _signed_in(browser, live_server, PROVIDER_MANAGER)
    try:
        _click(manager, _link(manager, "Meetings"))
        coming_up = _row(manager, "#upcoming", TITLE)
        expect(coming_up.first).to_contain_text("Not answered yet")
        assert_accessible(manager, "the manager's meetings")
        _click(manager, coming_up.first.get_by_role("link", name=TITLE))
        assert manager.url.split("#")[0] == meeting_url
        expect(manager.locator("#series")).to_contain_text("Meeting 1 of 3")
        assert_accessible(manager, "the meeting for Riverside's manager")

        _group(manager, "Will you attend?").get_by_label("Yes").check()
        _click(manager, _button(manager, "Send your reply"))
        _no_errors(manager)
        expect(_success(manager)).to_contain_text("Your reply is recorded: Accepted.")
        expect(manager.locator("main table").locator("tbody tr").filter(has_text="Morgan Ellis")).to_contain_text("Accepted")
        assert_accessible(manager, "the meeting after replying")

        _click(manager, _link(manager, "Agenda pack"))
        expect(_heading(manager)).to_have_text("Agenda pack")
        pack = _main(manager)
        assert "Meadowbank" not in pack and NEW_AT_MEADOWBANK not in pack
        assert "This item is not shared with you" in pack
        expect(manager.locator(".govuk-warning-text")).to_contain_text("Some items are not shown")
        expect(manager.locator("section").filter(has_text="About Riverside Care Homes Ltd.")).to_have_count(1)
        assert_accessible(manager, "the agenda pack for Riverside's manager")
    finally:
        manager.context.close()


# 2. Minutes and actions -----------------------------------------------------------------------

MEADOWBANK_DISCUSSION = "The regulator's report rates Meadowbank Inadequate. The interim manager has started a night staffing rota."
MEADOWBANK_DECISIONS = "The ICB suspends new placements at Meadowbank until the next meeting."
ACTION = "Share Riverside House's night staffing rota for the last four weeks with the ICB"
ORGANISATIONAL_REVIEW = "Organisational safeguarding review of Meadowbank"
FALLS_AUDIT = "Send the refreshed falls audit for Riverside House to the ICB"
CORRECTION = "The suspension covers new placements funded by the council as well as by the ICB."


def _item_position(page, title: str) -> str:
    """The number of an agenda item, from its heading on the minutes page ('3. Riverside ...')."""
    heading = page.get_by_role("heading", level=2, name=re.compile(rf"^\d+\. {re.escape(title)}$"))
    return heading.inner_text().split(".", 1)[0]


def test_chair_and_minute_taker_record_minutes_and_actions_that_follow_into_the_next_meeting(browser, live_server):
    chair = _signed_in(browser, live_server, COMMISSIONER, COMMISSIONER_ROLE)
    lead = _signed_in(browser, live_server, LEAD)
    try:
        # The chair finds the meeting that took place but is not marked as held, and marks it.
        _click(chair, _link(chair, "Meetings"))
        # Newest first: the demo's one is the oldest not held (on a meeting day, that day's may follow it).
        unheld = chair.locator("#past tbody tr").filter(has_text=SERIES_TITLE).filter(has_not=chair.locator(".govuk-tag"))
        expect(unheld.first).to_be_visible()
        _click(chair, unheld.last.get_by_role("link", name=SERIES_TITLE))
        meeting_url = chair.url.split("#")[0]
        _click(chair, _button(chair, "Mark as held"))
        expect(_heading(chair)).to_have_text("Mark the meeting as held")
        assert_accessible(chair, "marking the meeting as held")
        _click(chair, _button(chair, "Mark the meeting as held"))
        expect(_success(chair)).to_contain_text("The meeting is marked as held.")
        expect(_heading(chair).locator(".govuk-tag")).to_have_text("Held")

        # The minute-taker records attendance and the Meadowbank item.
        lead.goto(meeting_url)
        _click(lead, _link(lead, "Minutes"))
        expect(_heading(lead)).to_have_text("Minutes")
        for name in ("Chris Patel", "Sam Okafor", "Ines Romero", "Morgan Ellis", "Charlie Osei"):
            _group(lead, re.compile(rf"^{name} \(")).get_by_label("Present", exact=True).check()
        _group(lead, re.compile(r"^Dev Kapoor \(")).get_by_label("Sent apologies", exact=True).check()
        lead.get_by_label("Meadowbank Care Group: discussion").fill(MEADOWBANK_DISCUSSION)
        lead.get_by_label("Meadowbank Care Group: decisions").fill(MEADOWBANK_DECISIONS)
        _click(lead, _button(lead, "Save minutes"))
        _no_errors(lead)
        expect(_success(lead)).to_contain_text("The minutes have been saved.")
        expect(lead.get_by_label("Meadowbank Care Group: discussion")).to_have_value(MEADOWBANK_DISCUSSION)
        expect(_group(lead, re.compile(r"^Dev Kapoor \(")).get_by_label("Sent apologies", exact=True)).to_be_checked()
        assert_accessible(lead, "the minutes being written")
        minutes_url = lead.url.split("#")[0]

        # An action under the Riverside item: first with no owner and a past due date.
        riverside = _item_position(lead, "Riverside Care Homes Ltd")
        _click(lead, _link(lead, f"Add an action under item {riverside}"))
        expect(_heading(lead)).to_have_text("Add an action")
        assert_accessible(lead, "the action form")
        lead.get_by_label("What must be done?").fill(ACTION)
        _fill_date(lead, "Due date", london_today() - timedelta(days=3))
        _click(lead, _button(lead, "Add action"))
        expect(_errors(lead)).to_contain_text("Choose who owns the action")
        expect(_errors(lead)).to_contain_text("The due date must be today or in the future")
        expect(lead.get_by_label("What must be done?")).to_have_value(ACTION)
        expect(lead.get_by_label("Agenda item")).to_have_value(re.compile(r"\d+"))
        assert_accessible(lead, "the action form with errors")

        owner = lead.get_by_label("Who owns the action?")
        owner.select_option(owner.locator("option", has_text="Morgan Ellis").get_attribute("value"))
        due = london_today() + timedelta(days=20)
        _fill_date(lead, "Due date", due)
        _click(lead, _button(lead, "Add action"))
        _no_errors(lead)
        expect(_success(lead)).to_contain_text("The action has been added and Morgan Ellis has been told.")
        agreed = lead.locator("table").filter(has=lead.locator("caption", has_text=f"Actions agreed under item {riverside}"))
        expect(agreed).to_contain_text(ACTION)
        expect(agreed).to_contain_text("Morgan Ellis")

        # The chair approves: the minutes are locked.
        chair.goto(minutes_url)
        _click(chair, _button(chair, "Approve the minutes"))
        expect(_success(chair)).to_contain_text("The minutes are approved.")
        expect(chair.locator("main .govuk-inset-text").first).to_contain_text("Approved by Chris Patel")
        expect(chair.locator("main textarea")).to_have_count(0)
        expect(chair.locator("main")).to_contain_text(MEADOWBANK_DECISIONS)
        assert_accessible(chair, "the approved minutes")

        # The minute-taker corrects the Meadowbank item with an amendment.
        lead.goto(minutes_url)
        expect(lead.locator("main textarea")).to_have_count(0)
        meadowbank = _item_position(lead, "Meadowbank Care Group")
        _click(lead, _link(lead, f"Add an amendment to item {meadowbank}"))
        expect(_heading(lead)).to_have_text("Add an amendment")
        _click(lead, _button(lead, "Add amendment"))
        expect(_errors(lead)).to_contain_text("Enter the correction")
        expect(_errors(lead)).to_contain_text("Enter why the minutes are being corrected")
        assert_accessible(lead, "the amendment form with errors")
        lead.get_by_label("Correction").fill(CORRECTION)
        lead.get_by_label("Why are the minutes being corrected?").fill("The council's commissioner pointed out the decision covered both.")
        _click(lead, _button(lead, "Add amendment"))
        _no_errors(lead)
        expect(_success(lead)).to_contain_text("The amendment has been added below the approved minutes.")
        amendment = lead.locator("main [id^=amendment-]")
        expect(amendment).to_contain_text(CORRECTION)
        expect(amendment).to_contain_text("Reason: The council's commissioner pointed out")
        text = _main(lead)
        assert text.index(MEADOWBANK_DISCUSSION) < text.index(MEADOWBANK_DECISIONS) < text.index(CORRECTION)
        assert "covers new placements funded by the council" not in text.split(CORRECTION, 1)[0]
        assert_accessible(lead, "the minutes with an amendment")

        # Riverside's manager finishes the new action; the falls audit is still overdue.
        manager = _signed_in(browser, live_server, PROVIDER_MANAGER)
        try:
            _click(manager, _link(manager, "Meetings"))
            _click(manager, _link(manager, "Your actions"))
            expect(_heading(manager)).to_have_text("Your meeting actions")
            expect(_row(manager, "#open-actions", ACTION)).to_have_count(1)
            falls = _row(manager, "#open-actions", FALLS_AUDIT)
            expect(falls).to_have_count(1)
            expect(falls.locator(".govuk-tag--red")).to_have_text("Overdue")
            expect(_row(manager, "#open-actions", ACTION).locator(".govuk-tag--red")).to_have_count(0)
            assert_accessible(manager, "the manager's actions")

            _click(manager, _link(manager, ACTION))
            expect(_heading(manager)).to_have_text("Meeting action")
            expect(_summary_value(manager, "Agenda item")).to_contain_text("Riverside Care Homes Ltd")
            assert_accessible(manager, "the action for its owner")
            manager.get_by_label("What has happened?").fill("Rota for the last four weeks sent to the ICB's quality team by email.")
            _group(manager, "Move the action on (optional)").get_by_label("Done", exact=True).check()
            _click(manager, _button(manager, "Save update"))
            _no_errors(manager)
            expect(_success(manager)).to_contain_text("Your update has been saved.")
            expect(_summary_value(manager, "State")).to_have_text("Done")
            expect(manager.locator("#updates ~ ol")).to_contain_text("moved to done")

            _click(manager, _link(manager, "Back to your actions"))
            expect(_row(manager, "#finished-actions", ACTION)).to_have_count(1)
            expect(_row(manager, "#open-actions", ACTION)).to_have_count(0)
        finally:
            manager.context.close()

        # The next meeting of the series carries what is unfinished, and not what was just done.
        lead.goto(meeting_url)
        _click(lead, lead.locator("#series").get_by_role("link", name=re.compile(r"^Next meeting")))
        expect(_heading(lead)).to_contain_text(SERIES_TITLE)
        _click(lead, _link(lead, "Minutes"))
        carried = lead.locator("#carried-actions")
        expect(carried).to_contain_text(ORGANISATIONAL_REVIEW)
        expect(carried).to_contain_text(FALLS_AUDIT)
        expect(carried.locator("tbody tr").filter(has_text=ORGANISATIONAL_REVIEW)).to_contain_text("In progress")
        expect(carried).not_to_contain_text(ACTION)
        assert_accessible(lead, "the next meeting's minutes, with the actions carried")
    finally:
        chair.context.close()
        lead.context.close()


# 3. The summary for the adult -----------------------------------------------------------------

JARGON = (
    "Following the s42 enquiry the MDT agreed a protection plan under the Care Act; the IMCA will attend the "
    "strategy meeting. The safeguarding adults board expects partner agencies to share proportionate information "
    "about the concerns raised so that the multi-agency risk assessment can be reviewed at the next professionals "
    "meeting without delay."
)
PLAIN = """You met us at your home. Cerys, your advocate, was there. So was Nia, your nurse.

You told us no money has gone from your account since you opened the new one. You are sad that your daughter has missed her last two visits.

We agreed that nothing more needs to happen about your money.

Sam will ring you in a few weeks. If nothing has changed, we will stop our work with you then.

If you are worried, ring Sam Okafor on 01632 960 111."""
NO_SUMMARY_YET = "Once the summary is saved, record here when and how it was given to the adult."


def test_lead_writes_a_plain_summary_for_jo_and_records_that_it_was_shared(browser, live_server):
    lead = _signed_in(browser, live_server, LEAD)
    try:
        _click(lead, _link(lead, "Meetings"))
        _click(lead, lead.locator("#past").get_by_role("link", name="Review meeting at home", exact=True))
        expect(_heading(lead)).to_contain_text("Review meeting at home")
        meeting_url = lead.url.split("#")[0]
        # Jo's name is on the list of who was invited (the lead may see it), never in the details.
        expect(lead.locator("#invited ~ table")).to_contain_text(f"{JO_NAME} (the adult the meeting is about)")
        details = lead.locator(".govuk-summary-list").first.inner_text()
        assert "Jo" not in details and "Marchbank" not in details and "Orchard Row" not in details
        expect(_summary_value(lead, "Where")).to_have_text("The adult's home")
        assert_accessible(lead, "Jo's review meeting for the lead")

        _click(lead, _link(lead, "Summary for the adult, in plain words"))
        expect(_heading(lead)).to_have_text(f"Summary for {JO_NAME}")
        expect(lead.locator("main")).to_contain_text(NO_SUMMARY_YET)
        assert_accessible(lead, "the summary page before a summary is written")
        summary_url = lead.url.split("#")[0]

        # Checking the wording: jargon, abbreviations, a long sentence and a reading score; nothing saved.
        box = lead.get_by_label("Summary for the adult")
        box.fill(JARGON)
        _click(lead, _button(lead, "Check the wording"))
        _no_errors(lead)
        report = lead.locator("#wording-check")
        expect(report).to_contain_text("Could be plainer")
        expect(report).to_contain_text("They have not been saved.")
        expect(_summary_value(lead, "Reading ease")).to_contain_text("out of 100")
        jargon = report.locator("h3:has-text('Words the adult may not know') + ul")
        for word in ("s42", "protection plan", "IMCA", "strategy meeting"):
            expect(jargon).to_contain_text(f"‘{word}’")
        expect(report.locator("h3:has-text('Abbreviations not explained') + ul")).to_contain_text("MDT")
        expect(report.locator("h3:has-text('Long sentences') ~ ul")).to_contain_text("(31 words)")
        expect(box).to_have_value(JARGON)
        expect(lead.locator("main")).to_contain_text(NO_SUMMARY_YET)
        expect(lead.locator("main")).not_to_contain_text("Last saved")
        assert_accessible(lead, "the wording check of a summary full of jargon")
        lead.goto(summary_url)
        expect(lead.get_by_label("Summary for the adult")).to_have_value("")
        expect(lead.locator("main")).not_to_contain_text("Last saved")

        # Plain words, saved.
        lead.get_by_label("Summary for the adult").fill(PLAIN)
        _click(lead, _button(lead, "Save the summary"))
        _no_errors(lead)
        expect(_success(lead)).to_contain_text("The summary has been saved.")
        expect(lead.locator("main")).to_contain_text("Last saved")
        report = lead.locator("#wording-check")
        expect(report).to_contain_text("Reads as plain language")
        expect(report).not_to_contain_text("Long sentences")
        expect(report).not_to_contain_text("Abbreviations not explained")
        expect(lead.locator("main")).to_contain_text("The summary has not been recorded as shared yet.")
        assert_accessible(lead, "the saved summary")

        # Recording that it was shared: first without a date.
        _click(lead, _link(lead, "Record that the summary was shared"))
        expect(_heading(lead)).to_have_text("Record that the summary was shared")
        _group(lead, "How was it shared?").get_by_label("Large print").check()
        _click(lead, _button(lead, "Record that it was shared"))
        expect(_errors(lead)).to_contain_text("Enter the date the summary was shared")
        expect(_group(lead, "How was it shared?").get_by_label("Large print")).to_be_checked()
        assert_accessible(lead, "recording the sharing, with an error")
        shared_on = london_today() - timedelta(days=59)  # the meeting was 61 days ago
        _fill_date(lead, "When was the summary shared?", shared_on)
        _click(lead, _button(lead, "Record that it was shared"))
        _no_errors(lead)
        expect(_success(lead)).to_contain_text("The summary has been recorded as shared.")
        shared = lead.locator("#shared ~ table tbody tr")
        expect(shared).to_have_count(1)
        expect(shared).to_contain_text(f"{shared_on.day} {shared_on:%B %Y}")
        expect(shared).to_contain_text("Large print")
        expect(shared).to_contain_text("Sam Okafor")
        assert_accessible(lead, "the summary with its sharing recorded")
    finally:
        lead.context.close()

    # Riverside's manager was not invited and may not see Jo's details: the meeting does not exist for them.
    manager = _signed_in(browser, live_server, PROVIDER_MANAGER)
    try:
        _click(manager, _link(manager, "Meetings"))
        expect(manager.locator("main")).not_to_contain_text("Review meeting at home")
        for url in (meeting_url, summary_url):
            response = manager.goto(url)
            assert response.status == 404, url
            expect(_heading(manager)).to_have_text("Page not found")
            assert JO_NAME not in _main(manager)
        assert_accessible(manager, "the page not found for Riverside's manager")
    finally:
        manager.context.close()
