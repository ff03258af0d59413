"""The GOV.UK Notify backend, behind the same interface as SMTP.

GOV.UK Notify itself cannot be reached from here, so a small HTTP server in this process stands
in for its API: it checks the signed token the real client sends and answers as Notify does.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import sqlalchemy as sa

from portal.notifications.models import DeliveryState, EmailDelivery
from tests.notifications.conftest import configured

SERVICE_ID = str(uuid.uuid4())
SECRET = str(uuid.uuid4())
API_KEY = f"portal_test-{SERVICE_ID}-{SECRET}"
TEMPLATE_ID = str(uuid.uuid4())


class FakeNotify(BaseHTTPRequestHandler):
    received: list[dict] = []
    answer: tuple[int, dict] | None = None

    def do_POST(self):
        token = self.headers["Authorization"].removeprefix("Bearer ")
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        assert claims["iss"] == SERVICE_ID
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status, reply = FakeNotify.answer or (201, {"id": str(uuid.uuid4()), "reference": body.get("reference")})
        if status == 201 and self.path == "/v2/notifications/email":
            FakeNotify.received.append(body)
        payload = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def notify(app):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNotify)
    # Polled every 50 ms (not the default 500): shutting the server down waits for the next poll.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    FakeNotify.received, FakeNotify.answer = [], None
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    with configured(app, NOTIFY_API_KEY=API_KEY, NOTIFY_TEMPLATE_ID=TEMPLATE_ID, NOTIFY_BASE_URL=base_url):
        yield FakeNotify
    server.shutdown()
    server.server_close()


def deliveries(db_session, user):
    return list(db_session.scalars(sa.select(EmailDelivery).where(EmailDelivery.recipient_id == user.id)))


def test_with_a_key_configured_emails_go_through_notify_with_the_idempotency_key_as_reference(db_session, world, raise_one, notify, smtp):
    concern = raise_one()
    db_session.commit()
    assert smtp.messages == []  # Notify replaces SMTP when a key is set
    by_address = {body["email_address"]: body for body in notify.received}
    assert set(by_address) == {world.lead.email, world.second_lead.email}
    sent = by_address[world.lead.email]
    [email] = deliveries(db_session, world.lead)
    assert sent["template_id"] == TEMPLATE_ID
    assert sent["reference"] == email.key
    assert concern.reference in sent["personalisation"]["subject"]
    assert f"/concerns/{concern.id}" in sent["personalisation"]["body"]
    assert email.state is DeliveryState.SENT


def test_notify_refusing_the_request_fails_the_email_with_its_message(db_session, world, raise_one, notify):
    notify.answer = (400, {"errors": [{"error": "BadRequestError", "message": "Can't send to this recipient using a team-only API key"}], "status_code": 400})
    raise_one()
    db_session.commit()
    [email] = deliveries(db_session, world.lead)
    assert email.state is DeliveryState.FAILED
    assert "400" in email.last_error and "team-only API key" in email.last_error


def test_notify_being_busy_or_down_is_tried_again_later(db_session, world, raise_one, notify):
    notify.answer = (500, {"errors": [{"error": "Exception", "message": "Internal server error"}], "status_code": 500})
    raise_one()
    db_session.commit()
    [email] = deliveries(db_session, world.lead)
    assert email.state is DeliveryState.PENDING and email.attempts == 1
    assert "500" in email.last_error
