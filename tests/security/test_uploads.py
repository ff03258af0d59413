"""Uploaded files are judged by their content, size and type, not their name: each hostile file gets
a clear message on the upload page, never a 500, and nothing is saved."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
import sqlalchemy as sa

from portal.intelligence.models import ImportBatch

COLUMNS = "Location ID,Location Name,Publication Date,Location Type,Service / Population Group,Domain,Latest Rating,Inherited Rating (Y/N),Report Type,URL"


def _xlsx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return out.getvalue()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (30 * 1024 * 1024))
    return out.getvalue()


EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64 + b"This program cannot be run in DOS mode"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56

HOSTILE_FILES = [
    ("an XLSX named .csv", _xlsx_bytes(), "ratings.csv", "is not a CSV file"),
    ("a Windows program named .csv", EXECUTABLE, "ratings.csv", "is not a CSV file"),
    ("a Linux program named .csv", ELF, "ratings.csv", "is not a CSV file"),
    ("a Windows program named .xlsx", EXECUTABLE, "ratings.xlsx", "The spreadsheet could not be read"),
    ("a CSV named .xlsx", (COLUMNS + "\n").encode(), "ratings.xlsx", "The spreadsheet could not be read"),
    ("a CSV named .ods", (COLUMNS + "\n").encode(), "ratings.ods", "The spreadsheet could not be read"),
    ("a CSV named .xls", (COLUMNS + "\n").encode(), "ratings.xls", "The spreadsheet could not be read"),
    ("a zip bomb named .xlsx", _zip_bomb(), "ratings.xlsx", "too large once unpacked"),
    ("an empty file", b"", "ratings.csv", "The selected file is empty"),
    ("a CSV with a NUL byte", (COLUMNS + "\n1-1,\x00Name\n").encode(), "ratings.csv", "is not a CSV file"),
    ("a hundred thousand columns", (",".join(f"c{n}" for n in range(100_000)) + "\n").encode(), "ratings.csv", "The file does not have the columns it needs"),
    ("a script named .csv.exe", b"echo hello", "ratings.csv.exe", "must be a CSV, XLSX or ODS file"),
    ("a file with no name", (COLUMNS + "\n").encode(), "", "Select a file to import"),
]


@pytest.fixture
def inspector(world, sign_in_as):
    return sign_in_as(world.users["INSPECTOR"])


def _upload(client, content: bytes, filename: str):
    return client.post("/imports/new/regulator-ratings", data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def _batches(db_session) -> int:
    return db_session.scalar(sa.select(sa.func.count(ImportBatch.id)))


@pytest.mark.parametrize(("what", "content", "filename", "message"), HOSTILE_FILES, ids=[f[0] for f in HOSTILE_FILES])
def test_a_hostile_file_gets_a_clear_message_and_nothing_is_saved(what, content, filename, message, inspector, client, db_session):
    before = _batches(db_session)
    response = _upload(client, content, filename)
    assert response.status_code == 200, f"{what}: {response.status_code}"
    assert "There is a problem" in response.text and message in response.text, response.text[:3000]
    assert _batches(db_session) == before


def test_a_file_over_the_limit_gets_a_friendly_413_page(app, inspector, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10_000)
    monkeypatch.setitem(app.config, "IMPORT_MAX_MEGABYTES", 0.01)
    before = _batches(db_session)
    response = _upload(client, b"x" * 50_000, "ratings.csv")
    assert response.status_code == 413
    assert "must be smaller than 0.01 MB" in response.text and "There is a problem" in response.text
    assert _batches(db_session) == before


def test_attack_strings_in_the_file_name_and_cells_are_shown_as_text(world, inspector, client, db_session):
    cell = '=HYPERLINK("http://evil.example")<script>alert(1)</script>'
    rows = [COLUMNS, f'1-999999999,"{cell}",2026-01-05,Social Care Org,Overall,Overall,Good,N,Location,https://example.org']
    filename = "<img src=x onerror=alert(1)>\x07.csv"
    response = _upload(client, "\n".join(rows).encode(), filename)
    assert response.status_code == 302, response.text[:2000]
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "<img src=x onerror" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text or "&lt;script&gt;" in page.text
    listing = client.get("/imports")
    assert "<img src=x onerror" not in listing.text


def test_a_file_name_with_a_nul_byte_is_not_a_server_error(inspector, client, db_session):
    response = _upload(client, (COLUMNS + "\n").encode(), "rat\x00ings.csv")
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        batch = db_session.get(ImportBatch, int(re.search(r"(\d+)$", response.headers["Location"]).group(1)))
        assert "\x00" not in batch.filename
