"""Importing the regulator's care directory with ratings: reading real-looking files, row errors,
the preview, and applying all at once or not at all."""

from __future__ import annotations

import io
from datetime import date, timedelta

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.core.codes import Rating
from portal.extensions import db
from portal.intelligence.models import ImportStatus, Inspection, IntelligenceItem, SourceType
from tests.intelligence.imports.conftest import (
    REGULATOR_COLUMNS,
    batch_of,
    publication,
    regulator_row,
    to_csv,
)


def _inspections(service):
    return db.session.scalars(
        sa.select(Inspection).where(Inspection.service_id == service.id).order_by(Inspection.published_on)
    ).all()


def _confirm(client, batch):
    response = client.post(f"/imports/{batch.id}/confirm")
    assert response.status_code == 302
    return db.session.get(type(batch), batch.id, populate_existing=True)


def test_banner_lines_bom_windows_line_endings_and_blank_rows_are_read(intel_world, inspector, upload, client):
    home = intel_world.home
    rows = publication(home.location_ref, {"Overall": "Requires improvement", "Safe": "Inadequate", "Effective": "Good",
                                           "Caring": "Good", "Responsive": "Good", "Well-led": "Requires improvement"})
    rows.insert(3, [""] * len(REGULATOR_COLUMNS))
    rows.append([])
    batch = batch_of(upload("regulator-ratings", to_csv(rows, bom=True, crlf=True), "ratings.csv"))

    assert batch.status is ImportStatus.READY, (batch.problem, batch.errors)
    assert batch.rows_total == 6
    assert dict(batch.preview["counts"])["New inspections to add"] == 1
    assert not _inspections(home), "checking saves nothing but the batch"

    page = client.get(f"/imports/{batch.id}").text
    assert "Confirm and import" in page and "New inspections to add" in page

    batch = _confirm(client, batch)
    assert batch.status is ImportStatus.APPLIED
    [inspection] = _inspections(home)
    assert inspection.overall is Rating.REQUIRES_IMPROVEMENT and inspection.safe is Rating.INADEQUATE
    assert inspection.well_led is Rating.REQUIRES_IMPROVEMENT and inspection.report_type == "Scheduled"
    assert inspection.import_id == batch.id and not inspection.inherited
    assert db.session.scalar(sa.select(IntelligenceItem).where(
        IntelligenceItem.inspection_id == inspection.id, IntelligenceItem.source == SourceType.INSPECTION)) is not None
    assert "Inspections added" in client.get(f"/imports/{batch.id}").text


def test_import_writes_one_audit_event(intel_world, inspector, upload, client):
    rows = publication(intel_world.home.location_ref) + publication(intel_world.elsewhere.location_ref)
    before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    batch = _confirm(client, batch_of(upload("regulator-ratings", to_csv(rows))))
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.seq > 0).order_by(AuditEvent.seq.desc())).all()
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before + 1
    assert events[0].action == "intelligence.import.apply" and events[0].object_id == str(batch.id)


def test_reimporting_the_same_file_changes_nothing(intel_world, inspector, upload, client):
    content = to_csv(publication(intel_world.home.location_ref, "Good"))
    _confirm(client, batch_of(upload("regulator-ratings", content)))
    again = batch_of(upload("regulator-ratings", content))
    counts = dict(again.preview["counts"])
    assert counts["New inspections to add"] == 0 and counts["Inspections already imported (unchanged)"] == 1
    assert "Nothing in this file is new" in client.get(f"/imports/{again.id}").text
    assert _confirm(client, again).status is ImportStatus.APPLIED
    assert len(_inspections(intel_world.home)) == 1


def test_a_newer_publication_is_added_to_the_history(intel_world, inspector, upload, client):
    ref = intel_world.home.location_ref
    earlier = date.today() - timedelta(days=400)
    _confirm(client, batch_of(upload("regulator-ratings", to_csv(publication(ref, "Good", published=earlier)))))
    later = to_csv(publication(ref, "Good", published=earlier) + publication(ref, "Inadequate"))
    batch = _confirm(client, batch_of(upload("regulator-ratings", later)))
    assert batch.result["added"] == 1
    history = _inspections(intel_world.home)
    assert [i.overall for i in history] == [Rating.GOOD, Rating.INADEQUATE]
    assert history[0].published_on == earlier


def test_other_population_groups_are_counted_not_stored_and_unknown_locations_listed(intel_world, inspector, upload, client):
    ref = intel_world.home.location_ref
    rows = (publication(ref, "Good") + publication(ref, "Outstanding", group="Older people")
            + publication("1-999000111", "Good") + publication("1-999000222", "Good"))
    batch = batch_of(upload("regulator-ratings", to_csv(rows)))
    counts = dict(batch.preview["counts"])
    assert counts["Rows for other population groups (not stored)"] == 6
    assert counts["Locations that are not services in this area"] == 2
    assert batch.preview["unknown"] == ["1-999000111", "1-999000222"]
    page = client.get(f"/imports/{batch.id}").text
    assert "1-999000111" in page and "1-999000222" in page
    _confirm(client, batch)
    [inspection] = _inspections(intel_world.home)
    assert inspection.overall is Rating.GOOD


def test_unknown_locations_beyond_two_hundred_are_counted(intel_world, inspector, upload):
    rows = [regulator_row(f"1-{500000000 + n}", "Overall", "Good") for n in range(250)]
    batch = batch_of(upload("regulator-ratings", to_csv(rows)))
    assert len(batch.preview["unknown"]) == 200 and batch.preview["unknown_total"] == 250


def test_each_bad_row_is_reported_with_its_line_and_nothing_is_saved(intel_world, inspector, upload, client):
    ref = intel_world.home.location_ref
    rows = publication(ref, "Good")
    rows[1] = regulator_row(ref, "Safe", "Very good")
    rows.append(regulator_row(ref, "Kindness", "Good"))
    rows.append(regulator_row("123456", "Overall", "Good"))
    rows.append(regulator_row(ref, "Overall", "Good", published="31/02/2025"))
    rows.append(regulator_row(ref, "Overall", "Good", published=""))
    rows.append(regulator_row(ref, "Overall", "Good", inherited="Maybe"))
    rows.append(regulator_row(ref, "Overall", "Good", published=date.today() + timedelta(days=3)))
    batch = batch_of(upload("regulator-ratings", to_csv(rows)))  # 3 banner lines and a header: data from line 5

    assert batch.status is ImportStatus.INVALID
    errors = dict((line, reason) for line, reason in batch.errors)
    assert errors[6] == "Rating 'Very good' is not one of Outstanding, Good, Requires improvement, Inadequate, Not rated, Insufficient evidence to rate"
    assert errors[11].startswith("Domain 'Kindness' is not one of Overall, Safe")
    assert "Location ID '123456' is not in the regulator's format" in errors[12]
    assert errors[13] == "Publication Date '31/02/2025' is not a date: use 2025-03-14 or 14/03/2025"
    assert errors[14] == "Publication Date is blank"
    assert errors[15] == "Inherited Rating (Y/N) 'Maybe' must be Y or N"
    assert "is in the future" in errors[16]
    assert batch.error_count == 7
    page = client.get(f"/imports/{batch.id}").text
    assert "7 problems in the file" in page and "Very good" in page and "Confirm and import" not in page
    assert client.post(f"/imports/{batch.id}/confirm").status_code == 302
    assert not _inspections(intel_world.home)


def test_duplicate_rows_are_harmless_but_conflicting_ones_are_errors(intel_world, inspector, upload):
    ref = intel_world.home.location_ref
    rows = publication(ref, "Good")
    rows.append(regulator_row(ref, "Safe", "Good"))
    batch = batch_of(upload("regulator-ratings", to_csv(rows)))
    assert batch.status is ImportStatus.READY
    assert dict(batch.preview["counts"])["Repeated rows (harmless)"] == 1

    rows.append(regulator_row(ref, "Safe", "Inadequate"))
    batch = batch_of(upload("regulator-ratings", to_csv(rows)))
    assert batch.status is ImportStatus.INVALID
    [[line, reason]] = batch.errors
    assert line == 12 and reason.startswith("Conflicts with line 6: Safe for") and "rated Good there and Inadequate here" in reason


def test_a_refusal_while_applying_saves_nothing(intel_world, inspector, upload, client, monkeypatch):
    """All or nothing: when the second of two inspections is refused, the first is not kept either."""
    from portal.intelligence.imports import operations

    rows = publication(intel_world.home.location_ref, "Good") + publication(intel_world.elsewhere.location_ref, "Good")
    batch = batch_of(upload("regulator-ratings", to_csv(rows)))
    assert batch.status is ImportStatus.READY
    original = operations.RegulatorImporter.add
    added = []

    def add_then_refuse(self, service, planned):
        original(self, service, planned)
        added.append(service.id)
        if len(added) == 2:
            raise operations.IntelligenceError("overall", "Refused on purpose")

    monkeypatch.setattr(operations.RegulatorImporter, "add", add_then_refuse)
    batch = _confirm(client, batch)
    assert batch.status is ImportStatus.FAILED and batch.problem == "Refused on purpose"
    assert len(added) == 2 and not _inspections(intel_world.home) and not _inspections(intel_world.elsewhere)
    assert "The import failed: nothing was imported" in client.get(f"/imports/{batch.id}").text


def test_a_file_that_no_longer_passes_its_check_fails_whole(intel_world, inspector, upload, client):
    rows = publication(intel_world.home.location_ref, "Good") + publication(intel_world.elsewhere.location_ref, "Good")
    batch = batch_of(upload("regulator-ratings", to_csv(rows)))
    batch.content = to_csv(rows + [regulator_row(intel_world.home.location_ref, "Safe", "Splendid")])
    db.session.commit()
    batch = _confirm(client, batch)
    assert batch.status is ImportStatus.FAILED
    assert "no longer passes its checks" in batch.problem and "Splendid" in batch.problem
    assert not _inspections(intel_world.home)


def test_inherited_ratings_and_iso_dates(intel_world, inspector, upload, client):
    rows = publication(intel_world.home.location_ref, "Good", inherited="Y", published=(date.today() - timedelta(days=9)).isoformat())
    _confirm(client, batch_of(upload("regulator-ratings", to_csv(rows))))
    [inspection] = _inspections(intel_world.home)
    assert inspection.inherited and inspection.published_on == date.today() - timedelta(days=9)


def test_a_windows_1252_file_is_read(intel_world, inspector, upload):
    rows = publication(intel_world.home.location_ref, "Good")
    rows[0][REGULATOR_COLUMNS.index("Location Name")] = "Café Résidence – Nord"
    batch = batch_of(upload("regulator-ratings", to_csv(rows, encoding="cp1252")))
    assert batch.status is ImportStatus.READY


def _spreadsheet_rows(rows):
    return [["Care directory with ratings"], [], REGULATOR_COLUMNS, *rows]


def test_an_xlsx_export_is_read_from_its_locations_sheet(intel_world, inspector, upload, client):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Read me"
    workbook.active.append(["This sheet explains the file"])
    sheet = workbook.create_sheet("Locations")
    rows = publication(intel_world.home.location_ref, "Outstanding")
    for row in _spreadsheet_rows(rows):
        sheet.append(row)
    published = date.today() - timedelta(days=12)
    for number in range(4, 10):  # real spreadsheet dates, not text
        sheet.cell(row=number, column=REGULATOR_COLUMNS.index("Publication Date") + 1).value = published
    out = io.BytesIO()
    workbook.save(out)
    batch = _confirm(client, batch_of(upload("regulator-ratings", out.getvalue(), "ratings.xlsx")))
    assert batch.status is ImportStatus.APPLIED, (batch.problem, batch.errors)
    [inspection] = _inspections(intel_world.home)
    assert inspection.overall is Rating.OUTSTANDING and inspection.published_on == published


def test_an_ods_export_is_read(intel_world, inspector, upload, client):
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="Locations")
    for row in _spreadsheet_rows(publication(intel_world.home.location_ref, "Requires improvement")):
        table_row = TableRow()
        for value in row:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=value))
            table_row.addElement(cell)
        table.addElement(table_row)
    document.spreadsheet.addElement(table)
    out = io.BytesIO()
    document.write(out)
    batch = _confirm(client, batch_of(upload("regulator-ratings", out.getvalue(), "ratings.ods")))
    assert batch.status is ImportStatus.APPLIED, (batch.problem, batch.errors)
    assert _inspections(intel_world.home)[0].overall is Rating.REQUIRES_IMPROVEMENT
