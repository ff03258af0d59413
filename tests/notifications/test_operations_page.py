"""The administrators' email deliveries page: their area's emails only, the filter, resending, health."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import redis
import sqlalchemy as sa
from celery import Celery

from portal.audit.models import AuditEvent
from portal.concerns import operations
from portal.concerns.operations import AdultDetails
from portal.core.codes import AbuseType, AgencyKind, Role
from portal.core.db import utcnow
from portal.notifications import health
from portal.notifications.models import (
    DeliveryKind,
    DeliveryState,
    EmailDelivery,
    NotificationEvent,
    NotificationIntent,
)

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def deliveries(db_session, area, make_area, make_agency, make_service, make_user):
    """A concern raised in this area (so its lead's email was sent), and emails in every state,
    including one to a person in another area."""
    council = make_agency(AgencyKind.LOCAL_AUTHORITY, name="Ops council")
    provider = make_agency(AgencyKind.CARE_PROVIDER, name="Ops provider")
    service = make_service(provider)
    admin = make_user(Role.ADMINISTRATOR, agency=council, email="admin@ops.example")
    lead = make_user(Role.SAFEGUARDING_LEAD, agency=council, email="lead@ops.example")
    staff = make_user(Role.PROVIDER_STAFF, agency=provider, email="staff@ops.example")
    staff.membership = staff.active_memberships[0]
    concern = operations.raise_concern(
        area=area, raised_by=staff, service=service, what_happened="Bruising on the arm",
        abuse_types={AbuseType.PHYSICAL}, adult=AdultDetails(name="Jo Example"),
    )
    staff.membership = None
    db_session.commit()
    [sent] = db_session.scalars(sa.select(EmailDelivery).where(EmailDelivery.recipient_id == lead.id)).all()
    intent = sent.intent

    elsewhere = make_agency(AgencyKind.LOCAL_AUTHORITY, area=make_area("Otherwhere"), name="Other council")
    other_admin = make_user(Role.ADMINISTRATOR, agency=elsewhere, email="admin@otherwhere.example")
    other_lead = make_user(Role.SAFEGUARDING_LEAD, agency=elsewhere, email="lead@otherwhere.example")
    other_intent = NotificationIntent(
        event=NotificationEvent.CONCERN_RAISED, subject_type="concern", subject_id=concern.id,
        summary="A concern was raised: OTHER-0001", link="/concerns/0", recipient_ids=[other_lead.id],
        fanned_out_at=utcnow(),
    )
    db_session.add(other_intent)
    now = utcnow()

    def email(key, **fields):
        values = {"kind": DeliveryKind.ITEM, "recipient_id": lead.id, "intent": intent, "created_at": now}
        values.update(fields)
        row = EmailDelivery(key=key, **values)
        db_session.add(row)
        return row

    failed = email("failed-one", state=DeliveryState.FAILED, attempts=5, created_at=now - timedelta(hours=1),
                   last_error="Gave up after 5 attempts: SMTP 451 mailbox busy, try later")
    pending = email("pending-one", state=DeliveryState.PENDING, created_at=now - timedelta(hours=2))
    digest = email("digest-one", kind=DeliveryKind.DIGEST, intent=None, digest_date=date(2026, 1, 5),
                   state=DeliveryState.PENDING, created_at=now - timedelta(hours=3))
    db_session.flush()
    email("queued-one", state=DeliveryState.IN_DIGEST_QUEUE, digest_date=date(2026, 1, 5), digest_id=digest.id,
          created_at=now - timedelta(hours=4))
    other = email("other-area", recipient_id=other_lead.id, intent=other_intent, state=DeliveryState.FAILED, attempts=5,
                  last_error="Refused: the other area's error")
    db_session.commit()
    return SimpleNamespace(
        admin=admin, other_admin=other_admin, lead=lead, concern=concern, intent=intent,
        sent=sent, failed=failed, pending=pending, digest=digest, other=other,
    )


def rows(text: str) -> list[str]:
    body = text.split('<tbody class="govuk-table__body">')[-1].split("</tbody>")[0]
    return [re.sub(r"\s+", " ", row) for row in body.split('<tr class="govuk-table__row">')[1:]]


def count(text: str, state: DeliveryState) -> int:
    return int(re.search(rf'id="count-{state.name.lower()}">(\d+)<', text).group(1))


def test_the_page_lists_this_areas_emails_newest_first_with_what_went_wrong(deliveries, client, act_as):
    act_as(deliveries.admin)

    text = client.get("/admin/notifications").text

    listed = rows(text)
    assert len(listed) == 5
    assert deliveries.intent.summary in listed[0] and "Sent" in listed[0] and "lead@ops.example" in listed[0]
    assert "Gave up after 5 attempts: SMTP 451 mailbox busy, try later" in listed[1] and "Failed" in listed[1]
    assert "Waiting to send" in listed[2]
    assert "Daily summary for 5 January 2026 (1 notification)" in listed[3]
    assert "Waiting for the daily summary" in listed[4]
    assert "otherwhere" not in text and "OTHER-0001" not in text and "the other area's error" not in text
    assert "Jo Example" not in text
    assert (count(text, DeliveryState.PENDING), count(text, DeliveryState.SENT), count(text, DeliveryState.FAILED),
            count(text, DeliveryState.IN_DIGEST_QUEUE), count(text, DeliveryState.SENDING),
            count(text, DeliveryState.IN_DIGEST)) == (2, 1, 1, 1, 0, 0)


def test_resend_is_offered_for_failed_and_sent_emails_only(deliveries, client, act_as):
    act_as(deliveries.admin)

    text = client.get("/admin/notifications").text

    offered = set(re.findall(r'action="/admin/notifications/(\d+)/resend', text))
    assert offered == {str(deliveries.sent.id), str(deliveries.failed.id)}


def test_the_administrators_navigation_leads_to_the_page(deliveries, client, act_as):
    act_as(deliveries.admin)
    assert 'href="/admin/notifications"' in client.get("/home").text
    act_as(deliveries.lead)
    assert 'href="/admin/notifications"' not in client.get("/home").text


def test_the_filter_shows_one_state(deliveries, client, act_as):
    act_as(deliveries.admin)

    text = client.get("/admin/notifications?state=FAILED").text

    [only] = rows(text)
    assert "SMTP 451" in only
    assert '<option value="FAILED" selected>' in text
    assert count(text, DeliveryState.SENT) == 1  # the counts are always of every email


def test_a_state_that_does_not_exist_shows_everything_with_a_message(deliveries, client, act_as):
    act_as(deliveries.admin)

    for nonsense in ("NONSENSE", "label", "__class__", "x" * 5000):
        response = client.get("/admin/notifications", query_string={"state": nonsense})
        assert response.status_code == 200
        assert len(rows(response.text)) == 5
        assert "That is not a state an email can be in" in response.text


def test_another_areas_administrator_sees_only_their_own(deliveries, client, act_as):
    act_as(deliveries.other_admin)

    text = client.get("/admin/notifications").text

    [only] = rows(text)
    assert "lead@otherwhere.example" in only and "OTHER-0001" in only
    assert "ops.example" not in text


def test_resending_a_failed_email_sends_it_again(deliveries, client, act_as, db_session):
    act_as(deliveries.admin)

    response = client.post(f"/admin/notifications/{deliveries.failed.id}/resend?state=FAILED")

    assert response.status_code == 302 and response.headers["Location"] == "/admin/notifications?state=FAILED"
    db_session.refresh(deliveries.failed)
    # Tests run Celery eagerly with no MAIL_SERVER: the log backend accepts it at once.
    assert deliveries.failed.state is DeliveryState.SENT
    assert deliveries.failed.attempts == 1 and deliveries.failed.last_error is None
    [event] = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "notifications.resend")).all()
    assert event.actor_id == deliveries.admin.id and json.loads(event.details) == {"delivery_id": deliveries.failed.id}
    page = client.get(response.headers["Location"]).text
    assert "The email to lead@ops.example has been handed over for sending." in page
    assert rows(page) == [rows(page)[0]] and "No emails in this state" in page


def test_resending_a_sent_email_sends_a_copy(deliveries, client, act_as, db_session):
    act_as(deliveries.admin)

    response = client.post(f"/admin/notifications/{deliveries.sent.id}/resend", follow_redirects=True)

    assert "A copy of the email to lead@ops.example has been handed over for sending." in response.text
    copy = db_session.scalar(sa.select(EmailDelivery).where(EmailDelivery.key.startswith(f"{deliveries.sent.key}-resend-")))
    assert copy.state is DeliveryState.SENT and copy.recipient_id == deliveries.lead.id
    assert copy.intent_id == deliveries.sent.intent_id


def test_an_email_that_cannot_be_resent_is_explained_not_an_error(deliveries, client, act_as, db_session):
    act_as(deliveries.admin)

    response = client.post(f"/admin/notifications/{deliveries.pending.id}/resend", follow_redirects=True)

    assert response.status_code == 200
    assert "This email is waiting to send: only a failed email" in response.text
    db_session.refresh(deliveries.pending)
    assert deliveries.pending.state is DeliveryState.PENDING
    assert db_session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "notifications.resend")).all() == []


def test_another_areas_email_cannot_be_resent(deliveries, client, act_as, db_session):
    act_as(deliveries.admin)

    response = client.post(f"/admin/notifications/{deliveries.other.id}/resend")

    assert response.status_code == 404
    db_session.refresh(deliveries.other)
    assert deliveries.other.state is DeliveryState.FAILED and deliveries.other.attempts == 5


def test_resending_needs_the_forms_token(deliveries, app, client, act_as, db_session):
    act_as(deliveries.admin)
    app.config["WTF_CSRF_ENABLED"] = True
    url = f"/admin/notifications/{deliveries.failed.id}/resend"
    try:
        refused = client.post(url)
        db_session.refresh(deliveries.failed)
        unchanged = deliveries.failed.state
        form = re.search(rf'action="{url}".*?name="csrf_token" value="([^"]+)"', client.get("/admin/notifications").text, re.S)
        accepted = client.post(url, data={"csrf_token": form.group(1)})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert refused.status_code == 400 and unchanged is DeliveryState.FAILED
    assert accepted.status_code == 302
    db_session.refresh(deliveries.failed)
    assert deliveries.failed.state is DeliveryState.SENT


# Health ---------------------------------------------------------------------------------------


def test_the_health_line_says_tasks_run_in_the_web_process_without_redis(deliveries, client, act_as):
    act_as(deliveries.admin)

    text = client.get("/admin/notifications").text

    assert "the log (no MAIL_SERVER set)" in text
    assert "In the web process, as each change is saved (no REDIS_URL is set" in text
    assert "Emails are not being sent" not in text


def test_the_health_line_names_the_mail_server(app):
    line = health.check({"MAIL_SERVER": "smtp.example.org", "MAIL_PORT": 587})
    assert line.backend == "SMTP smtp.example.org:587" and line.eager and line.healthy


def _celery_on(url: str) -> Celery:
    """A Celery app of the test's own, on ``url``, whose workers answer on a control exchange no
    other process uses."""
    app = Celery("health-test", broker=url, set_as_current=False)
    app.conf.update(task_always_eager=False, control_exchange=f"health-{uuid.uuid4().hex}",
                    broker_connection_retry_on_startup=True)
    return app


@pytest.fixture(scope="module")
def redis_url():
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis at {url} does not answer: {exc}")
        pytest.skip(f"Redis at {url} does not answer: {exc}")
    return url


def test_the_health_line_reports_a_broker_that_does_not_answer_without_failing(app):
    line = health.check({}, app=_celery_on("redis://127.0.0.1:1/0"))

    assert not line.eager and not line.healthy
    assert line.broker_ok is False and line.broker.startswith("Redis does not answer: ")
    assert "Connection refused" in line.broker
    assert line.worker_ok is None


def test_the_health_line_reports_when_no_worker_answers(app, redis_url):
    line = health.check({}, app=_celery_on(redis_url))

    assert line.broker_ok and line.broker == "Redis answers"
    assert line.worker_ok is False and line.worker.startswith("No worker answered within 1 second")
    assert not line.healthy


#: A worker of its own, in a process of its own, answering on the test's control exchange.
WORKER = """
import sys
from celery import Celery
app = Celery("health-test", broker=sys.argv[1])
app.conf.update(control_exchange=sys.argv[2], broker_connection_retry_on_startup=True)
app.worker_main(["worker", "-P", "solo", "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"])
"""


def test_the_health_line_reports_a_worker_that_answers(app, redis_url):
    celery = _celery_on(redis_url)
    worker = subprocess.Popen([sys.executable, "-c", WORKER, redis_url, celery.conf.control_exchange],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        line = health.check({}, app=celery)
        while not line.worker_ok and worker.poll() is None and time.monotonic() < deadline:
            line = health.check({}, app=celery)
    finally:
        worker.terminate()
        _, errors = worker.communicate(timeout=10)

    assert line.broker_ok and line.worker_ok and line.healthy, errors.decode(errors="replace")
    assert line.worker.startswith("A worker answers (")
