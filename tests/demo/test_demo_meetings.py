"""The demo area's meetings: the monthly provider quality series with minutes and actions carrying
over, Jo's meeting at the GP surgery with its plain-language summary, and the Board's next meeting."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from portal.agreements.sharing import london_today
from portal.core.codes import Role
from portal.core.workdays import LONDON
from portal.demo.concerns import JO_NAME
from portal.demo.meetings import MEADOWBANK_PROVIDER, RIVERSIDE_PROVIDER, SERIES_TITLE
from portal.meetings.minutes import actions_carried_into
from portal.meetings.models import (
    AgendaPack,
    GuestRelationship,
    Meeting,
    MeetingKind,
    MeetingStatus,
    PackCopy,
    PlaceKind,
)
from portal.meetings.pack import HIDDEN_ITEM_TEXT
from portal.meetings.plain_language import check_plain_language
from portal.notifications.models import DeliveryKind, EmailDelivery
from portal.people.models import User


@pytest.fixture
def demo(db_session):
    """The demo, seeded once for the package (tests/demo/conftest.py)."""
    return db_session.scalars(sa.select(Meeting).order_by(Meeting.starts_at)).all()


def _user(db_session, email: str) -> User:
    return db_session.scalar(sa.select(User).where(User.email == email))


def _the_quality_series_has_held_minuted_meetings_overdue_actions_and_meetings_to_come(meetings, db_session):
    series = [m for m in meetings if m.title == SERIES_TITLE]
    now = datetime.now(UTC)
    held = [m for m in series if m.status is MeetingStatus.HELD]
    assert len(held) == 3 and all(m.minutes_locked and m.starts_at < now for m in held)
    assert len({m.series_id for m in series}) == 1
    # Each held meeting's pack is frozen, with a copy for every invitee with an account.
    for meeting in held:
        pack = db_session.scalar(sa.select(AgendaPack).where(AgendaPack.meeting_id == meeting.id))
        assert pack.frozen_at is not None
        assert len(pack.copies) == len([a for a in meeting.attendees if a.user_id is not None])
        assert all(item.minute is not None for item in meeting.agenda if item.provider_id is not None
                   and item.title in {MEADOWBANK_PROVIDER, RIVERSIDE_PROVIDER})
    # Times stay at 10am in England on both sides of the clock change.
    assert {m.starts_at.astimezone(LONDON).hour for m in series} == {10}
    waiting = [m for m in series if m.status is MeetingStatus.SCHEDULED and m.starts_at < now]
    upcoming = [m for m in series if m.starts_at > now]
    assert len(waiting) == 1 and len(upcoming) == 2

    actions = [action for meeting in series for action in meeting.actions]
    overdue = [a for a in actions if not a.state.finished and a.due_on < london_today()]
    assert any(a.state.finished for a in actions)
    assert {a.owner.email for a in overdue} >= {"manager@riverside.northshire.example", "lead@council.northshire.example"}
    assert set(actions_carried_into(upcoming[0])) == set(overdue)

    # Riverside's manager saw only Riverside's part of each pack.
    manager = _user(db_session, "manager@riverside.northshire.example")
    copy = db_session.scalar(
        sa.select(PackCopy).join(AgendaPack).where(AgendaPack.meeting_id == held[-1].id, PackCopy.user_id == manager.id)
    )
    assert copy.redacted
    sections = copy.content["items"]
    assert [s["title"] for s in sections if s["hidden"]] == [HIDDEN_ITEM_TEXT, HIDDEN_ITEM_TEXT]
    assert RIVERSIDE_PROVIDER in [s["title"] for s in sections]
    assert MEADOWBANK_PROVIDER not in str(sections)


def _jos_meeting_at_the_gp_surgery_has_her_advocate_and_a_plain_summary_shared_with_her(meetings):
    about_jo = [m for m in meetings if m.kind is MeetingKind.ADULT_SAFEGUARDING]
    assert len(about_jo) == 2
    surgery, home = about_jo
    assert "Kingsford Health Centre" in surgery.place and home.place_kind is PlaceKind.ADULTS_HOME and home.place is None
    relationships = {a.guest_relationship for a in surgery.attendees if a.guest_relationship}
    assert {GuestRelationship.ADULT, GuestRelationship.ADVOCATE} <= relationships
    assert all(JO_NAME.split()[0] not in m.title for m in about_jo)
    from portal.meetings.summary import summary_for

    summary = summary_for(surgery)
    assert summary is not None and summary.shares
    report = check_plain_language(summary.text)
    assert report.reads_as_plain_language, report
    assert summary_for(home) is None


def _the_boards_next_meeting_is_scheduled_with_calendar_invitations(meetings, db_session):
    board = [m for m in meetings if m.kind is MeetingKind.SAB_BOARD]
    assert len(board) == 1 and board[0].status is MeetingStatus.SCHEDULED
    chair = _user(db_session, "chair@sab.northshire.example")
    assert board[0].organiser_id == chair.id
    assert chair.active_memberships[0].role is Role.SAB_CHAIR
    invited = {a.id for a in board[0].attendees}
    queued = set(db_session.scalars(
        sa.select(EmailDelivery.attendee_id).where(EmailDelivery.kind == DeliveryKind.CALENDAR, EmailDelivery.attendee_id.in_(invited))
    ))
    assert queued == invited


def test_the_demo_meetings_tell_the_quality_series_jos_meetings_and_the_boards(demo, db_session):
    # One seeding for all the checks: building the demo takes seconds, most of all on PostgreSQL.
    _the_quality_series_has_held_minuted_meetings_overdue_actions_and_meetings_to_come(demo, db_session)
    _jos_meeting_at_the_gp_surgery_has_her_advocate_and_a_plain_summary_shared_with_her(demo)
    _the_boards_next_meeting_is_scheduled_with_calendar_invitations(demo, db_session)
