"""The agenda pack's escalations: for each provider on the agenda, those still open about it or its
services and those resolved in the pack's window; for a meeting about an adult, those about its
concern; each attendee's copy holds only those they may open, and a frozen pack keeps them as
they were."""

from __future__ import annotations

import html
import json
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.core.db import utcnow
from portal.escalations import operations as ops
from portal.escalations.models import EscalationSubject
from portal.extensions import db
from portal.meetings import pack as packs
from portal.meetings.models import MeetingKind, MeetingStatus
from tests.escalations.conftest import as_acting, raise_about  # noqa: F401 - the fixture is used here


def copy_of(pack, user):
    return next(copy for copy in pack.copies if copy.user_id == user.id)


def section(copy, title: str) -> dict:
    return next(item for item in copy.content["items"] if item.get("title") == title)


def references(entries) -> list[str]:
    return [entry["reference"] for entry in entries]


def listed(copy) -> list[str]:
    """Every escalation the copy lists, under any item."""
    return [reference for item in copy.content["items"] for reference in references(item.get("escalations", []))]


@pytest.fixture
def escalations(intel_world, raise_about):  # noqa: F811 - the fixture imported above
    """Escalations about the two providers, at known moments relative to now."""
    users = intel_world.users
    now = utcnow()
    commissioner, lead, staff = as_acting(users.council_commissioner), as_acting(users.lead), as_acting(users.staff)
    other_manager = as_acting(users.other_manager)
    # Raised three weeks ago and never answered: its deadline has passed.
    overdue = raise_about(now=now - timedelta(days=21))
    # Raised an hour ago by the council's lead, with the ICB: Sunrise is not a party.
    with_icb = raise_about(now=now - timedelta(hours=1), by=lead, to=intel_world.icb)
    # About Sunrise as a whole, answered, so no deadline is running.
    provider_wide = raise_about(now=now - timedelta(days=2), subject=EscalationSubject.PROVIDER, provider=intel_world.sunrise)
    ops.acknowledge(provider_wide, by=staff, now=now - timedelta(days=1))
    ops.respond(provider_wide, "We are recruiting.", by=staff, now=now - timedelta(days=1))
    # Withdrawn: not listed.
    withdrawn = raise_about(now=now - timedelta(days=5))
    ops.withdraw(withdrawn, "Raised by mistake.", by=commissioner, now=now - timedelta(days=4))
    # About Moonlight Lodge: one resolved ten days ago, one resolved long before the pack's window.
    resolved = raise_about(now=now - timedelta(days=30), service=intel_world.elsewhere, to=intel_world.moonlight)
    long_ago = raise_about(now=now - timedelta(days=200), service=intel_world.elsewhere, to=intel_world.moonlight)
    for escalation, when in ((resolved, now - timedelta(days=10)), (long_ago, now - timedelta(days=150))):
        ops.acknowledge(escalation, by=other_manager, now=when)
        ops.respond(escalation, "Fixed.", by=other_manager, now=when)
        ops.resolve(escalation, "Night staffing restored.", "Share rotas early.", by=commissioner, now=when)
    db.session.commit()
    return {"overdue": overdue, "with_icb": with_icb, "provider_wide": provider_wide, "withdrawn": withdrawn,
            "resolved": resolved, "long_ago": long_ago}


@pytest.fixture
def quality_meeting(intel_world, make_meeting):
    users = intel_world.users
    return make_meeting(providers=[intel_world.sunrise, intel_world.moonlight],
                        invite=[users.sab_chair, users.manager, users.icb_commissioner])


def test_each_attendee_sees_the_escalations_they_may_open(intel_world, escalations, quality_meeting):
    users, e = intel_world.users, escalations
    pack = packs.build_pack(quality_meeting, by=as_acting(users.council_commissioner))
    db.session.commit()

    # The Board's chair sees every escalation in the area: open ones, and those resolved in the window.
    chair = copy_of(pack, users.sab_chair)
    assert references(section(chair, "Sunrise Care")["escalations"]) == [
        e["overdue"].reference, e["provider_wide"].reference, e["with_icb"].reference]
    assert references(section(chair, "Moonlight Care")["escalations"]) == [e["resolved"].reference]
    # Neither the withdrawn one nor the one resolved before the window (they remain in the
    # intelligence the pack shows, as items of the services' timelines).
    assert set(listed(chair)) == {e[name].reference for name in ("overdue", "provider_wide", "with_icb", "resolved")}

    [overdue, provider_wide, with_icb] = section(chair, "Sunrise Care")["escalations"]
    assert {key: overdue[key] for key in ("raised_by", "raised_with", "stage", "stage_name", "state", "deadline_passed")} == {
        "raised_by": "Intelshire Council", "raised_with": "Sunrise Care", "stage": 1,
        "stage_name": "Practitioner to practitioner", "state": "Open", "deadline_passed": True}
    assert overdue["deadline"] == e["overdue"].deadline_at.isoformat() and overdue["about"] == "Sunrise House"
    assert (with_icb["raised_with"], with_icb["deadline_passed"]) == ("Intelshire ICB", False)
    assert (provider_wide["state"], provider_wide["deadline_passed"]) == ("Responded", False)
    assert provider_wide["about"] == EscalationSubject.PROVIDER.label
    [resolved] = section(chair, "Moonlight Care")["escalations"]
    assert (resolved["state"], resolved["deadline"], resolved["resolved_on"]) == (
        "Resolved", None, e["resolved"].closed_at.astimezone(packs.LONDON).date().isoformat())

    # The provider's manager: only those about its own services to which it is a party.
    manager = copy_of(pack, users.manager)
    assert references(section(manager, "Sunrise Care")["escalations"]) == [
        e["overdue"].reference, e["provider_wide"].reference]
    assert e["with_icb"].reference not in json.dumps(manager.content)  # nor as an intelligence item: confidential

    # The ICB's commissioner sees Moonlight's item but is party to none of its escalations, and
    # does not see Sunrise's item at all (so not the escalation raised with the ICB about it).
    icb = copy_of(pack, users.icb_commissioner)
    assert section(icb, "Moonlight Care")["escalations"] == []
    assert listed(icb) == []

    # The organiser (the council's commissioner) sees those they raised.
    organiser = copy_of(pack, users.council_commissioner)
    assert references(section(organiser, "Sunrise Care")["escalations"]) == [
        e["overdue"].reference, e["provider_wide"].reference]


def test_the_pack_page_lists_them_with_the_deadline_passed_in_words(intel_world, escalations, quality_meeting, client, act_as):
    users, e = intel_world.users, escalations
    packs.build_pack(quality_meeting, by=as_acting(users.council_commissioner))
    db.session.commit()

    act_as(users.sab_chair)
    page = html.unescape(client.get(f"/meetings/{quality_meeting.id}/pack").text)
    assert '<h3 class="govuk-heading-m">Escalations</h3>' in page
    assert "Escalations about Sunrise Care: open, and resolved since" in page
    assert f'href="/escalations/{e["overdue"].id}">{e["overdue"].reference}</a>' in page
    assert "1: Practitioner to practitioner" in page
    assert page.count("Deadline passed") == 1  # only the overdue one, said in words
    printed = html.unescape(client.get(f"/meetings/{quality_meeting.id}/pack?print=1").text)
    assert e["overdue"].reference in printed and "Deadline passed" in printed

    act_as(users.icb_commissioner)
    page = html.unescape(client.get(f"/meetings/{quality_meeting.id}/pack").text)
    assert "No escalations about Moonlight Care that you may see are open or were resolved since" in page


def test_a_frozen_pack_keeps_the_escalations_as_they_were(intel_world, escalations, quality_meeting, client, act_as):
    users, e = intel_world.users, escalations
    organiser = as_acting(users.council_commissioner)
    packs.build_pack(quality_meeting, by=organiser)
    quality_meeting.status = MeetingStatus.HELD
    pack = packs.freeze_latest_pack(quality_meeting, by=organiser)
    db.session.commit()
    before = copy_of(pack, users.sab_chair).content

    ops.withdraw(e["overdue"], "Settled at the meeting.", by=organiser)
    ops.escalate(e["provider_wide"], "The recruitment plan is not enough.", by=organiser)
    db.session.commit()

    db.session.expire_all()
    assert copy_of(packs.latest_pack(quality_meeting), users.sab_chair).content == before
    act_as(users.sab_chair)
    page = html.unescape(client.get(f"/meetings/{quality_meeting.id}/pack").text)
    assert "This is the pack as it was when the meeting was held." in page
    assert e["overdue"].reference in page and "Deadline passed" in page


def test_a_meeting_about_an_adult_lists_the_escalations_about_its_concern(intel_world, make_meeting, adult_concern,
                                                                         raise_about):  # noqa: F811
    users = intel_world.users
    about_it = raise_about(by=users.manager, subject=EscalationSubject.CONCERN, concern=adult_concern,
                           to=intel_world.council, now=utcnow() - timedelta(hours=2),
                           disagreement="The concern was closed without an enquiry.", wanted="An enquiry.")
    other = raise_about(now=utcnow() - timedelta(hours=2))  # about the service, not the concern
    meeting = make_meeting(kind=MeetingKind.ADULT_SAFEGUARDING, title="Safeguarding meeting", organiser=users.lead,
                           concern=adult_concern, invite=[users.manager, users.icb_commissioner])
    pack = packs.build_pack(meeting, by=as_acting(users.lead))
    db.session.commit()

    for person in (users.lead, users.manager):  # receiving and raising it
        entries = copy_of(pack, person).content["adult"]["escalations"]
        assert references(entries) == [about_it.reference], person.email
        assert (entries[0]["raised_by"], entries[0]["raised_with"]) == ("Sunrise Care", "Intelshire Council")
    assert copy_of(pack, users.icb_commissioner).content["adult"]["escalations"] == []
    assert other.reference not in json.dumps([copy.content for copy in pack.copies])


@contextmanager
def statements_about_escalations():
    """Count the SQL statements that read the escalation tables."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "escalation" in statement.lower():
            seen.append(statement)

    engine = db.session.get_bind().engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_escalations_are_read_in_a_few_queries_whatever_the_number_of_services(
    intel_world, make_meeting, make_service, raise_about  # noqa: F811
):
    users = intel_world.users
    meeting = make_meeting(providers=[intel_world.sunrise, intel_world.moonlight], invite=[users.sab_chair])
    organiser = as_acting(users.council_commissioner)
    raise_about(now=utcnow())

    def build() -> int:
        with statements_about_escalations() as seen:
            packs.build_pack(meeting, by=organiser)
        db.session.commit()
        return len(seen)

    few = build()
    for number in range(4):
        service = make_service(intel_world.sunrise, name=f"Sunrise extra {number}")
        raise_about(now=utcnow(), service=service)
        raise_about(now=utcnow(), service=intel_world.elsewhere, to=intel_world.moonlight)
    many = build()
    assert many == few
    chair = copy_of(packs.latest_pack(meeting), users.sab_chair)
    assert (len(section(chair, "Sunrise Care")["escalations"]), len(section(chair, "Moonlight Care")["escalations"])) == (5, 4)
