"""The import pages around a file: who may use them, the list, cancelling, progress, large files
handed to Celery tasks, and a 50,000-row regulator file."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.intelligence.models import ImportBatch, ImportStatus, Inspection
from tests.intelligence.imports.conftest import DOMAINS, batch_of, publication, regulator_row, to_csv


@pytest.fixture
def background_from(app):
    """Send files with more than ``rows`` data rows to the Celery tasks (eager in tests)."""
    original = app.config["IMPORT_BACKGROUND_ROWS"]

    def lower(rows: int):
        app.config["IMPORT_BACKGROUND_ROWS"] = rows

    yield lower
    app.config["IMPORT_BACKGROUND_ROWS"] = original


def test_someone_elses_import_is_not_found(intel_world, act_as, upload, client):
    act_as(intel_world.users.inspector)
    batch = batch_of(upload("regulator-ratings", to_csv(publication(intel_world.home.location_ref))))
    act_as(intel_world.users.council_commissioner)
    assert client.get(f"/imports/{batch.id}").status_code == 404
    assert client.get(f"/imports/{batch.id}/progress.json").status_code == 404
    assert client.post(f"/imports/{batch.id}/confirm").status_code == 404
    assert client.post(f"/imports/{batch.id}/cancel").status_code == 404
    assert batch.filename not in client.get("/imports").text
    assert db.session.get(ImportBatch, batch.id, populate_existing=True).status is ImportStatus.READY


def test_provider_manager_may_not_import(intel_world, act_as, client):
    act_as(intel_world.users.manager)
    assert client.get("/imports").status_code == 403
    for slug in ("regulator-ratings", "monitoring-visits", "items"):
        assert client.get(f"/imports/new/{slug}").status_code == 403
    assert client.get("/imports/templates/items.csv").status_code == 403


def test_each_role_is_offered_the_kinds_it_may_import(intel_world, act_as, client):
    act_as(intel_world.users.lead)
    page = client.get("/imports").text
    assert "/imports/new/items" in page and "/imports/new/regulator-ratings" not in page
    assert client.get("/imports/new/monitoring-visits").status_code == 403
    act_as(intel_world.users.council_commissioner)
    page = client.get("/imports").text
    assert all(f"/imports/new/{slug}" in page for slug in ("regulator-ratings", "monitoring-visits", "items"))
    assert client.get("/imports/new/nonsense").status_code == 404
    assert client.get("/imports/templates/regulator-ratings.csv").status_code == 404


def test_the_list_shows_a_persons_own_imports(intel_world, inspector, upload, client):
    batch = batch_of(upload("regulator-ratings", to_csv(publication(intel_world.home.location_ref)), "march.csv"))
    page = client.get("/imports").text
    assert "march.csv" in page and f"/imports/{batch.id}" in page and batch.status.label in page


def test_a_checked_file_can_be_cancelled_once(intel_world, inspector, upload, client):
    batch = batch_of(upload("regulator-ratings", to_csv(publication(intel_world.home.location_ref))))
    assert client.post(f"/imports/{batch.id}/cancel").headers["Location"].endswith("/imports")
    assert db.session.get(ImportBatch, batch.id, populate_existing=True).status is ImportStatus.CANCELLED
    assert client.post(f"/imports/{batch.id}/confirm").status_code == 302
    assert client.post(f"/imports/{batch.id}/cancel").headers["Location"].endswith(f"/imports/{batch.id}")
    assert db.session.get(ImportBatch, batch.id, populate_existing=True).status is ImportStatus.CANCELLED
    assert db.session.scalar(sa.select(sa.func.count(Inspection.id))) == 0


def test_progress_endpoint(intel_world, inspector, upload, client):
    batch = batch_of(upload("regulator-ratings", to_csv(publication(intel_world.home.location_ref))))
    state = client.get(f"/imports/{batch.id}/progress.json").get_json()
    assert state == {
        "status": "READY", "label": ImportStatus.READY.label, "rows_done": 6, "rows_total": 6, "percent": 100,
        "finished": True, "message": f"{ImportStatus.READY.label}: imported 6 of 6 rows (100%)",
    }
    batch.status, batch.rows_done, batch.rows_total = ImportStatus.APPLYING, 1500, 6000
    db.session.commit()
    response = client.get(f"/imports/{batch.id}/progress.json")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["percent"] == 25 and response.get_json()["finished"] is False
    page = client.get(f"/imports/{batch.id}").text
    assert 'data-import-progress="/imports/' in page and "imports.js" in page and "Refresh this page" in page
    assert '<progress' in page and 'role="status"' in page and "http-equiv" not in page


def test_a_large_file_is_checked_and_applied_by_the_tasks(intel_world, inspector, upload, client, background_from):
    from workers.tasks import imports as tasks

    background_from(5)
    rows = publication(intel_world.home.location_ref, "Good") + publication(intel_world.elsewhere.location_ref, "Good")
    batch = batch_of(upload("regulator-ratings", to_csv(rows)))
    assert batch.status is ImportStatus.READY and batch.rows_done == 12
    assert tasks.check_import.delay(batch.id).get() == "READY", "checking again changes nothing"
    response = client.post(f"/imports/{batch.id}/confirm")
    assert response.status_code == 302
    batch = db.session.get(ImportBatch, batch.id, populate_existing=True)
    assert batch.status is ImportStatus.APPLIED and batch.result["added"] == 2
    assert tasks.apply_import.delay(batch.id).get() is None, "a second run finds the batch already claimed"
    assert db.session.scalar(sa.select(sa.func.count(Inspection.id))) == 2


def test_an_import_lost_with_its_worker_is_taken_over_once_its_claim_is_stale(intel_world, inspector, upload):
    from portal.core.db import utcnow
    from workers.tasks import imports as tasks

    batch = batch_of(upload("regulator-ratings", to_csv(publication(intel_world.home.location_ref, "Good"))))
    batch.status = ImportStatus.APPLYING
    db.session.commit()
    assert tasks.apply_import.delay(batch.id).get() is None, "a claim still running is left alone"
    db.session.execute(sa.update(ImportBatch).where(ImportBatch.id == batch.id)
                       .values(updated_at=utcnow() - timedelta(minutes=31)))
    db.session.commit()
    tasks.apply_import.delay(batch.id).get()
    batch = db.session.get(ImportBatch, batch.id, populate_existing=True)
    assert batch.status is ImportStatus.APPLIED
    assert db.session.scalar(sa.select(sa.func.count(Inspection.id))) == 1


GROUPS = ["Overall", "Older people", "People with dementia", "Learning disabilities", "Mental health",
          "Physical disability", "Sensory impairment", "Substance misuse"]
RATINGS = ["Good", "Outstanding", "Requires improvement", "Inadequate"]


def _big_regulator_file(services, rows: int) -> tuple[bytes, int]:
    """A national-sized export: 8 population groups x 6 domains per location, most locations elsewhere,
    and the last few rows repeating the first. Returns the file and how many locations it has."""
    per_location = len(GROUPS) * len(DOMAINS)
    locations = rows // per_location
    lines = []
    for location in range(locations):
        ref = services[location].location_ref if location < len(services) else f"1-{700000000 + location}"
        published = date.today() - timedelta(days=30 + location % 700)
        for group in GROUPS:
            for number, domain in enumerate(DOMAINS):
                lines.append(regulator_row(ref, domain, RATINGS[(location + number) % 4], published=published, group=group))
    return to_csv(lines + lines[:rows - len(lines)]), locations


def test_a_50000_row_file_checks_and_applies_in_reasonable_time(intel_world, make_service, inspector, upload, client):
    services = [intel_world.home, intel_world.elsewhere] + [make_service(intel_world.sunrise) for _ in range(300)]
    content, locations = _big_regulator_file(services, 50_000)
    started = time.perf_counter()
    batch = batch_of(upload("regulator-ratings", content, "national.csv"))
    checked = time.perf_counter() - started
    assert batch.rows_total == 50_000 and batch.status is ImportStatus.READY, (batch.problem, batch.errors[:3])
    counts = dict(batch.preview["counts"])
    assert counts["New inspections to add"] == len(services)
    assert counts["Rows for other population groups (not stored)"] == locations * 7 * 6
    assert counts["Repeated rows (harmless)"] == 50_000 - locations * 48
    assert batch.preview["unknown_total"] == locations - len(services)
    started = time.perf_counter()
    batch = _confirm_and_reload(client, batch)
    applied = time.perf_counter() - started
    assert batch.status is ImportStatus.APPLIED, batch.problem
    assert db.session.scalar(sa.select(sa.func.count(Inspection.id))) == len(services)
    print(f"\n50,000-row regulator file: check {checked:.1f}s, apply {applied:.1f}s")
    assert checked < 30 and applied < 30


def _confirm_and_reload(client, batch):
    assert client.post(f"/imports/{batch.id}/confirm").status_code == 302
    return db.session.get(ImportBatch, batch.id, populate_existing=True)
