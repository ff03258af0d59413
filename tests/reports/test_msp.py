"""The MSP and outcome report: every cell for a known set of concerns (``conftest.py`` lists them
and why each is there), the publication rules, the CSV, the period, areas and who may see it.

The expected figures below were counted by hand from the concerns in ``conftest.py``; row labels
come from the code lists (so the order of the rows is checked too) and numbers are written out.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.core.codes import (
    AbuseType,
    ActionResult,
    MentalCapacity,
    MspAsked,
    OutcomesAchieved,
    PrimarySupportReason,
    RiskLocation,
    RiskOutcome,
    RiskSource,
    Sex,
)
from portal.extensions import db
from portal.reports.msp import Period, _summer_time_spans, build_report, financial_year_start, publish
from tests.intelligence.pages import table_rows, visible_text
from tests.reports.conftest import ADULTS, PERIOD

C = "[c]"
AGE_BANDS = ["18-64", "65-74", "75-84", "85-94", "95+", "Age not known"]
SG1_HEAD = ["Safeguarding concerns", "Section 42 enquiries", "Other enquiries"]
ENQUIRY_HEAD = ["Section 42 enquiries", "Other enquiries", "Total"]
ASKED_HEAD = [m.label for m in MspAsked] + ["Total"]


def labels(code_list, *extra: str) -> list[str]:
    return [member.label for member in code_list] + list(extra)


def table(heading: str, columns: list[str], row_labels: list[str], counts: list[list], total=None) -> list[list[str]]:
    """A table as the page shows it: the header row, then each row's label and cells, then the total row."""
    rows = [[heading, *columns]]
    rows += [[label, *map(str, cells)] for label, cells in zip(row_labels, counts, strict=True)]
    if total is not None:
        rows.append([total[0], *map(str, total[1:])])
    return rows


def enquiries(heading, row_labels, counts, total):
    return table(heading, ENQUIRY_HEAD, row_labels, counts, total)


# The return for the known concerns, counted by hand ---------------------------------------------------

EXPECTED = {
    "table-sg1": table("Measure", SG1_HEAD, ["Number in the period"], [[16, 9, 4]]),
    "table-sg1-age": table("Age band", SG1_HEAD, AGE_BANDS, [
        [1, 1, 1],  # C3; C11 (64 on 31 March, its London date of raising); C3
        [3, 2, 0],  # C1, C2 (65 on the day, 00:30 BST), C15; C1, C2
        [4, 2, 1],  # C4, C10 (84: 31 October in GMT), C14, C20; C4, C14; C20
        [2, 1, 0],  # C5, C17; C5
        [2, 1, 1],  # C6, C16; C16; C6
        [4, 2, 1],  # C7, C8, C9 (16), C18; C7, C9; C8
    ], ["Total", 16, 9, 4]),
    "table-sg1-sex": table("Sex", SG1_HEAD, labels(Sex), [
        [5, 2, 2],
        [7, 5, 1],
        [4, 2, 1],
    ], ["Total", 16, 9, 4]),
    "table-sg1-support-reason": table("Primary support reason", SG1_HEAD, labels(PrimarySupportReason), [
        [2, 2, 0],  # Physical: C2, C15; C2, C11
        [2, 1, 1],  # Sensory: C6, C16
        [1, 0, 1],  # Memory and cognition: C3
        [2, 2, 0],  # Learning disability: C4, C14
        [2, 1, 0],  # Mental health: C5, C17
        [1, 1, 0],  # Social: C9
        [2, 0, 1],  # No support reason: C10, C20
        [4, 2, 1],  # Not known: C1 (recorded so), C7, C8, C18
    ], ["Total", 16, 9, 4]),
    "table-sg2a": enquiries("Type of risk", labels(AbuseType, "Not recorded"), [
        [2, 1, 3],  # Physical: C1, C9; C12
        [0, 1, 1],  # Sexual: C3
        [0, 1, 1],  # Psychological: C3
        [1, 0, 1],  # Financial: C2
        [1, 0, 1],  # Discriminatory: C5
        [1, 0, 1],  # Organisational: C4
        [1, 1, 2],  # Neglect: C1; C12
        [0, 1, 1],  # Domestic: C3
        [0, 1, 1],  # Sexual exploitation: C6
        [0, 1, 1],  # Modern slavery: C6
        [1, 0, 1],  # Self-neglect: C7
        [0, 1, 1],  # none recorded: C8
    ], ["Concluded enquiries", 6, 4, 10]),
    "table-sg2b-location": enquiries("Location of risk", labels(RiskLocation, "Not recorded"), [
        [1, 0, 1], [0, 1, 1], [0, 1, 1], [1, 0, 1], [1, 0, 1], [1, 0, 1], [0, 1, 1], [1, 0, 1], [0, 1, 1],
        [1, 0, 1],  # C9
    ], ["Concluded enquiries", 6, 4, 10]),
    "table-sg2b-source": enquiries("Source of risk", labels(RiskSource, "Not recorded"), [
        [3, 0, 3],  # C2, C4, C9
        [3, 1, 4],  # C1, C5, C7; C12
        [0, 2, 2],  # C3, C8
        [0, 1, 1],  # C6
    ], ["Concluded enquiries", 6, 4, 10]),
    "table-sg2c": enquiries("Action and result", labels(ActionResult, "Not recorded"), [
        [2, 1, 3], [1, 0, 1], [0, 1, 1], [1, 0, 1], [1, 0, 1], [0, 1, 1], [1, 0, 1],
        [0, 1, 1],  # C8
    ], ["Concluded enquiries", 6, 4, 10]),
    "table-sg2e": enquiries("Risk outcome", labels(RiskOutcome, "Not recorded"), [
        [1, 1, 2],  # removed: C9; C3
        [1, 1, 2],  # reduced: C1; C12
        [1, 0, 1],  # remained: C2
        [3, 2, 5],  # C4, C5, C7; C6, C8
    ], ["Concluded enquiries", 6, 4, 10]),
    "table-sg3a": enquiries("Lacked capacity", labels(MentalCapacity), [
        [2, 2, 4],  # C1, C2; C3, C8
        [2, 1, 3],  # C4, C9; C12
        [1, 0, 1],  # C5
        [1, 1, 2],  # C7 (left empty); C6 (recorded as not recorded)
    ], ["Concluded enquiries", 6, 4, 10]),
    "table-sg3a-support": enquiries("Support provided", ["Yes", "No"], [
        [2, 1, 3],  # C1 (advocate), C2 (appropriate person); C8 (both). C4's advocate: it did not lack capacity
        [0, 1, 1],  # C3
    ], ["Lacked capacity", 2, 2, 4]),
    "table-sg4a": enquiries("Asked about desired outcomes", labels(MspAsked), [
        [3, 2, 5],  # C1, C2, C4; C3, C12
        [1, 0, 1],  # C5
        [0, 1, 1],  # C6
        [1, 0, 1],  # C7
        [1, 1, 2],  # C9 (left empty); C8
    ], ["Concluded enquiries", 6, 4, 10]),
    "table-sg4a-outcomes": enquiries("Outcomes achieved", labels(OutcomesAchieved, "Not recorded"), [
        [1, 1, 2],  # C1; C12 (C5's answer does not count: no outcomes were expressed)
        [1, 0, 1],  # C2
        [0, 1, 1],  # C3
        [1, 0, 1],  # C4
    ], ["Outcomes expressed", 3, 2, 5]),
    "table-sg4a-age": table("Age band", ASKED_HEAD, AGE_BANDS, [
        [1, 0, 0, 0, 0, 1],  # C3
        [2, 0, 0, 0, 0, 2],  # C1, C2
        [1, 0, 0, 0, 0, 1],  # C4
        [1, 1, 0, 0, 0, 2],  # C12 (85 when raised in December 2025); C5
        [0, 0, 1, 0, 0, 1],  # C6
        [0, 0, 0, 1, 2, 3],  # C7; C8, C9
    ], ["Concluded enquiries", 5, 1, 1, 1, 2, 10]),
    "table-sg4a-sex": table("Sex", ASKED_HEAD, labels(Sex), [
        [1, 1, 0, 0, 0, 2],
        [4, 0, 1, 0, 0, 5],
        [0, 0, 0, 1, 2, 3],
    ], ["Concluded enquiries", 5, 1, 1, 1, 2, 10]),
    "table-sg4a-support-reason": table("Primary support reason", ASKED_HEAD, labels(PrimarySupportReason), [
        [1, 0, 0, 0, 0, 1],  # C2
        [0, 0, 1, 0, 0, 1],  # C6
        [1, 0, 0, 0, 0, 1],  # C3
        [1, 0, 0, 0, 0, 1],  # C4
        [1, 1, 0, 0, 0, 2],  # C12; C5
        [0, 0, 0, 0, 1, 1],  # C9
        [0, 0, 0, 0, 0, 0],
        [1, 0, 0, 1, 1, 3],  # C1; C7; C8
    ], ["Concluded enquiries", 5, 1, 1, 1, 2, 10]),
}

#: The same concerns and six more concluded s42 enquiries alike (no adult; physical; own home; known;
#: risk identified, action taken; risk reduced; did not lack capacity; expressed, fully achieved),
#: with the publication rules: the raw count is in each comment where it is 5 or more.
PUBLISHED = {
    "table-sg1": table("Measure", SG1_HEAD, ["Number in the period"], [[20, 15, C]]),  # 22, 15
    "table-sg1-age": table("Age band", SG1_HEAD, AGE_BANDS, [
        [C, C, C], [C, C, 0], [C, C, C], [C, C, 0], [C, C, C],
        [10, 10, C],  # 10, 8
    ], ["Total", 20, 15, C]),
    "table-sg1-sex": table("Sex", SG1_HEAD, labels(Sex), [
        [5, C, C],  # 5
        [5, 5, C],  # 7, 5
        [10, 10, C],  # 10, 8
    ], ["Total", 20, 15, C]),
    "table-sg1-support-reason": table("Primary support reason", SG1_HEAD, labels(PrimarySupportReason), [
        [C, C, 0], [C, C, C], [C, 0, C], [C, C, 0], [C, C, 0], [C, C, 0], [C, 0, C],
        [10, 10, C],  # 10, 8
    ], ["Total", 20, 15, C]),
    "table-sg2a": enquiries("Type of risk", labels(AbuseType, "Not recorded"), [
        [10, C, 10],  # 8, 9
        [0, C, C], [0, C, C], [C, 0, C], [C, 0, C], [C, 0, C], [C, C, C], [0, C, C], [0, C, C], [0, C, C],
        [C, 0, C], [0, C, C],
    ], ["Concluded enquiries", 10, C, 15]),  # 12, 16
    "table-sg2b-location": enquiries("Location of risk", labels(RiskLocation, "Not recorded"), [
        [5, 0, 5],  # 7, 7
        [0, C, C], [0, C, C], [C, 0, C], [C, 0, C], [C, 0, C], [0, C, C], [C, 0, C], [0, C, C], [C, 0, C],
    ], ["Concluded enquiries", 10, C, 15]),
    "table-sg2b-source": enquiries("Source of risk", labels(RiskSource, "Not recorded"), [
        [C, 0, C],
        [10, C, 10],  # 9, 10
        [0, C, C],
        [0, C, C],
    ], ["Concluded enquiries", 10, C, 15]),
    "table-sg2c": enquiries("Action and result", labels(ActionResult, "Not recorded"), [
        [10, C, 10],  # 8, 9
        [C, 0, C], [0, C, C], [C, 0, C], [C, 0, C], [0, C, C], [C, 0, C], [0, C, C],
    ], ["Concluded enquiries", 10, C, 15]),
    "table-sg2e": enquiries("Risk outcome", labels(RiskOutcome, "Not recorded"), [
        [C, C, C],
        [5, C, 10],  # 7, 8
        [C, 0, C],
        [C, C, 5],  # 5
    ], ["Concluded enquiries", 10, C, 15]),
    "table-sg3a": enquiries("Lacked capacity", labels(MentalCapacity), [
        [C, C, C],
        [10, C, 10],  # 8, 9
        [C, 0, C],
        [C, C, C],
    ], ["Concluded enquiries", 10, C, 15]),
    "table-sg3a-support": enquiries("Support provided", ["Yes", "No"], [[C, C, C], [0, C, C]], ["Lacked capacity", C, C, C]),
    "table-sg4a": enquiries("Asked about desired outcomes", labels(MspAsked), [
        [10, C, 10],  # 9, 11
        [C, 0, C], [0, C, C], [C, 0, C], [C, C, C],
    ], ["Concluded enquiries", 10, C, 15]),
    "table-sg4a-outcomes": enquiries("Outcomes achieved", labels(OutcomesAchieved, "Not recorded"), [
        [5, C, 10],  # 7, 8
        [C, 0, C], [0, C, C], [C, 0, C],
    ], ["Outcomes expressed", 10, C, 10]),  # 9, 11
    "table-sg4a-age": table("Age band", ASKED_HEAD, AGE_BANDS, [
        [C, 0, 0, 0, 0, C], [C, 0, 0, 0, 0, C], [C, 0, 0, 0, 0, C], [C, C, 0, 0, 0, C], [0, 0, C, 0, 0, C],
        [5, 0, 0, C, C, 10],  # 6, 9
    ], ["Concluded enquiries", 10, C, C, C, C, 15]),  # 11, 16
    "table-sg4a-sex": table("Sex", ASKED_HEAD, labels(Sex), [
        [C, C, 0, 0, 0, C],
        [C, 0, C, 0, 0, 5],  # 5
        [5, 0, 0, C, C, 10],  # 6, 9
    ], ["Concluded enquiries", 10, C, C, C, C, 15]),
    "table-sg4a-support-reason": table("Primary support reason", ASKED_HEAD, labels(PrimarySupportReason), [
        [C, 0, 0, 0, 0, C], [0, 0, C, 0, 0, C], [C, 0, 0, 0, 0, C], [C, 0, 0, 0, 0, C], [C, C, 0, 0, 0, C],
        [0, 0, 0, 0, C, C], [0, 0, 0, 0, 0, 0],
        [5, 0, 0, C, C, 10],  # 7, 9
    ], ["Concluded enquiries", 10, C, C, C, C, 15]),
}


def _tables_on(page: str) -> dict[str, list[list[str]]]:
    return {anchor: table_rows(page, anchor) for anchor in EXPECTED}


@pytest.fixture
def as_lead(known_concerns, act_as):
    return act_as(known_concerns.users["lead"])


# Each cell -----------------------------------------------------------------------------------------


def test_every_cell_of_the_return_is_counted_as_by_hand(as_lead):
    page = as_lead.get("/reports/msp", query_string=PERIOD)
    assert page.status_code == 200
    tables = _tables_on(page.text)
    for anchor, expected in EXPECTED.items():
        assert tables[anchor] == expected, anchor
    # The page has exactly these tables: none missing from the check above.
    assert page.text.count('<table class="govuk-table') == len(EXPECTED)


def test_the_publication_rules_round_to_five_suppress_one_to_four_and_round_totals_on_their_own(
        six_more_enquiries, act_as):
    client = act_as(six_more_enquiries.users["lead"])
    page = client.get("/reports/msp", query_string={**PERIOD, "publication_rules": "y"}).text
    tables = _tables_on(page)
    for anchor, expected in PUBLISHED.items():
        assert tables[anchor] == expected, anchor
    assert "rounded rows may not add up to the rounded total" in visible_text(page)
    # Without the rules, the same concerns show their counts.
    raw = _tables_on(client.get("/reports/msp", query_string=PERIOD).text)
    assert raw["table-sg2b-location"][1] == ["Own Home", "7", "0", "7"]
    assert raw["table-sg2a"][-1] == ["Concluded enquiries", "12", "4", "16"]


@pytest.mark.parametrize(("count", "shown"), [
    (0, "0"), (1, C), (2, C), (4, C), (5, "5"), (6, "5"), (7, "5"), (8, "10"), (12, "10"), (13, "15"), (102, "100"),
    (103, "105"),
])
def test_a_published_count_is_rounded_to_the_nearest_five(count, shown):
    assert publish(count) == shown


def test_board_members_and_the_chair_see_the_same_figures_as_the_lead(known_concerns, act_as):
    for who in ("board_member", "chair"):
        client = act_as(known_concerns.users[who])
        tables = _tables_on(client.get("/reports/msp", query_string=PERIOD).text)
        assert tables == EXPECTED, who


def test_another_areas_concerns_are_not_counted_and_it_sees_only_its_own(known_concerns, act_as):
    client = act_as(known_concerns.users["other_lead"])
    tables = _tables_on(client.get("/reports/msp", query_string=PERIOD).text)
    assert tables["table-sg1"][1] == ["Number in the period", "1", "1", "0"]
    assert tables["table-sg2a"][1] == ["Physical Abuse", "1", "0", "1"]
    assert tables["table-sg2a"][-1] == ["Concluded enquiries", "1", "0", "1"]
    assert tables["table-sg1-sex"][1] == ["Male", "1", "1", "0"]


def test_the_page_says_how_the_figures_are_counted(as_lead):
    text = visible_text(as_lead.get("/reports/msp", query_string=PERIOD).text)
    assert "How these figures are counted" in text
    assert "an enquiry counts once under each of its types of risk" in text
    assert "SG2a: concluded enquiries by type of risk" in text
    assert "Reportshire: 1 April 2026 to 31 October 2026" in text
    assert "The publication rules are applied" not in text


# The CSV -----------------------------------------------------------------------------------------


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def _page_cells(page: str) -> set[tuple[str, str, str]]:
    cells = set()
    for anchor, rows in _tables_on(page).items():
        columns = rows[0][1:]
        for row in rows[1:]:
            cells |= {(anchor, row[0], f"{column}={value}") for column, value in zip(columns, row[1:], strict=True)}
    return cells


@pytest.mark.parametrize("rules", [False, True])
def test_the_csv_holds_exactly_the_cells_of_the_page(six_more_enquiries, act_as, rules):
    client = act_as(six_more_enquiries.users["lead"])
    query = {**PERIOD, **({"publication_rules": "y"} if rules else {})}
    page = client.get("/reports/msp", query_string=query).text
    rows = _csv(client.get("/reports/msp.csv", query_string=query))
    from_csv = {("table-" + row["Table code"].lower().replace(" ", "-"), row["Row"], f"{row['Column']}={row['Value']}")
                for row in rows}
    assert len(from_csv) == len(rows)
    assert from_csv == _page_cells(page)
    assert {(row["Area"], row["Period start"], row["Period end"], row["Publication rules applied"]) for row in rows} == {
        ("Reportshire", "2026-04-01", "2026-10-31", "Yes" if rules else "No")}


def test_the_csv_is_a_tidy_download_named_after_its_period(as_lead):
    response = as_lead.get("/reports/msp.csv", query_string={**PERIOD, "publication_rules": "y"})
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="msp-outcomes-2026-04-01-to-2026-10-31-published.csv"')
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["Area", "Period start", "Period end", "Publication rules applied", "Table code", "Table", "Row",
                       "Column", "Value"]
    assert rows[1] == ["Reportshire", "2026-04-01", "2026-10-31", "Yes", "SG1",
                       "safeguarding concerns and enquiries in the period", "Number in the period",
                       "Safeguarding concerns", "15"]
    assert ["Reportshire", "2026-04-01", "2026-10-31", "Yes", "SG3a support",
            "adults who lacked capacity: support from an advocate, family or friend", "No", "Other enquiries",
            C] in rows


def test_the_page_links_to_the_csv_of_the_same_period_and_rules(as_lead):
    page = as_lead.get("/reports/msp", query_string={**PERIOD, "publication_rules": "y"}).text
    assert ('href="/reports/msp.csv?start=1&amp;start=4&amp;start=2026&amp;end=31&amp;end=10&amp;end=2026'
            '&amp;publication_rules=y"') in page


# No personal data ----------------------------------------------------------------------------------


def test_no_adults_name_nhs_number_or_date_of_birth_is_in_the_page_or_the_csv(as_lead):
    page = as_lead.get("/reports/msp", query_string=PERIOD).text
    download = as_lead.get("/reports/msp.csv", query_string=PERIOD).data.decode("utf-8-sig")
    for name, _sex, _psr, born, nhs_number in ADULTS.values():
        for text in (page, download):
            assert name not in text
            assert name.split()[1] not in text
            if nhs_number:
                assert nhs_number not in text
            if born:
                assert born.isoformat() not in text
                assert f"{born.day} {born:%B %Y}" not in text
    for text in (page, download):
        assert "Otto Otherarea" not in text and "1 Secret Lane" not in text and "RS1 1AA" not in text


# The period ----------------------------------------------------------------------------------------


IN_A_MONTH = datetime.now(ZoneInfo("Europe/London")).date() + timedelta(days=30)


def _parts(day: date) -> list[str]:
    return [str(day.day), str(day.month), str(day.year)]


@pytest.mark.parametrize(("query", "message", "anchor"), [
    ({"start": ["1", "11", "2026"], "end": ["31", "10", "2026"]},
     "The end date must be the same as or after the start date", "end-day"),
    ({"start": ["", "", ""], "end": ["31", "10", "2026"]}, "Enter the start date", "start-day"),
    ({"start": ["1", "4", "2026"], "end": ["", "", ""]}, "Enter the end date", "end-day"),
    ({"start": ["1", "", "2026"], "end": ["31", "10", "2026"]}, "Start date must include a month", "start-day"),
    ({"start": ["31", "2", "2026"], "end": ["31", "10", "2026"]}, "Start date must be a real date", "start-day"),
    ({"start": ["1", "4", "2026"], "end": ["1", "13", "2026"]}, "End date must be a real date", "end-day"),
    ({"start": _parts(IN_A_MONTH), "end": _parts(IN_A_MONTH)}, "The start date must be today or in the past",
     "start-day"),
    ({"start": ["1", "4", "2026"], "end": ["31", "12", "9999"]}, "The end date must be within a year from today",
     "end-day"),
])
def test_a_bad_period_is_explained_in_an_error_summary_with_what_was_typed_kept(as_lead, query, message, anchor):
    response = as_lead.get("/reports/msp", query_string=query)
    assert response.status_code == 200
    page = response.text
    assert "There is a problem" in page
    assert f'<a href="#{anchor}">{message}</a>' in page
    assert "<title>Error: " in page
    assert "Correct the problem above to see the figures" in visible_text(page)
    assert "govuk-table" not in page
    for name, parts in query.items():
        for part, box in zip(parts, ("day", "month", "year"), strict=True):
            assert f'id="{name}-{box}" name="{name}" type="text" value="{part}"' in page


def test_a_csv_for_a_bad_period_goes_back_to_the_page_which_says_why(as_lead):
    query = {"start": ["1", "11", "2026"], "end": ["31", "10", "2026"]}
    response = as_lead.get("/reports/msp.csv", query_string=query)
    assert response.status_code == 302
    page = as_lead.get(response.headers["Location"]).text
    assert "The end date must be the same as or after the start date" in page


def test_without_a_period_the_report_covers_the_financial_year_to_date(as_lead):
    today = datetime.now(ZoneInfo("Europe/London")).date()
    start = date(today.year if today.month >= 4 else today.year - 1, 4, 1)
    page = as_lead.get("/reports/msp").text
    assert 'id="start-day" name="start" type="text" value="1"' in page
    assert 'id="start-month" name="start" type="text" value="4"' in page
    assert f'id="start-year" name="start" type="text" value="{start.year}"' in page
    assert f'id="end-day" name="end" type="text" value="{today.day}"' in page
    assert f'id="end-year" name="end" type="text" value="{today.year}"' in page
    assert f"Reportshire: 1 April {start.year} to {today.day} {today:%B %Y}" in visible_text(page)


def test_the_financial_year_starts_on_the_first_of_april():
    assert financial_year_start(date(2026, 4, 1)) == date(2026, 4, 1)
    assert financial_year_start(date(2027, 3, 31)) == date(2026, 4, 1)
    assert financial_year_start(date(2026, 11, 22)) == date(2026, 4, 1)


def test_a_single_day_period_counts_that_day_in_england(as_lead):
    """1 April 2026 (BST): from 23:00 UTC on 31 March. C1 was raised at its first instant; C11 a second before."""
    page = as_lead.get("/reports/msp", query_string={"start": ["1", "4", "2026"], "end": ["1", "4", "2026"]}).text
    tables = _tables_on(page)
    assert tables["table-sg1"][1] == ["Number in the period", "1", "1", "0"]  # C1 raised; C11 started an s42
    assert tables["table-sg2a"][-1] == ["Concluded enquiries", "0", "1", "1"]  # C12 closed at 23:00 UTC


# Who may see it, and the audit trail ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["administrator", "commissioner", "provider_staff", "provider_manager", "inspector",
                                 "police_lead"])
def test_people_who_may_not_produce_the_report_are_refused(known_concerns, act_as, who):
    client = act_as(known_concerns.users[who])
    assert client.get("/reports/msp", query_string=PERIOD).status_code == 403
    assert client.get("/reports/msp.csv", query_string=PERIOD).status_code == 403


def test_someone_not_signed_in_is_asked_to_sign_in(client, known_concerns):
    for url in ("/reports/msp", "/reports/msp.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_each_showing_and_download_is_audited_with_its_period_and_rules(as_lead, known_concerns):
    def events():
        return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "report.msp")
                                  .order_by(AuditEvent.seq)).all()

    as_lead.get("/reports/msp", query_string=PERIOD)
    as_lead.get("/reports/msp.csv", query_string={**PERIOD, "publication_rules": "y"})
    as_lead.get("/reports/msp", query_string={"start": ["1", "11", "2026"], "end": ["31", "10", "2026"]})
    page, download = events()
    assert page.actor_id == download.actor_id == known_concerns.users["lead"].id
    assert json.loads(page.details) == {"area_id": known_concerns.area.id, "start": "2026-04-01", "end": "2026-10-31",
                                        "publication_rules": False, "format": "page"}
    assert json.loads(download.details)["publication_rules"] is True
    assert json.loads(download.details)["format"] == "CSV"
    assert "2026-04-01 to 2026-10-31, with the publication rules" in download.summary


# How it counts -----------------------------------------------------------------------------------


def test_the_report_is_a_handful_of_queries_however_many_concerns(known_concerns, db_session):
    period, area_id = Period(date(2026, 4, 1), date(2026, 10, 31)), known_concerns.area.id

    def statements() -> int:
        seen = []

        def note(conn, cursor, statement, *args):
            seen.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", note)
        try:
            build_report(area_id, period)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", note)
        return len([statement for statement in seen if statement.startswith("SELECT")])

    few = statements()
    from tests.reports.conftest import add_concern, utc

    for day in range(1, 29):
        add_concern(db_session, known_concerns.area, utc(2026, 6, day, 12))
    db_session.commit()
    assert statements() == few <= 7


def test_british_summer_time_spans_come_from_the_time_zone_database():
    spans = dict(_summer_time_spans(1990, 2027))
    assert spans[datetime(2026, 3, 29, 1, tzinfo=UTC)] == datetime(2026, 10, 25, 1, tzinfo=UTC)
    assert spans[datetime(1995, 3, 26, 1, tzinfo=UTC)] == datetime(1995, 10, 22, 1, tzinfo=UTC)
    assert len(spans) == 38
