"""The Board's oversight page and the annual report's escalation figures.

``board_set`` builds a known set of escalations in Intelshire through the real operations (once for
the module: each test reads it in a savepoint rolled back afterwards), each move placed in time with
``now=``; the page is then read on Friday 20 November 2026 at noon (GMT,
so London time too). Every figure the tests expect is worked out by hand in the fixture's notes.

Working days around it (no bank holidays in November 2026): Mon 2 – Fri 6, Mon 9 – Fri 13,
Mon 16 – Fri 20, Mon 23 – Fri 27 November.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import time_machine

from portal.audit.models import AuditEvent
from portal.core.codes import AbuseType, AgencyKind, KeyQuestion, Role, ServiceType
from portal.core.workdays import working_days_between
from portal.escalations import operations as ops
from portal.escalations import oversight
from portal.escalations.models import (
    Escalation,
    EscalationAbuseType,
    EscalationStage,
    EscalationState,
    EscalationSubject,
    StageOutcome,
    ViewGivenBy,
)
from portal.extensions import db
from tests.conftest import register_world, world_part
from tests.escalations.conftest import MONDAY, as_acting, raise_escalation
from tests.intelligence.conftest import build_intel_world
from tests.intelligence.pages import chart_data, table_rows, text_of, visible_text
from tests.meetings.conftest import raise_adult_concern

#: When the page is read: Friday 20 November 2026, noon.
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

ADULT_NAME = "Jo Example"
ADULT_VIEW = "Jo would rather the money was looked into by the council than by the home."


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def build_board_set(make, intel_world):
    """Eight escalations in Intelshire and one elsewhere.

    ======  =========================================  ===========================================
    A       council commissioner → Sunrise, Sunrise     raised Mon 9 Nov; stage 1 due Mon 16 Nov 5pm,
            House (domiciliary), neglect, safe          unanswered; the portal moved it to stage 2 at
                                                        Wed 18 Nov 5.30pm (due Wed 25 Nov, moves up
                                                        by itself Fri 27 Nov 5pm)
    B       council lead → Moonlight, Moonlight Lodge   raised Wed 11 Nov; due Wed 18 Nov, unanswered
            (domiciliary), neglect + organisational     (breached; moves up by itself Fri 20 Nov 5pm)
    C       Sunrise manager → council, about the adult  raised Mon 16 Nov 10am, harm imminent: due
            concern (financial), safe                   the same day 5pm, unanswered (breached);
                                                        the adult's view recorded
    D       ICB commissioner → Moonlight, Moonlight     raised Tue 10 Nov; acknowledged Wed 11,
            Court (care home with nursing),             answered Thu 12 (2 working days), escalated
            organisational, safe + well-led             Fri 13 (3 working days); stage 2 due Fri 20 5pm
    E       council commissioner → Sunrise, the         raised Mon 2 Nov; answered Wed 4 (2), resolved
            provider as a whole, neglect, safe          Thu 5 (3) with outcome and learning
    F       ICB commissioner → council, disagreement,   raised Thu 12 Nov, withdrawn Fri 13 (1)
            responsive
    G       council commissioner → Sunrise, Sunrise     raised Wed 1 Jul; answered Fri 3 Jul (2),
            House, physical, safe                       resolved Fri 10 Jul (7): last quarter
    H       council commissioner → Sunrise, sexual      raised and resolved in February 2026: the
                                                        financial year before
    X       in another area                             never shown
    ======  =========================================  ===========================================
    """
    users = intel_world.users
    raise_about = functools.partial(raise_escalation, intel_world)
    adult_concern = raise_adult_concern(intel_world)
    court = make.service(intel_world.moonlight, service_type=ServiceType.CARE_HOME_NURSING, name="Moonlight Court")
    commissioner, lead, manager = as_acting(users.council_commissioner), as_acting(users.lead), as_acting(users.manager)
    icb, moon = as_acting(users.icb_commissioner), as_acting(users.other_manager)

    a = raise_about(by=commissioner, abuse_types=(AbuseType.NEGLECT,), now=MONDAY)
    b = raise_about(by=lead, to=intel_world.moonlight, service=intel_world.elsewhere,
                    abuse_types=(AbuseType.NEGLECT, AbuseType.ORGANISATIONAL), now=at(11))
    # Only A is past its grace period then (B's ends on Friday 20 November at 5pm).
    assert ops.escalate_overdue(now=at(18, 17, 30)) == 1

    c = raise_about(by=manager, subject=EscalationSubject.CONCERN, concern=adult_concern, to=intel_world.council,
                    harm_imminent=True, now=at(16))
    ops.record_adult_view(c, ADULT_VIEW, ViewGivenBy.ADULT, by=lead, now=at(16, 11))

    d = raise_about(by=icb, to=intel_world.moonlight, service=court, abuse_types=(AbuseType.ORGANISATIONAL,),
                    key_questions=(KeyQuestion.SAFE, KeyQuestion.WELL_LED), now=at(10))
    ops.acknowledge(d, by=moon, now=at(11))
    ops.respond(d, "We have reviewed the rota and see no gap.", by=moon, now=at(12))
    ops.escalate(d, "The rota still leaves one carer at night.", by=icb, now=at(13))

    e = raise_about(by=commissioner, subject=EscalationSubject.PROVIDER, provider=intel_world.sunrise,
                    abuse_types=(AbuseType.NEGLECT,), now=at(2))
    ops.acknowledge(e, by=manager, now=at(3))
    ops.respond(e, "We will review the night staffing.", by=manager, now=at(4))
    ops.resolve(e, "A night staffing review by the end of the month", "Share the falls policy with night staff at induction",
                by=commissioner, now=at(5))

    f = raise_about(by=icb, subject=EscalationSubject.DISAGREEMENT, to=intel_world.council,
                    key_questions=(KeyQuestion.RESPONSIVE,), now=at(12))
    ops.withdraw(f, "Settled by telephone", by=icb, now=at(13))

    g = raise_about(by=commissioner, abuse_types=(AbuseType.PHYSICAL,), now=at(1, 9, month=7))
    ops.acknowledge(g, by=manager, now=at(2, 9, month=7))
    ops.respond(g, "Bruising was explained in the care plan.", by=manager, now=at(3, 9, month=7))
    ops.resolve(g, "Body maps to be used on every shift", "Body maps make bruising easier to explain",
                by=commissioner, now=at(10, 9, month=7))

    h = raise_about(by=commissioner, abuse_types=(AbuseType.SEXUAL,), now=at(2, month=2))
    ops.acknowledge(h, by=manager, now=at(3, month=2))
    ops.respond(h, "We have suspended the worker.", by=manager, now=at(4, month=2))
    ops.resolve(h, "Referral to the barring service", "Check references twice", by=commissioner, now=at(5, month=2))

    elsewhere = make.area("Otherton")
    other_council = make.agency(AgencyKind.LOCAL_AUTHORITY, area=elsewhere, name="Otherton Council")
    other_provider = make.agency(AgencyKind.CARE_PROVIDER, area=elsewhere, name="Otherton Care")
    other_service = make.service(other_provider, name="Otherton Grange")
    other_commissioner = make.user(Role.COMMISSIONER, agency=other_council, email="oc@otherton.example")
    x = raise_about(by=other_commissioner, to=other_provider, service=other_service, abuse_types=(AbuseType.NEGLECT,),
                    now=at(19))
    db.session.commit()
    return SimpleNamespace(a=a, b=b, c=c, d=d, e=e, f=f, g=g, h=h, x=x, concern=adult_concern)


def _build_board_world(make):
    world = build_intel_world(make)
    return {"intel_world": world, "board_set": build_board_set(make, world)}


register_world("board_set", ("intel_world", "board_set"), _build_board_world)
board_set = world_part("board_set")


def _page(client, act_as, user, query: str = ""):
    with time_machine.travel(NOW, tick=False):
        act_as(user)
        return client.get(f"/escalations/oversight{query}")


def _csv(client, act_as, user, query: str = ""):
    with time_machine.travel(NOW, tick=False):
        act_as(user)
        return client.get(f"/escalations/oversight.csv{query}")


def _figures(response) -> dict[tuple[str, str, str], str]:
    text = response.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "category", "measure", "value"]
    figures = {}
    for section, category, measure, value in rows[1:]:
        assert (section, category, measure) not in figures
        figures[(section, category, measure)] = value
    return figures


# The page --------------------------------------------------------------------------------------


def test_breached_escalations_come_first_the_longest_overdue_first(board_set, client, act_as, intel_world):
    page = _page(client, act_as, intel_world.users.sab_chair).text
    s = board_set

    stage_1 = table_rows(page, "stage-1-table")[1:]
    assert [row[0].split()[0] for row in stage_1] == [s.c.reference, s.b.reference]
    c_row, b_row = stage_1
    assert c_row == [
        f"{s.c.reference} Concern {s.concern.reference} Harm imminent",
        "Sunrise Care raised it and sent it → to Intelshire Council",
        "Open",
        "4 working days (4 days)",
        "4 working days (4 days)",
        "5pm on Monday 16 November 2026 Deadline passed 4 working days ago",
        "Moves up by itself at the portal's next check: its grace period ended at 7pm on Monday 16 November 2026",
    ]
    assert b_row == [
        f"{s.b.reference} Quality of a service: Moonlight Lodge",
        "Intelshire Council raised it and sent it → to Moonlight Care",
        "Open",
        "7 working days (9 days)",
        "7 working days (9 days)",
        "5pm on Wednesday 18 November 2026 Deadline passed 2 working days ago",
        "Moves up by itself at 5pm on Friday 20 November 2026",
    ]

    # Neither is breached at stage 2: the deadline that comes first is first.
    stage_2 = table_rows(page, "stage-2-table")[1:]
    assert [row[0].split()[0] for row in stage_2] == [s.d.reference, s.a.reference]
    d_row, a_row = stage_2
    assert d_row[1:] == [
        "Intelshire ICB raised it and sent it → to Moonlight Care", "Open", "8 working days (10 days)",
        "5 working days (7 days)", "5pm on Friday 20 November 2026", "Moves up by itself at 5pm on Tuesday 24 November 2026",
    ]
    assert a_row[0] == f"{s.a.reference} Quality of a service: Sunrise House"
    assert a_row[3:] == [
        "9 working days (11 days)", "2 working days (2 days)", "5pm on Wednesday 25 November 2026",
        "Moves up by itself at 5pm on Friday 27 November 2026",
    ]
    assert "No escalation is open at this stage." in text_of(page[page.index('id="stage-3"'):page.index('id="stage-4"')])

    # Each reference opens the escalation's own page.
    for escalation in (s.a, s.b, s.c, s.d):
        assert f'href="/escalations/{escalation.id}"' in page
    # Closed escalations are not on the "stuck" list.
    stuck = page[page.index('id="stuck"'):page.index('id="resolved"')]
    for escalation in (s.e, s.f, s.g, s.h):
        assert escalation.reference not in stuck


def test_answered_escalations_come_after_running_deadlines_and_the_top_stage_says_the_board_mediates(
        intel_world, raise_about, client, act_as):
    users = intel_world.users
    commissioner, manager = as_acting(users.council_commissioner), as_acting(users.manager)
    answered = raise_about(by=commissioner, now=MONDAY)
    ops.acknowledge(answered, by=manager, now=at(10))
    ops.respond(answered, "The rota has been changed.", by=manager, now=at(10, 11))
    running = raise_about(by=as_acting(users.lead), to=intel_world.moonlight, service=intel_world.elsewhere, now=at(19))
    # Due on Tuesday 17 November, after the answered one's deadline (Monday 16th), yet first.
    breached = raise_about(by=commissioner, now=at(10))
    top = raise_about(by=commissioner, now=MONDAY)
    for day in (10, 11, 12):
        ops.acknowledge(top, by=manager, now=at(day, 11))
        ops.respond(top, "No change is needed.", by=manager, now=at(day, 12))
        ops.escalate(top, "The response does not settle it.", by=commissioner, now=at(day, 13))
    db.session.commit()
    assert top.stage == 4

    page = _page(client, act_as, users.sab_chair).text
    stage_1 = table_rows(page, "stage-1-table")[1:]
    assert [row[0].split()[0] for row in stage_1] == [breached.reference, running.reference, answered.reference]
    assert stage_1[0][-2] == "5pm on Tuesday 17 November 2026 Deadline passed 3 working days ago"
    assert stage_1[1][-1] == "Moves up by itself at 5pm on Monday 30 November 2026"
    assert stage_1[2][2] == "Responded"
    assert stage_1[2][-1] == "Answered: the raising agency resolves it or escalates it"
    stage_4 = table_rows(page, "stage-4-table")[1:]
    assert stage_4[0][0].startswith(top.reference)
    # Stage 4 started on Thursday 12 November: ten working days to respond.
    assert stage_4[0][-2:] == ["5pm on Thursday 26 November 2026", "Top stage: the Board mediates"]
    assert stage_4[0][4] == "6 working days (8 days)"


def test_summary_and_open_by_stage_with_its_chart(board_set, client, act_as, intel_world):
    page = _page(client, act_as, intel_world.users.sab_member).text
    assert text_of(page[page.index('id="summary-open"'):page.index("</p>", page.index('id="summary-open"'))]).endswith("4 open escalations")
    words = visible_text(page)
    assert "2 past their deadline with no response" in words
    assert "1 where harm is imminent" in words
    assert "2 at stage 1, 2 past their deadline" in words
    assert "2 at stage 2, 0 past their deadline" in words
    assert "0 at stage 4, 0 past their deadline" in words

    assert table_rows(page, "open-by-stage") == [
        ["Stage", "Open", "Past their deadline", "Within deadline or answered"],
        ["Stage 1: Practitioner to practitioner", "2", "2", "0"],
        ["Stage 2: First-line managers", "2", "0", "2"],
        ["Stage 3: Senior managers or designated safeguarding leads", "0", "0", "0"],
        ["Stage 4: Meeting of all parties, with the Board's mediation", "0", "0", "0"],
        ["All stages", "4", "2", "2"],
    ]
    chart = chart_data(page, "chart-open-by-stage")
    assert chart["labels"] == ["Stage 1", "Stage 2", "Stage 3", "Stage 4"]
    assert [series["values"] for series in chart["series"]] == [[2, 0, 0, 0], [0, 2, 0, 0]]
    assert chart["stacked"] is True
    # The chart says where its figures are as text, and the script is a file, not inline.
    assert 'aria-label="Bar chart of the escalations open now at each stage' in page
    assert "The same figures are in the table that follows." in page
    assert '/static/escalation-charts.js' in page and '/static/build/chart.umd.min.js' in page


def test_counts_by_agency_in_the_period_and_now(board_set, client, act_as, intel_world):
    page = _page(client, act_as, intel_world.users.sab_chair).text
    assert "Figures for April 2026 to March 2027" in visible_text(page)
    assert table_rows(page, "by-agency") == [
        ["Agency", "Raised in the period", "Received in the period", "Deadlines it missed in the period",
         "Open now, raised by it", "Open now, sent to it", "Past the deadline now, waiting for it"],
        ["Intelshire Council", "4", "2", "1", "2", "1", "1"],
        ["Sunrise Care", "1", "3", "1", "1", "1", "0"],
        ["Moonlight Care", "0", "2", "1", "0", "2", "1"],
        ["Intelshire ICB", "2", "0", "0", "1", "0", "0"],
    ]
    chart = chart_data(page, "chart-by-agency")
    assert chart["labels"] == ["Intelshire Council", "Sunrise Care", "Moonlight Care", "Intelshire ICB"]
    assert [series["values"] for series in chart["series"]] == [[4, 1, 0, 2], [2, 3, 2, 0]]


def test_themes_by_abuse_type_service_type_and_key_question(board_set, client, act_as, intel_world):
    page = _page(client, act_as, intel_world.users.sab_chair).text
    abuse = {row[0]: row[1:] for row in table_rows(page, "by-abuse-type")[1:]}
    assert abuse[AbuseType.NEGLECT.label] == ["3", "2"]
    assert abuse[AbuseType.ORGANISATIONAL.label] == ["2", "2"]
    assert abuse[AbuseType.FINANCIAL.label] == ["1", "1"]
    assert abuse[AbuseType.PHYSICAL.label] == ["1", "0"]
    # H was raised in the financial year before.
    assert abuse[AbuseType.SEXUAL.label] == ["0", "0"]
    assert len(abuse) == len(AbuseType)
    services = {row[0]: row[1:] for row in table_rows(page, "by-service-type")[1:]}
    assert services[ServiceType.DOMICILIARY.label] == ["3", "2"]
    assert services[ServiceType.CARE_HOME_NURSING.label] == ["1", "1"]
    assert services[ServiceType.CARE_HOME_RESIDENTIAL.label] == ["0", "0"]
    questions = {row[0]: row[1:] for row in table_rows(page, "by-key-question")[1:]}
    assert questions == {"Safe": ["6", "4"], "Effective": ["0", "0"], "Caring": ["0", "0"], "Responsive": ["1", "0"],
                         "Well-led": ["1", "1"]}
    chart = chart_data(page, "chart-by-abuse-type")
    assert chart["labels"] == [abuse_type.label for abuse_type in AbuseType]
    assert chart["series"][0]["values"][list(AbuseType).index(AbuseType.NEGLECT)] == 3


def test_median_working_days_per_stage(board_set, client, act_as, intel_world):
    """Stage 1 answered: D, E, G in 2 working days each; ended: F 1, D 3, E 3, A 7, G 7."""
    page = _page(client, act_as, intel_world.users.sab_chair).text
    rows = table_rows(page, "median-days")
    assert rows[0] == ["Stage", "Median working days to the response", "Stages answered", "Median working days to the end",
                       "Stages ended"]
    assert rows[1] == ["Stage 1: Practitioner to practitioner", "2", "3", "3", "5"]
    assert rows[2] == ["Stage 2: First-line managers", "None answered", "0", "None ended", "0"]
    assert "stages answered in the period" in visible_text(page)
    chart = chart_data(page, "chart-stage-times")
    assert chart["series"][0]["values"] == [2, None, None, None]
    assert chart["series"][1]["values"] == [3, None, None, None]


def test_annual_figures_on_the_page(board_set, client, act_as, intel_world):
    page = _page(client, act_as, intel_world.users.sab_chair).text
    assert table_rows(page, "annual-totals")[1:] == [
        ["Raised", "7"], ["Resolved", "2"], ["Withdrawn", "1"],
        ["Moved up by the portal after a missed deadline", "1"], ["Deadlines missed (a stage not answered in time)", "3"],
    ]
    assert table_rows(page, "annual-stages")[1:] == [
        ["Stage 1: Practitioner to practitioner", "2", "1", "3"],
        ["Stage 2: First-line managers", "0", "0", "0"],
        ["Stage 3: Senior managers or designated safeguarding leads", "0", "0", "0"],
        ["Stage 4: Meeting of all parties, with the Board's mediation", "Top stage", "0"],
    ]


def test_resolved_this_quarter_with_the_learning(board_set, client, act_as, intel_world):
    page = _page(client, act_as, intel_world.users.sab_chair).text
    assert "Escalations resolved in October to December 2026 (quarter 3 of the financial year April 2026 to March 2027)" in visible_text(page)
    rows = table_rows(page, "resolved-this-quarter")
    assert rows[1:] == [[
        f"{board_set.e.reference} Resolved on 5 November 2026",
        "Intelshire Council raised it and sent it → to Sunrise Care",
        "Stage 1: Practitioner to practitioner",
        "A night staffing review by the end of the month",
        "Share the falls policy with night staff at induction",
    ]]
    # G was resolved in July: last quarter.
    assert "Body maps make bruising easier to explain" not in page


def test_a_custom_period(board_set, client, act_as, intel_world):
    query = "?period=custom&start=1&start=1&start=2026&end=31&end=3&end=2026"
    page = _page(client, act_as, intel_world.users.sab_chair, query).text
    assert "Figures for 1 January 2026 to 31 March 2026" in visible_text(page)
    assert table_rows(page, "annual-totals")[1:3] == [["Raised", "1"], ["Resolved", "1"]]
    assert table_rows(page, "by-abuse-type")[1:][list(AbuseType).index(AbuseType.SEXUAL)] == [AbuseType.SEXUAL.label, "1", "0"]
    # The dates typed stay in the form, and the CSV link carries the same period.
    assert 'href="/escalations/oversight.csv?period=custom&amp;start=1&amp;start=1&amp;start=2026&amp;end=31&amp;end=3&amp;end=2026"' in page
    # The open escalations and this quarter do not depend on the period.
    assert len(table_rows(page, "stage-1-table")) == 3
    assert board_set.e.reference in page[page.index('id="resolved"'):page.index('id="period-figures"')]


def test_another_financial_year(board_set, client, act_as, intel_world):
    page = _page(client, act_as, intel_world.users.sab_chair, "?period=year&year=2025").text
    assert "Figures for April 2025 to March 2026" in visible_text(page)
    assert table_rows(page, "annual-totals")[1:4] == [["Raised", "1"], ["Resolved", "1"], ["Withdrawn", "0"]]


@pytest.mark.parametrize("query, message, field", [
    ("?period=custom&start=10&start=11&start=2026&end=1&end=11&end=2026",
     "The last day of the period must be the same as or after the first day", "end-day"),
    ("?period=custom&start=&start=&start=&end=1&end=11&end=2026", "Enter the first day of the period", "start-day"),
    ("?period=custom&start=31&start=2&start=2026&end=1&end=11&end=2026", "First day of the period must be a real date",
     "start-day"),
    ("?period=custom&start=1&start=11&start=1990&end=1&end=11&end=2026",
     "First day of the period must be in a year from 2000 to 2099", "start-day"),
    ("?period=year&year=1999", "Select a financial year from the list", "year"),
    ("?period=sometimes", "Choose a financial year or dates of your choice", "main-content"),
])
def test_a_wrong_period_says_what_is_wrong_and_keeps_what_was_typed(board_set, client, act_as, intel_world, query, message,
                                                                    field):
    response = _page(client, act_as, intel_world.users.sab_chair, query)
    assert response.status_code == 200
    page = response.text
    assert page.count(message) == 2  # in the error summary and by the field
    assert "govuk-error-summary" in page and f'href="#{field}"' in page
    assert "<title>Error: " in page
    assert "Correct the problem with the period above to see its figures." in page
    assert 'id="annual-totals"' not in page
    if "start=10" in query:
        typed = dict(re.findall(r'<input[^>]*id="((?:start|end)-(?:day|month|year))"[^>]*value="([^"]*)"', page))
        assert typed == {"start-day": "10", "start-month": "11", "start-year": "2026", "end-day": "1", "end-month": "11",
                         "end-year": "2026"}
    # The open escalations are still shown.
    assert board_set.c.reference in page
    # The CSV of a wrong period goes back to the page, which says what is wrong.
    csv_response = _csv(client, act_as, intel_world.users.sab_chair, query)
    assert csv_response.status_code == 302
    assert csv_response.headers["Location"].startswith("/escalations/oversight?")
    with time_machine.travel(NOW, tick=False):
        assert message in client.get(csv_response.headers["Location"]).text


def test_only_the_viewers_area(board_set, client, act_as, intel_world):
    page = _page(client, act_as, intel_world.users.sab_member).text
    assert board_set.x.reference not in page
    for name in ("Otherton", "Otherton Care", "Otherton Grange"):
        assert name not in page
    figures = _csv(client, act_as, intel_world.users.sab_member).data.decode("utf-8-sig")
    assert "Otherton" not in figures


def test_no_adults_details_or_view_on_the_page_or_in_the_csv(board_set, client, act_as, intel_world):
    assert board_set.c.adult_view == ADULT_VIEW  # recorded, so there is something to leak
    for user in (intel_world.users.sab_chair, intel_world.users.sab_member):
        page = _page(client, act_as, user).text
        figures = _csv(client, act_as, user).data.decode("utf-8-sig")
        for text in (page, figures):
            assert ADULT_NAME not in text and "Jo Example".upper() not in text.upper()
            assert ADULT_VIEW not in text and "would rather" not in text
            # Nor the disagreement, nor anyone's name (but the viewer's own, by "Signed in as").
            assert "falls policy is not being followed" not in text
            for person in vars(intel_world.users).values():
                if person is not user:
                    assert person.name not in text
        # The concern appears by its reference alone.
        assert f"Concern {board_set.concern.reference}" in page


# The CSV ---------------------------------------------------------------------------------------


def test_the_csv_has_the_periods_figures_in_tidy_rows(board_set, client, act_as, intel_world):
    response = _csv(client, act_as, intel_world.users.sab_chair)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="escalation-figures-2026-04-01-to-2027-03-31.csv"' in response.headers["Content-Disposition"]
    figures = _figures(response)
    expected = {
        ("period", "", "first_day"): "2026-04-01",
        ("period", "", "last_day"): "2027-03-31",
        ("totals", "All escalations", "raised"): "7",
        ("totals", "All escalations", "resolved"): "2",
        ("totals", "All escalations", "withdrawn"): "1",
        ("totals", "All escalations", "automatic_escalations"): "1",
        ("totals", "All escalations", "breaches"): "3",
        ("stage", "Stage 1", "escalated_beyond"): "2",
        ("stage", "Stage 1", "automatic_escalations"): "1",
        ("stage", "Stage 1", "breaches"): "3",
        ("stage", "Stage 1", "median_working_days_to_response"): "2",
        ("stage", "Stage 1", "stages_responded"): "3",
        ("stage", "Stage 1", "median_working_days_to_end"): "3",
        ("stage", "Stage 1", "stages_ended"): "5",
        ("stage", "Stage 2", "escalated_beyond"): "0",
        ("stage", "Stage 2", "breaches"): "0",
        ("stage", "Stage 2", "median_working_days_to_end"): "",
        ("stage", "Stage 2", "stages_ended"): "0",
        ("stage", "Stage 3", "escalated_beyond"): "0",
        ("raising_agency", "Intelshire Council", "raised"): "4",
        ("raising_agency", "Intelshire ICB", "raised"): "2",
        ("raising_agency", "Sunrise Care", "raised"): "1",
        ("receiving_agency", "Sunrise Care", "received"): "3",
        ("receiving_agency", "Sunrise Care", "breaches"): "1",
        ("receiving_agency", "Moonlight Care", "received"): "2",
        ("receiving_agency", "Moonlight Care", "breaches"): "1",
        ("receiving_agency", "Intelshire Council", "received"): "2",
        ("receiving_agency", "Intelshire Council", "breaches"): "1",
        ("type_of_abuse", AbuseType.NEGLECT.label, "raised"): "3",
        ("type_of_abuse", AbuseType.ORGANISATIONAL.label, "raised"): "2",
        ("type_of_abuse", AbuseType.SEXUAL.label, "raised"): "0",
        ("service_type", ServiceType.DOMICILIARY.label, "raised"): "3",
        ("service_type", ServiceType.CARE_HOME_NURSING.label, "raised"): "1",
        ("key_question", "Safe", "raised"): "6",
        ("key_question", "Well-led", "raised"): "1",
    }
    assert {key: figures.get(key) for key in expected} == expected
    # An agency that raised nothing has no "raised" row; one that received nothing no "received" row.
    assert ("raising_agency", "Moonlight Care", "raised") not in figures
    assert ("receiving_agency", "Intelshire ICB", "received") not in figures
    # Nothing but agency names and code-list labels in the categories.
    allowed = {"", "All escalations", "Intelshire Council", "Intelshire ICB", "Sunrise Care", "Moonlight Care",
               *(f"Stage {number}" for number in range(1, 5)), *(t.label for t in AbuseType),
               *(t.label for t in ServiceType), *(q.label for q in KeyQuestion)}
    assert {category for _, category, _ in figures} <= allowed


def test_the_export_is_audited(board_set, client, act_as, intel_world, db_session):
    _csv(client, act_as, intel_world.users.sab_member, "?period=year&year=2025")
    event = db_session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "escalation.oversight.export").order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None
    assert event.actor_id == intel_world.users.sab_member.id
    assert "April 2025 to March 2026" in event.summary


# Who may see it --------------------------------------------------------------------------------


@pytest.mark.parametrize("role, status", [
    ("sab_chair", 200), ("sab_member", 200), ("lead", 403), ("council_commissioner", 403), ("icb_commissioner", 403),
    ("inspector", 403), ("manager", 403), ("staff", 403), ("admin", 403),
])
def test_only_the_board_sees_the_page_and_the_csv(intel_world, client, act_as, role, status):
    act_as(getattr(intel_world.users, role))
    assert client.get("/escalations/oversight").status_code == status
    assert client.get("/escalations/oversight.csv").status_code == status
    home = client.get("/home").text
    assert ('href="/escalations/oversight"' in home) is (status == 200)


def test_nobody_signed_in_is_sent_to_sign_in(client):
    response = client.get("/escalations/oversight")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_an_empty_area_shows_no_figures_rather_than_failing(intel_world, client, act_as):
    page = _page(client, act_as, intel_world.users.sab_chair).text
    assert "0 open escalations" in visible_text(page)
    assert "No escalation has been resolved this quarter yet." in page
    assert "No escalation was raised in the period, and none is open now." in page
    assert table_rows(page, "median-days")[1] == ["Stage 1: Practitioner to practitioner", "None answered", "0", "None ended", "0"]


# Keeping it fast -------------------------------------------------------------------------------


def _bulk(intel_world, adult_concern, count: int) -> None:
    """``count`` escalations written straight into the tables (raising each through the operation
    would take minutes): a mix of stages, states, subjects and agencies."""
    users = intel_world.users
    agencies = [intel_world.council, intel_world.icb, intel_world.sunrise, intel_world.moonlight]
    rows = []
    for number in range(count):
        raised = at(2) if number % 3 else at(16)
        stage = 1 + number % 4
        raising, receiving = agencies[number % 2], agencies[2 + number % 2]
        state = [EscalationState.OPEN, EscalationState.ACKNOWLEDGED, EscalationState.RESPONDED, EscalationState.RESOLVED][number % 4]
        subject = EscalationSubject.CONCERN if number % 5 == 0 else EscalationSubject.SERVICE
        escalation = Escalation(
            area_id=intel_world.area.id, subject=subject, raised_by_id=users.council_commissioner.id,
            raising_agency_id=raising.id, receiving_agency_id=receiving.id, raised_at=raised,
            concern_id=adult_concern.id if subject is EscalationSubject.CONCERN else None,
            service_id=intel_world.home.id if subject is EscalationSubject.SERVICE else None,
            provider_id=intel_world.sunrise.id if subject is EscalationSubject.SERVICE else None,
            disagreement="Bulk", wanted="Bulk", harm_imminent=number % 7 == 0, key_question_bits=1 + number % 31,
            state=state, stage=stage, deadline_at=at(18, 17), auto_escalate_at=at(20, 17) if stage < 4 else None,
            outcome="Agreed" if state is EscalationState.RESOLVED else None,
            learning="Learnt" if state is EscalationState.RESOLVED else None,
            closed_at=at(19) if state is EscalationState.RESOLVED else None,
        )
        escalation.stages = [
            EscalationStage(
                number=step, name=f"Stage {step}", working_days=5, started_at=at(2 + step), deadline_at=at(9 + step, 17),
                responded_at=at(4 + step) if step < stage else None,
                ended_at=at(5 + step) if step < stage else (at(19) if state is EscalationState.RESOLVED else None),
                outcome=StageOutcome.ESCALATED if step < stage else (StageOutcome.RESOLVED if state is EscalationState.RESOLVED else None),
            )
            for step in range(1, stage + 1)
        ]
        escalation.type_links = [EscalationAbuseType(abuse_type=list(AbuseType)[number % len(AbuseType)])]
        rows.append(escalation)
    db.session.add_all(rows)
    db.session.commit()


def _statements_for_page(app, client) -> int:
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        with time_machine.travel(NOW, tick=False):
            response = client.get("/escalations/oversight")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements)


def test_the_page_is_a_handful_of_queries_however_many_escalations(intel_world, adult_concern, client, act_as, app):
    with time_machine.travel(NOW, tick=False):
        act_as(intel_world.users.sab_chair)
    _bulk(intel_world, adult_concern, 4)
    few = _statements_for_page(app, client)
    # More than the 500 escalations "select IN" loading takes at a time.
    _bulk(intel_world, adult_concern, 520)
    many = _statements_for_page(app, client)
    assert many == few
    assert many <= 15
    with time_machine.travel(NOW, tick=False):
        page = client.get("/escalations/oversight").text
    # A quarter of them are resolved.
    assert f"{524 - 131} open escalations" in visible_text(page)


# The figures' own rules ------------------------------------------------------------------------


@pytest.mark.parametrize("day, first, last", [
    (date(2026, 4, 1), date(2026, 4, 1), date(2026, 6, 30)),
    (date(2026, 9, 30), date(2026, 7, 1), date(2026, 9, 30)),
    (date(2026, 11, 20), date(2026, 10, 1), date(2026, 12, 31)),
    (date(2027, 3, 31), date(2027, 1, 1), date(2027, 3, 31)),
])
def test_financial_quarters(day, first, last):
    quarter = oversight.financial_quarter(day)
    assert (quarter.first, quarter.last) == (first, last)


def test_a_financial_year_runs_april_to_march_in_london_time():
    year = oversight.Period.financial_year(oversight.financial_year_of(date(2027, 2, 1)))
    assert (year.first, year.last) == (date(2026, 4, 1), date(2027, 3, 31))
    # Midnight on 1 April is 11pm on 31 March in UTC (British Summer Time).
    assert year.holds(datetime(2026, 3, 31, 23, 30, tzinfo=UTC))
    assert not year.holds(datetime(2026, 3, 31, 22, 30, tzinfo=UTC))
    assert year.holds(datetime(2027, 3, 31, 23, 30, tzinfo=UTC)) is False  # 1 April 2027, 00:30 BST


def test_working_days_agree_with_the_calendar_across_bank_holidays():
    counter = oversight.WorkingDays()
    start = date(2026, 12, 20)
    for end in (date(2026, 12, 24), date(2026, 12, 29), date(2027, 1, 4), date(2027, 4, 6)):
        assert counter.between(start, end) == working_days_between(start, end)
    assert counter.between(date(2026, 12, 10), date(2026, 12, 28)) == working_days_between(date(2026, 12, 10), date(2026, 12, 28))
    assert counter.between(date(2026, 12, 28), date(2026, 12, 10)) == 0
