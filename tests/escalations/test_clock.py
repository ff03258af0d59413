"""The ladder's clock: deadlines, grace periods and reminders, as pure functions of frozen times.

Every deadline falls at 17:00 on a working day in England (weekends and England's bank holidays
excluded). Times are written in UTC with the wall-clock time in England beside them: GMT in winter
(UTC+0), BST in summer (UTC+1).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time

import pytest

from portal.core.workdays import LONDON
from portal.escalations import ladder as clock
from portal.escalations.ladder import DEFAULT_LADDER, auto_escalate_time, reminder_time, stage_deadline
from portal.escalations.models import EscalationStage
from portal.notifications.models import Reminder
from tests.escalations.conftest import MONDAY


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def deadline(started_at: datetime, working_days: int = 5, *, imminent: bool = False) -> datetime:
    return stage_deadline(started_at, working_days, harm_imminent=imminent)


# Working days ---------------------------------------------------------------------------------


def test_five_working_days_skip_the_weekend():
    # Wednesday 11 November 2026: Thu, Fri, (Sat, Sun), Mon, Tue, Wed.
    assert deadline(utc(2026, 11, 11, 10, 0)) == utc(2026, 11, 18, 17, 0)
    # From a Friday the whole working week after it.
    assert deadline(utc(2026, 11, 13, 10, 0)) == utc(2026, 11, 20, 17, 0)


def test_christmas_2026_skips_christmas_day_the_boxing_day_substitute_and_new_years_day():
    # From Wednesday 23 December: Thu 24; Fri 25 (Christmas Day), Mon 28 (for Boxing Day) and Fri
    # 1 January (New Year's Day) are bank holidays; so Tue 29, Wed 30, Thu 31 and Mon 4 January.
    assert deadline(utc(2026, 12, 23, 10, 0)) == utc(2027, 1, 4, 17, 0)
    # One working day from Christmas Eve is Tuesday 29 December, not Monday 28.
    assert deadline(utc(2026, 12, 24, 10, 0), 1) == utc(2026, 12, 29, 17, 0)


def test_easter_2027_skips_good_friday_and_easter_monday_and_the_clocks_going_forward():
    # From Wednesday 24 March (GMT): Thu 25; Good Friday 26 and Easter Monday 29 are bank holidays;
    # then Tue 30, Wed 31, Thu 1 and Fri 2 April, in summer time: 17:00 BST is 16:00 UTC.
    assert deadline(utc(2027, 3, 24, 10, 0)) == utc(2027, 4, 2, 16, 0)
    assert deadline(utc(2027, 3, 25, 10, 0), 1) == utc(2027, 3, 30, 16, 0)


def test_the_early_may_bank_holiday_2027_is_skipped():
    # From Thursday 29 April: Fri 30; Monday 3 May is the early May bank holiday; Tue 4 to Fri 7.
    assert deadline(utc(2027, 4, 29, 9, 0)) == utc(2027, 5, 7, 16, 0)
    assert deadline(utc(2027, 4, 30, 9, 0), 1) == utc(2027, 5, 4, 16, 0)


def test_a_stage_started_on_a_saturday_counts_from_the_monday():
    saturday = utc(2026, 11, 14, 11, 0)
    assert deadline(saturday) == utc(2026, 11, 20, 17, 0)
    assert deadline(saturday, 1) == utc(2026, 11, 16, 17, 0)
    # A Sunday or a bank holiday is the same as the day before it.
    assert deadline(utc(2026, 11, 15, 20, 0)) == deadline(saturday)
    assert deadline(utc(2026, 12, 28, 10, 0), 1) == utc(2026, 12, 29, 17, 0)


def test_a_stage_started_after_the_close_of_day_still_has_its_full_working_days():
    # Whole working days after the day the stage started: started at 17:30 on Monday 9 November
    # or at 09:30 that morning, the five working days are Tuesday to Monday.
    assert deadline(utc(2026, 11, 9, 17, 30)) == utc(2026, 11, 16, 17, 0)
    assert deadline(utc(2026, 11, 9, 17, 30)) == deadline(MONDAY)
    assert deadline(utc(2026, 11, 9, 23, 59), 1) == utc(2026, 11, 10, 17, 0)


# Harm imminent ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("started_at", "expected", "why"),
    [
        (utc(2026, 11, 9, 9, 30), utc(2026, 11, 9, 17, 0), "a working morning: the same day"),
        (utc(2026, 11, 9, 16, 59), utc(2026, 11, 9, 17, 0), "a minute before the close: the same day"),
        (utc(2026, 11, 9, 17, 0), utc(2026, 11, 10, 17, 0), "at the close: the next working day"),
        (utc(2026, 11, 9, 21, 0), utc(2026, 11, 10, 17, 0), "in the evening: the next working day"),
        (utc(2026, 11, 13, 18, 0), utc(2026, 11, 16, 17, 0), "a Friday evening: the Monday"),
        (utc(2026, 11, 14, 10, 0), utc(2026, 11, 16, 17, 0), "a Saturday: the Monday"),
        (utc(2026, 11, 15, 10, 0), utc(2026, 11, 16, 17, 0), "a Sunday: the Monday"),
        (utc(2026, 12, 25, 10, 0), utc(2026, 12, 29, 17, 0), "Christmas Day: past the Boxing Day substitute"),
        (utc(2027, 3, 26, 10, 0), utc(2027, 3, 30, 16, 0), "Good Friday: past Easter Monday, in summer time"),
        (utc(2027, 5, 3, 8, 0), utc(2027, 5, 4, 16, 0), "the early May bank holiday: the Tuesday"),
    ],
)
def test_harm_imminent_is_due_the_same_working_day_before_the_close_or_else_the_next(started_at, expected, why):
    assert deadline(started_at, imminent=True) == expected, why
    # The stage's working days do not matter where harm is imminent.
    assert deadline(started_at, 10, imminent=True) == expected, why


# The clock changes --------------------------------------------------------------------------


def test_deadlines_stay_at_five_pm_in_england_across_the_clocks_going_back():
    # Started Monday 19 October 2026 in summer time; due Monday 26 October, after the clocks went
    # back on Sunday 25 October: 17:00 GMT, which is 17:00 UTC (not 16:00).
    due = deadline(utc(2026, 10, 19, 9, 0))
    assert due == utc(2026, 10, 26, 17, 0)
    assert due.astimezone(LONDON).time() == time(17, 0)


def test_deadlines_stay_at_five_pm_in_england_across_the_clocks_going_forward():
    # Started Monday 22 March 2027 in winter time; the clocks go forward on Sunday 28 March and
    # Easter falls between: Tue 23, Wed 24, Thu 25, Tue 30, Wed 31, at 17:00 BST (16:00 UTC).
    due = deadline(utc(2027, 3, 22, 9, 0))
    assert due == utc(2027, 3, 31, 16, 0)
    assert due.astimezone(LONDON).time() == time(17, 0)


# The grace period ---------------------------------------------------------------------------


def test_the_grace_period_is_working_days_after_the_deadline_at_the_close():
    assert DEFAULT_LADDER.grace_working_days == 2
    assert auto_escalate_time(utc(2026, 11, 16, 17, 0), DEFAULT_LADDER, harm_imminent=False) == utc(2026, 11, 18, 17, 0)
    # From a Friday deadline, over the weekend.
    assert auto_escalate_time(utc(2026, 11, 20, 17, 0), DEFAULT_LADDER, harm_imminent=False) == utc(2026, 11, 24, 17, 0)
    # Over Christmas: Tue 29 and Wed 30 December.
    assert auto_escalate_time(utc(2026, 12, 24, 17, 0), DEFAULT_LADDER, harm_imminent=False) == utc(2026, 12, 30, 17, 0)
    # Across the clocks going back: Friday 23 October 17:00 BST to Tuesday 27 October 17:00 GMT.
    assert auto_escalate_time(utc(2026, 10, 23, 16, 0), DEFAULT_LADDER, harm_imminent=False) == utc(2026, 10, 27, 17, 0)


def test_the_grace_period_follows_the_ladders_setting():
    none = replace(DEFAULT_LADDER, grace_working_days=0)
    five = replace(DEFAULT_LADDER, grace_working_days=5)
    assert auto_escalate_time(utc(2026, 11, 16, 17, 0), none, harm_imminent=False) == utc(2026, 11, 16, 17, 0)
    assert auto_escalate_time(utc(2026, 11, 16, 17, 0), five, harm_imminent=False) == utc(2026, 11, 23, 17, 0)


def test_where_harm_is_imminent_the_grace_period_is_hours():
    assert DEFAULT_LADDER.imminent_grace_hours == 2
    assert auto_escalate_time(utc(2026, 11, 9, 17, 0), DEFAULT_LADDER, harm_imminent=True) == utc(2026, 11, 9, 19, 0)
    # Hours, whatever the day: a Friday deadline moves up on the Friday evening.
    assert auto_escalate_time(utc(2026, 11, 13, 17, 0), DEFAULT_LADDER, harm_imminent=True) == utc(2026, 11, 13, 19, 0)
    six = replace(DEFAULT_LADDER, imminent_grace_hours=6)
    assert auto_escalate_time(utc(2027, 3, 30, 16, 0), six, harm_imminent=True) == utc(2027, 3, 30, 22, 0)


# Reminders ----------------------------------------------------------------------------------


def test_the_reminder_goes_at_nine_on_the_working_day_before_the_deadline():
    started = utc(2026, 11, 9, 9, 30)
    assert reminder_time(started, utc(2026, 11, 16, 17, 0), DEFAULT_LADDER, harm_imminent=False) == utc(2026, 11, 13, 9, 0)
    # Before a deadline on Monday 4 January 2027: Thursday 31 December (1 January is a holiday).
    assert reminder_time(utc(2026, 12, 23, 10, 0), utc(2027, 1, 4, 17, 0), DEFAULT_LADDER,
                         harm_imminent=False) == utc(2026, 12, 31, 9, 0)
    # Before the clocks go back: Friday 23 October, 09:00 BST (08:00 UTC), for Monday 26 October.
    assert reminder_time(utc(2026, 10, 19, 9, 0), utc(2026, 10, 26, 17, 0), DEFAULT_LADDER,
                         harm_imminent=False) == utc(2026, 10, 23, 8, 0)


def test_the_reminder_follows_the_ladders_working_days_before():
    three = replace(DEFAULT_LADDER, reminder_working_days=3)
    on_the_day = replace(DEFAULT_LADDER, reminder_working_days=0)
    started = utc(2026, 11, 9, 9, 30)
    assert reminder_time(started, utc(2026, 11, 16, 17, 0), three, harm_imminent=False) == utc(2026, 11, 11, 9, 0)
    assert reminder_time(started, utc(2026, 11, 16, 17, 0), on_the_day, harm_imminent=False) == utc(2026, 11, 16, 9, 0)


def test_where_harm_is_imminent_the_reminder_goes_two_hours_before():
    assert reminder_time(utc(2026, 11, 9, 9, 30), utc(2026, 11, 9, 17, 0), DEFAULT_LADDER,
                         harm_imminent=True) == utc(2026, 11, 9, 15, 0)


def test_no_reminder_when_its_time_would_not_come_after_the_stage_started():
    # Started on Friday 13 November at 10:00 with a one-day deadline on Monday 16: the reminder
    # would have been at 09:00 that Friday, before the stage started.
    assert reminder_time(utc(2026, 11, 13, 10, 0), utc(2026, 11, 16, 17, 0), DEFAULT_LADDER, harm_imminent=False) is None
    assert reminder_time(utc(2026, 11, 9, 16, 0), utc(2026, 11, 9, 17, 0), DEFAULT_LADDER, harm_imminent=True) is None


# Through raising an escalation ------------------------------------------------------------


def test_raising_stores_the_computed_deadline_grace_and_reminder_never_typed(raise_about, db_session):
    escalation = raise_about(now=MONDAY)
    imminent = raise_about(now=MONDAY, harm_imminent=True)
    db_session.expire_all()  # read back what the database holds

    # Monday 9 November 09:30: five working days to Monday 16 at 17:00; two more to Wednesday 18.
    assert (escalation.deadline_at, escalation.auto_escalate_at) == (utc(2026, 11, 16, 17, 0), utc(2026, 11, 18, 17, 0))
    [stage] = escalation.stages
    assert isinstance(stage, EscalationStage)
    assert (stage.number, stage.working_days, stage.started_at) == (1, 5, MONDAY)
    assert (stage.deadline_at, stage.auto_escalate_at) == (escalation.deadline_at, escalation.auto_escalate_at)
    assert stage.deadline_at == clock.stage_deadline(MONDAY, DEFAULT_LADDER.stage(1).working_days, harm_imminent=False)
    due = db_session.query(Reminder).filter(Reminder.key.like(f"escalation:{escalation.id}:stage:1:due:%")).all()
    assert due and {reminder.due_at for reminder in due} == {utc(2026, 11, 13, 9, 0)}

    # Harm imminent: the same day at 17:00, moving up two hours later; no working days counted.
    assert (imminent.deadline_at, imminent.auto_escalate_at) == (utc(2026, 11, 9, 17, 0), utc(2026, 11, 9, 19, 0))
    assert imminent.current_stage.working_days == 0
    assert not escalation.breached(utc(2026, 11, 16, 16, 59)) and escalation.breached(utc(2026, 11, 16, 17, 0))

