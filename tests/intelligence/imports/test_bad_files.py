"""Files that cannot be imported at all: a clear message on the upload page and nothing saved."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.intelligence.models import ImportBatch
from tests.intelligence.imports.conftest import REGULATOR_COLUMNS, publication, to_csv


def _refused(response, message: str) -> None:
    assert response.status_code in (200, 413), response.status_code
    page = response.text
    assert "There is a problem" in page and message in page, page[:3000]
    assert db.session.scalar(sa.select(sa.func.count(ImportBatch.id))) == 0, "nothing is saved"


def test_no_file_chosen(inspector, client):
    _refused(client.post("/imports/new/regulator-ratings", data={}, content_type="multipart/form-data"), "Select a file to import")


def test_wrong_file_type(inspector, upload):
    _refused(upload("regulator-ratings", b"%PDF-1.4 not a spreadsheet", "ratings.pdf"), "The selected file must be a CSV, XLSX or ODS file")


def test_empty_file(inspector, upload):
    _refused(upload("regulator-ratings", b"", "ratings.csv"), "The selected file is empty")
    _refused(upload("regulator-ratings", b"\r\n\r\n  \n", "ratings.csv"), "The selected file is empty")


def test_unreadable_spreadsheet(inspector, upload):
    _refused(upload("regulator-ratings", b"PK\x03\x04 this is not really a zip", "ratings.xlsx"), "The spreadsheet could not be read")


def test_binary_content_under_a_csv_name(inspector, upload):
    _refused(upload("regulator-ratings", b"PK\x03\x04\x00\x00\x00binary", "ratings.csv"), "is not a CSV file")


def test_wrong_columns_name_the_missing_ones(intel_world, inspector, upload):
    header = [c for c in REGULATOR_COLUMNS if c not in ("Latest Rating", "Inherited Rating (Y/N)")]
    rows = [row[:len(header)] for row in publication(intel_world.home.location_ref)]
    _refused(upload("regulator-ratings", to_csv(rows, header=header)), "Missing: Latest Rating, Inherited Rating (Y/N)")


def test_a_monitoring_file_given_as_ratings(intel_world, inspector, upload):
    content = b"Location ID,Visit date,Visiting officer,Findings,S1,Action,Action owner,Action due date\n"
    _refused(upload("regulator-ratings", content), "The file does not have the columns it needs")


def test_a_file_over_the_size_limit_gets_a_page_not_a_crash(app, inspector, upload):
    limit, megabytes = app.config["MAX_CONTENT_LENGTH"], app.config["IMPORT_MAX_MEGABYTES"]
    app.config["MAX_CONTENT_LENGTH"], app.config["IMPORT_MAX_MEGABYTES"] = 1024, 0.001
    try:
        response = upload("regulator-ratings", b"x" * 5000)
    finally:
        app.config["MAX_CONTENT_LENGTH"], app.config["IMPORT_MAX_MEGABYTES"] = limit, megabytes
    assert response.status_code == 413
    _refused(response, "The selected file must be smaller than 0.001 MB")
