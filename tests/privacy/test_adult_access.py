"""Who has viewed this adult's record: every showing and change, from the audit trail, for the
area's safeguarding leads; filtered by person and period; the page itself is audited."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
import time_machine

from portal.audit.models import AuditEvent
from portal.concerns import operations
from portal.concerns.operations import AdultDetails
from portal.core.db import utcnow
from portal.core.workdays import LONDON
from portal.extensions import db
from portal.privacy.access import adult_access_query
from tests.privacy.conftest import acting

REASON = "Officers attending now need the address to reach her safely"


def rows(page: str) -> list[list[str]]:
    table = page.split('id="access"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody", 1)[1]
    return [[re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def history(world, act_as, start):
    """Day 0: the lead reads the concern. Day 1: the police's lead breaks glass and reads it.
    Day 2: the lead corrects the adult's address."""
    with time_machine.travel(start, tick=False):
        act_as(world.lead).get(f"/concerns/{world.concern.id}")
    with time_machine.travel(start + timedelta(days=1), tick=False):
        client = act_as(world.police_lead)
        client.post(f"/concerns/{world.concern.id}/break-glass", data={"reason": REASON, "confirm": "y"})
        client.get(f"/concerns/{world.concern.id}")
    with time_machine.travel(start + timedelta(days=2), tick=False):
        details = AdultDetails(name="Edith Marsh", address="5 Quay Street", postcode="PR1 2AB")
        operations.update_adult(world.concern, details, by=acting(world.lead))
        db.session.commit()


def test_the_page_lists_each_showing_and_change_newest_first_with_agency_and_role(world, act_as):
    start = utcnow() + timedelta(hours=1)
    history(world, act_as, start)
    page = act_as(world.lead).get(f"/adults/{world.concern.adult_id}/access").text
    assert [row[1:] for row in rows(page)] == [
        ["Changed", "Lee Lead", "Privacyshire Council, Safeguarding lead", world.concern.reference],
        ["Viewed under break glass", "Tamsin Reed", "Privacyshire Police, Safeguarding lead", world.concern.reference],
        ["Break glass", "Tamsin Reed", "Privacyshire Police, Safeguarding lead", world.concern.reference],
        ["Viewed", "Lee Lead", "Privacyshire Council, Safeguarding lead", world.concern.reference],
        ["Recorded when the concern was raised", "Sky Staff", "Harbour Care, Provider staff", world.concern.reference],
    ]


def test_the_page_filters_by_person_and_by_period(world, act_as):
    start = utcnow() + timedelta(hours=1)
    history(world, act_as, start)
    client = act_as(world.lead)
    url = f"/adults/{world.concern.adult_id}/access"
    by_police = rows(client.get(url, query_string={"person": world.police_lead.id}).text)
    assert [row[1] for row in by_police] == ["Viewed under break glass", "Break glass"]
    day_one = (start + timedelta(days=1)).astimezone(LONDON).date()
    one_day = rows(client.get(url, query_string={"from": day_one.isoformat(), "to": day_one.isoformat()}).text)
    assert [row[1] for row in one_day] == ["Viewed under break glass", "Break glass"]
    nonsense = rows(client.get(url, query_string={"from": "yesterday", "person": "1; DROP TABLE"}).text)
    assert len(nonsense) == 5


def test_only_the_areas_leads_open_it_and_each_reading_is_audited(world, act_as):
    url = f"/adults/{world.concern.adult_id}/access"
    for who in (world.police_lead, world.staff, world.admin, world.inspector):
        assert act_as(who).get(url).status_code == 403
    assert act_as(world.other_lead).get(url).status_code == 404
    assert act_as(world.lead).get("/adults/999999/access").status_code == 404
    client = act_as(world.lead)
    assert "Who has viewed this adult" in client.get(f"/concerns/{world.concern.id}").text
    client.get(url, query_string={"person": world.police_lead.id})
    [read] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "privacy.adult_access_review")).all()
    assert (read.object_type, read.object_id, read.actor_id) == ("Adult", str(world.concern.adult_id), world.lead.id)
    assert f'"person":{world.police_lead.id}' in read.details
    # Reading the page is not itself listed as a showing of the adult's details.
    assert "privacy.adult_access_review" not in {e.action for e in db.session.scalars(adult_access_query(world.concern.adult))}
    assert "Who has viewed this adult" not in act_as(world.police_lead).get(f"/concerns/{world.concern.id}").text


def test_the_trail_is_read_through_its_object_index(world, db_session):
    query = adult_access_query(world.concern.adult).limit(50)
    connection = db_session.connection()
    compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
    else:
        plan = "\n".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert "ix_audit_event_object" in plan
