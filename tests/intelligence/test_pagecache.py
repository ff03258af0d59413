"""The page store: a kept page is served again only while nothing it shows has changed, and only
to the person (in the role and session) it was built for."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.audit.operations import record
from portal.core import pagecache
from portal.core.codes import KeyQuestion
from portal.extensions import db
from portal.intelligence import operations as intel
from portal.intelligence.models import Severity, SourceType


@pytest.fixture(autouse=True)
def store_on(app):
    previous = app.config["PAGE_CACHE_ENTRIES"]
    app.config["PAGE_CACHE_ENTRIES"] = 50
    yield
    app.config["PAGE_CACHE_ENTRIES"] = previous


def generation() -> int:
    return db.session.scalar(
        sa.select(pagecache.ChangeCounter.value).where(pagecache.ChangeCounter.name == pagecache.COUNTER)
    ) or 0


def test_a_change_to_anything_a_page_shows_moves_the_generation_on_once_per_transaction(intel_world, add_item):
    before = generation()
    add_item(summary="First")
    assert generation() == before + 1
    intel_world.home.name = "Sunrise House (renamed)"
    intel_world.sunrise.name = "Sunrise Care Group"
    db.session.commit()
    assert generation() == before + 2


def test_audit_and_notification_bookkeeping_leave_the_generation_alone(intel_world):
    before = generation()
    record("test.event", "nothing a page shows", actor=None)
    db.session.commit()
    assert generation() == before


def test_the_same_page_twice_is_served_from_the_store(intel_world, add_item, client, act_as):
    add_item(summary="Kept complaint")
    act_as(intel_world.users.council_commissioner)
    first = client.get(f"/services/{intel_world.home.id}")
    assert first.status_code == 200 and "Kept complaint" in first.text
    assert len(pagecache.store) == 1
    again = client.get(f"/services/{intel_world.home.id}")
    assert again.text == first.text


def test_a_new_item_shows_on_the_next_view_of_a_kept_page(intel_world, add_item, client, act_as):
    act_as(intel_world.users.council_commissioner)
    assert "Fresh whistleblower" not in client.get(f"/services/{intel_world.home.id}").text
    add_item(source=SourceType.WHISTLEBLOWING, severity=Severity.HIGH, summary="Fresh whistleblower")
    assert "Fresh whistleblower" in client.get(f"/services/{intel_world.home.id}").text
    register = client.get("/register").text
    intel.record_item(intel_world.home, intel.ItemDetails(
        occurred_on=date.today() - timedelta(days=2), source=SourceType.INCIDENT, key_questions={KeyQuestion.SAFE},
        severity=Severity.SERIOUS, summary="Serious incident"), by=None, supplied_by=intel_world.council)
    db.session.commit()
    assert client.get("/register").text != register


def test_a_kept_page_is_never_served_to_someone_else(intel_world, add_item, client, act_as):
    add_item(source=SourceType.WHISTLEBLOWING, severity=Severity.HIGH, summary="Only for commissioners")
    act_as(intel_world.users.council_commissioner)
    assert "Only for commissioners" in client.get(f"/services/{intel_world.home.id}").text
    act_as(intel_world.users.manager)
    page = client.get(f"/services/{intel_world.home.id}")
    assert page.status_code == 200
    assert "Only for commissioners" not in page.text


def test_two_sessions_of_the_same_person_never_share_a_page(intel_world, app, client, act_as):
    act_as(intel_world.users.council_commissioner)
    client.get("/register")
    other = app.test_client()
    with client.session_transaction() as first, other.session_transaction() as second:
        second.update({key: value for key, value in first.items() if key != "csrf_token"})
    other.get("/register")
    assert len(pagecache.store) == 2


def test_pages_with_a_message_to_show_are_built_afresh(intel_world, client, act_as):
    act_as(intel_world.users.council_commissioner)
    client.get("/register")
    with client.session_transaction() as session:
        session["_flashes"] = [("message", "Register entry saved")]
    assert "Register entry saved" in client.get("/register").text
    assert "Register entry saved" not in client.get("/register").text


def test_a_new_unread_notification_is_counted_on_a_kept_page(intel_world, client, act_as):
    from portal.notifications.models import Notification, NotificationEvent

    user = intel_world.users.council_commissioner
    act_as(user)
    assert "Notifications (0<" in client.get("/register").text
    db.session.add(Notification(recipient_id=user.id, event=NotificationEvent.CONCERN_RAISED, summary="A concern"))
    db.session.commit()
    assert "Notifications (1<" in client.get("/register").text


def test_the_store_keeps_only_the_most_recent_pages():
    store = pagecache.PageStore()
    for number in range(5):
        store.put(("page", number), b"x", limit=3)
    assert len(store) == 3
    assert store.get(("page", 0)) is None and store.get(("page", 4)) == b"x"
