"""The agenda pack: one copy per attendee with only what they may see, covering what is new since
the last meeting, kept as built once frozen, and its pages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.concerns.models import DesiredOutcome
from portal.core.codes import KeyQuestion, Rating
from portal.core.templating import LONDON
from portal.extensions import db
from portal.intelligence import operations as intel
from portal.intelligence.models import QualityScore, Severity, SourceType
from portal.meetings import pack as packs
from portal.meetings.models import (
    AgendaPack,
    Attendee,
    MeetingAction,
    MeetingKind,
    MeetingStatus,
    PackCopy,
)


def _copy(pack: AgendaPack, user) -> PackCopy:
    return next(copy for copy in pack.copies if copy.user_id == user.id)


def _section(copy: PackCopy, title: str) -> dict:
    return next(item for item in copy.content["items"] if item["title"] == title)


def _summaries(section: dict) -> list[str]:
    return [entry["summary"] for service in section["services"] for entry in service["intelligence"]]


def _text(copy: PackCopy) -> str:
    return json.dumps(copy.content)


def test_each_attendee_gets_only_what_they_may_see(intel_world, make_meeting, add_item, acting):
    world, users = intel_world, intel_world.users
    add_item(world.home, source=SourceType.WHISTLEBLOWING, severity=Severity.HIGH,
             summary="Whistleblower at Sunrise")
    add_item(world.home, summary="Complaint at Sunrise")
    add_item(world.elsewhere, summary="Complaint at Moonlight")
    meeting = make_meeting(
        providers=[world.sunrise, world.moonlight],
        invite=[users.manager, users.icb_commissioner, users.inspector, users.sab_member, users.staff],
    )
    meeting.attendees.append(Attendee(guest_name="A guest", guest_email="guest@example.org"))
    db.session.commit()

    pack = packs.build_pack(meeting, by=acting(users.council_commissioner))
    db.session.commit()

    assert pack.version == 1
    assert pack.since == meeting.starts_at.astimezone(LONDON).date() - timedelta(days=packs.DEFAULT_LOOKBACK_DAYS)
    # Every invitee with an account gets a copy; the guest gets none.
    assert {copy.user_id for copy in pack.copies} == {
        users.council_commissioner.id, users.manager.id, users.icb_commissioner.id, users.inspector.id,
        users.sab_member.id, users.staff.id,
    }

    council = _copy(pack, users.council_commissioner)
    sunrise = _section(council, "Sunrise Care")
    assert set(_summaries(sunrise)) == {"Whistleblower at Sunrise", "Complaint at Sunrise"}
    assert [e["confidential"] for e in sunrise["services"][0]["intelligence"] if e["summary"].startswith("Whistle")] == [True]
    assert sunrise["services"][0]["signal"]["band"]
    assert council.redacted and "Moonlight" not in _text(council)

    manager = _copy(pack, users.manager)
    assert _summaries(_section(manager, "Sunrise Care")) == ["Complaint at Sunrise"]
    hidden = [item for item in manager.content["items"] if item["hidden"]]
    assert [item["title"] for item in hidden] == [packs.HIDDEN_ITEM_TEXT]
    assert manager.redacted
    assert "Moonlight" not in _text(manager) and "Whistleblower" not in _text(manager)

    icb = _copy(pack, users.icb_commissioner)
    assert _summaries(_section(icb, "Moonlight Care")) == ["Complaint at Moonlight"]
    assert icb.redacted and "Sunrise" not in _text(icb)

    inspector = _copy(pack, users.inspector)
    assert set(_summaries(_section(inspector, "Sunrise Care"))) == {"Whistleblower at Sunrise", "Complaint at Sunrise"}
    assert inspector.redacted and "Moonlight" not in _text(inspector)

    board = _copy(pack, users.sab_member)
    assert _summaries(_section(board, "Sunrise Care")) == ["Complaint at Sunrise"]
    assert _summaries(_section(board, "Moonlight Care")) == ["Complaint at Moonlight"]
    # The Board member sees every provider; leaving out a confidential item is not announced.
    assert not board.redacted and "Whistleblower" not in _text(board)

    staff = _copy(pack, users.staff)
    assert [item["hidden"] for item in staff.content["items"]] == [True, True, False]
    assert "Moonlight" not in _text(staff) and "Sunrise Care" not in json.dumps(staff.content["items"])

    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "meeting.pack.build"))
    assert event.summary == f"built version 1 of the agenda pack of meeting {meeting.id}"


def test_pack_covers_what_is_new_since_the_previous_meeting(intel_world, make_meeting, add_item, acting, adult_concern):
    world, users = intel_world, intel_world.users
    now = datetime.now(UTC).replace(microsecond=0, second=0, minute=0)
    previous = make_meeting(providers=[world.sunrise], starts_at=now - timedelta(days=20), status=MeetingStatus.HELD,
                            title="Last month's meeting")
    carried = MeetingAction(
        meeting_id=previous.id, agenda_item_id=previous.agenda[0].id, description="Check the medicines audit",
        owner_id=users.manager.id, owner_agency_id=world.sunrise.id, due_on=date.today() - timedelta(days=2),
        created_by_id=users.council_commissioner.id,
    )
    general = MeetingAction(
        meeting_id=previous.id, description="Circulate the new escalation protocol", owner_id=users.lead.id,
        owner_agency_id=world.council.id, due_on=date.today() + timedelta(days=5),
        created_by_id=users.council_commissioner.id,
    )
    db.session.add_all([carried, general])
    add_item(world.home, summary="Before the last meeting", days_ago=30)
    add_item(world.home, summary="After the last meeting", days_ago=10)
    intel.record_inspection(world.home, intel.InspectionDetails(
        published_on=date.today() - timedelta(days=200), overall=Rating.GOOD, ratings={q: Rating.GOOD for q in KeyQuestion},
    ), by=None, supplied_by=world.regulator)
    intel.record_inspection(world.home, intel.InspectionDetails(
        published_on=date.today() - timedelta(days=5), overall=Rating.REQUIRES_IMPROVEMENT,
        ratings={q: Rating.GOOD for q in KeyQuestion} | {KeyQuestion.SAFE: Rating.INADEQUATE},
        url="https://regulator.example/report/1",
    ), by=None, supplied_by=world.regulator)
    standards = intel.ensure_default_standards(world.area.id)
    intel.record_visit(world.home, intel.VisitDetails(
        visited_on=date.today() - timedelta(days=3), officer_name="Olive Officer", findings="Medicines poorly stored",
        scores={standards[0].id: QualityScore.POOR},
        actions=[intel.ActionDetails(description="Lock the medicines trolley", owner="Home manager",
                                     due_on=date.today() + timedelta(days=10))],
    ), commissioner=world.council, by=acting(users.council_commissioner))
    db.session.commit()
    meeting = make_meeting(providers=[world.sunrise], invite=[users.manager])

    pack = packs.build_pack(meeting, by=acting(users.council_commissioner))
    db.session.commit()

    assert pack.since == previous.starts_at.astimezone(LONDON).date()
    council = _copy(pack, users.council_commissioner)
    sunrise = _section(council, "Sunrise Care")
    service = sunrise["services"][0]
    summaries = _summaries(sunrise)
    assert "After the last meeting" in summaries and "Before the last meeting" not in summaries
    [publication] = service["ratings"]
    assert publication["rows"][0] == {"question": "Overall", "rating": "Requires improvement", "change": "Down: was Good"}
    assert {"question": "Safe", "rating": "Inadequate", "change": "Down: was Good"} in publication["rows"]
    assert [concern["reference"] for concern in service["concerns"]] == [adult_concern.reference]
    assert service["concerns"][0]["abuse_types"] == ["Financial or Material Abuse"]
    assert "Jo Example" not in _text(council)
    assert [action["description"] for action in service["improvement_actions"]] == ["Lock the medicines trolley"]
    [action] = sunrise["actions"]
    assert (action["description"], action["owner"], action["overdue"]) == ("Check the medicines audit", "Mo Manager", True)
    assert [a["description"] for a in _section(council, "Any other business")["actions"]] == [
        "Circulate the new escalation protocol"
    ]
    # The manager was not at the last meeting: their own action is there, the other one is not.
    manager = _copy(pack, users.manager)
    assert [a["description"] for a in _section(manager, "Sunrise Care")["actions"]] == ["Check the medicines audit"]
    assert _section(manager, "Any other business")["actions"] == [] and manager.redacted


def test_frozen_pack_never_changes_and_late_invitees_get_copies_only_before(intel_world, make_meeting, add_item, acting):
    world, users = intel_world, intel_world.users
    add_item(world.home, summary="Known at the first build")
    meeting = make_meeting(providers=[world.sunrise])
    by = acting(users.council_commissioner)
    packs.build_pack(meeting, by=by)
    db.session.commit()

    # Invited after the pack was built: their copy is built when they first open it.
    db.session.add(Attendee(meeting_id=meeting.id, user_id=users.lead.id, membership_id=users.lead.active_memberships[0].id))
    db.session.commit()
    late = packs.pack_copy_for(meeting, users.lead)
    db.session.commit()
    assert late is not None and late.pack.version == 1
    assert _summaries(_section(late, "Sunrise Care")) == ["Known at the first build"]
    assert packs.pack_copy_for(meeting, users.lead).id == late.id

    second = packs.build_pack(meeting, by=by)
    frozen = packs.freeze_latest_pack(meeting, by=by)
    db.session.commit()
    assert frozen.id == second.id and frozen.version == 2 and frozen.frozen_at is not None
    before = _copy(frozen, users.council_commissioner).content

    add_item(world.home, summary="Recorded after the meeting")
    db.session.add(Attendee(meeting_id=meeting.id, user_id=users.inspector.id,
                            membership_id=users.inspector.active_memberships[0].id))
    db.session.commit()
    with pytest.raises(packs.PackError, match="frozen"):
        packs.build_pack(meeting, by=by)
    db.session.rollback()
    assert packs.freeze_latest_pack(meeting, by=by).id == frozen.id
    db.session.expire_all()
    assert _copy(frozen, users.council_commissioner).content == before
    assert "Recorded after the meeting" not in json.dumps(before)
    assert packs.pack_copy_for(meeting, users.inspector) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AgendaPack).where(AgendaPack.meeting_id == meeting.id)) == 2


def test_freezing_without_a_pack_builds_one_first(intel_world, make_meeting, acting):
    meeting = make_meeting(providers=[intel_world.sunrise])
    pack = packs.freeze_latest_pack(meeting, by=acting(intel_world.users.council_commissioner))
    assert pack.version == 1 and pack.frozen_at is not None and len(pack.copies) == 1


def test_adult_meeting_pack_withholds_what_the_adult_wants_without_disclosure(
    intel_world, make_meeting, adult_concern, acting, client, act_as,
):
    users = intel_world.users
    adult_concern.adult_views = "I want my money kept safe"
    db.session.add(DesiredOutcome(concern_id=adult_concern.id, words="To feel safe in my room"))
    db.session.commit()
    meeting = make_meeting(kind=MeetingKind.ADULT_SAFEGUARDING, title="Meeting about a resident", organiser=users.lead,
                           concern=adult_concern, invite=[users.manager, users.icb_commissioner])

    pack = packs.build_pack(meeting, by=acting(users.lead))
    db.session.commit()

    lead = _copy(pack, users.lead).content["adult"]
    assert lead["disclosed"] and lead["views"] == "I want my money kept safe"
    assert [outcome["words"] for outcome in lead["desired_outcomes"]] == ["To feel safe in my room"]
    assert lead["reference"] == adult_concern.reference
    assert _copy(pack, users.manager).content["adult"]["disclosed"]  # the agency that raised it

    icb = _copy(pack, users.icb_commissioner)
    assert icb.redacted and not icb.content["adult"]["disclosed"]
    assert icb.content["adult"]["reference"] == adult_concern.reference
    assert "money" not in _text(icb) and "safe in my room" not in _text(icb)

    act_as(users.icb_commissioner)
    page = client.get(f"/meetings/{meeting.id}/pack").text
    assert "What the adult wants is not shown to you: your agency has no information-sharing agreement" in page
    assert "Some items are not shown" in page and "safe in my room" not in page
    act_as(users.lead)
    page = client.get(f"/meetings/{meeting.id}/pack").text
    assert "To feel safe in my room" in page and "Some items are not shown" not in page


def test_pack_pages(intel_world, make_meeting, add_item, client, act_as, acting):
    world, users = intel_world, intel_world.users
    add_item(world.home, summary="A complaint about meals")
    meeting = make_meeting(providers=[world.sunrise, world.moonlight], invite=[users.manager])
    url = f"/meetings/{meeting.id}/pack"

    act_as(users.manager)
    page = client.get(url)
    assert page.status_code == 200 and "The agenda pack has not been built yet" in page.text
    assert "Build the agenda pack" not in page.text
    assert client.post(f"{url}/build").status_code == 403

    act_as(users.council_commissioner)
    page = client.get(url).text
    assert "The agenda pack has not been built yet" in page and "Build the agenda pack</button>" in page
    built = client.post(f"{url}/build", follow_redirects=True)
    assert built.request.path == url
    assert "Agenda pack version 1 built for 2 attendees" in built.text
    assert "Version 1, built" in built.text and "A complaint about meals" in built.text
    assert "Some items are not shown" in built.text and "Build the agenda pack again" in built.text
    viewed = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "meeting.pack.view")).all()
    assert [event.summary for event in viewed] == [f"viewed the agenda pack of meeting {meeting.id}"]

    printed = client.get(f"{url}?print=1").text
    assert "A complaint about meals" in printed and "Main menu" not in printed and "govuk-footer" not in printed
    assert "Build the agenda pack" not in printed

    act_as(users.manager)
    page = client.get(url).text
    assert "A complaint about meals" in page and packs.HIDDEN_ITEM_TEXT in page and "Moonlight" not in page
    assert "Some items are not shown because they are about providers or people whose information you may not see" in page

    packs.freeze_latest_pack(meeting, by=acting(users.council_commissioner))
    db.session.commit()
    act_as(users.council_commissioner)
    page = client.get(url).text
    assert "This is the pack as it was when the meeting was held" in page and "Build the agenda pack" not in page
    refused = client.post(f"{url}/build", follow_redirects=True)
    assert refused.status_code == 200 and "frozen when the meeting was held" in refused.text

    db.session.add(Attendee(meeting_id=meeting.id, user_id=users.inspector.id,
                            membership_id=users.inspector.active_memberships[0].id))
    db.session.commit()
    act_as(users.inspector)  # invited once the pack was frozen
    page = client.get(url).text
    assert "It was built before you were invited, so there is no copy for you" in page
    assert "A complaint about meals" not in page

    act_as(users.lead)  # not invited
    assert client.get(url).status_code == 404
