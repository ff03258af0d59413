"""The escalation ladder and its clock: stages, who answers at each, and the computed deadlines.

Local protocols for resolving professional differences share one shape (see CODE-LISTS.md):
practitioner to practitioner; first-line managers; senior managers or designated safeguarding
leads; a meeting of all parties with the Board able to mediate but not decide. Each stage gives
the receiving agency a number of working days to respond (England's bank holidays excluded); where
harm is imminent every stage must be answered the same working day.

A partnership may change its ladder (:class:`portal.escalations.models.LadderSettings`); a stage
keeps the deadline computed when it started.

Deadlines fall at the close of a working day (:data:`CLOSE_OF_DAY`, 17:00 in England). The pure
functions here take times and return times, so they are tested with frozen clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from portal.core.codes import Role
from portal.core.workdays import CLOSE_OF_DAY, LONDON, add_working_days, is_working_day, subtract_working_days
from portal.extensions import db

#: Reminders before a deadline go out at this time in England.
REMINDER_TIME = time(9, 0)
#: Where harm is imminent, the reminder goes this long before the (same-day) deadline.
IMMINENT_REMINDER = timedelta(hours=2)

MIN_WORKING_DAYS, MAX_WORKING_DAYS = 1, 30
MAX_GRACE_WORKING_DAYS = 20
MAX_IMMINENT_GRACE_HOURS = 24


@dataclass(frozen=True)
class StageRule:
    """One rung: its name, who answers for each side in words, the roles that act for an agency at
    this stage, the working days to respond, and whether the Board's chair may mediate."""

    number: int
    name: str
    raising_side: str
    receiving_side: str
    working_days: int
    roles: frozenset[Role]
    board_mediates: bool = False

    def as_json(self) -> dict:
        return {
            "name": self.name, "raising_side": self.raising_side, "receiving_side": self.receiving_side,
            "working_days": self.working_days, "roles": sorted(role.name for role in self.roles),
            "board_mediates": self.board_mediates,
        }


@dataclass(frozen=True)
class Ladder:
    stages: tuple[StageRule, ...]
    #: Working days after a breached deadline before the escalation moves up by itself.
    grace_working_days: int = 2
    #: Where harm is imminent: hours after the breached deadline before it moves up by itself.
    imminent_grace_hours: int = 2
    #: Working days before a deadline that the reminder goes (at 09:00).
    reminder_working_days: int = 1
    version: int | None = field(default=None, compare=False)

    @property
    def top(self) -> int:
        return len(self.stages)

    def stage(self, number: int) -> StageRule:
        return self.stages[number - 1]


_CASEWORK = frozenset({Role.PROVIDER_STAFF, Role.PROVIDER_MANAGER, Role.COMMISSIONER, Role.SAFEGUARDING_LEAD, Role.INSPECTOR})
_MANAGERS = frozenset({Role.PROVIDER_MANAGER, Role.COMMISSIONER, Role.SAFEGUARDING_LEAD, Role.INSPECTOR})
_SENIOR = frozenset({Role.PROVIDER_MANAGER, Role.SAFEGUARDING_LEAD})

DEFAULT_LADDER = Ladder(
    stages=(
        StageRule(1, "Practitioner to practitioner", "The practitioner who raised it",
                  "A practitioner in the other agency", 5, _CASEWORK),
        StageRule(2, "First-line managers", "The raiser's first-line manager",
                  "A first-line manager in the other agency", 5, _MANAGERS),
        StageRule(3, "Senior managers or designated safeguarding leads",
                  "A senior manager or designated safeguarding lead",
                  "A senior manager or designated safeguarding lead in the other agency", 5, _SENIOR),
        StageRule(4, "Meeting of all parties, with the Board's mediation",
                  "The raising agency's senior manager or designated lead, at the meeting",
                  "The other agency's senior manager or designated lead, at the meeting; the Board's chair mediates",
                  10, _SENIOR, board_mediates=True),
    ),
)


def ladder_from_settings(settings) -> Ladder:
    stages = tuple(
        StageRule(
            number, entry["name"], entry["raising_side"], entry["receiving_side"], int(entry["working_days"]),
            frozenset(Role[name] for name in entry["roles"]), bool(entry.get("board_mediates")),
        )
        for number, entry in enumerate(settings.stages, start=1)
    )
    return Ladder(stages, settings.grace_working_days, settings.imminent_grace_hours, settings.reminder_working_days,
                  version=settings.version)


def ladder_for(area_id: int) -> Ladder:
    """The area's ladder: its own settings, or the default."""
    from portal.escalations.models import LadderSettings

    settings = db.session.scalar(sa.select(LadderSettings).where(LadderSettings.area_id == area_id))
    return DEFAULT_LADDER if settings is None else ladder_from_settings(settings)


# The clock ------------------------------------------------------------------------------------


def at_close(day) -> datetime:
    """The close of a working day in England, as an aware datetime."""
    return datetime.combine(day, CLOSE_OF_DAY).replace(tzinfo=LONDON, fold=0)


def stage_deadline(started_at: datetime, working_days: int, *, harm_imminent: bool) -> datetime:
    """When the receiving agency must have responded to a stage that started at ``started_at``.

    ``working_days`` working days after the day it started, at the close of that day. Where harm
    is imminent: the close of the same working day, or of the next working day when the stage
    starts after the close or on a day that is not a working day.
    """
    local = started_at.astimezone(LONDON)
    day = local.date()
    if harm_imminent:
        if is_working_day(day) and local.time() < CLOSE_OF_DAY:
            return at_close(day)
        return at_close(add_working_days(day, 1))
    return at_close(add_working_days(day, working_days))


def auto_escalate_time(deadline: datetime, ladder: Ladder, *, harm_imminent: bool) -> datetime:
    """When an unanswered stage moves up by itself: the grace period after its deadline."""
    if harm_imminent:
        return deadline + timedelta(hours=ladder.imminent_grace_hours)
    return at_close(add_working_days(deadline.astimezone(LONDON).date(), ladder.grace_working_days))


def reminder_time(started_at: datetime, deadline: datetime, ladder: Ladder, *, harm_imminent: bool) -> datetime | None:
    """When the people answering are reminded: 09:00 on the working day ``reminder_working_days``
    before the deadline's day (two hours before it where harm is imminent); None when that time
    would not come after the stage started."""
    if harm_imminent:
        at = deadline - IMMINENT_REMINDER
    else:
        day = subtract_working_days(deadline.astimezone(LONDON).date(), ladder.reminder_working_days)
        at = datetime.combine(day, REMINDER_TIME).replace(tzinfo=LONDON, fold=0)
    return at if at > started_at else None
