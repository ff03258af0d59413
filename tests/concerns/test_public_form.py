"""The public form: a member of the public reports a concern with no account, and bots get nothing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.concerns.models import Concern
from portal.core.codes import RAG, RaisedVia, RiskLocation
from portal.extensions import limiter
from portal.notifications.models import Notification, NotificationEvent

REFERENCE = re.compile(r"C-\d{4}-\d{6}")


@pytest.fixture(autouse=True)
def fresh_limits(app):
    """Each test starts with a clean count of posts from the test client's address."""
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def generous_limit(app):
    original = app.config.get("PUBLIC_REPORT_RATE_LIMIT")
    app.config["PUBLIC_REPORT_RATE_LIMIT"] = "1000 per minute"
    yield
    if original is None:
        del app.config["PUBLIC_REPORT_RATE_LIMIT"]
    else:
        app.config["PUBLIC_REPORT_RATE_LIMIT"] = original


@pytest.fixture
def rate_limited(app):
    original = app.config.get("PUBLIC_REPORT_RATE_LIMIT")
    app.config["PUBLIC_REPORT_RATE_LIMIT"] = "5 per hour"
    limiter.reset()
    yield
    if original is None:
        del app.config["PUBLIC_REPORT_RATE_LIMIT"]
    else:
        app.config["PUBLIC_REPORT_RATE_LIMIT"] = original


def report(area, **overrides):
    data = {
        "area": str(area.id),
        "what_happened": "My neighbour Jo says her daughter has been taking her money. Jo seems frightened.",
        "in_danger": "no",
        "adult_name": "Jo Neighbour",
        "adult_address": "2 Test Street",
        "adult_postcode": "ns1 4ab",
        "risk_location": "OWN_HOME",
        "reporter_name": "Alex Next-Door",
        "reporter_contact": "07700 900123",
        "reporter_relationship": "Neighbour",
    }
    data.update(overrides)
    return data


def all_concerns(db_session):
    return db_session.scalars(sa.select(Concern)).all()


def test_anyone_can_report_a_concern_without_an_account_and_gets_a_reference(client, db_session, area, council, lead):
    page = client.get("/report-a-concern")
    assert page.status_code == 200
    assert "If someone is in immediate danger, call 999" in page.text
    assert re.search(rf'<option value="{area.id}" selected>', page.text), "the only area is preselected"

    response = client.post("/report-a-concern", data=report(area))

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/report-a-concern/sent")
    [concern] = all_concerns(db_session)
    assert concern.reference not in response.headers["Location"]
    sent = client.get("/report-a-concern/sent")
    assert sent.status_code == 200
    assert f"<strong>{concern.reference}</strong>" in sent.text
    assert "What happens next" in sent.text
    assert "within a working day or two" in sent.text
    assert "may not be told" in sent.text

    assert concern.raised_via is RaisedVia.PUBLIC
    assert concern.raised_by_id is None and concern.raising_agency_id is None and concern.service_id is None
    assert concern.area_id == area.id
    assert concern.abuse_types == set()
    assert concern.risk_location is RiskLocation.OWN_HOME and concern.immediate_risk is RAG.GREEN
    assert (concern.reporter_name, concern.reporter_contact, concern.reporter_relationship) == ("Alex Next-Door", "07700 900123", "Neighbour")
    assert (concern.adult.name, concern.adult.address, concern.adult.postcode) == ("Jo Neighbour", "2 Test Street", "NS1 4AB")
    assert [e.kind for e in concern.events] == ["raised"]
    assert db_session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "concern.raise", AuditEvent.object_id == str(concern.id))) == 1
    notes = db_session.scalars(sa.select(Notification).where(Notification.concern_id == concern.id)).all()
    assert [(n.recipient_id, n.event) for n in notes] == [(lead.id, NotificationEvent.CONCERN_RAISED)]

    # The reference is shown once; coming back to the page later starts a new report.
    again = client.get("/report-a-concern/sent")
    assert again.status_code == 302 and again.headers["Location"].endswith("/report-a-concern")


def test_a_report_can_be_anonymous_and_say_almost_nothing(client, db_session, area):
    response = client.post("/report-a-concern", data={"area": str(area.id), "what_happened": "I heard shouting and crying next door."})
    assert response.status_code == 302
    [concern] = all_concerns(db_session)
    assert concern.adult is None and concern.reporter_name is None and concern.reporter_contact is None
    assert concern.risk_location is None and concern.immediate_risk is None


def test_someone_in_danger_is_flagged_red(client, db_session, area):
    client.post("/report-a-concern", data=report(area, in_danger="yes"))
    [concern] = all_concerns(db_session)
    assert concern.immediate_risk is RAG.RED


def test_an_address_without_a_name_is_kept(client, db_session, area):
    client.post("/report-a-concern", data=report(area, adult_name=""))
    [concern] = all_concerns(db_session)
    assert concern.adult.name is None and concern.adult.address == "2 Test Street"


def test_an_address_and_i_do_not_know_it_are_refused_together(client, db_session, area):
    response = client.post("/report-a-concern", data=report(area, address_unknown="y"))
    assert "Either enter their address or select" in response.text
    assert all_concerns(db_session) == []


def test_what_you_are_worried_about_is_required_and_everything_typed_is_kept(client, db_session, area):
    response = client.post("/report-a-concern", data=report(area, what_happened="  "))
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "Tell us what you are worried about" in response.text
    for kept in ('value="Jo Neighbour"', 'value="Alex Next-Door"', 'value="07700 900123"', "2 Test Street"):
        assert kept in response.text
    assert all_concerns(db_session) == []


def test_oversized_text_is_refused_not_cut(client, db_session, area):
    text = "a" * 10_001
    response = client.post("/report-a-concern", data=report(area, what_happened=text))
    assert "What you are worried about must be 10,000 characters or fewer" in response.text
    assert text in response.text
    assert all_concerns(db_session) == []


def test_the_honeypot_saves_nothing_but_answers_the_same(client, db_session, area):
    page = client.get("/report-a-concern").text
    trap = re.search(r'<div class="govuk-visually-hidden" aria-hidden="true">(.*?)</div>', page, re.S)
    assert trap, "the trap field sits in a hidden wrapper"
    assert 'name="website"' in trap.group(1) and 'tabindex="-1"' in trap.group(1) and 'autocomplete="off"' in trap.group(1)
    assert "Leave this field empty" in trap.group(1)
    audit_before = db_session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    response = client.post("/report-a-concern", data=report(area, website="http://cheap-pills.example"))

    assert response.status_code == 302 and response.headers["Location"].endswith("/report-a-concern/sent")
    sent = client.get("/report-a-concern/sent")
    assert sent.status_code == 200 and "Report sent" in sent.text and "What happens next" in sent.text
    assert all_concerns(db_session) == []
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == audit_before


def test_the_sixth_report_within_an_hour_is_refused(client, db_session, area, rate_limited):
    statuses = [client.post("/report-a-concern", data=report(area)).status_code for _ in range(6)]
    assert statuses == [302] * 5 + [429]
    assert len(all_concerns(db_session)) == 5
    assert client.get("/report-a-concern").status_code == 200, "reading the form is not limited"


def test_the_start_page_links_to_the_public_form(client):
    assert 'href="/report-a-concern"' in client.get("/").text


def test_the_council_area_must_be_one_listed(client, db_session, area, generous_limit):
    for value in ("", "0", "abc", "99999", "99999999999999999999"):
        response = client.post("/report-a-concern", data={**report(area), "area": value})
        assert response.status_code == 200, value
        assert "Select" in response.text
    assert all_concerns(db_session) == []


GARBAGE = ["", " ", "x" * 20_000, "\x00\x01", "<script>alert(1)</script>", "-1", "99999999999999999999", "😀" * 50]


def test_no_input_gives_a_server_error(client, db_session, area, generous_limit):
    names = sorted(set(re.findall(r'name="([a-z_]+)"', client.get("/report-a-concern").text)) - {"csrf_token", "website"})
    assert {"area", "what_happened", "in_danger", "risk_location", "reporter_contact"} <= set(names)
    failures = []
    for value in GARBAGE:
        for payload in ({name: value for name in names}, {name: [value, value, value] for name in names}):
            status = client.post("/report-a-concern", data=payload).status_code
            if status >= 500:
                failures.append(f"{value[:20]!r}: {status}")
    assert not failures
