"""Building import files in the tests: the regulator's export (with its banner lines), the two
CSV templates, and uploading them as the person signed in."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest

from portal.extensions import db
from portal.intelligence.models import ImportBatch

#: The regulator's export columns, as CODE-LISTS.md lists them.
REGULATOR_COLUMNS = [
    "Location ID", "Location ODS Code", "Location Name", "Care Home?", "Location Type",
    "Location Primary Inspection Category", "Location Street Address", "Location Address Line 2", "Location City",
    "Location Post Code", "Location Local Authority", "Location Region", "Location NHS Region",
    "Location ONSPD CCG Code", "Location ONSPD CCG", "Location Commissioning CCG Code",
    "Location Commissioning CCG Name", "Service / Population Group", "Domain", "Latest Rating", "Publication Date",
    "Report Type", "Inherited Rating (Y/N)", "URL", "Provider ID", "Provider Name", "Brand ID", "Brand Name",
]
DOMAINS = ["Overall", "Safe", "Effective", "Caring", "Responsive", "Well-led"]
BANNER = [["Care directory with ratings"], ["Data as at 01/03/2025"], []]
PUBLISHED = date.today() - timedelta(days=30)


def regulator_row(location: str, domain: str, rating: str, *, published=PUBLISHED, group: str = "Overall",
                  inherited: str = "N", report: str = "Scheduled") -> list[str]:
    values = dict.fromkeys(REGULATOR_COLUMNS, "")
    values.update({
        "Location ID": location, "Location Name": f"Location {location}", "Service / Population Group": group,
        "Domain": domain, "Latest Rating": rating,
        "Publication Date": published.strftime("%d/%m/%Y") if isinstance(published, date) else published,
        "Report Type": report, "Inherited Rating (Y/N)": inherited, "URL": f"https://example.org/location/{location}",
    })
    return [values[column] for column in REGULATOR_COLUMNS]


def publication(location: str, ratings: dict[str, str] | str = "Good", **options) -> list[list[str]]:
    """One location's six rows (overall and the five key questions) for one publication."""
    if isinstance(ratings, str):
        ratings = dict.fromkeys(DOMAINS, ratings)
    return [regulator_row(location, domain, rating, **options) for domain, rating in ratings.items()]


def to_csv(rows, *, header=REGULATOR_COLUMNS, banner=BANNER, bom=False, crlf=False, encoding="utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n" if crlf else "\n").writerows([*banner, header, *rows])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode(encoding)


@pytest.fixture
def upload(client):
    """Post a file to an import's upload page; returns the response (a redirect to the batch on success)."""

    def post(slug: str, content: bytes, filename: str = "upload.csv", **options):
        return client.post(f"/imports/new/{slug}", data={"file": (io.BytesIO(content), filename)},
                           content_type="multipart/form-data", **options)

    return post


def batch_of(response) -> ImportBatch:
    assert response.status_code == 302, response.text[:2000]
    match = re.search(r"/imports/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return db.session.get(ImportBatch, int(match.group(1)), populate_existing=True)


@pytest.fixture
def inspector(intel_world, act_as):
    act_as(intel_world.users.inspector)
    return intel_world.users.inspector
