"""The risk register page: ranking, reasons, filters, order, pages, the CSV export and register entries.

Three services in ``intel_world``'s area, all seen by the council's safeguarding lead:

- Sunrise House (``home``): three sources converging on "safe", rated Inadequate 10 days ago,
  visited 30 days ago, commissioned by the council: Red;
- Moonlight Lodge (``elsewhere``): one complaint, rated Good 500 days ago, visited 250 days ago,
  commissioned by the ICB: Green;
- Harbour Nursing Home (``harbour``): a care home with one low feedback item, never inspected or
  visited, commissioned by the ICB: Green.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.core.codes import DataCategory, KeyQuestion, Rating, ServiceType
from portal.extensions import db
from portal.intelligence import operations as intel
from portal.intelligence.models import QualityScore, RegisterEntry, Severity, SourceType
from portal.intelligence.register.queries import WITHHELD, months_before
from portal.intelligence.register.views import safe_cell
from tests.conftest import register_world, world_part
from tests.intelligence.conftest import build_intel_world, record_test_item

HOME, ELSEWHERE, HARBOUR = "Sunrise House", "Moonlight Lodge", "Harbour Nursing Home"
ALL = {HOME, ELSEWHERE, HARBOUR}
TODAY = date.today()


def _inspect(world, service, days_ago, rating):
    intel.record_inspection(service, intel.InspectionDetails(
        published_on=TODAY - timedelta(days=days_ago), overall=rating, ratings={q: rating for q in KeyQuestion},
    ), by=None, supplied_by=world.regulator)


def _visit(world, service, days_ago, commissioner):
    standards = intel.ensure_default_standards(world.area.id)
    intel.record_visit(service, intel.VisitDetails(
        visited_on=TODAY - timedelta(days=days_ago), officer_name="Olive Officer", findings="",
        scores={standards[0].id: QualityScore.GOOD}, actions=[],
    ), commissioner=commissioner, by=None)


def build_world(make, intel_world):
    """Intelshire with a third service (Harbour View, Sunrise's, commissioned by the ICB) and items,
    inspections and visits that give each service a different signal."""
    add_item = functools.partial(record_test_item, intel_world)
    harbour = make.service(intel_world.sunrise, service_type=ServiceType.CARE_HOME_NURSING, name=HARBOUR)
    make.commissioning(harbour, intel_world.icb)
    for source in (SourceType.COMPLAINT, SourceType.WHISTLEBLOWING, SourceType.INCIDENT):
        add_item(source=source, severity=Severity.HIGH, summary=f"{source.label} about night care")
    _inspect(intel_world, intel_world.home, 10, Rating.INADEQUATE)
    _visit(intel_world, intel_world.home, 30, intel_world.council)
    add_item(intel_world.elsewhere, source=SourceType.COMPLAINT, severity=Severity.MODERATE, summary="Moonlight complaint")
    _inspect(intel_world, intel_world.elsewhere, 500, Rating.GOOD)
    _visit(intel_world, intel_world.elsewhere, 250, intel_world.icb)
    add_item(harbour, source=SourceType.FEEDBACK, severity=Severity.LOW, summary="Harbour feedback")
    db.session.commit()
    intel_world.harbour = harbour
    return intel_world


def _build_register_world(make):
    world = build_world(make, build_intel_world(make))
    return {"intel_world": world, "harbour_world": world}


register_world("harbour_world", ("intel_world", "harbour_world"), _build_register_world)
harbour_world = world_part("harbour_world")


@pytest.fixture
def world(harbour_world):
    """:func:`build_world`, built once for the module (tests/conftest.py, register_world)."""
    return harbour_world


@pytest.fixture
def as_lead(world, client, act_as):
    act_as(world.users.lead)
    return client


def shown_in_order(text: str, names=ALL) -> list[str]:
    """The services a page lists, in the order it lists them."""
    rows = re.findall(r'<th scope="row" class="govuk-table__header">\s*(?:<a [^>]*>)?([^<]+)', text)
    return [name.strip() for name in rows if name.strip() in names]


def exported(client, **query) -> list[dict]:
    response = client.get("/register.csv", query_string=query)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


# The page -------------------------------------------------------------------------------------


def test_the_register_ranks_services_by_score_and_explains_each_signal(world, as_lead):
    text = as_lead.get("/register").text
    assert shown_in_order(text) == [HOME, ELSEWHERE, HARBOUR]
    home_row = text[text.index(HOME):text.index(ELSEWHERE)]
    assert '<strong class="govuk-tag govuk-tag--red">Red</strong>' in home_row
    assert "Converging" in home_row and "on Safe" in home_row
    assert "Inadequate" in home_row and "30 days ago" in home_row
    assert "Whistleblowing (high; Safe). Whistleblowing about night care" in home_row
    assert re.search(r"Likelihood \d × consequence \d = \d+", home_row)
    harbour_row = text[text.index(HARBOUR):]
    assert '<strong class="govuk-tag govuk-tag--green">Green</strong>' in harbour_row
    assert "No inspection recorded" in harbour_row and "Never" in harbour_row


def test_a_row_shows_the_three_largest_items_and_links_to_the_rest(world, as_lead, add_item):
    for number in range(2):
        add_item(source=SourceType.FEEDBACK, severity=Severity.LOW, summary=f"Small feedback {number}")
    text = as_lead.get("/register").text
    home_row = text[text.index(HOME):text.index(ELSEWHERE)]
    # Three high items, the inspection and the two pieces of feedback: three shown, three more.
    assert home_row.count("<li>") == 3
    assert "Inspection (serious" in home_row
    assert f'href="/services/{world.home.id}">and 3 more' in home_row
    assert "Small feedback" not in home_row


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"band": "RED"}, {HOME}),
        ({"band": ["RED", "GREEN"]}, ALL),
        ({"band": "AMBER"}, set()),
        ({"converging": "y"}, {HOME}),
        ({"service_type": "CARE_HOME_NURSING"}, {HARBOUR}),
        ({"inspection": "INADEQUATE"}, {HOME}),
        ({"inspection": "GOOD"}, {ELSEWHERE}),
        ({"inspection": "NO_INSPECTION"}, {HARBOUR}),
        ({"visit": "SIX_MONTHS"}, {ELSEWHERE, HARBOUR}),
        ({"visit": "TWELVE_MONTHS"}, {HARBOUR}),
        ({"visit": "NEVER"}, {HARBOUR}),
        ({"band": "GREEN", "service_type": "DOMICILIARY"}, {ELSEWHERE}),
    ],
)
def test_each_filter_narrows_the_register_and_its_export(world, as_lead, query, expected):
    text = as_lead.get("/register", query_string=query).text
    assert set(shown_in_order(text)) == expected
    assert {row["Service"] for row in exported(as_lead, **query)} == expected


def test_the_area_and_commissioner_filters_offer_only_what_the_person_may_see(world, as_lead, client, act_as):
    text = as_lead.get("/register").text
    assert f'<option value="{world.area.id}">Intelshire</option>' in text
    assert "Intelshire ICB</option>" in text and "Intelshire Council</option>" in text
    icb = {"commissioner": world.icb.id}
    assert set(shown_in_order(as_lead.get("/register", query_string=icb).text)) == {ELSEWHERE, HARBOUR}
    assert set(shown_in_order(as_lead.get("/register", query_string={"area": world.area.id}).text)) == ALL
    act_as(world.users.manager)
    manager_page = client.get("/register").text
    assert "Intelshire ICB</option>" in manager_page  # it commissions Harbour, one of Sunrise's own
    assert client.get("/register", query_string={"commissioner": world.council.id}).status_code == 200
    act_as(world.users.council_commissioner)
    commissioner_page = client.get("/register", query_string=icb).text
    assert "Select one of the options" in commissioner_page and shown_in_order(commissioner_page) == []


def test_a_filter_value_outside_the_lists_is_an_error_not_a_wider_list(world, as_lead):
    response = as_lead.get("/register", query_string={"band": "PURPLE"})
    assert response.status_code == 200
    assert "There is a problem" in response.text and shown_in_order(response.text) == []
    csv_response = as_lead.get("/register.csv", query_string={"band": "PURPLE"})
    assert csv_response.status_code == 302 and "/register?band=PURPLE" in csv_response.headers["Location"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("RISK", [HOME, ELSEWHERE, HARBOUR]),
        ("NAME", [HARBOUR, ELSEWHERE, HOME]),
        ("INSPECTED", [HARBOUR, ELSEWHERE, HOME]),
        ("VISITED", [HARBOUR, ELSEWHERE, HOME]),
    ],
)
def test_the_register_and_its_export_sort_the_same_way(world, as_lead, sort, expected):
    assert shown_in_order(as_lead.get("/register", query_string={"sort": sort}).text) == expected
    assert [row["Service"] for row in exported(as_lead, sort=sort)] == expected


def test_inspection_order_puts_the_longest_ago_first(world, as_lead, make_service, make_commissioning):
    _inspect(world, world.harbour, 100, Rating.GOOD)
    db.session.commit()
    assert shown_in_order(as_lead.get("/register", query_string={"sort": "INSPECTED"}).text) == [ELSEWHERE, HARBOUR, HOME]


def test_the_register_is_paged_and_the_export_holds_every_page(world, as_lead, make_service):
    extra = {make_service(world.moonlight, name=f"Annex {number:02d}").name for number in range(30)}
    intel.refresh_outdated_signals()
    names = ALL | extra
    first = as_lead.get("/register").text
    second = as_lead.get("/register", query_string={"page": 2}).text
    assert len(shown_in_order(first, names)) == 25
    assert len(shown_in_order(second, names)) == 8
    assert set(shown_in_order(first, names)) | set(shown_in_order(second, names)) == names
    assert "Showing 26 to 33 of 33" in second
    assert len(shown_in_order(as_lead.get("/register", query_string={"per_page": 50}).text, names)) == 33
    assert "Select one of the options" in as_lead.get("/register", query_string={"per_page": 1000}).text
    assert len(exported(as_lead)) == 33


def test_the_register_reads_no_intelligence_items_and_its_queries_do_not_grow_with_rows(
    world, as_lead, make_service, app, monkeypatch
):
    # The page as built, not as kept in the page store (tests/intelligence/test_pagecache.py).
    monkeypatch.setitem(app.config, "PAGE_CACHE_ENTRIES", 0)

    def statements_for_page() -> list[str]:
        seen = []

        def note(conn, cursor, statement, *args):
            seen.append(statement)

        as_lead.get("/register")  # loads what the tests' commits expired, as a fresh request's session would
        sa.event.listen(db.engine, "before_cursor_execute", note)
        try:
            assert as_lead.get("/register").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", note)
        return seen

    small = statements_for_page()
    for number in range(20):
        make_service(world.moonlight, name=f"Extra {number}")
    intel.refresh_outdated_signals()
    large = statements_for_page()
    assert len(large) == len(small)
    register_sql = [s for s in large if "risk_signal" in s]
    assert register_sql and not any("intelligence_item" in s for s in register_sql)
    assert not any("FROM intelligence_item" in s for s in large)


# The export -----------------------------------------------------------------------------------


def test_the_export_has_a_header_the_rows_reasons_and_is_audited(world, as_lead):
    response = as_lead.get("/register.csv", query_string={"band": "RED"})
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="risk-register-')
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Service", "Provider", "Area", "Service type", "RAG band"]
    (home,) = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert (home["Service"], home["RAG band"], home["Converging on"]) == (HOME, "Red", "Safe")
    assert home["Last inspection rating"] == "Inadequate"
    assert home["Days since last visit"] == "30"
    assert "Whistleblowing about night care" in home["Contributing items (largest first)"]
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "intelligence.register.export").order_by(AuditEvent.seq.desc())
    ).first()
    assert event is not None and event.actor_id == world.users.lead.id
    assert '"bands":["RED"]' in event.details.replace(" ", "") and '"rows":1' in event.details.replace(" ", "")


def test_the_export_never_lets_a_cell_run_as_a_formula(world, as_lead, make_agency, make_service, add_item):
    from portal.core.codes import AgencyKind

    provider = make_agency(AgencyKind.CARE_PROVIDER, area=world.area, name="@SUM(1+1)")
    evil = make_service(provider, name='=HYPERLINK("http://evil.example","Click")')
    add_item(evil, source=SourceType.COMPLAINT, severity=Severity.LOW, summary="-2+3")
    row = next(row for row in exported(as_lead) if "HYPERLINK" in row["Service"])
    assert row["Service"] == "'" + evil.name
    assert row["Provider"] == "'@SUM(1+1)"
    for value in ("=1", "+1", "-1", "@x", "\tx"):
        assert safe_cell(value) == "'" + value
    assert safe_cell("Plain text") == "Plain text" and safe_cell(None) == ""


def test_personal_safeguarding_items_are_withheld_from_those_not_party_to_them(world, client, act_as):
    lead = world.users.lead
    lead.membership = lead.active_memberships[0]
    intel.record_item(world.home, intel.ItemDetails(
        occurred_on=TODAY, source=SourceType.SAR_FINDING, key_questions={KeyQuestion.SAFE}, severity=Severity.SERIOUS,
        summary="Review names Mrs Personal", sharing_category=DataCategory.PERSONAL_SAFEGUARDING,
    ), by=lead, supplied_by=world.council)
    db.session.commit()
    act_as(lead)
    assert "Review names Mrs Personal" in client.get("/register").text
    act_as(world.users.inspector)  # sees confidential items, but shares no personal data with the council
    inspector_page = client.get("/register").text
    assert "Review names Mrs Personal" not in inspector_page and WITHHELD in inspector_page
    assert "Mrs Personal" not in client.get("/register.csv").data.decode()
    act_as(world.users.manager)
    manager_csv = client.get("/register.csv").data.decode()
    assert "Mrs Personal" not in manager_csv and WITHHELD not in manager_csv


# Register entries -----------------------------------------------------------------------------


def _entry_form(day: date, owner_id, version=0, note="Weekly calls with the manager"):
    return {"owner": owner_id, "review_on": [day.day, day.month, day.year], "note": note, "version": version}


def test_the_owner_and_review_date_are_set_and_shown_on_the_register(world, as_lead):
    review = TODAY + timedelta(days=14)
    owner = world.users.council_commissioner
    page = as_lead.get(f"/services/{world.home.id}/register-entry")
    assert page.status_code == 200 and "Cora Council" in page.text and "Pat Police" not in page.text
    response = as_lead.post(f"/services/{world.home.id}/register-entry", data=_entry_form(review, owner.id))
    assert response.status_code == 302
    entry = db.session.scalar(sa.select(RegisterEntry).where(RegisterEntry.service_id == world.home.id))
    assert (entry.owner_id, entry.review_on, entry.note) == (owner.id, review, "Weekly calls with the manager")
    text = as_lead.get("/register").text
    home_row = text[text.index(HOME):text.index(ELSEWHERE)]
    assert "Cora Council" in home_row and f"Review by {review.day}" in home_row and "Review overdue" not in home_row
    row = next(row for row in exported(as_lead) if row["Service"] == HOME)
    assert (row["Risk owner"], row["Review date"], row["Review overdue"]) == ("Cora Council", review.isoformat(), "No")


def test_an_overdue_review_is_highlighted(world, as_lead):
    as_lead.post(f"/services/{world.home.id}/register-entry",
                 data=_entry_form(TODAY - timedelta(days=3), world.users.lead.id))
    text = as_lead.get("/register").text
    assert '<strong class="govuk-tag govuk-tag--red">Review overdue</strong>' in text[text.index(HOME):text.index(ELSEWHERE)]
    assert next(row for row in exported(as_lead) if row["Service"] == HOME)["Review overdue"] == "Yes"


def test_an_owner_and_a_review_date_are_required_and_the_owner_must_be_offered(world, as_lead):
    response = as_lead.post(f"/services/{world.home.id}/register-entry", data={"note": "x", "version": 0})
    assert "Select who owns this risk" in response.text and "Enter the next review date" in response.text
    outsider = world.users.manager.id
    response = as_lead.post(f"/services/{world.home.id}/register-entry", data=_entry_form(TODAY, outsider))
    assert "Select one of the options" in response.text
    assert db.session.scalar(sa.select(RegisterEntry).where(RegisterEntry.service_id == world.home.id)) is None


def test_a_concurrent_edit_is_refused_and_nothing_typed_is_lost(world, as_lead, acting):
    form = as_lead.get(f"/services/{world.home.id}/register-entry").text
    assert 'name="version" type="hidden" value="0"' in form
    other = acting(world.users.council_commissioner)
    intel.set_register_entry(world.home, owner=other, review_on=TODAY + timedelta(days=7), note="Theirs", by=other)
    db.session.commit()
    response = as_lead.post(
        f"/services/{world.home.id}/register-entry",
        data=_entry_form(TODAY + timedelta(days=30), world.users.lead.id, version=0, note="Mine, typed carefully"),
    )
    assert response.status_code == 200
    assert "Someone else changed this register entry" in response.text
    assert "Mine, typed carefully" in response.text
    entry = db.session.scalar(sa.select(RegisterEntry).where(RegisterEntry.service_id == world.home.id))
    assert (entry.note, entry.owner_id) == ("Theirs", other.id)
    version = entry.version
    again = as_lead.post(
        f"/services/{world.home.id}/register-entry",
        data=_entry_form(TODAY + timedelta(days=30), world.users.lead.id, version=version, note="Mine"),
    )
    assert again.status_code == 302
    assert entry.note == "Mine" and entry.version == version + 1


def test_months_before_keeps_the_day_or_takes_the_last_of_a_shorter_month():
    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert months_before(date(2026, 3, 15), 12) == date(2025, 3, 15)
    assert months_before(date(2026, 1, 10), 1) == date(2025, 12, 10)


def test_each_signal_keeps_its_first_reasons_and_their_number_as_its_reasons_change(world, add_item):
    """The register reads ``top_reasons`` and ``reason_count``, never the whole list: they must agree with it."""
    from portal.intelligence.models import RiskSignal

    def signals():
        db.session.expire_all()
        return db.session.scalars(sa.select(RiskSignal).order_by(RiskSignal.id)).all()

    for summary in ('He wrote {"item_id": 5} and "quoted" it', "Café ☕ 🙂 " * 14, "\\", "x" * 160):
        add_item(source=SourceType.COMPLAINT, severity=Severity.SERIOUS, summary=summary)
    intel.record_item(world.home, intel.ItemDetails(
        occurred_on=TODAY, source=SourceType.SAR_FINDING, key_questions={KeyQuestion.SAFE}, severity=Severity.SERIOUS,
        summary="Filed as personal data", sharing_category=DataCategory.PERSONAL_SAFEGUARDING,
    ), by=None, supplied_by=world.council)
    db.session.commit()
    for signal in signals():
        assert signal.reason_count == len(signal.reasons)
        assert signal.top_reasons == signal.reasons[:3]
    home = next(s for s in signals() if s.service_id == world.home.id and s.includes_confidential)
    assert home.reason_count == 9  # 3 high items, the inspection, these 4 and the personal one
    assert home.top_reasons[0]["summary"] == "Filed as personal data" and home.top_reasons[0]["personal"]

    # A refresh (the nightly one for time decay) keeps them in step; a service with nothing has none.
    intel.refresh_signals([world.home.id, world.elsewhere.id, world.harbour.id], today=TODAY + timedelta(days=400))
    db.session.commit()
    for signal in signals():
        assert (signal.top_reasons, signal.reason_count) == ([], 0) == (signal.reasons, len(signal.reasons))


def test_a_row_shows_the_first_three_reasons_and_how_many_more(world, add_item, as_lead):
    for number in range(5):
        add_item(source=SourceType.COMPLAINT, severity=Severity.SERIOUS, summary=f"Serious complaint {number}")
    db.session.commit()
    text = as_lead.get("/register").text
    row = text[text.index(HOME):text.index("</tr>", text.index(HOME))]
    assert row.count("<li>") == 3
    assert "and 6 more" in row  # 5 complaints, 3 high items and the inspection, less the 3 shown
    export = next(row for row in exported(as_lead) if row["Service"] == HOME)
    assert export["Contributing items (largest first)"].count(" | ") == 3
    assert export["Contributing items (largest first)"].endswith("and 6 more")


def test_a_new_service_is_on_the_register_from_the_start(intel_world, client, act_as, acting):
    from portal.agencies.operations import add_service

    acting(intel_world.users.admin)
    add_service(intel_world.sunrise, name="Sunrise Annexe", location_ref="1-998877665", service_type=ServiceType.DOMICILIARY,
                address="1 New Road", postcode="NS1 1AA", registered_beds=None)
    db.session.commit()
    act_as(intel_world.users.lead)
    page = client.get("/register").text
    assert "Sunrise Annexe" in page
