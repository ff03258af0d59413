"""Contract-monitoring results and other intelligence items, from the CSV templates the portal offers."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import sqlalchemy as sa

from portal.core.codes import DataCategory, KeyQuestion
from portal.extensions import db
from portal.intelligence.models import (
    ImportStatus,
    IntelligenceItem,
    MonitoringVisit,
    QualityScore,
    Severity,
    SourceType,
)
from tests.intelligence.imports.conftest import batch_of

YESTERDAY = date.today() - timedelta(days=1)
DUE = (date.today() + timedelta(days=28)).strftime("%d/%m/%Y")


def _template(client, slug: str) -> list[str]:
    response = client.get(f"/imports/templates/{slug}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="{slug}-template.csv"' in response.headers["Content-Disposition"]
    return next(csv.reader(io.StringIO(response.text)))


def _file(header: list[str], rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _confirm(client, batch):
    assert client.post(f"/imports/{batch.id}/confirm").status_code == 302
    return db.session.get(type(batch), batch.id, populate_existing=True)


# Contract-monitoring visits --------------------------------------------------------------------------


def _visit(ref, **cells) -> dict:
    return {"Location ID": ref, "Visit date": YESTERDAY.isoformat(), "Visiting officer": "Val Visitor", **cells}


def test_the_monitoring_template_has_a_column_per_standard(intel_world, act_as, client):
    act_as(intel_world.users.council_commissioner)
    header = _template(client, "monitoring-visits")
    assert header[:4] == ["Location ID", "Visit date", "Visiting officer", "Findings"]
    assert header[4:20] == ["S1", "S2", "S3", "S4", "E1", "E2", "E3", "C1", "C2", "C3", "R1", "R2", "R3", "W1", "W2", "W3"]
    assert header[20:] == ["Action", "Action owner", "Action due date"]
    assert "several actions" in client.get("/imports/new/monitoring-visits").text


def test_a_visit_with_several_actions_is_imported_once(intel_world, act_as, upload, client):
    act_as(intel_world.users.council_commissioner)
    header = _template(client, "monitoring-visits")
    ref = intel_world.home.location_ref
    content = _file(header, [
        _visit(ref, Findings="Medicines charts incomplete", S1="Good", S4="Poor", W2="requires improvement",
               Action="Audit medicines charts weekly", **{"Action owner": "Registered manager", "Action due date": DUE}),
        _visit(ref, Action="Train night staff", **{"Action owner": "Deputy manager", "Action due date": DUE}),
        _visit(ref, Action="Train night staff", **{"Action owner": "Deputy manager", "Action due date": DUE}),
    ])
    batch = batch_of(upload("monitoring-visits", content, "visits.csv"))
    assert batch.status is ImportStatus.READY, batch.errors
    counts = dict(batch.preview["counts"])
    assert counts["New visits to add"] == 1 and counts["Improvement actions in them"] == 2
    assert counts["Repeated rows (harmless)"] == 1

    assert _confirm(client, batch).status is ImportStatus.APPLIED
    [visit] = db.session.scalars(sa.select(MonitoringVisit)).all()
    assert visit.commissioner_id == intel_world.council.id and visit.service_id == intel_world.home.id
    assert visit.findings == "Medicines charts incomplete" and visit.import_id == batch.id
    assert {score.score for score in visit.scores} == {QualityScore.GOOD, QualityScore.POOR, QualityScore.REQUIRES_IMPROVEMENT}
    assert sorted(action.owner for action in visit.actions) == ["Deputy manager", "Registered manager"]

    again = batch_of(upload("monitoring-visits", content, "visits.csv"))
    assert dict(again.preview["counts"])["Visits already imported (unchanged)"] == 1
    _confirm(client, again)
    assert db.session.scalar(sa.select(sa.func.count(MonitoringVisit.id))) == 1


def test_visits_only_to_services_the_agency_commissions(intel_world, act_as, upload, client):
    act_as(intel_world.users.council_commissioner)
    header = _template(client, "monitoring-visits")
    content = _file(header, [
        _visit(intel_world.home.location_ref, S1="Excellent"),
        _visit(intel_world.elsewhere.location_ref, S1="Good"),  # the ICB's, not the council's
        _visit("1-424242424", S1="Good"),  # no such service
        _visit(intel_world.home.location_ref, S2="Great", **{"Visit date": "yesterday"}),
        _visit(intel_world.home.location_ref, **{"Visiting officer": "Someone Else"}),
        _visit(intel_world.home.location_ref, S1="Excellent", Action="Do it"),
    ])
    batch = batch_of(upload("monitoring-visits", content))
    assert batch.status is ImportStatus.INVALID
    errors = [tuple(error) for error in batch.errors]
    assert (3, f"Location {intel_world.elsewhere.location_ref} is not a service your agency commissions") in errors
    assert (4, "Location 1-424242424 is not a service your agency commissions") in errors
    assert (5, "Visit date 'yesterday' is not a date: use 2025-03-14 or 14/03/2025") in errors
    assert (5, "S2 score 'Great' is not one of Excellent, Good, Requires improvement, Poor") in errors
    assert (6, "Score at least one standard") in errors
    assert (7, "Action, Action owner and Action due date go together: fill in all three, or none") in errors
    _confirm(client, batch)
    assert db.session.scalar(sa.select(sa.func.count(MonitoringVisit.id))) == 0


def test_a_repeated_visit_row_with_other_scores_is_an_error(intel_world, act_as, upload, client):
    act_as(intel_world.users.council_commissioner)
    header = _template(client, "monitoring-visits")
    ref = intel_world.home.location_ref
    batch = batch_of(upload("monitoring-visits", _file(header, [_visit(ref, S1="Good"), _visit(ref, S1="Poor")])))
    assert batch.errors == [[3, "Repeats the visit on line 2 with different findings or scores: on the rows that add "
                                "further actions to a visit, leave Findings and the scores blank"]]


def test_inspectors_may_not_import_visits(intel_world, act_as, client):
    act_as(intel_world.users.inspector)
    assert client.get("/imports/new/monitoring-visits").status_code == 403
    assert client.get("/imports/templates/monitoring-visits.csv").status_code == 403


# Other intelligence items ---------------------------------------------------------------------------


def _item(ref, **cells) -> dict:
    return {"Location ID": ref, "Date": YESTERDAY.strftime("%d/%m/%Y"), "Source": "Complaint", "Key questions": "Safe; Caring",
            "Severity": "High", "Summary": "Family complained about night-time checks", **cells}


def test_items_are_imported_once_with_their_codes_read_by_label_or_name(intel_world, act_as, upload, client):
    act_as(intel_world.users.lead)
    header = _template(client, "items")
    assert header == ["Location ID", "Date", "Source", "Key questions", "Severity", "Summary", "Confidential", "Sharing category"]
    ref = intel_world.home.location_ref
    content = _file(header, [
        _item(ref),
        _item(ref),
        _item(ref, Source="WHISTLEBLOWING", **{"Key questions": "well-led", "Severity": "serious", "Summary": "Staff rota falsified"}),
        _item(intel_world.elsewhere.location_ref, Source="workforce indicator", Severity="Positive: no concern",
              Confidential="N", **{"Key questions": "WELL_LED", "Sharing category": "Provider-level intelligence"}),
    ])
    batch = batch_of(upload("items", content, "items.csv"))
    assert batch.status is ImportStatus.READY, batch.errors
    assert dict(batch.preview["counts"])["New items to add"] == 3
    assert dict(batch.preview["counts"])["Repeated rows (harmless)"] == 1
    assert _confirm(client, batch).status is ImportStatus.APPLIED

    items = {item.source: item for item in db.session.scalars(sa.select(IntelligenceItem).where(IntelligenceItem.import_id == batch.id))}
    assert set(items) == {SourceType.COMPLAINT, SourceType.WHISTLEBLOWING, SourceType.WORKFORCE}
    assert items[SourceType.COMPLAINT].key_questions == [KeyQuestion.SAFE, KeyQuestion.CARING]
    assert items[SourceType.COMPLAINT].severity is Severity.HIGH and not items[SourceType.COMPLAINT].confidential
    assert items[SourceType.WHISTLEBLOWING].confidential, "whistleblowing is confidential by default"
    assert items[SourceType.WORKFORCE].sharing_category is DataCategory.PROVIDER_INTELLIGENCE
    assert all(item.supplied_by_id == intel_world.council.id for item in items.values())

    again = batch_of(upload("items", content, "items.csv"))
    assert dict(again.preview["counts"])["Items already imported (unchanged)"] == 3
    _confirm(client, again)
    assert db.session.scalar(sa.select(sa.func.count(IntelligenceItem.id)).where(IntelligenceItem.fingerprint.is_not(None))) == 3


def test_item_rows_with_bad_codes_or_unseen_services(intel_world, act_as, upload, client):
    act_as(intel_world.users.inspector)  # sees Sunrise House (shared with the regulator), not Moonlight Lodge
    header = _template(client, "items")
    ref = intel_world.home.location_ref
    content = _file(header, [
        _item(intel_world.elsewhere.location_ref),
        _item("1-123123123"),
        _item(ref, Source="Inspection"),
        _item(ref, Source="Gossip", Severity="Dire", **{"Key questions": "Safe; Cheerful"}),
        _item(ref, Summary="", Date=(date.today() + timedelta(days=2)).isoformat()),
        _item(ref, Confidential="Perhaps"),
    ])
    batch = batch_of(upload("items", content))
    errors = [tuple(error) for error in batch.errors]
    not_found = "is not a service you can record intelligence about"
    assert (2, f"Location {intel_world.elsewhere.location_ref} {not_found}") in errors
    assert (3, f"Location 1-123123123 {not_found}") in errors
    assert (4, "Inspection items come from their own records and cannot be imported") in errors
    assert any(line == 5 and reason.startswith("Source 'Gossip' is not one of") for line, reason in errors)
    assert any(line == 5 and reason.startswith("Key question 'Cheerful' is not one of") for line, reason in errors)
    assert any(line == 5 and reason.startswith("Severity 'Dire' is not one of") for line, reason in errors)
    assert (6, "The date must be today or in the past") in errors and (6, "Enter a summary") in errors
    assert (7, "Confidential 'Perhaps' must be Y, N or blank") in errors
    assert batch.status is ImportStatus.INVALID
    _confirm(client, batch)
    assert db.session.scalar(sa.select(sa.func.count(IntelligenceItem.id)).where(IntelligenceItem.import_id == batch.id)) == 0


def test_many_row_errors_are_capped_but_counted(intel_world, act_as, upload, client):
    act_as(intel_world.users.lead)
    header = _template(client, "items")
    batch = batch_of(upload("items", _file(header, [_item("1-1", Severity="Dire")] * 700)))
    assert batch.error_count == 1400 and len(batch.errors) == 500
    assert "The first 500 of 1,400 problems" in client.get(f"/imports/{batch.id}").text
