"""Escalations, the Board's oversight and the MSP report in a real browser, on the Northshire demo.

Three journeys, each checked by what people see on the screen and with axe on every page and every
error state:

1. **Raise and escalate.** The ICB's commissioner escalates the quality of Willow Court (a Riverside
   nursing home the ICB commissions, which no demo escalation is about) to Riverside, first with
   nothing typed; the escalation opens at stage 1 with its computed deadline. Riverside's manager
   finds it waiting, acknowledges and responds. The commissioner tries to resolve it without an
   outcome, then to escalate it without a reason, then escalates it: the timeline holds every move
   with who and when, and the ladder shows stage 2 as current.
2. **The Board's page.** The Board's chair reads which escalations are stuck (the breached first),
   sees the charts drawn beside their tables, chooses a period with its end before its start and
   then a valid one, drills down to the escalation at the meeting of all parties (no adult's name,
   none of the adult's view), adds a mediation note, and downloads the figures as CSV.
3. **The report and its CSV.** The council's safeguarding lead reads the MSP and outcome figures,
   chooses a period the wrong way round and then twelve months, applies the publication rules and
   downloads the CSV, which holds what the page shows. Riverside's manager cannot have the report.

The journeys share the live server and its demo data with the other browser tests: the first
raises an escalation of its own; the second adds a note to the demo's escalation at the top stage
(nothing else reads that note) and otherwise only reads.
"""

from __future__ import annotations

import csv
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.core.db import utcnow
from portal.core.templating import format_date
from portal.core.workdays import london_today
from portal.demo import concerns as demo_concerns
from portal.escalations.ladder import stage_deadline
from portal.escalations.operations import deadline_words
from portal.reports.msp import financial_year_start
from tests.browser.conftest import COMMISSIONER, PROVIDER_MANAGER, assert_accessible
from tests.browser.conftest import button as _button
from tests.browser.conftest import click as _click
from tests.browser.conftest import heading as _heading
from tests.browser.conftest import link as _link
from tests.browser.conftest import signed_in as _signed_in

pytestmark = pytest.mark.browser

LEAD = "lead@council.northshire.example"
CHAIR = "chair@sab.northshire.example"
COMMISSIONER_ROLE = "Commissioner or quality officer"
ICB = "NHS Northshire Integrated Care Board"
RIVERSIDE = "Riverside Care Homes Ltd"

#: Every adult of the demo's concerns: none may be named on the Board's pages.
ADULT_NAMES = [demo_concerns.JO_NAME] + [
    story.adult.name
    for story in demo_concerns.CLOSED + demo_concerns.IN_PROGRESS + demo_concerns.TRIAGED + demo_concerns.SUBMITTED
    if story.adult is not None
]
#: Words of the advocate's view on the demo's escalation at the meeting of all parties.
ADVOCATES_VIEW = "His advocate has visited him three times"


# Helpers --------------------------------------------------------------------------------------


def _nav(page):
    return page.get_by_role("navigation", name="Main menu")


def _success(page):
    return page.locator(".govuk-notification-banner--success")


def _errors(page):
    return page.locator(".govuk-error-summary")


def _no_errors(page):
    assert _errors(page).count() == 0, _errors(page).inner_text()


def _group(page, legend: str | re.Pattern):
    """The radios, checkboxes or date boxes under one question, found by the question."""
    return page.get_by_role("group", name=legend, exact=isinstance(legend, str))


def _fill_date(scope, legend: str, day: date) -> None:
    boxes = _group(scope, legend)
    boxes.get_by_label("Day").fill(str(day.day))
    boxes.get_by_label("Month").fill(str(day.month))
    boxes.get_by_label("Year").fill(str(day.year))


def _summary_value(page, key: str):
    row = page.locator("#summary .govuk-summary-list__row").filter(
        has=page.locator(".govuk-summary-list__key", has_text=re.compile(rf"^\s*{re.escape(key)}\s*$"))
    )
    return row.first.locator(".govuk-summary-list__value")


def _main(page) -> str:
    return page.inner_text("main")


def _timeline(page) -> list[list[str]]:
    """The escalation's timeline: [when, what, who, details] for each row, oldest first."""
    rows = page.locator("#timeline-table tbody tr")
    return [[cell.strip() for cell in row.locator("td").all_inner_texts()] for row in rows.all()]


def _no_adult_named(text: str, where: str) -> None:
    for name in ADULT_NAMES:
        surname = name.rsplit(" ", 1)[1]
        assert not re.search(rf"\b{re.escape(surname)}\b", text), f"{name} is named on {where}"


def _table_cells(page, table_id: str) -> dict[tuple[str, str], str]:
    """A table of figures as {(row heading, column heading): cell text}."""
    table = page.locator(f"#{table_id}")
    columns = [text.strip() for text in table.locator("thead th").all_inner_texts()][1:]
    cells = {}
    for row in table.locator("tbody tr").all():
        heading = row.locator("th").inner_text().strip()
        for column, value in zip(columns, row.locator("td").all_inner_texts(), strict=True):
            cells[(heading, column)] = value.strip()
    return cells


def _download(page, link):
    """Click a download link and read the file as a spreadsheet would (UTF-8 with a byte-order mark)."""
    with page.expect_download() as downloading:
        link.click()
    download = downloading.value
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    return download.suggested_filename, list(csv.reader(text.splitlines()))


# 1. Raise and escalate ------------------------------------------------------------------------

SERVICE = "Willow Court"
DISAGREEMENT = (
    "Willow Court's falls audit shows eleven falls at night last month, and the home has not reviewed its night "
    "checks or sensor mats since the ICB's visit."
)
WANTED = "A falls action plan for Willow Court with night checks and sensor mats, sent to the ICB within two weeks."
RESPONSE = "We have ordered eight more sensor mats and moved the night checks to every hour; the action plan follows."
REASON = "The response gives no date for the action plan, and falls at night are still rising."


def test_commissioner_escalates_a_service_riverside_answers_and_it_goes_to_stage_two(browser, live_server):
    commissioner = _signed_in(browser, live_server, COMMISSIONER, COMMISSIONER_ROLE)
    try:
        _click(commissioner, _link(_nav(commissioner), "Providers"))
        _click(commissioner, _link(commissioner, RIVERSIDE))
        _click(commissioner, _link(commissioner, SERVICE).first)
        expect(_heading(commissioner)).to_have_text(SERVICE)
        assert_accessible(commissioner, "Willow Court for the commissioner")
        service_url = commissioner.url.split("#")[0]

        _click(commissioner, _link(commissioner, "Escalate the quality of this service"))
        expect(_heading(commissioner)).to_have_text("Escalate a service's quality")
        expect(commissioner.locator("#escalated-thing")).to_have_text(f"{SERVICE}, {RIVERSIDE}")
        # Whom it usually goes to: the provider.
        receiving = commissioner.get_by_label("Which agency are you escalating to?")
        expect(receiving.locator("option:checked")).to_have_text(RIVERSIDE)
        assert_accessible(commissioner, "the escalation form")

        # Nothing typed: each question says what it needs.
        _click(commissioner, _button(commissioner, "Raise the escalation"))
        for message in ("Say what you disagree with", "Say what you want to happen", "Say whether harm is imminent"):
            expect(_errors(commissioner)).to_contain_text(message)
        expect(_heading(commissioner)).to_have_text("Escalate a service's quality")
        assert_accessible(commissioner, "the escalation form with errors")

        commissioner.get_by_label("What do you disagree with?").fill(DISAGREEMENT)
        commissioner.get_by_label("What do you want to happen?").fill(WANTED)
        _group(commissioner, "Is harm imminent?").get_by_label("No", exact=True).check()
        abuse_types = _group(commissioner, "Types of abuse or neglect this is about (optional)")
        abuse_types.get_by_label("Neglect and acts of omission").check()
        _group(commissioner, re.compile(r"^Which key questions")).get_by_label("Safe", exact=True).check()
        before = deadline_words(stage_deadline(utcnow(), 5, harm_imminent=False))
        _click(commissioner, _button(commissioner, "Raise the escalation"))
        after = deadline_words(stage_deadline(utcnow(), 5, harm_imminent=False))
        _no_errors(commissioner)
        banner = _success(commissioner).inner_text()
        reference = re.search(r"Escalation (ESC-\d+) has been raised", banner).group(1)
        deadline = before if before in banner else after
        assert re.fullmatch(r"5pm on \w+day \d{1,2} \w+ \d{4}", deadline), deadline
        assert f"{RIVERSIDE} has been told: they must respond by {deadline}." in banner, banner
        expect(_heading(commissioner)).to_contain_text(reference)
        expect(_heading(commissioner).locator(".govuk-tag")).to_have_text("Open")
        expect(_summary_value(commissioner, "Current stage")).to_have_text("Stage 1: Practitioner to practitioner")
        expect(_summary_value(commissioner, "Deadline")).to_have_text(f"Response due by {deadline}")
        expect(_summary_value(commissioner, "Urgency")).to_have_text("Harm is not imminent")
        expect(_summary_value(commissioner, "Escalated to")).to_have_text(RIVERSIDE)
        expect(_summary_value(commissioner, "About")).to_have_text(f"{SERVICE}, {RIVERSIDE}")
        expect(commissioner.locator("#stage-1 .govuk-tag")).to_have_text("Current stage")
        expect(commissioner.locator("#moves")).to_contain_text("Withdraw")
        expect(_button(commissioner, "Acknowledge the escalation")).to_have_count(0)
        assert_accessible(commissioner, "the new escalation for the commissioner")
        escalation_url = commissioner.url.split("#")[0]

        # It is listed on the service's page.
        commissioner.goto(service_url)
        expect(commissioner.locator("#escalations-table")).to_contain_text(reference)
    finally:
        commissioner.context.close()

    # Riverside's manager finds it waiting, acknowledges it and responds.
    manager = _signed_in(browser, live_server, PROVIDER_MANAGER)
    try:
        _click(manager, _link(_nav(manager), "Escalations"))
        expect(_heading(manager)).to_have_text("Escalations")
        waiting = manager.locator("#waiting tbody tr").filter(has_text=reference)
        expect(waiting).to_have_count(1)
        expect(waiting).to_contain_text(f"{ICB} to {RIVERSIDE}")
        expect(waiting).to_contain_text(deadline)
        assert_accessible(manager, "the manager's escalations")

        _click(manager, waiting.get_by_role("link", name=reference))
        assert manager.url.split("#")[0] == escalation_url
        expect(manager.locator("main")).to_contain_text(DISAGREEMENT)
        assert_accessible(manager, "the escalation for Riverside's manager")
        _click(manager, _button(manager, "Acknowledge the escalation"))
        expect(_success(manager)).to_contain_text("You have acknowledged the escalation.")
        expect(_heading(manager).locator(".govuk-tag")).to_have_text("Acknowledged")
        expect(manager.locator("#stage-1")).to_contain_text("Morgan Ellis")
        assert_accessible(manager, "the escalation once acknowledged")

        _click(manager, _link(manager, "Respond"))
        expect(_heading(manager)).to_have_text("Respond to the escalation")
        assert_accessible(manager, "the response form")
        _click(manager, _button(manager, "Send the response"))
        expect(_errors(manager)).to_contain_text("Enter your response")
        assert_accessible(manager, "the response form with an error")
        manager.get_by_label("Your agency's response").fill(RESPONSE)
        _click(manager, _button(manager, "Send the response"))
        _no_errors(manager)
        expect(_success(manager)).to_contain_text("Your response has been sent")
        expect(_heading(manager).locator(".govuk-tag")).to_have_text("Responded")
        expect(manager.locator("#stage-1")).to_contain_text(RESPONSE)
        assert_accessible(manager, "the escalation once answered")
    finally:
        manager.context.close()

    # Back to the commissioner: resolving needs the outcome; escalating needs a reason.
    commissioner = _signed_in(browser, live_server, COMMISSIONER, COMMISSIONER_ROLE)
    try:
        commissioner.goto(escalation_url)
        expect(_summary_value(commissioner, "Deadline")).to_contain_text("Responded at this stage")
        _click(commissioner, _link(commissioner, "Resolve"))
        expect(_heading(commissioner)).to_have_text("Resolve the escalation")
        expect(commissioner.locator("main")).to_contain_text(RESPONSE)
        assert_accessible(commissioner, "the resolve form")
        commissioner.get_by_label("What has been learned?").fill("Night falls need a date-bound plan.")
        _click(commissioner, _button(commissioner, "Resolve the escalation"))
        expect(_errors(commissioner)).to_contain_text("Enter the outcome both agencies agreed")
        expect(commissioner.get_by_label("What has been learned?")).to_have_value("Night falls need a date-bound plan.")
        assert_accessible(commissioner, "the resolve form with an error")
        _click(commissioner, _link(commissioner, "Cancel"))

        _click(commissioner, _link(commissioner, "Escalate to the next stage"))
        expect(_heading(commissioner)).to_have_text("Escalate to the next stage")
        expect(commissioner.locator("#next-stage")).to_contain_text("It goes to stage 2: First-line managers.")
        expect(commissioner.locator("#next-stage")).to_contain_text("Morgan Ellis")
        assert_accessible(commissioner, "the escalate form")
        _click(commissioner, _button(commissioner, "Escalate to the next stage"))
        expect(_errors(commissioner)).to_contain_text("Say why the response does not settle it")
        assert_accessible(commissioner, "the escalate form with an error")
        commissioner.get_by_label("Why does the response not settle it?").fill(REASON)
        before = deadline_words(stage_deadline(utcnow(), 5, harm_imminent=False))
        _click(commissioner, _button(commissioner, "Escalate to the next stage"))
        after = deadline_words(stage_deadline(utcnow(), 5, harm_imminent=False))
        _no_errors(commissioner)
        expect(_success(commissioner)).to_contain_text("The escalation has moved to stage 2.")
        expect(_heading(commissioner).locator(".govuk-tag")).to_have_text("Open")
        expect(_summary_value(commissioner, "Current stage")).to_have_text("Stage 2: First-line managers")
        assert _summary_value(commissioner, "Deadline").inner_text().strip() in {
            f"Response due by {before}", f"Response due by {after}"
        }

        # The ladder: stage 2 is current, stage 1 is over, stages 3 and 4 not reached.
        expect(commissioner.locator("#stage-2 h3 .govuk-tag")).to_have_text("Current stage")
        expect(commissioner.locator("#stage-1 h3 .govuk-tag")).to_have_count(0)
        expect(commissioner.locator("#stage-1")).to_contain_text("Escalated")
        for number in (3, 4):
            expect(commissioner.locator(f"#stage-{number} h3 .govuk-tag")).to_have_text("Not reached")

        # The timeline: every move, with who and when.
        today = format_date(london_today())
        timeline = _timeline(commissioner)
        assert [(what, who) for _, what, who, _ in timeline] == [
            ("Raised (stage 1)", f"Chris Patel, {ICB}"),
            ("Acknowledged (stage 1)", f"Morgan Ellis, {RIVERSIDE}"),
            ("Responded (stage 1)", f"Morgan Ellis, {RIVERSIDE}"),
            ("Escalated to the next stage (stage 1)", f"Chris Patel, {ICB}"),
        ], timeline
        for when, *_ in timeline:
            assert re.fullmatch(rf"{re.escape(today)} at \d{{1,2}}:\d{{2}}[ap]m", when), when
        assert DISAGREEMENT in timeline[0][3] and RESPONSE in timeline[2][3] and REASON in timeline[3][3]
        assert_accessible(commissioner, "the escalation at stage 2")
    finally:
        commissioner.context.close()


# 2. The Board's page --------------------------------------------------------------------------

MEDIATION_NOTE = (
    "Second meeting of all parties held. The police confirmed the likely dates; the rota check found no one else. "
    "The ICB and the council are to agree the waking-night checks between them by Friday."
)
MEDIATED = "Note from the Board's mediation"


def _stage_rows(page):
    """Each stage's open escalations, as (stage number, [(reference, breached, overdue text)])."""
    found = []
    for table in page.locator("table[id^=stage-][id$=-table]").all():
        number = int(re.search(r"stage-(\d+)-table", table.get_attribute("id")).group(1))
        rows = []
        for row in table.locator("tbody tr").all():
            tag = row.locator("td .govuk-tag--red")
            rows.append((row.locator("th a").inner_text(), tag.count() == 1, tag.inner_text() if tag.count() else None))
        found.append((number, rows))
    return found


def test_board_chair_sees_what_is_stuck_drills_down_mediates_and_downloads_the_figures(browser, live_server):
    chair = _signed_in(browser, live_server, CHAIR)
    try:
        _click(chair, _link(_nav(chair), "Board oversight"))
        expect(_heading(chair)).to_have_text("Board oversight of escalations")

        # Which are stuck: past their deadline first, in every stage, each saying so.
        stages = _stage_rows(chair)
        assert stages, "no open escalation is listed"
        breached = [row for _, rows in stages for row in rows if row[1]]
        assert breached, "the demo's breached escalations are not shown as breached"
        for number, rows in stages:
            flags = [is_breached for _, is_breached, _ in rows]
            assert flags == sorted(flags, reverse=True), f"stage {number}: the breached do not come first: {rows}"
        for reference, _, overdue in breached:
            assert overdue.startswith("Deadline passed"), (reference, overdue)
        expect(chair.locator("#summary-breached .govuk-heading-xl")).to_have_text(str(len(breached)))
        stage_3 = dict(stages)[3]
        assert stage_3[0][1], "Riverside House's night staffing (stage 3, breached) is not first at stage 3"
        expect(chair.locator(f"#open-{stage_3[0][0]}")).to_contain_text("Riverside House")

        # The charts are drawn, each beside a table with the same figures.
        canvases = chair.locator("canvas[data-chart]")
        expect(canvases).to_have_count(4)
        chair.wait_for_function(
            "() => Array.from(document.querySelectorAll('canvas[data-chart]'))"
            ".every(canvas => window.Chart && window.Chart.getChart(canvas))"
        )
        for table_id in ("open-by-stage", "by-agency", "by-abuse-type", "median-days"):
            expect(chair.locator(f"table#{table_id}")).to_have_count(1)
        drawn = chair.evaluate(
            "() => window.Chart.getChart(document.getElementById('chart-open-by-stage')).data.datasets.map(d => d.data)"
        )
        by_stage = _table_cells(chair, "open-by-stage")
        stage_names = [heading for heading, column in by_stage if column == "Open" and heading != "All stages"]
        assert len(stage_names) == 4
        assert drawn == [
            [int(by_stage[(name, "Past their deadline")]) for name in stage_names],
            [int(by_stage[(name, "Within deadline or answered")]) for name in stage_names],
        ]
        _no_adult_named(_main(chair), "the Board's oversight page")
        assert_accessible(chair, "the Board's oversight page")

        # A period with its end before its start: said, what was typed kept; then a valid one.
        today = london_today()
        dates = chair.locator("#choose-dates")
        _fill_date(dates, "First day of the period", today)
        _fill_date(dates, "Last day of the period", today - timedelta(days=30))
        _click(chair, _button(chair, "Show the figures for these dates"))
        expect(_errors(chair)).to_contain_text("The last day of the period must be the same as or after the first day")
        expect(chair.locator("#no-period")).to_be_visible()
        dates = chair.locator("#choose-dates")
        expect(_group(dates, "First day of the period").get_by_label("Day")).to_have_value(str(today.day))
        expect(_group(dates, "Last day of the period").get_by_label("Month")).to_have_value(
            str((today - timedelta(days=30)).month)
        )
        assert_accessible(chair, "the Board's oversight page with a wrong period")

        first = today - timedelta(days=364)
        _fill_date(dates, "First day of the period", first)
        _fill_date(dates, "Last day of the period", today)
        _click(chair, _button(chair, "Show the figures for these dates"))
        _no_errors(chair)
        label = f"{format_date(first)} to {format_date(today)}"
        expect(chair.locator("#period-label")).to_have_text(f"Figures for {label}")
        expect(canvases).to_have_count(4)
        assert_accessible(chair, "the Board's oversight page for a chosen period")

        # The figures as CSV hold what the page shows.
        totals = _table_cells(chair, "annual-totals")
        agencies = _table_cells(chair, "by-agency")
        name, rows = _download(chair, _link(chair, f"Download the figures for {label} as a spreadsheet (CSV)"))
        assert name == f"escalation-figures-{first.isoformat()}-to-{today.isoformat()}.csv"
        assert rows[0] == ["section", "category", "measure", "value"]
        values = {(section, category, measure): value for section, category, measure, value in rows[1:]}
        assert values[("period", "", "first_day")] == first.isoformat()
        assert values[("totals", "All escalations", "raised")] == totals[("Raised", "Number")]
        assert int(totals[("Raised", "Number")]) > 0
        assert values[("totals", "All escalations", "resolved")] == totals[("Resolved", "Number")]
        assert values[("raising_agency", ICB, "raised")] == agencies[(ICB, "Raised in the period")]
        assert values[("receiving_agency", RIVERSIDE, "received")] == agencies[(RIVERSIDE, "Received in the period")]
        _no_adult_named("\n".join(",".join(row) for row in rows), "the Board's CSV")

        # Down to the escalation at the meeting of all parties: no adult's name, none of their view.
        top_reference = dict(stages)[4][0][0]
        _click(chair, chair.locator("#stage-4-table").get_by_role("link", name=top_reference))
        expect(_heading(chair)).to_contain_text(top_reference)
        expect(_summary_value(chair, "Current stage")).to_have_text(
            "Stage 4: Meeting of all parties, with the Board's mediation"
        )
        # A concern by its reference alone, not a link: the Board may not open the concern.
        expect(_summary_value(chair, "About")).to_have_text(re.compile(r"^\s*Concern C-\d{4}-\d+\s*$"))
        expect(_summary_value(chair, "About").get_by_role("link")).to_have_count(0)
        page_text = chair.inner_text("body")
        _no_adult_named(page_text, f"{top_reference} for the Board's chair")
        assert not re.search(r"\bAlbert\b", page_text)
        assert ADVOCATES_VIEW not in page_text
        expect(chair.locator("#adult-view")).to_have_count(0)
        # The Board mediates; the agencies decide: no move is offered to the chair.
        expect(chair.locator("main").get_by_role("button")).to_have_count(0)
        for move in ("Respond", "Resolve", "Escalate to the next stage", "Withdraw"):
            expect(_link(chair, move)).to_have_count(0)
        expect(chair.locator("#mediation")).to_have_text("The Board's mediation")
        assert_accessible(chair, "the escalation at the top stage for the Board's chair")
        escalation_url = chair.url.split("#")[0]
        notes_before = sum(1 for _, what, _, _ in _timeline(chair) if what.startswith(MEDIATED))

        _click(chair, _link(chair, "Add a note from the mediation"))
        expect(_heading(chair)).to_have_text("Add a note from the mediation")
        assert_accessible(chair, "the mediation note form")
        _click(chair, _button(chair, "Add the note"))
        expect(_errors(chair)).to_contain_text("Enter the note")
        assert_accessible(chair, "the mediation note form with an error")
        chair.get_by_label("Note from the mediation").fill(MEDIATION_NOTE)
        _click(chair, _button(chair, "Add the note"))
        _no_errors(chair)
        assert chair.url.split("#")[0] == escalation_url
        expect(_success(chair)).to_contain_text("Your note has been added to the timeline.")
        when, what, who, details = _timeline(chair)[-1]
        assert (what, who, details) == (
            f"{MEDIATED} (stage 4)", "Charlie Osei, Northshire Safeguarding Adults Board", MEDIATION_NOTE,
        )
        assert when.startswith(format_date(today))
        notes = sum(1 for _, what, _, _ in _timeline(chair) if what.startswith(MEDIATED))
        assert notes == notes_before + 1
        assert_accessible(chair, "the escalation with the chair's note")
    finally:
        chair.context.close()


# 3. The report and its CSV --------------------------------------------------------------------

REPORT = "Making Safeguarding Personal and outcome figures"
SHOWN_TABLES = ("SG1", "SG2a", "SG3a", "SG4a")


def _anchor(code: str) -> str:
    return "table-" + code.lower().replace(" ", "-")


def _figures(page) -> list[str]:
    return [text.strip() for text in page.locator("main table td").all_inner_texts()]


def test_lead_reads_the_msp_report_applies_the_publication_rules_and_downloads_the_same_figures(browser, live_server):
    lead = _signed_in(browser, live_server, LEAD)
    try:
        _click(lead, _link(_nav(lead), "MSP report"))
        expect(_heading(lead)).to_have_text(REPORT)
        # The financial year to date: every table the return starts with has figures.
        expect(lead.locator("#figures")).to_have_text(
            f"Northshire: {format_date(financial_year_start(london_today()))} to {format_date(london_today())}"
        )
        for code in SHOWN_TABLES:
            expect(lead.locator(f"#{_anchor(code)} caption")).to_contain_text(f"{code}: ")
        sg1 = _table_cells(lead, _anchor("SG1"))
        assert set(sg1) == {("Number in the period", column)
                            for column in ("Safeguarding concerns", "Section 42 enquiries", "Other enquiries")}
        assert all(int(value) > 0 for value in sg1.values()), sg1
        for code in ("SG2a", "SG3a", "SG4a"):
            cells = _table_cells(lead, _anchor(code))
            assert sum(int(value) for value in cells.values()) > 0, (code, cells)
        assert_accessible(lead, "the MSP report, financial year to date")

        # The end before the start: said, with what was typed kept.
        today = london_today()
        _fill_date(lead, "Start date", today - timedelta(days=10))
        _fill_date(lead, "End date", today - timedelta(days=40))
        _click(lead, _button(lead, "Show the figures"))
        expect(_errors(lead)).to_contain_text("The end date must be the same as or after the start date")
        expect(lead.locator("main table")).to_have_count(0)
        expect(_group(lead, "End date").get_by_label("Day")).to_have_value(str((today - timedelta(days=40)).day))
        assert_accessible(lead, "the MSP report with the end before the start")

        # Twelve months: the last twelve whole months.
        end = today.replace(day=1) - timedelta(days=1)
        start = date(end.year, end.month + 1, 1) if end.month < 12 else date(end.year + 1, 1, 1)
        start = start.replace(year=start.year - 1)
        _fill_date(lead, "Start date", start)
        _fill_date(lead, "End date", end)
        _click(lead, _button(lead, "Show the figures"))
        _no_errors(lead)
        expect(lead.locator("#figures")).to_have_text(f"Northshire: {format_date(start)} to {format_date(end)}")
        raw = _figures(lead)
        assert raw and all(re.fullmatch(r"\d+", value) for value in raw)
        assert any(int(value) % 5 for value in raw), "every count is already a multiple of 5: rounding cannot be seen"
        assert_accessible(lead, "the MSP report for twelve months")

        lead.get_by_label("Apply the publication rules").check()
        _click(lead, _button(lead, "Show the figures"))
        _no_errors(lead)
        expect(lead.get_by_label("Apply the publication rules")).to_be_checked()
        expect(lead.locator("main .govuk-inset-text")).to_contain_text("The publication rules are applied")
        published = _figures(lead)
        assert len(published) == len(raw)
        for value in published:
            assert value == "[c]" or (re.fullmatch(r"\d+", value) and int(value) % 5 == 0), value
        assert "[c]" in published and any(value not in {"0", "[c]"} for value in published)
        assert_accessible(lead, "the MSP report with the publication rules")

        # The CSV holds what the page shows, cell for cell.
        page_cells = {code: _table_cells(lead, _anchor(code)) for code in (*SHOWN_TABLES, "SG2b location")}
        name, rows = _download(lead, _link(lead, "Download these figures as a spreadsheet (CSV)"))
        assert name == f"msp-outcomes-{start.isoformat()}-to-{end.isoformat()}-published.csv"
        assert rows[0] == ["Area", "Period start", "Period end", "Publication rules applied", "Table code", "Table",
                           "Row", "Column", "Value"]
        assert {tuple(row[:4]) for row in rows[1:]} == {("Northshire", start.isoformat(), end.isoformat(), "Yes")}
        for code, cells in page_cells.items():
            in_csv = {(row_label, column): value for _, _, _, _, table, _, row_label, column, value in rows[1:]
                      if table == code}
            assert in_csv == cells, code
    finally:
        lead.context.close()

    # Riverside's manager has no report: not in the navigation, and refused at its address.
    manager = _signed_in(browser, live_server, PROVIDER_MANAGER)
    try:
        expect(_link(_nav(manager), "MSP report")).to_have_count(0)
        expect(_link(_nav(manager), "Board oversight")).to_have_count(0)
        for path in ("/reports/msp", "/reports/msp.csv"):
            response = manager.goto(live_server.url + path)
            assert response.status == 403, path
        expect(_heading(manager)).to_have_text("You do not have permission to see this page")
        assert_accessible(manager, "the report refused to Riverside's manager")
    finally:
        manager.context.close()
