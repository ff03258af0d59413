"""Minutes, attendance and actions: recording them, approving and amending the minutes, following
actions through to done, and the questions other pages ask about actions.

Minutes are written per agenda item and locked once the chair approves them; a later correction is
an amendment shown beside the approved text, which never changes. An action reminds its owner two
working days before it falls due and on the day, at 9am in England, until it is finished, and it
carries into the agendas of the meetings that follow on from its own until then.
"""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal import policy
from portal.audit.operations import record
from portal.core.concurrency import CONFLICT_MESSAGE, ConcurrentEditError, check_version
from portal.core.db import utcnow
from portal.core.rules import WHOLE_RECORD, RuleError
from portal.core.templating import format_date
from portal.core.workdays import london_today, subtract_working_days
from portal.extensions import db
from portal.meetings.models import (
    ActionState,
    ActionUpdate,
    AgendaItem,
    Attendance,
    Meeting,
    MeetingAction,
    MeetingStatus,
    MinuteAmendment,
    MinuteEntry,
)
from portal.meetings.queries import earlier_meetings
from portal.notifications.models import NotificationEvent, Reminder
from portal.notifications.operations import record_intent
from portal.notifications.reminders import cancel_reminders, london_time, schedule_reminder
from portal.people.models import Membership, User

MAX_TEXT = 20000
MAX_REASON = 500
#: Reminders go out at this time of day in England.
REMINDER_TIME = time(9, 0)
#: How many working days before the due date the first reminder goes.
REMIND_WORKING_DAYS_BEFORE = 2

UNFINISHED = (ActionState.OPEN, ActionState.IN_PROGRESS)


class MinutesError(RuleError):
    pass


def _refuse_unless(allowed: bool, message: str = "You may not record the minutes of this meeting") -> None:
    if not allowed:
        raise MinutesError(WHOLE_RECORD, message)


def _locked_message(meeting: Meeting) -> str:
    return f"The minutes were approved on {format_date(meeting.minutes_approved_at)}: add an amendment instead"


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


# Attendance and minutes ----------------------------------------------------------------------------


def record_attendance(meeting: Meeting, attendance: dict[int, Attendance | None], *, by: User) -> None:
    """Mark who was present, sent apologies or was absent (None leaves someone unrecorded)."""
    _refuse_unless(policy.can_record_minutes(by, meeting))
    if meeting.minutes_locked:
        raise MinutesError(WHOLE_RECORD, _locked_message(meeting))
    if meeting.starts_at > utcnow():
        raise MinutesError(WHOLE_RECORD, "Attendance can be recorded once the meeting has started")
    attendees = {attendee.id: attendee for attendee in meeting.attendees if attendee.removed_at is None}
    unknown = set(attendance) - set(attendees)
    if unknown:
        raise MinutesError(WHOLE_RECORD, "Record attendance only for people invited to this meeting")
    changed = {}
    for attendee_id, state in attendance.items():
        attendee = attendees[attendee_id]
        if attendee.attendance is not state:
            attendee.attendance = state
            changed[attendee_id] = state
    if changed:
        record("meeting.attendance", "recorded attendance at a meeting", target=meeting, details={"attendance": changed},
               actor=by)


def save_minute(
    item: AgendaItem, *, discussion: str | None, decisions: str | None, by: User, version: int | None = None,
) -> MinuteEntry | None:
    """Write the discussion and decisions under one agenda item, before the minutes are approved.

    ``version`` is the entry's version the text was based on (0 when there was no entry yet);
    None skips the check. Unchanged text saves nothing; returns the entry, if there is one.
    """
    meeting = item.meeting
    _refuse_unless(policy.can_record_minutes(by, meeting))
    _refuse_unless(item in policy.agenda_items_visible_to(by, meeting), "You may not see this agenda item")
    discussion, decisions = _text(discussion), _text(decisions)
    for field, value in (("discussion", discussion), ("decisions", decisions)):
        if value is not None and len(value) > MAX_TEXT:
            raise MinutesError(field, f"The {field} must be {MAX_TEXT:,} characters or fewer")
    entry = item.minute
    if entry is None and discussion is None and decisions is None:
        return None
    if entry is not None and (entry.discussion, entry.decisions) == (discussion, decisions):
        return entry
    if meeting.minutes_locked:
        raise MinutesError(WHOLE_RECORD, _locked_message(meeting))
    if entry is None:
        if version not in (None, 0):
            raise ConcurrentEditError(CONFLICT_MESSAGE)
        entry = MinuteEntry(agenda_item_id=item.id, discussion=discussion, decisions=decisions, written_by_id=by.id)
        try:
            # Two people writing the first minutes of an item at once: the second is told, not failed.
            with db.session.begin_nested():
                db.session.add(entry)
        except IntegrityError as exc:
            raise ConcurrentEditError(CONFLICT_MESSAGE) from exc
        item.minute = entry
    else:
        if version is not None:
            check_version(entry, version)
        entry.discussion, entry.decisions, entry.written_by_id = discussion, decisions, by.id
        db.session.flush()
    record("meeting.minutes.save", f"wrote the minutes of agenda item {item.position}", target=entry,
           details={"meeting_id": meeting.id, "agenda_item_id": item.id}, actor=by)
    return entry


def approve_minutes(meeting: Meeting, *, by: User) -> None:
    """The chair approves the minutes of a held meeting; from then on they change only by amendment."""
    _refuse_unless(policy.can_approve_minutes(by, meeting), "Only the chair may approve the minutes")
    if meeting.minutes_locked:
        raise MinutesError(WHOLE_RECORD, f"The minutes were already approved on {format_date(meeting.minutes_approved_at)}")
    if meeting.status is not MeetingStatus.HELD:
        raise MinutesError(WHOLE_RECORD, "The minutes can be approved once the meeting has been marked as held")
    meeting.minutes_approved_at = utcnow()
    meeting.minutes_approved_by_id = by.id
    record("meeting.minutes.approve", "approved the minutes of a meeting", target=meeting, actor=by)


def amend_minutes(item: AgendaItem, *, text: str, reason: str, by: User) -> MinuteAmendment:
    """Correct approved minutes: the correction and its reason are shown below the approved text."""
    meeting = item.meeting
    _refuse_unless(policy.can_record_minutes(by, meeting))
    _refuse_unless(item in policy.agenda_items_visible_to(by, meeting), "You may not see this agenda item")
    if not meeting.minutes_locked:
        raise MinutesError(WHOLE_RECORD, "The minutes have not been approved yet: change them on the minutes page")
    text, reason = _text(text), _text(reason)
    problems = []
    if text is None:
        problems.append(("text", "Enter the correction"))
    elif len(text) > MAX_TEXT:
        problems.append(("text", f"The correction must be {MAX_TEXT:,} characters or fewer"))
    if reason is None:
        problems.append(("reason", "Enter why the minutes are being corrected"))
    elif len(reason) > MAX_REASON:
        problems.append(("reason", f"The reason must be {MAX_REASON:,} characters or fewer"))
    if problems:
        raise MinutesError(problems[0][0], problems[0][1], problems)
    amendment = MinuteAmendment(agenda_item_id=item.id, text=text, reason=reason, made_by=by, made_at=utcnow())
    item.amendments.append(amendment)
    db.session.flush()
    record("meeting.minutes.amend", f"amended the approved minutes of agenda item {item.position}", target=amendment,
           details={"meeting_id": meeting.id, "agenda_item_id": item.id, "reason": reason}, actor=by)
    return amendment


# Actions -------------------------------------------------------------------------------------------


def action_owner_choices(meeting: Meeting, by: User) -> list[Membership]:
    """Who may own an action: the meeting's invitees with an account, in the role they were invited
    in, and anyone the recorder could invite."""
    chosen: dict[int, Membership] = {}
    for attendee in meeting.attendees:
        membership = attendee.membership
        if (
            attendee.removed_at is None and membership is not None and membership.active
            and membership.agency.active and membership.user.active
        ):
            chosen[membership.id] = membership
    for membership in db.session.scalars(policy.meeting_invitee_candidates(by)):
        chosen.setdefault(membership.id, membership)
    return sorted(chosen.values(), key=lambda m: (m.user.name.lower(), m.agency.name.lower(), m.id))


def _action_summary(action: MeetingAction) -> str:
    """What a notification says: the meeting's title and the date, never the action's words
    (they may be about the adult)."""
    due = f": due {format_date(action.due_on)}"
    return f"Action from {action.meeting.title}"[: 300 - len(due)] + due


def _link(action: MeetingAction) -> str:
    return f"/meeting-actions/{action.id}"


def reminder_times(due_on: date) -> dict[str, datetime]:
    """When an action's reminders go: two working days before, and on the day, at 9am in England."""
    return {
        "soon": london_time(subtract_working_days(due_on, REMIND_WORKING_DAYS_BEFORE), REMINDER_TIME),
        "due": london_time(due_on, REMINDER_TIME),
    }


def _schedule_reminders(action: MeetingAction) -> None:
    now = utcnow()
    # Reminders cancelled earlier in this transaction were cancelled in bulk, behind the session's
    # back: reload them, so that arming them again is not mistaken for no change.
    db.session.scalars(
        sa.select(Reminder).where(Reminder.key.like(f"meeting-action-{action.id}-%"))
        .execution_options(populate_existing=True)
    ).all()
    for name, at in reminder_times(action.due_on).items():
        key = f"meeting-action-{action.id}-{name}"
        if name == "soon" and at <= now:
            cancel_reminders(key)
            continue
        schedule_reminder(
            key, recipient=action.owner, at=at, event=NotificationEvent.MEETING_ACTION_DUE,
            subject_type="meeting_action", subject_id=action.id, summary=_action_summary(action), link=_link(action),
        )


def _check_due_on(due_on: date | None, problems: list) -> None:
    if due_on is None:
        problems.append(("due_on", "Enter the due date"))
    elif due_on < london_today():
        problems.append(("due_on", "The due date must be today or in the future"))


def add_action(
    meeting: Meeting, *, description: str, owner_membership: Membership | None, due_on: date | None,
    agenda_item: AgendaItem | None = None, by: User,
) -> MeetingAction:
    """An action agreed at the meeting: its owner is told, and reminded before it falls due."""
    _refuse_unless(policy.can_record_minutes(by, meeting), "You may not add actions to this meeting")
    if meeting.status is MeetingStatus.CANCELLED:
        raise MinutesError(WHOLE_RECORD, "Actions cannot be added to a cancelled meeting")
    description = _text(description)
    problems = []
    if description is None:
        problems.append(("description", "Enter what must be done"))
    elif len(description) > MAX_TEXT:
        problems.append(("description", f"The action must be {MAX_TEXT:,} characters or fewer"))
    if owner_membership is None:
        problems.append(("owner", "Choose who owns the action"))
    elif owner_membership.id not in {m.id for m in action_owner_choices(meeting, by)}:
        problems.append(("owner", "Choose who owns the action from the list"))
    if agenda_item is not None and (
        agenda_item.meeting_id != meeting.id or agenda_item not in policy.agenda_items_visible_to(by, meeting)
    ):
        problems.append(("agenda_item", "Choose an item on this meeting's agenda"))
    _check_due_on(due_on, problems)
    if problems:
        raise MinutesError(problems[0][0], problems[0][1], problems)
    action = MeetingAction(
        meeting=meeting, agenda_item=agenda_item, description=description, owner=owner_membership.user,
        owner_agency_id=owner_membership.agency_id, due_on=due_on, state=ActionState.OPEN, created_by_id=by.id,
    )
    db.session.add(action)
    db.session.flush()
    record("meeting.action.add", "added a meeting action", target=action,
           details={"meeting_id": meeting.id, "owner_id": action.owner_id, "owner_agency_id": action.owner_agency_id,
                    "due_on": due_on}, actor=by)
    record_intent(
        NotificationEvent.MEETING_ACTION_ASSIGNED, subject_type="meeting_action", subject_id=action.id,
        summary=_action_summary(action), link=_link(action), recipients=[action.owner], actor=by,
    )
    _schedule_reminders(action)
    return action


def update_action(
    action: MeetingAction, *, text: str, state: ActionState | None = None, due_on: date | None = None, by: User,
    version: int | None,
) -> ActionUpdate:
    """Report progress, and perhaps move the action on or its due date; finishing it stops its reminders."""
    _refuse_unless(policy.can_update_meeting_action(by, action), "You may not update this action")
    check_version(action, version)
    text = _text(text)
    problems = []
    if text is None:
        problems.append(("text", "Enter what has happened"))
    elif len(text) > MAX_TEXT:
        problems.append(("text", f"The update must be {MAX_TEXT:,} characters or fewer"))
    moving_due = due_on is not None and due_on != action.due_on
    if moving_due:
        _check_due_on(due_on, problems)
    if problems:
        raise MinutesError(problems[0][0], problems[0][1], problems)
    moving_state = state is not None and state is not action.state
    was_finished = action.state.finished
    if moving_state:
        action.state = state
        action.finished_at = utcnow() if state.finished else None
    if moving_due:
        action.due_on = due_on
    # Every update raises the version, so two people updating from the same page are told.
    action.updated_at = utcnow()
    update = ActionUpdate(action=action, text=text, state=state if moving_state else None, made_by=by, made_at=utcnow())
    db.session.add(update)
    db.session.flush()
    if action.state.finished:
        cancel_reminders(f"meeting-action-{action.id}-")
    elif was_finished or moving_due:
        _schedule_reminders(action)
    record("meeting.action.update", "updated a meeting action", target=action,
           details={"state": action.state if moving_state else None, "due_on": due_on if moving_due else None},
           actor=by)
    return update


# Questions about actions ---------------------------------------------------------------------------


def _unfinished():
    return MeetingAction.state.in_(UNFINISHED)


def actions_carried_into(meeting: Meeting) -> list[MeetingAction]:
    """Unfinished actions from all the earlier meetings this one follows on from
    (:func:`portal.meetings.queries.earlier_meetings`), soonest due first."""
    earlier = earlier_meetings(meeting)
    if earlier is None:
        return []
    return list(db.session.scalars(
        sa.select(MeetingAction).where(MeetingAction.meeting_id.in_(earlier.with_only_columns(Meeting.id)), _unfinished())
        .order_by(MeetingAction.due_on, MeetingAction.id)
    ))


def overdue_actions_chaired_by(user: User) -> list[MeetingAction]:
    """Unfinished actions past their due date from meetings the person chairs (that they may see)."""
    chaired = sa.select(Meeting.id).where(Meeting.chair_id == user.id)
    return list(db.session.scalars(
        policy.meeting_actions_visible_to(user).where(
            MeetingAction.meeting_id.in_(chaired), _unfinished(), MeetingAction.due_on < london_today(),
        ).order_by(MeetingAction.due_on, MeetingAction.id)
    ))


def chairs_meetings(user: User) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(Meeting.chair_id == user.id)))


def actions_owned_by(user: User) -> list[MeetingAction]:
    """The person's own actions: unfinished first, soonest due first; then finished, latest first."""
    actions = db.session.scalars(
        policy.meeting_actions_visible_to(user).where(MeetingAction.owner_id == user.id)
        .order_by(MeetingAction.due_on, MeetingAction.id)
    ).all()
    open_ = [action for action in actions if not action.state.finished]
    finished = sorted(
        (action for action in actions if action.state.finished),
        key=lambda action: action.finished_at or action.updated_at, reverse=True,
    )
    return open_ + finished
