"""Provider and service profiles: who sees which page and which items, the ratings and how they
changed, the risk signal's reasons, the timeline's filters and the counts by source."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine

from portal.core.codes import KeyQuestion, Rating
from portal.extensions import db
from portal.intelligence import operations as intel
from portal.intelligence.models import Severity, SourceType
from tests.intelligence.pages import chart_data, table_rows, text_of, visible_text

WHISTLE = "Staff say night checks are being skipped"
COMPLAINT = "Family complained about missed medication"


@pytest.fixture
def sunrise_items(intel_world, add_item):
    """An open complaint, a confidential whistleblower (recorded by the lead) and an incident, all on Safe."""
    users = intel_world.users
    add_item(source=SourceType.COMPLAINT, summary=COMPLAINT, by=users.lead, days_ago=3)
    add_item(source=SourceType.WHISTLEBLOWING, severity=Severity.HIGH, summary=WHISTLE, by=users.lead, days_ago=2)
    add_item(source=SourceType.INCIDENT, summary="Fall with injury notified", by=users.lead, days_ago=1)
    return intel_world


def _inspection(service, published_on: date, overall: Rating, **ratings):
    details = intel.InspectionDetails(
        published_on=published_on, overall=overall,
        ratings={question: ratings.get(question.name.lower(), overall) for question in KeyQuestion},
    )
    intel.record_inspection(service, details, by=None, supplied_by=None)
    db.session.commit()


# Who reaches which page -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "providers", "provider", "service", "elsewhere"),
    [
        ("council_commissioner", 200, 200, 200, 404),
        ("icb_commissioner", 200, 404, 404, 200),
        ("inspector", 200, 200, 200, 404),
        ("lead", 200, 200, 200, 200),
        ("manager", 200, 200, 200, 404),
        ("other_manager", 200, 404, 404, 200),
        ("sab_member", 200, 200, 200, 200),
        ("sab_chair", 200, 200, 200, 200),
        ("staff", 403, 404, 404, 404),
        ("admin", 403, 404, 404, 404),
    ],
)
def test_each_role_reaches_the_profiles_it_may_see(intel_world, client, act_as, who, providers, provider, service, elsewhere):
    act_as(getattr(intel_world.users, who))
    assert client.get("/providers").status_code == providers
    assert client.get(f"/providers/{intel_world.sunrise.id}").status_code == provider
    assert client.get(f"/services/{intel_world.home.id}").status_code == service
    assert client.get(f"/services/{intel_world.elsewhere.id}").status_code == elsewhere


def test_signed_out_people_are_sent_to_sign_in(intel_world, client):
    response = client.get(f"/services/{intel_world.home.id}")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_provider_list_shows_only_visible_providers_with_band_and_converging_flag(sunrise_items, client, act_as):
    act_as(sunrise_items.users.council_commissioner)
    page = visible_text(client.get("/providers").text)
    assert "Sunrise Care" in page and "Sunrise House" in page
    assert "Moonlight" not in page
    assert "Converging on Safe" in page
    assert "Red" in page or "Amber" in page


def test_provider_list_is_searchable_by_provider_or_service_name(intel_world, client, act_as):
    act_as(intel_world.users.lead)
    assert "Moonlight Care" not in client.get("/providers?q=sunrise").text
    assert "Sunrise Care" in client.get("/providers?q=SUNRISE").text
    by_service = client.get("/providers?q=Lodge").text
    assert "Moonlight Care" in by_service and "Sunrise Care" not in by_service
    assert "No providers match your search" in client.get("/providers?q=%25_nothing").text


# Ratings --------------------------------------------------------------------------------------


def test_current_ratings_show_how_each_changed_since_the_publication_before(intel_world, client, act_as):
    home = intel_world.home
    _inspection(home, date.today() - timedelta(days=400), Rating.GOOD)
    _inspection(home, date.today() - timedelta(days=10), Rating.INADEQUATE, caring=Rating.GOOD, responsive=Rating.OUTSTANDING,
                effective=Rating.NOT_RATED)
    act_as(intel_world.users.council_commissioner)
    page = client.get(f"/services/{home.id}").text
    rows = {row[0]: row[1:] for row in table_rows(page, "ratings")[1:]}
    assert rows["Overall"] == ["Inadequate", "Down: was Good"]
    assert rows["Safe"] == ["Inadequate", "Down: was Good"]
    assert rows["Caring"] == ["Good", "No change"]
    assert rows["Responsive"] == ["Outstanding", "Up: was Good"]
    assert rows["Effective"] == ["Not rated", "Changed: was Good"]


def test_a_first_inspection_has_nothing_to_compare_with(intel_world, client, act_as):
    _inspection(intel_world.home, date.today() - timedelta(days=5), Rating.GOOD)
    act_as(intel_world.users.manager)
    rows = table_rows(client.get(f"/services/{intel_world.home.id}").text, "ratings")
    assert rows[1] == ["Overall", "Good", "First rating recorded"]


def test_a_service_with_no_inspection_says_so(intel_world, client, act_as):
    act_as(intel_world.users.lead)
    assert "No inspection ratings have been recorded" in client.get(f"/services/{intel_world.home.id}").text


# Who sees confidential items and who recorded them ----------------------------------------------


@pytest.mark.parametrize("who", ["council_commissioner", "inspector", "lead"])
def test_partners_who_may_see_confidential_items_see_them_and_who_recorded_them(sunrise_items, client, act_as, who):
    act_as(getattr(sunrise_items.users, who))
    for url in (f"/services/{sunrise_items.home.id}", f"/providers/{sunrise_items.sunrise.id}"):
        page = visible_text(client.get(url).text)
        assert WHISTLE in page
        assert "Recorded by" in page and "Lena Lead" in page


@pytest.mark.parametrize("who", ["manager", "sab_member", "sab_chair"])
def test_provider_and_board_never_see_confidential_items_nor_who_recorded_anything(sunrise_items, client, act_as, who):
    act_as(getattr(sunrise_items.users, who))
    for url in (
        f"/services/{sunrise_items.home.id}", f"/providers/{sunrise_items.sunrise.id}",
        f"/services/{sunrise_items.home.id}?source=WHISTLEBLOWING", "/providers",
    ):
        page = client.get(url).text
        assert WHISTLE not in page
        assert "Lena Lead" not in page and "Recorded by" not in page
    page = client.get(f"/services/{sunrise_items.home.id}").text
    assert COMPLAINT in page
    counts = {row[0]: row[1:] for row in table_rows(page, "counts-by-source")[1:]}
    assert counts["Whistleblowing"] == ["0", "0", "0"]


# The risk signal and its reasons ----------------------------------------------------------------


def test_service_page_explains_the_signal_with_its_contributing_items(sunrise_items, client, act_as):
    act_as(sunrise_items.users.council_commissioner)
    page = client.get(f"/services/{sunrise_items.home.id}").text
    text = visible_text(page)
    assert "Converging on Safe" in text
    assert "Likelihood" in text and "× consequence" in text
    reasons = table_rows(page, "reasons-table")
    assert reasons[0] == ["Date", "Source", "Severity", "Key questions", "Points", "Summary", "Counts towards converging"]
    sources = [row[1] for row in reasons[1:]]
    assert sources[0] == "Whistleblowing"  # the largest contribution comes first
    assert set(sources) == {"Whistleblowing", "Complaint", "Incident or statutory notification"}
    assert all(row[-1] == "Yes" for row in reasons[1:])
    assert 'href="/intelligence/risk-rules"' in page


def test_the_provider_reads_a_signal_and_reasons_without_the_confidential_item(sunrise_items, client, act_as):
    act_as(sunrise_items.users.manager)
    page = client.get(f"/services/{sunrise_items.home.id}").text
    reasons = table_rows(page, "reasons-table")
    assert {row[1] for row in reasons[1:]} == {"Complaint", "Incident or statutory notification"}
    text = visible_text(page)
    assert "Not converging" in text and "Converging on" not in text


def test_register_entry_is_shown_read_only(intel_world, client, act_as):
    users = intel_world.users
    act_as(users.lead)
    intel.set_register_entry(intel_world.home, owner=users.council_commissioner, review_on=date.today() + timedelta(days=30),
                             note=None, by=users.lead)
    db.session.commit()
    act_as(users.sab_chair)
    text = visible_text(client.get(f"/services/{intel_world.home.id}").text)
    assert "Cora Council" in text
    assert "Change the owner or review date" not in text


# The timeline ---------------------------------------------------------------------------------


def test_timeline_filters_by_source_key_question_and_period(intel_world, add_item, client, act_as):
    add_item(source=SourceType.COMPLAINT, questions=(KeyQuestion.CARING,), summary="Recent caring complaint", days_ago=10)
    add_item(source=SourceType.COMPLAINT, questions=(KeyQuestion.SAFE,), summary="Older safe complaint", days_ago=150)
    add_item(source=SourceType.FEEDBACK, questions=(KeyQuestion.CARING,), summary="Kind staff, says a family", severity=Severity.POSITIVE, days_ago=20)
    add_item(source=SourceType.WORKFORCE, questions=(KeyQuestion.WELL_LED,), summary="Agency staff at 40 percent", days_ago=300)
    act_as(intel_world.users.council_commissioner)
    url = f"/services/{intel_world.home.id}"

    def summaries(query):
        page = client.get(url + query).text
        return [row[4] for row in table_rows(page, "timeline")[1:]] if "timeline-empty" not in page else []

    assert summaries("") == ["Recent caring complaint", "Kind staff, says a family", "Older safe complaint", "Agency staff at 40 percent"]
    assert summaries("?source=COMPLAINT") == ["Recent caring complaint", "Older safe complaint"]
    assert summaries("?key_question=CARING") == ["Recent caring complaint", "Kind staff, says a family"]
    assert summaries("?period=3") == ["Recent caring complaint", "Kind staff, says a family"]
    assert summaries("?period=6") == ["Recent caring complaint", "Kind staff, says a family", "Older safe complaint"]
    assert summaries("?source=COMPLAINT&key_question=SAFE&period=12") == ["Older safe complaint"]
    assert summaries("?source=WHISTLEBLOWING") == []


def test_bad_filters_are_explained_not_a_crash(intel_world, add_item, client, act_as):
    add_item(summary="Still listed")
    act_as(intel_world.users.lead)
    response = client.get(f"/services/{intel_world.home.id}?source=NONSENSE&period=7&key_question=x")
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "Select a source from the list" in response.text
    assert "Still listed" in response.text


def test_timeline_is_paginated_newest_first(intel_world, add_item, client, act_as):
    for day in range(1, 53):
        intel.record_item(intel_world.home, intel.ItemDetails(
            occurred_on=date.today() - timedelta(days=day), source=SourceType.FEEDBACK, key_questions={KeyQuestion.CARING},
            severity=Severity.LOW, summary=f"Feedback {day:02d}"), by=None, supplied_by=intel_world.council)
    db.session.commit()
    act_as(intel_world.users.lead)
    first = table_rows(client.get(f"/services/{intel_world.home.id}").text, "timeline")[1:]
    second = table_rows(client.get(f"/services/{intel_world.home.id}?page=2").text, "timeline")[1:]
    assert len(first) == 50 and first[0][4] == "Feedback 01"
    assert [row[4] for row in second] == ["Feedback 51", "Feedback 52"]


def _timeline_caption(page: str) -> str:
    start = page.index('class="govuk-table portal-timeline-table"')
    return text_of(page[page.index("<caption", start):page.index("</caption>", start)])


def test_timeline_pages_are_counted_and_linked(intel_world, client, act_as):
    for day in range(1, 53):
        intel.record_item(intel_world.home, intel.ItemDetails(
            occurred_on=date.today() - timedelta(days=day), source=SourceType.FEEDBACK, key_questions={KeyQuestion.CARING},
            severity=Severity.LOW, summary=f"Feedback {day:02d}"), by=None, supplied_by=intel_world.council)
    db.session.commit()
    act_as(intel_world.users.lead)
    url = f"/services/{intel_world.home.id}"
    first = client.get(url).text
    assert _timeline_caption(first) == "52 items"
    assert "Showing 1 to 50 of 52." in visible_text(first)
    assert f'href="{url}?page=2"' in first
    second = client.get(url + "?page=2&source=FEEDBACK").text
    assert _timeline_caption(second) == "52 items match the filters"
    assert "Showing 51 to 52 of 52." in visible_text(second)
    assert f'href="{url}?page=1&amp;source=FEEDBACK"' in second
    beyond = client.get(url + "?page=9")
    assert beyond.status_code == 200 and "timeline-empty" in beyond.text


def test_timeline_total_follows_every_filter(intel_world, add_item, client, act_as):
    add_item(source=SourceType.COMPLAINT, questions=(KeyQuestion.CARING,), days_ago=10)
    add_item(source=SourceType.COMPLAINT, questions=(KeyQuestion.SAFE,), days_ago=150)
    add_item(source=SourceType.FEEDBACK, questions=(KeyQuestion.CARING,), severity=Severity.POSITIVE, days_ago=20)
    add_item(source=SourceType.WORKFORCE, questions=(KeyQuestion.WELL_LED,), days_ago=300)
    add_item(source=SourceType.WORKFORCE, questions=(KeyQuestion.WELL_LED,), days_ago=800)
    act_as(intel_world.users.council_commissioner)
    url = f"/services/{intel_world.home.id}"
    for query, caption in [
        ("", "5 items"),
        ("?source=COMPLAINT", "2 items match the filters"),
        ("?source=WORKFORCE", "2 items match the filters"),
        ("?key_question=CARING", "2 items match the filters"),
        ("?period=3", "2 items match the filters"),
        ("?period=6", "3 items match the filters"),
        ("?period=12", "4 items match the filters"),
        ("?source=WORKFORCE&period=12", "1 item match the filters"),
        ("?source=COMPLAINT&key_question=SAFE&period=12", "1 item match the filters"),
    ]:
        page = client.get(url + query).text
        assert _timeline_caption(page) == caption, query
        assert len(table_rows(page, "timeline")) - 1 == int(caption.split()[0]), query


def test_items_dated_after_today_are_on_the_timeline_but_not_in_the_counts(intel_world, add_item, client, act_as):
    later = add_item(source=SourceType.COMPLAINT, days_ago=0, summary="Dated later")
    add_item(source=SourceType.COMPLAINT, days_ago=40, summary="Dated earlier")
    # Nothing typed in is dated after today, but an import or a clock change can leave one so.
    later.occurred_on = date.today() + timedelta(days=10)
    db.session.commit()
    act_as(intel_world.users.lead)
    url = f"/services/{intel_world.home.id}"
    page = client.get(url).text
    period = client.get(url + "?period=3").text
    assert _timeline_caption(page) == "2 items"
    assert _timeline_caption(period) == "2 items match the filters"
    assert [row[4] for row in table_rows(period, "timeline")[1:]] == ["Dated later", "Dated earlier"]
    counts = {row[0]: row[1:] for row in table_rows(page, "counts-by-source")[1:]}
    assert counts["Complaint"] == ["1", "1", "1"]
    monthly = {series["label"]: series["values"] for series in chart_data(page, f"monthly-{intel_world.home.id}")["series"]}
    assert sum(monthly["Total"]) == 1


def test_timeline_rows_link_to_changing_and_removing_items_their_reader_may_change(intel_world, add_item, client, act_as):
    item = add_item(summary="Typed in by hand")
    act_as(intel_world.users.lead)
    page = client.get(f"/services/{intel_world.home.id}").text
    assert f'href="/items/{item.id}/edit"' in page and f'href="/items/{item.id}/remove"' in page
    act_as(intel_world.users.manager)
    page = client.get(f"/services/{intel_world.home.id}").text
    assert "Typed in by hand" in page and f"/items/{item.id}/edit" not in page


def test_provider_timeline_joins_its_services_and_names_each(intel_world, make_service, add_item, make_commissioning, client, act_as):
    second = make_service(intel_world.sunrise, name="Sunrise Court")
    make_commissioning(second, intel_world.council)
    add_item(summary="At the house")
    add_item(second, summary="At the court")
    act_as(intel_world.users.council_commissioner)
    rows = table_rows(client.get(f"/providers/{intel_world.sunrise.id}").text, "timeline")
    assert rows[0][2] == "Service"
    assert {(row[2], row[5]) for row in rows[1:]} == {("Sunrise House", "At the house"), ("Sunrise Court", "At the court")}


# Counts by source ---------------------------------------------------------------------------


@time_machine.travel(date(2026, 5, 31), tick=False)
def test_counts_by_source_over_the_last_3_6_and_12_months(intel_world, add_item, client, act_as):
    # On 31 May 2026: 3 months back is 28 February, 6 months back 30 November, 12 months back 31 May 2025.
    for days_ago, source in [
        (0, SourceType.COMPLAINT), (92, SourceType.COMPLAINT), (93, SourceType.COMPLAINT),
        (182, SourceType.COMPLAINT), (183, SourceType.INCIDENT), (365, SourceType.INCIDENT), (366, SourceType.INCIDENT),
    ]:
        add_item(source=source, days_ago=days_ago)
    add_item(intel_world.elsewhere, source=SourceType.COMPLAINT)
    # The area's lead sees every service whatever the date (commissioning began before the frozen day).
    act_as(intel_world.users.lead)
    rows = {row[0]: row[1:] for row in table_rows(client.get(f"/services/{intel_world.home.id}").text, "counts-by-source")[1:]}
    assert rows["Complaint"] == ["2", "4", "4"]
    assert rows["Incident or statutory notification"] == ["0", "0", "2"]
    assert rows["Whistleblowing"] == ["0", "0", "0"]
    assert rows["All sources"] == ["2", "4", "6"]
