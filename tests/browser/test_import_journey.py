"""An inspector imports the regulator's ratings file: upload, check, preview, confirm, result,
with no accessibility problems on any of those pages."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from tests.intelligence.imports.conftest import publication, regulator_row, to_csv

pytestmark = pytest.mark.browser

INSPECTOR = "inspector@regulator.northshire.example"
#: The demo's last service (Summerfields Extra Care): the seed numbers locations from 1-100200307 in steps of 7.
DEMO_LOCATION = "1-100200510"
#: Long before the demo's year of intelligence, so the service's latest rating and risk stay as they were.
PUBLISHED = date(2019, 5, 14)


def _click(page, locator):
    with page.expect_navigation():
        locator.click()


def test_inspector_imports_the_regulators_file_after_seeing_a_preview(page_as, live_server):
    page = page_as(INSPECTOR)
    page.goto(f"{live_server.url}/imports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Imports")
    _click(page, page.get_by_role("link", name="The regulator's care directory with ratings"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Import the regulator's care directory with ratings")
    assert_accessible(page, "the upload page")

    _click(page, page.get_by_role("button", name="Upload and check"))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select a file to import")
    assert_accessible(page, "the upload page with an error")

    rows = (publication(DEMO_LOCATION, "Requires improvement", published=PUBLISHED)
            + publication(DEMO_LOCATION, "Good", published=PUBLISHED, group="Older people")
            + [regulator_row("1-987654321", "Overall", "Good", published=PUBLISHED)])
    page.get_by_label("Upload a file").set_input_files(
        files=[{"name": "care-directory.csv", "mimeType": "text/csv", "buffer": to_csv(rows, bom=True, crlf=True)}]
    )
    _click(page, page.get_by_role("button", name="Upload and check"))
    expect(page.get_by_role("heading", level=1)).to_have_text("care-directory.csv")
    preview = page.locator("main")
    expect(preview).to_contain_text("What the import will do")
    expect(preview).to_contain_text("1-987654321")
    expect(page.locator(".govuk-summary-list").nth(1)).to_contain_text("New inspections to add")
    assert_accessible(page, "the preview")

    _click(page, page.get_by_role("button", name="Confirm and import"))
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("The file has been imported")
    expect(page.locator("main")).to_contain_text("What was imported")
    expect(page.locator("main .govuk-tag")).to_have_text("Imported")
    assert_accessible(page, "the result")

    page.goto(f"{live_server.url}/imports")
    expect(page.locator("main table")).to_contain_text("care-directory.csv")


def test_progress_of_a_large_import_is_shown_accessibly_and_polled(page_as, live_server):
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.intelligence.models import ImportBatch, ImportKind, ImportStatus
    from portal.people.models import User

    with live_server.app.app_context():
        inspector = db.session.scalar(sa.select(User).where(User.email == INSPECTOR))
        membership = inspector.active_memberships[0]
        batch = ImportBatch(
            kind=ImportKind.REGULATOR_RATINGS, status=ImportStatus.APPLYING, area_id=membership.agency.area_id,
            agency_id=membership.agency_id, uploaded_by_id=inspector.id, filename="national.csv", content=b"",
            content_sha256="0" * 64, rows_total=40_000, rows_done=10_000,
        )
        db.session.add(batch)
        db.session.commit()
        batch_id = batch.id
        db.session.remove()

    page = page_as(INSPECTOR)
    with page.expect_response(lambda response: response.url.endswith(f"/imports/{batch_id}/progress.json")):
        page.goto(f"{live_server.url}/imports/{batch_id}")
        expect(page.get_by_role("status")).to_contain_text("10,000 of 40,000 rows (25%)")
        assert page.locator("meta[http-equiv]").count() == 0
        assert_accessible(page, "an import in progress")
    with live_server.app.app_context():
        db.session.execute(sa.update(ImportBatch).where(ImportBatch.id == batch_id).values(rows_done=30_000))
        db.session.commit()
        db.session.remove()
    expect(page.get_by_role("status")).to_contain_text("30,000 of 40,000 rows (75%)")
    expect(page.locator("progress")).to_have_attribute("value", "30000")
    with live_server.app.app_context():
        db.session.execute(sa.update(ImportBatch).where(ImportBatch.id == batch_id).values(status=ImportStatus.FAILED, problem="Stopped by the test"))
        db.session.commit()
        db.session.remove()
    expect(page.locator("main")).to_contain_text("Stopped by the test")  # the page reloads once it has finished
