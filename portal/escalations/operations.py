"""Raising an escalation and every move on it: the state machine, the clock, and who is told.

The moves, and nothing else (:data:`MOVES`)::

    open --acknowledge--> acknowledged --respond--> responded --resolve--> resolved
    open | acknowledged | responded --withdraw--> withdrawn
    responded --escalate--> open at the next stage
    open | acknowledged, deadline passed --escalate--> open at the next stage (the raiser, or the
        portal itself once the grace period has passed too: :func:`escalate_overdue`)

Who may make each move is the policy layer's rule (``portal.policy.can_*_escalation``); the state
it may be made from is this module's. Each move is a line on the timeline with who and when, is
shared with the other side, re-arms or cancels the stage's reminders, and is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from portal import policy
from portal.agencies.models import Agency, Service
from portal.audit.operations import record
from portal.concerns.models import Concern
from portal.concerns.privacy import names_the_adult
from portal.core.codes import AbuseType, AgencyKind, KeyQuestion
from portal.core.concurrency import check_version
from portal.core.db import utcnow
from portal.core.rules import WHOLE_RECORD, RuleError
from portal.core.workdays import LONDON
from portal.escalations.ladder import Ladder, auto_escalate_time, reminder_time, stage_deadline
from portal.escalations.models import (
    AWAITING_STATES,
    Escalation,
    EscalationAbuseType,
    EscalationEvent,
    EscalationStage,
    EscalationState,
    EscalationSubject,
    EventKind,
    StageOutcome,
    ViewGivenBy,
)
from portal.extensions import db
from portal.notifications.models import NotificationEvent
from portal.notifications.operations import record_intent
from portal.notifications.reminders import cancel_reminders, schedule_reminder
from portal.people.models import Membership, User

MAX_TEXT = 5000

ADULT_NAME = "Do not put the adult's name here: the Board and both agencies read escalations. Use the concern's reference"
CLOSED = "This escalation is {state}, so it can no longer change"


class EscalationError(RuleError):
    pass


# What each move needs --------------------------------------------------------------------------

#: move -> (states it may be made from, the side that makes it: "receiving", "raising" or "either")
MOVES = {
    "acknowledge": ((EscalationState.OPEN,), "receiving"),
    "respond": ((EscalationState.ACKNOWLEDGED,), "receiving"),
    "resolve": ((EscalationState.RESPONDED,), "either"),
    "escalate": ((EscalationState.RESPONDED, *AWAITING_STATES), "raising"),
    "withdraw": ((EscalationState.OPEN, EscalationState.ACKNOWLEDGED, EscalationState.RESPONDED), "raising"),
}

_WRONG_STATE = {
    "acknowledge": "Only an open escalation can be acknowledged; this one is {state}",
    "respond": "Acknowledge the escalation before responding to it",
    "resolve": "An escalation can be resolved once the other agency has responded at this stage",
    "escalate": "This escalation cannot be escalated: it is {state}",
    "withdraw": "This escalation cannot be withdrawn: it is {state}",
}

_SIDE_CHECK = {
    "receiving": policy.can_answer_escalation,
    "raising": policy.can_escalate_further,
    "either": policy.can_resolve_escalation,
}


def allowed_moves(user, escalation: Escalation, now: datetime | None = None) -> set[str]:
    """The moves this person may make now (what the page offers; each operation checks again)."""
    return {move for move in MOVES if _refusal(move, user, escalation, now) is None}


def move_refusal(move: str, user, escalation: Escalation, now: datetime | None = None) -> str | None:
    """Why this person cannot make this move now, or None: what a move's page says before anything
    is typed (the operation refuses with the same words)."""
    return _refusal(move, user, escalation, now)


def _refusal(move: str, user, escalation: Escalation, now: datetime | None = None) -> str | None:
    states, side = MOVES[move]
    if not _SIDE_CHECK[side](user, escalation):
        return "You cannot do this at this stage of the escalation"
    if escalation.state.closed:
        return CLOSED.format(state=escalation.state.label.lower())
    if escalation.state not in states:
        return _WRONG_STATE[move].format(state=escalation.state.label.lower())
    if move == "escalate":
        ladder = policy.escalation_ladder(escalation.area_id)
        if escalation.stage >= ladder.top:
            return "This is the last stage: it cannot be escalated further. Resolve it at the meeting of all parties"
        if escalation.state.awaiting_response and not escalation.breached(now):
            return "You can escalate once the other agency has responded, or when its deadline has passed"
    return None


def _check_move(move: str, user, escalation: Escalation, version: int | None, now: datetime | None = None) -> None:
    problem = _refusal(move, user, escalation, now)
    if problem is not None:
        if problem.startswith("You cannot"):
            raise PermissionError(problem)
        raise EscalationError(WHOLE_RECORD, problem)
    if version is not None:
        check_version(escalation, version)


def _text(field_name: str, value: str | None, missing: str, escalation_or_concern, problems: list) -> str:
    text = (value or "").strip()
    concern = escalation_or_concern.concern if isinstance(escalation_or_concern, Escalation) else escalation_or_concern
    if not text:
        problems.append((field_name, missing))
    elif len(text) > MAX_TEXT:
        problems.append((field_name, f"This must be {MAX_TEXT:,} characters or fewer"))
    elif names_the_adult(text, concern):
        problems.append((field_name, ADULT_NAME))
    return text


def _raise_problems(problems: list) -> None:
    if problems:
        raise EscalationError(problems[0][0], problems[0][1], problems)


# Raising ---------------------------------------------------------------------------------------


@dataclass
class RaiseDetails:
    """What the raise form carries. The thing it is about has been found through the policy
    layer already (so escalating what the person cannot see is a 404 before this is reached)."""

    subject: EscalationSubject
    receiving_agency: Agency | None
    disagreement: str | None
    wanted: str | None
    harm_imminent: bool | None
    abuse_types: list[AbuseType] = field(default_factory=list)
    key_questions: list[KeyQuestion] = field(default_factory=list)
    concern: Concern | None = None
    provider: Agency | None = None
    service: Service | None = None
    meeting_action: object | None = None
    agenda_item: object | None = None


def default_receiving_agency(details: RaiseDetails, membership: Membership) -> Agency | None:
    """Whom the thing is usually escalated to: the provider for its quality, the council for a
    concern, the owner's agency for an action (never the raiser's own agency)."""
    candidate = None
    if details.subject in {EscalationSubject.SERVICE, EscalationSubject.PROVIDER}:
        candidate = details.provider or (details.service.provider if details.service else None)
    elif details.subject is EscalationSubject.CONCERN and details.concern is not None:
        candidate = db.session.scalar(
            sa.select(Agency).where(Agency.area_id == details.concern.area_id, Agency.kind == AgencyKind.LOCAL_AUTHORITY)
            .order_by(Agency.id).limit(1)
        )
    elif details.subject is EscalationSubject.MEETING_ACTION and details.meeting_action is not None:
        candidate = details.meeting_action.owner_agency
    if candidate is not None and candidate.id == membership.agency_id:
        return None
    return candidate


def raise_escalation(details: RaiseDetails, *, by: User, now: datetime | None = None) -> Escalation:
    """Raise an escalation at the first stage, with its deadline, and tell the receiving agency."""
    membership = by.membership
    if not policy.can(by, policy.Capability.RAISE_ESCALATIONS):
        raise PermissionError("You cannot raise escalations in this role")
    now = now or utcnow()
    problems: list[tuple[str, str]] = []
    subject = details.subject
    concern = details.concern
    if subject is EscalationSubject.CONCERN and concern is None:
        problems.append(("concern", "Choose the concern this is about"))
    if subject is EscalationSubject.SERVICE and details.service is None:
        problems.append(("service", "Choose the service this is about"))
    if subject is EscalationSubject.PROVIDER and details.provider is None:
        problems.append(("provider", "Choose the provider this is about"))
    if subject is EscalationSubject.MEETING_ACTION:
        action = details.meeting_action
        if action is None:
            problems.append(("meeting_action", "Choose the action this is about"))
        elif action.state.finished or action.due_on >= now.astimezone(LONDON).date():
            problems.append((WHOLE_RECORD, "Only an unfinished action past its due date can be escalated"))
    if subject is EscalationSubject.MEETING_DECISION:
        item = details.agenda_item
        if item is None:
            problems.append(("agenda_item", "Choose the meeting decision this is about"))
        elif item.minute is None or not (item.minute.decisions or "").strip():
            problems.append((WHOLE_RECORD, "No decision is recorded for this agenda item yet"))
        elif concern is None:
            concern = item.meeting.concern

    receiving = details.receiving_agency
    if receiving is None:
        problems.append(("receiving_agency", "Choose the agency you are escalating to"))
    else:
        allowed = policy.escalation_receiving_candidates(by).where(Agency.id == receiving.id)
        if db.session.scalar(sa.select(sa.exists(allowed.with_only_columns(Agency.id)))) is not True:
            problems.append(("receiving_agency", "Choose another agency in your area, not your own"))
    _text("disagreement", details.disagreement, "Say what you disagree with", concern, problems)
    _text("wanted", details.wanted, "Say what you want to happen", concern, problems)
    if details.harm_imminent is None:
        problems.append(("harm_imminent", "Say whether harm is imminent"))
    _raise_problems(problems)

    service = details.service
    provider = details.provider or (service.provider if service is not None else None)
    escalation = Escalation(
        area_id=membership.agency.area_id, subject=subject, concern_id=concern.id if concern else None,
        provider_id=provider.id if provider else None, service_id=service.id if service else None,
        meeting_action_id=details.meeting_action.id if details.meeting_action is not None else None,
        agenda_item_id=details.agenda_item.id if details.agenda_item is not None else None,
        raised_by_id=by.id, raising_agency_id=membership.agency_id, receiving_agency_id=receiving.id,
        raised_at=now, disagreement=details.disagreement.strip(), wanted=details.wanted.strip(),
        harm_imminent=bool(details.harm_imminent), key_question_bits=KeyQuestion.to_bits(details.key_questions),
        state=EscalationState.OPEN, stage=1, deadline_at=now,
    )
    abuse_types = set(details.abuse_types) or (set(concern.abuse_types) if concern is not None else set())
    escalation.type_links = [EscalationAbuseType(abuse_type=abuse_type) for abuse_type in abuse_types]
    db.session.add(escalation)
    db.session.flush()
    ladder = policy.escalation_ladder(escalation.area_id)
    _start_stage(escalation, 1, now, ladder)
    _event(escalation, EventKind.RAISED, by, escalation.disagreement, now)
    _tell(escalation, NotificationEvent.ESCALATION_RAISED, policy.escalation_stage_people(escalation, 1, "receiving"), by)
    record("escalation.raise", f"raised escalation {escalation.reference}", target=escalation,
           details={"subject": subject.name, "receiving_agency_id": receiving.id, "harm_imminent": escalation.harm_imminent},
           actor=by)
    _sync_intelligence(escalation)
    return escalation


# The clock -------------------------------------------------------------------------------------


def _start_stage(escalation: Escalation, number: int, at: datetime, ladder: Ladder) -> EscalationStage:
    rule = ladder.stage(number)
    deadline = stage_deadline(at, rule.working_days, harm_imminent=escalation.harm_imminent)
    auto = auto_escalate_time(deadline, ladder, harm_imminent=escalation.harm_imminent) if number < ladder.top else None
    stage = EscalationStage(
        number=number, name=rule.name, working_days=0 if escalation.harm_imminent else rule.working_days,
        started_at=at, deadline_at=deadline, auto_escalate_at=auto,
    )
    escalation.stages.append(stage)
    escalation.stage = number
    escalation.state = EscalationState.OPEN
    escalation.deadline_at = deadline
    escalation.auto_escalate_at = auto
    _arm_reminders(escalation, stage, ladder)
    return stage


def _reminder_prefix(escalation: Escalation, number: int) -> str:
    return f"escalation:{escalation.id}:stage:{number}:"


def _arm_reminders(escalation: Escalation, stage: EscalationStage, ladder: Ladder) -> None:
    """A reminder to those answering before the deadline, and a breach notice at it to both sides
    at this stage and the next (the Board's chair at the last stage)."""
    prefix = _reminder_prefix(escalation, stage.number)
    link = f"/escalations/{escalation.id}"
    answering = db.session.scalars(policy.escalation_stage_people(escalation, stage.number, "receiving")).all()
    remind_at = reminder_time(stage.started_at, stage.deadline_at, ladder, harm_imminent=escalation.harm_imminent)
    deadline_text = deadline_words(stage.deadline_at)
    if remind_at is not None:
        for person in answering:
            schedule_reminder(
                f"{prefix}due:{person.id}", recipient=person, at=remind_at, event=NotificationEvent.ESCALATION_DUE,
                subject_type="escalation", subject_id=escalation.id, link=link,
                summary=f"Response due by {deadline_text}: escalation {escalation.reference} (stage {stage.number})",
            )
    told: dict[int, User] = {person.id: person for person in answering}
    numbers = [stage.number, stage.number + 1] if stage.number < ladder.top else [stage.number]
    for number in numbers:
        for side in ("receiving", "raising"):
            for person in db.session.scalars(policy.escalation_stage_people(escalation, number, side)):
                told.setdefault(person.id, person)
    if stage.number == ladder.top:
        for person in db.session.scalars(policy.board_chairs(escalation.area_id)):
            told.setdefault(person.id, person)
    for person in told.values():
        schedule_reminder(
            f"{prefix}breach:{person.id}", recipient=person, at=stage.deadline_at,
            event=NotificationEvent.ESCALATION_BREACHED, subject_type="escalation", subject_id=escalation.id, link=link,
            summary=f"No response by the deadline: escalation {escalation.reference} (stage {stage.number})",
        )


def deadline_words(moment: datetime) -> str:
    """'5pm on Friday 27 November 2026'."""
    local = moment.astimezone(LONDON)
    hour = local.strftime("%I:%M%p").lstrip("0").lower().replace(":00", "")
    return f"{hour} on {local.strftime('%A')} {local.day} {local.strftime('%B %Y')}"


# Moves -----------------------------------------------------------------------------------------


def _event(escalation: Escalation, kind: EventKind, by: User | None, text: str | None, at: datetime) -> EscalationEvent:
    agency_id = by.membership.agency_id if by is not None and getattr(by, "membership", None) else None
    event = EscalationEvent(stage=escalation.stage, kind=kind, actor_id=by.id if by else None, agency_id=agency_id,
                            text=text, occurred_at=at)
    escalation.events.append(event)
    return event


def _involved(escalation: Escalation, through: int | None = None):
    """Everyone on either side at every stage it reached so far (a query of users)."""
    through = through or escalation.stage
    people: dict[int, User] = {}
    for number in range(1, through + 1):
        for side in ("raising", "receiving"):
            for person in db.session.scalars(policy.escalation_stage_people(escalation, number, side)):
                people.setdefault(person.id, person)
    return list(people.values())


def _tell(escalation: Escalation, event: NotificationEvent, recipients, by: User | None, words: str | None = None) -> None:
    people = recipients if isinstance(recipients, list) else db.session.scalars(recipients).all()
    summary = f"{words or event.label}: escalation {escalation.reference} (stage {escalation.stage})"
    record_intent(event, subject_type="escalation", subject_id=escalation.id, summary=summary,
                  link=f"/escalations/{escalation.id}", recipients=people, actor=by)


def acknowledge(escalation: Escalation, *, by: User, version: int | None = None, now: datetime | None = None) -> None:
    _check_move("acknowledge", by, escalation, version)
    now = now or utcnow()
    stage = escalation.current_stage
    stage.acknowledged_at, stage.acknowledged_by_id = now, by.id
    escalation.state = EscalationState.ACKNOWLEDGED
    _event(escalation, EventKind.ACKNOWLEDGED, by, None, now)
    _tell(escalation, NotificationEvent.ESCALATION_UPDATED, _involved(escalation), by, "Acknowledged")
    _after_move(escalation, "acknowledge", by)


def respond(escalation: Escalation, response: str | None, *, by: User, version: int | None = None,
            now: datetime | None = None) -> None:
    _check_move("respond", by, escalation, version)
    problems: list = []
    text = _text("response", response, "Enter your response", escalation, problems)
    _raise_problems(problems)
    now = now or utcnow()
    stage = escalation.current_stage
    stage.responded_at, stage.responded_by_id, stage.response = now, by.id, text
    escalation.state = EscalationState.RESPONDED
    escalation.auto_escalate_at = None
    cancel_reminders(_reminder_prefix(escalation, stage.number))
    _event(escalation, EventKind.RESPONDED, by, text, now)
    _tell(escalation, NotificationEvent.ESCALATION_UPDATED, _involved(escalation), by, "Responded")
    _after_move(escalation, "respond", by)


def resolve(escalation: Escalation, outcome: str | None, learning: str | None, *, by: User,
            version: int | None = None, now: datetime | None = None) -> None:
    _check_move("resolve", by, escalation, version)
    problems: list = []
    outcome_text = _text("outcome", outcome, "Enter the outcome both agencies agreed", escalation, problems)
    learning_text = _text("learning", learning, "Enter the learning from this escalation", escalation, problems)
    _raise_problems(problems)
    now = now or utcnow()
    _end_stage(escalation, StageOutcome.RESOLVED, now)
    escalation.state = EscalationState.RESOLVED
    escalation.outcome, escalation.learning, escalation.closed_at = outcome_text, learning_text, now
    _event(escalation, EventKind.RESOLVED, by, f"Outcome: {outcome_text}\nLearning: {learning_text}", now)
    _tell(escalation, NotificationEvent.ESCALATION_UPDATED, _involved(escalation), by, "Resolved")
    _after_move(escalation, "resolve", by)


def withdraw(escalation: Escalation, reason: str | None, *, by: User, version: int | None = None,
             now: datetime | None = None) -> None:
    _check_move("withdraw", by, escalation, version)
    problems: list = []
    text = _text("reason", reason, "Say why you are withdrawing the escalation", escalation, problems)
    _raise_problems(problems)
    now = now or utcnow()
    _end_stage(escalation, StageOutcome.WITHDRAWN, now)
    escalation.state = EscalationState.WITHDRAWN
    escalation.withdrawn_reason, escalation.closed_at = text, now
    _event(escalation, EventKind.WITHDRAWN, by, text, now)
    _tell(escalation, NotificationEvent.ESCALATION_UPDATED, _involved(escalation), by, "Withdrawn")
    _after_move(escalation, "withdraw", by)


def escalate(escalation: Escalation, reason: str | None, *, by: User, version: int | None = None,
             now: datetime | None = None) -> None:
    """The raising side takes it to the next stage, saying why the response did not settle it."""
    _check_move("escalate", by, escalation, version, now)
    problems: list = []
    text = _text("reason", reason, "Say why the response does not settle it", escalation, problems)
    _raise_problems(problems)
    _move_up(escalation, text, by=by, now=now or utcnow(), outcome=StageOutcome.ESCALATED, kind=EventKind.ESCALATED)
    _after_move(escalation, "escalate", by)


def _end_stage(escalation: Escalation, outcome: StageOutcome, now: datetime) -> None:
    stage = escalation.current_stage
    stage.ended_at, stage.outcome = now, outcome
    escalation.auto_escalate_at = None
    cancel_reminders(_reminder_prefix(escalation, stage.number))


def _move_up(escalation: Escalation, reason: str, *, by: User | None, now: datetime, outcome: StageOutcome,
             kind: EventKind) -> None:
    ladder = policy.escalation_ladder(escalation.area_id)
    _end_stage(escalation, outcome, now)
    _event(escalation, kind, by, reason, now)
    _start_stage(escalation, escalation.stage + 1, now, ladder)
    recipients = {person.id: person for person in _involved(escalation)}
    if ladder.stage(escalation.stage).board_mediates:
        for person in db.session.scalars(policy.board_chairs(escalation.area_id)):
            recipients.setdefault(person.id, person)
    words = "Escalated by the portal" if by is None else "Escalated"
    _tell(escalation, NotificationEvent.ESCALATION_ESCALATED, list(recipients.values()), by,
          f"{words} to stage {escalation.stage}")


def record_adult_view(escalation: Escalation, view: str | None, given_by: ViewGivenBy | None, *, by: User,
                      version: int | None = None, now: datetime | None = None) -> None:
    """The adult's (or their advocate's) view on the disagreement, for an escalation about them."""
    if not policy.can_record_escalation_adult_view(by, escalation):
        raise PermissionError("You cannot record the adult's view on this escalation")
    if escalation.state.closed:
        raise EscalationError(WHOLE_RECORD, CLOSED.format(state=escalation.state.label.lower()))
    if version is not None:
        check_version(escalation, version)
    problems: list = []
    text = (view or "").strip()
    if not text:
        problems.append(("view", "Enter the adult's view on the disagreement, in their words where you can"))
    elif len(text) > MAX_TEXT:
        problems.append(("view", f"This must be {MAX_TEXT:,} characters or fewer"))
    if given_by is None:
        problems.append(("given_by", "Say whose view this is"))
    _raise_problems(problems)
    now = now or utcnow()
    escalation.adult_view, escalation.adult_view_by = text, given_by
    escalation.adult_view_recorded_at, escalation.adult_view_recorded_by_id = now, by.id
    # The timeline says that it was recorded and by whom, never what the adult said.
    _event(escalation, EventKind.ADULT_VIEW, by, f"{given_by.label}'s view was recorded", now)
    _after_move(escalation, "adult_view", by)


def add_mediation_note(escalation: Escalation, note: str | None, *, by: User, now: datetime | None = None) -> None:
    """The Board's chair at a stage it mediates: a note on the timeline, never a decision."""
    if not policy.can_mediate(by, escalation):
        raise PermissionError("Only the Board's chair mediates, at the last stage")
    if escalation.state.closed:
        raise EscalationError(WHOLE_RECORD, CLOSED.format(state=escalation.state.label.lower()))
    problems: list = []
    text = _text("note", note, "Enter the note", escalation, problems)
    _raise_problems(problems)
    now = now or utcnow()
    _event(escalation, EventKind.MEDIATION_NOTE, by, text, now)
    _tell(escalation, NotificationEvent.ESCALATION_UPDATED, _involved(escalation), by, "A note from the Board's mediation")
    _after_move(escalation, "mediation_note", by)


def _after_move(escalation: Escalation, move: str, by: User | None) -> None:
    escalation.updated_at = utcnow()
    db.session.flush()
    if by is not None:
        record(f"escalation.{move}", f"{move.replace('_', ' ')} on escalation {escalation.reference}", target=escalation,
               details={"stage": escalation.stage, "state": escalation.state.name}, actor=by)
    _sync_intelligence(escalation)


# The scheduled task ----------------------------------------------------------------------------


def escalate_overdue(now: datetime | None = None) -> int:
    """Move up every escalation left unanswered past its stage's grace period, as the portal's own
    action with the reason on the timeline; commits each one. Safe to run twice or side by side:
    each is re-read and checked under a row lock (on PostgreSQL) before it moves."""
    now = now or utcnow()
    due_ids = db.session.scalars(
        sa.select(Escalation.id).where(
            Escalation.state.in_(AWAITING_STATES), Escalation.auto_escalate_at.is_not(None),
            Escalation.auto_escalate_at <= now,
        ).order_by(Escalation.auto_escalate_at)
    ).all()
    db.session.commit()
    moved = 0
    for escalation_id in due_ids:
        escalation = db.session.scalar(
            sa.select(Escalation).where(Escalation.id == escalation_id).with_for_update()
        )
        if (escalation is None or not escalation.state.awaiting_response or escalation.auto_escalate_at is None
                or escalation.auto_escalate_at > now):
            db.session.rollback()
            continue
        stage = escalation.current_stage
        ladder = policy.escalation_ladder(escalation.area_id)
        grace = (f"{ladder.imminent_grace_hours} hours" if escalation.harm_imminent
                 else f"{ladder.grace_working_days} working days")
        reason = (f"No response by the deadline ({deadline_words(stage.deadline_at)}), "
                  f"and the grace period of {grace} has passed")
        _move_up(escalation, reason, by=None, now=now, outcome=StageOutcome.AUTO_ESCALATED,
                 kind=EventKind.AUTO_ESCALATED)
        _after_move(escalation, "auto_escalate", None)
        record("escalation.auto_escalate", f"the portal escalated {escalation.reference} to stage {escalation.stage}",
               target=escalation, details={"stage": escalation.stage, "reason": reason}, actor=None,
               agency_id=escalation.receiving_agency_id)
        db.session.commit()
        moved += 1
    return moved


# Intelligence ----------------------------------------------------------------------------------


def _sync_intelligence(escalation: Escalation) -> None:
    """An escalation about a service counts as an intelligence item in its risk signal."""
    if escalation.subject is not EscalationSubject.SERVICE or escalation.service_id is None:
        return
    from portal.intelligence.operations import sync_escalation_item

    sync_escalation_item(escalation)

