"""Saving a partnership's own escalation ladder.

The rules a ladder must keep are checked here, not in the form, so that the settings page, the
command line and a test all save a ladder the same way. A ladder keeps the number of stages it
has: escalations already on a stage keep that stage's computed deadline and grace period, and
only stages started after the save use the new settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal import policy
from portal.audit.operations import record
from portal.core.codes import Role
from portal.core.concurrency import CONFLICT_MESSAGE, ConcurrentEditError, check_version
from portal.core.rules import RuleError
from portal.escalations.ladder import (
    MAX_GRACE_WORKING_DAYS,
    MAX_IMMINENT_GRACE_HOURS,
    MAX_WORKING_DAYS,
    MIN_WORKING_DAYS,
    Ladder,
    ladder_for,
)
from portal.escalations.models import LadderSettings
from portal.extensions import db
from portal.people.models import User

MAX_REMINDER_WORKING_DAYS = 10
MIN_IMMINENT_GRACE_HOURS = 1
MAX_NAME = 200
MAX_SIDE = 300

#: Roles that may act for an agency at a stage: everyone who raises escalations (administrators
#: set the ladder up but take no part in escalations).
STAGE_ROLES = tuple(role for role in Role if role is not Role.ADMINISTRATOR)


class LadderError(RuleError):
    pass


@dataclass
class StageSettings:
    """One stage as the settings page submits it (None where nothing readable was given)."""

    name: str | None
    raising_side: str | None
    receiving_side: str | None
    working_days: int | None
    roles: set[Role] = field(default_factory=set)
    board_mediates: bool = False


@dataclass
class LadderDetails:
    stages: list[StageSettings]
    grace_working_days: int | None
    imminent_grace_hours: int | None
    reminder_working_days: int | None


def stage_field(number: int, name: str) -> str:
    """The form field a stage's setting is typed in (problems are reported against it)."""
    return f"stage{number}_{name}"


def details_from_ladder(ladder: Ladder) -> LadderDetails:
    """The ladder in force, as the settings page shows it before anything is changed."""
    return LadderDetails(
        stages=[
            StageSettings(rule.name, rule.raising_side, rule.receiving_side, rule.working_days, set(rule.roles),
                          rule.board_mediates)
            for rule in ladder.stages
        ],
        grace_working_days=ladder.grace_working_days,
        imminent_grace_hours=ladder.imminent_grace_hours,
        reminder_working_days=ladder.reminder_working_days,
    )


def _within(value: int | None, low: int, high: int) -> bool:
    return value is not None and low <= value <= high


def _text(value: str | None, field_name: str, missing: str, limit: int, what: str, problems: list) -> str:
    text = (value or "").strip()
    if not text:
        problems.append((field_name, missing))
    elif len(text) > limit:
        problems.append((field_name, f"{what} must be {limit:,} characters or fewer"))
    return text


def _check(details: LadderDetails, current: Ladder) -> list[dict]:
    """The stages as they will be stored, or a :class:`LadderError` with every problem found."""
    problems: list[tuple[str, str]] = []
    if len(details.stages) != current.top:
        raise LadderError("stages", f"The ladder has {current.top} stages: give the settings of each")
    stages = []
    for number, stage in enumerate(details.stages, start=1):
        name = _text(stage.name, stage_field(number, "name"), f"Enter the name of stage {number}", MAX_NAME,
                     f"The name of stage {number}", problems)
        raising = _text(stage.raising_side, stage_field(number, "raising_side"),
                        f"Say who answers for the agency that raised it at stage {number}", MAX_SIDE,
                        f"Who answers for the raising side at stage {number}", problems)
        receiving = _text(stage.receiving_side, stage_field(number, "receiving_side"),
                          f"Say who answers for the other agency at stage {number}", MAX_SIDE,
                          f"Who answers for the other agency at stage {number}", problems)
        if not _within(stage.working_days, MIN_WORKING_DAYS, MAX_WORKING_DAYS):
            problems.append((stage_field(number, "working_days"), f"Enter the working days to respond at stage {number} "
                             f"as a whole number from {MIN_WORKING_DAYS} to {MAX_WORKING_DAYS}"))
        if not stage.roles:
            problems.append((stage_field(number, "roles"), f"Choose at least one role that acts at stage {number}"))
        elif Role.ADMINISTRATOR in stage.roles:
            problems.append((stage_field(number, "roles"),
                             f"Administrators take no part in escalations: choose other roles for stage {number}"))
        stages.append({
            "name": name, "raising_side": raising, "receiving_side": receiving, "working_days": stage.working_days,
            "roles": sorted(role.name for role in stage.roles), "board_mediates": bool(stage.board_mediates),
        })
    if not _within(details.grace_working_days, 0, MAX_GRACE_WORKING_DAYS):
        problems.append(("grace_working_days", "Enter the grace period as a whole number of working days "
                         f"from 0 to {MAX_GRACE_WORKING_DAYS}"))
    if not _within(details.imminent_grace_hours, MIN_IMMINENT_GRACE_HOURS, MAX_IMMINENT_GRACE_HOURS):
        problems.append(("imminent_grace_hours", "Enter the grace period where harm is imminent as a whole number of "
                         f"hours from {MIN_IMMINENT_GRACE_HOURS} to {MAX_IMMINENT_GRACE_HOURS}"))
    if not _within(details.reminder_working_days, 0, MAX_REMINDER_WORKING_DAYS):
        problems.append(("reminder_working_days", "Enter how many working days before the deadline the reminder goes, "
                         f"as a whole number from 0 to {MAX_REMINDER_WORKING_DAYS}"))
    if problems:
        raise LadderError(problems[0][0], problems[0][1], problems)
    return stages


def save_ladder(details: LadderDetails, *, by: User, version: int | None) -> LadderSettings:
    """Save the ladder of the administrator's own partnership, refusing a save based on an old
    version (``version`` is None when the page showed the default ladder)."""
    if not policy.can_configure_ladder(by):
        raise PermissionError("Only the partnership's administrators set its escalation ladder")
    area_id = by.membership.agency.area_id
    settings = db.session.scalar(sa.select(LadderSettings).where(LadderSettings.area_id == area_id))
    if settings is not None:
        check_version(settings, version)
    elif version is not None:
        raise ConcurrentEditError(CONFLICT_MESSAGE)
    current = ladder_for(area_id)
    stages = _check(details, current)
    before = None if settings is None else {
        "stages": settings.stages, "grace_working_days": settings.grace_working_days,
        "imminent_grace_hours": settings.imminent_grace_hours, "reminder_working_days": settings.reminder_working_days,
    }
    values = {
        "stages": stages, "grace_working_days": details.grace_working_days,
        "imminent_grace_hours": details.imminent_grace_hours, "reminder_working_days": details.reminder_working_days,
        "updated_by_id": by.id,
    }
    if settings is None:
        settings = LadderSettings(area_id=area_id, **values)
        try:
            # Two administrators saving the default ladder at once: the second is told, as for
            # any concurrent edit, rather than shown an error page.
            with db.session.begin_nested():
                db.session.add(settings)
        except IntegrityError as exc:
            raise ConcurrentEditError(CONFLICT_MESSAGE) from exc
    else:
        for name, value in values.items():
            setattr(settings, name, value)
        db.session.flush()
    record(
        "escalations.ladder.save", "changed the partnership's escalation ladder", target=settings, actor=by,
        details={"before": before, "after": {key: value for key, value in values.items() if key != "updated_by_id"}},
    )
    return settings
