"""Reminders other modules register, and the schedule, in England's time across the clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from celery.schedules import crontab

from portal.concerns import operations
from portal.core.codes import TriageDecision
from portal.core.db import utcnow
from portal.notifications.models import Notification, NotificationEvent, Reminder
from portal.notifications.reminders import cancel_reminders, fire_due_reminders, london_time, schedule_reminder

E = NotificationEvent


def remind(world, concern, key="test:1", at=None, recipient=None):
    return schedule_reminder(
        key, recipient=recipient or world.lead, at=at or utcnow() + timedelta(hours=1), event=E.CONCERN_AWAITING_TRIAGE,
        subject_type="concern", subject_id=concern.id, summary=f"Reminder: {concern.reference}", link=f"/concerns/{concern.id}",
    )


@pytest.fixture
def quiet_concern(db_session, raise_one):
    """A concern without its own triage reminders, so a test counts only the reminders it makes."""

    def make():
        concern = raise_one()
        cancel_reminders("concern:")
        return concern

    return make


def notes_for(db_session, user, event=E.CONCERN_AWAITING_TRIAGE):
    return list(db_session.scalars(sa.select(Notification).where(Notification.recipient_id == user.id, Notification.event == event)))


def test_a_reminder_fires_once_at_its_time_and_not_before(db_session, world, quiet_concern):
    concern = quiet_concern()
    reminder = remind(world, concern)
    db_session.commit()
    assert fire_due_reminders(utcnow()) == 0
    assert fire_due_reminders(reminder.due_at + timedelta(seconds=1)) == 1
    assert fire_due_reminders(reminder.due_at + timedelta(minutes=5)) == 0
    [note] = notes_for(db_session, world.lead)
    assert note.summary == f"Reminder: {concern.reference}" and note.link == f"/concerns/{concern.id}"


def test_a_cancelled_reminder_never_fires_and_scheduling_again_moves_it(db_session, world, quiet_concern):
    concern = quiet_concern()
    first = remind(world, concern, key="test:a")
    remind(world, concern, key="test:b")
    remind(world, concern, key="other:a")
    db_session.commit()
    assert cancel_reminders("test:") == 2
    assert fire_due_reminders(utcnow() + timedelta(days=1)) == 1  # only "other:a"

    moved = remind(world, concern, key="test:a", at=utcnow() + timedelta(days=3))
    db_session.commit()
    assert moved.id == first.id and moved.cancelled_at is None
    assert fire_due_reminders(utcnow() + timedelta(days=2)) == 0
    assert fire_due_reminders(utcnow() + timedelta(days=3, minutes=1)) == 1
    assert db_session.scalar(sa.select(sa.func.count(Reminder.id)).where(Reminder.key.like("test:%"))) == 2


def test_a_like_wildcard_in_a_key_prefix_cancels_nothing_else(db_session, world, quiet_concern):
    concern = quiet_concern()
    remind(world, concern, key="concern_1:x")
    remind(world, concern, key="concernX1:x")
    db_session.commit()
    assert cancel_reminders("concern_1:") == 1


def test_a_reminder_to_someone_who_may_no_longer_open_the_subject_is_dropped(db_session, world, quiet_concern):
    from portal.people.operations import end_membership

    concern = quiet_concern()
    remind(world, concern, recipient=world.second_lead)
    end_membership(world.second_lead.active_memberships[0])
    db_session.commit()
    assert fire_due_reminders(utcnow() + timedelta(days=1)) == 1
    assert notes_for(db_session, world.second_lead) == []


def test_nine_oclock_in_england_is_the_right_instant_either_side_of_the_clock_changes():
    # Clocks go forward on 28 March 2027 and back on 31 October 2027.
    assert london_time(date(2027, 3, 27), time(9)).astimezone(UTC) == datetime(2027, 3, 27, 9, tzinfo=UTC)
    assert london_time(date(2027, 3, 29), time(9)).astimezone(UTC) == datetime(2027, 3, 29, 8, tzinfo=UTC)
    assert london_time(date(2027, 10, 30), time(9)).astimezone(UTC) == datetime(2027, 10, 30, 8, tzinfo=UTC)
    assert london_time(date(2027, 11, 1), time(9)).astimezone(UTC) == datetime(2027, 11, 1, 9, tzinfo=UTC)
    # 01:30 does not exist on 28 March: it is read as winter time, so 02:30 summer time.
    assert london_time(date(2027, 3, 28), time(1, 30)).astimezone(UTC) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    # 01:30 happens twice on 31 October: the first (summer time) is meant.
    assert london_time(date(2027, 10, 31), time(1, 30)).astimezone(UTC) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_a_naive_time_means_the_wall_clock_in_england(db_session, world, quiet_concern):
    concern = quiet_concern()
    reminder = remind(world, concern, at=datetime(2027, 7, 1, 9, 0))
    db_session.commit()
    db_session.refresh(reminder)
    assert reminder.due_at == datetime(2027, 7, 1, 8, 0, tzinfo=UTC)


def test_a_concern_not_triaged_reminds_the_leads_at_nine_on_the_next_working_day(db_session, world, raise_one):
    # Raised on Thursday 25 March 2027. Good Friday and Easter Monday are bank holidays and summer
    # time begins on the Sunday between: due Tuesday 30 March at 9am BST.
    with time_machine.travel(datetime(2027, 3, 25, 16, 0, tzinfo=UTC), tick=False):
        concern = raise_one()
        db_session.commit()
    reminders = db_session.scalars(sa.select(Reminder).where(Reminder.subject_id == concern.id)).all()
    assert {r.recipient_id for r in reminders} == {world.lead.id, world.second_lead.id}
    assert {r.due_at for r in reminders} == {datetime(2027, 3, 30, 8, 0, tzinfo=UTC)}
    assert fire_due_reminders(datetime(2027, 3, 30, 7, 59, tzinfo=UTC)) == 0
    assert fire_due_reminders(datetime(2027, 3, 30, 8, 0, tzinfo=UTC)) == 2
    assert len(notes_for(db_session, world.lead)) == 1


def test_triage_cancels_the_reminder(db_session, world, raise_one):
    concern = raise_one()
    db_session.commit()
    lead = world.lead
    lead.membership = lead.active_memberships[0]
    operations.triage_concern(concern, decision=TriageDecision.S42_ENQUIRY, reason=None, by=lead)
    db_session.commit()
    assert fire_due_reminders(utcnow() + timedelta(days=7)) == 0
    assert notes_for(db_session, world.second_lead) == []


def test_the_daily_summary_is_due_at_seven_in_england_in_winter_and_in_summer(app):
    from workers.celery_app import celery

    schedule = celery.conf.beat_schedule["notifications-digest"]["schedule"]
    assert isinstance(schedule, crontab) and schedule.hour == {app.config["DIGEST_HOUR"]}
    for last_run, now, due in [
        # Winter: 07:00 in England is 07:00 UTC.
        (datetime(2027, 1, 14, 7, 0, tzinfo=UTC), datetime(2027, 1, 15, 6, 59, tzinfo=UTC), False),
        (datetime(2027, 1, 14, 7, 0, tzinfo=UTC), datetime(2027, 1, 15, 7, 0, 30, tzinfo=UTC), True),
        # The morning after the clocks go forward: 07:00 BST is 06:00 UTC.
        (datetime(2027, 3, 28, 6, 0, tzinfo=UTC), datetime(2027, 3, 29, 5, 59, tzinfo=UTC), False),
        (datetime(2027, 3, 28, 6, 0, tzinfo=UTC), datetime(2027, 3, 29, 6, 0, 30, tzinfo=UTC), True),
        # The morning the clocks go back: 07:00 GMT is 07:00 UTC, not 06:00.
        (datetime(2027, 10, 30, 6, 0, tzinfo=UTC), datetime(2027, 10, 31, 6, 30, tzinfo=UTC), False),
        (datetime(2027, 10, 30, 6, 0, tzinfo=UTC), datetime(2027, 10, 31, 7, 0, 30, tzinfo=UTC), True),
    ]:
        probe = crontab(hour=schedule.hour, minute=schedule.minute, app=celery, nowfun=lambda now=now: now)
        assert probe.is_due(last_run).is_due is due, (last_run, now)


def test_the_sweep_runs_every_minute_by_default(app):
    from workers.celery_app import celery

    assert celery.conf.beat_schedule["notifications-sweep"]["schedule"] == app.config["SWEEP_SECONDS"] == 60
