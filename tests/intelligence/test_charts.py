"""The profile charts: drawn from the same figures as the tables that follow them, by a static
script, each an image with a description."""

from __future__ import annotations

import re
from datetime import date, timedelta

import time_machine

from portal.core.codes import KeyQuestion, Rating
from portal.extensions import db
from portal.intelligence import operations as intel
from portal.intelligence.models import SourceType
from tests.intelligence.pages import chart_data, table_rows


def _table_from_chart(data: dict) -> list[list[str]]:
    return [[label, *(series["text"][index] for series in data["series"])] for index, label in enumerate(data["labels"])]


@time_machine.travel(date(2026, 3, 15), tick=False)
def test_items_per_month_chart_and_its_table_hold_the_same_figures(intel_world, add_item, client, act_as):
    for days_ago, source in [(1, SourceType.COMPLAINT), (2, SourceType.COMPLAINT), (20, SourceType.INCIDENT),
                             (40, SourceType.WORKFORCE), (330, SourceType.COMPLAINT), (400, SourceType.COMPLAINT)]:
        add_item(source=source, days_ago=days_ago)
    act_as(intel_world.users.lead)
    page = client.get(f"/services/{intel_world.home.id}").text
    data = chart_data(page, f"monthly-{intel_world.home.id}")
    assert data["labels"][0] == "April 2025" and data["labels"][-1] == "March 2026"
    by_source = {series["label"]: series["values"] for series in data["series"]}
    assert by_source["Complaint"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]  # 400 days ago is before April 2025
    assert by_source["Incident or statutory notification"][-2] == 1  # 23 February
    assert by_source["Workforce indicator"][-2] == 1  # 3 February
    assert by_source["Total"][-1] == 2 and sum(by_source["Total"]) == 5
    table = table_rows(page, f"monthly-{intel_world.home.id}-table")
    assert table[0] == ["Month", *(series["label"] for series in data["series"])]
    assert table[1:] == _table_from_chart(data)


def test_ratings_chart_and_its_table_hold_the_same_figures(intel_world, client, act_as):
    for days_ago, overall, safe in [(700, Rating.GOOD, Rating.GOOD), (300, Rating.REQUIRES_IMPROVEMENT, Rating.INADEQUATE),
                                    (20, Rating.INADEQUATE, Rating.INSUFFICIENT_EVIDENCE)]:
        ratings = {question: Rating.GOOD for question in KeyQuestion} | {KeyQuestion.SAFE: safe}
        intel.record_inspection(intel_world.home, intel.InspectionDetails(
            published_on=date.today() - timedelta(days=days_ago), overall=overall, ratings=ratings), by=None, supplied_by=None)
    db.session.commit()
    act_as(intel_world.users.manager)
    for url in (f"/services/{intel_world.home.id}", f"/providers/{intel_world.sunrise.id}"):
        page = client.get(url).text
        data = chart_data(page, f"ratings-{intel_world.home.id}")
        series = {item["label"]: item for item in data["series"]}
        assert series["Overall"]["values"] == [3, 2, 1]
        assert series["Safe"]["values"] == [3, 1, None]  # a rating that does not rank leaves a gap
        assert series["Safe"]["text"] == ["Good", "Inadequate", "Insufficient evidence to rate"]
        table = table_rows(page, f"ratings-{intel_world.home.id}-table")
        assert table[0] == ["Published", "Overall", "Safe", "Effective", "Caring", "Responsive", "Well-led"]
        assert table[1:] == _table_from_chart(data)


def test_provider_chart_counts_every_visible_service_and_nothing_confidential_for_the_provider(
    intel_world, add_item, make_service, client, act_as
):
    court = make_service(intel_world.sunrise, name="Sunrise Court")
    add_item(source=SourceType.COMPLAINT)
    add_item(court, source=SourceType.COMPLAINT)
    add_item(source=SourceType.WHISTLEBLOWING)
    act_as(intel_world.users.manager)
    page = client.get(f"/providers/{intel_world.sunrise.id}").text
    data = chart_data(page, "monthly-provider")
    labels = [series["label"] for series in data["series"]]
    assert labels == ["Complaint", "Total"]
    assert sum(data["series"][-1]["values"]) == 2
    assert table_rows(page, "monthly-provider-table")[1:] == _table_from_chart(data)


def test_charts_are_images_with_descriptions_drawn_by_a_static_script(intel_world, add_item, client, act_as):
    add_item()
    intel.record_inspection(intel_world.home, intel.InspectionDetails(
        published_on=date.today(), overall=Rating.GOOD, ratings={}), by=None, supplied_by=None)
    db.session.commit()
    act_as(intel_world.users.council_commissioner)
    page = client.get(f"/services/{intel_world.home.id}").text
    canvases = re.findall(r"<canvas\b[^>]*>", page)
    assert len(canvases) == 2
    for canvas in canvases:
        assert 'role="img"' in canvas and re.search(r'aria-label="[^"]{20,}"', canvas)
    assert page.count("Show the data as a table") == 2
    for tag, body in re.findall(r"(<script\b[^>]*>)(.*?)</script>", page, re.S):
        # The GOV.UK page template's one line that marks the body as having JavaScript is its own.
        ours = "js-enabled" not in body
        assert not ours or "src=" in tag or 'type="application/json"' in tag, f"inline script: {tag}{body}"
    assert 'src="/static/build/chart.umd.min.js"' in page and 'src="/static/intelligence-charts.js"' in page
    assert client.get("/static/intelligence-charts.js").status_code == 200
