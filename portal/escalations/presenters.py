"""What the escalation pages show, worked out from the records and the policy layer.

The pages show the same few things in several places (a row in a list, the deadline and its
breach, what an escalation is about): they are put together here once, so that a list, the page of
one escalation and the lists on a concern's or a service's page always say the same thing. Who may
see or do what is asked of ``portal.policy``; nothing here decides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import url_for

from portal import policy
from portal.agencies.models import Agency, Service
from portal.concerns.models import Concern
from portal.core.templating import format_date
from portal.core.workdays import LONDON, working_days_between
from portal.escalations.ladder import StageRule
from portal.escalations.models import Escalation, EscalationStage, EscalationState, EscalationSubject
from portal.escalations.operations import deadline_words
from portal.extensions import db

#: The colour of each state's tag (the words say the state; the colour only repeats it).
STATE_TAG = {
    EscalationState.OPEN: "govuk-tag--blue",
    EscalationState.ACKNOWLEDGED: "govuk-tag--light-blue",
    EscalationState.RESPONDED: "govuk-tag--yellow",
    EscalationState.RESOLVED: "govuk-tag--green",
    EscalationState.WITHDRAWN: "govuk-tag--grey",
}

#: What an escalation is about, in a list's few words (never the adult's details).
SHORT_SUBJECT = {
    EscalationSubject.CONCERN: "A safeguarding concern",
    EscalationSubject.SERVICE: "A service's quality",
    EscalationSubject.PROVIDER: "A provider's quality",
    EscalationSubject.MEETING_ACTION: "An overdue meeting action",
    EscalationSubject.MEETING_DECISION: "A meeting's decision",
    EscalationSubject.DISAGREEMENT: "A professional disagreement",
}


def _openable(query, column, ident: int) -> bool:
    """Whether the policy query holds the row with this id."""
    return db.session.scalar(query.with_only_columns(sa.literal(True)).where(column == ident).limit(1)) is True


# What it is about ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    kind: str
    text: str
    #: Where the thing is, for a person who may open it; None otherwise (the text stands alone).
    href: str | None


def subject_of(user, escalation: Escalation) -> Subject:
    """The thing an escalation is about, linked only where this person may open it."""
    kind = escalation.subject.label
    subject = escalation.subject
    if subject is EscalationSubject.CONCERN and escalation.concern is not None:
        concern = escalation.concern
        href = (url_for("concerns.show_concern", concern_id=concern.id)
                if _openable(policy.concerns_visible_to(user), Concern.id, concern.id) else None)
        return Subject(kind, f"Concern {concern.reference}", href)
    if subject is EscalationSubject.SERVICE and escalation.service is not None:
        service = escalation.service
        href = (url_for("intelligence.service_profile", service_id=service.id)
                if _openable(policy.intelligence_services_visible_to(user), Service.id, service.id) else None)
        return Subject(kind, f"{service.name}, {service.provider.name}", href)
    if subject is EscalationSubject.PROVIDER and escalation.provider is not None:
        provider = escalation.provider
        href = (url_for("intelligence.provider_profile", provider_id=provider.id)
                if _openable(policy.intelligence_providers_visible_to(user), Agency.id, provider.id) else None)
        return Subject(kind, provider.name, href)
    if subject is EscalationSubject.MEETING_ACTION and escalation.meeting_action is not None:
        action = escalation.meeting_action
        from portal.meetings.models import MeetingAction

        due = f"due {format_date(action.due_on)}, {action.owner_agency.name}"
        if not _openable(policy.meeting_actions_visible_to(user), MeetingAction.id, action.id):
            # What an action says may name the adult: only those who may open it read it.
            return Subject(kind, f"An action from {action.meeting.title} ({due})", None)
        return Subject(kind, f"{action.description} ({due})", url_for("meetings.action", action_id=action.id))
    if subject is EscalationSubject.MEETING_DECISION and escalation.agenda_item is not None:
        item = escalation.agenda_item
        href = minutes_href(user, item)
        # An item's title may name the adult (a meeting about them): only readers of the minutes see it.
        return Subject(kind, decision_text(item, with_title=href is not None), href)
    return Subject(kind, f"A decision of {escalation.receiving_agency.name}: see what is disputed, below", None)


def decision_text(item, *, with_title: bool = True) -> str:
    """'Quality meeting, 2 November 2026: item 1, Sunrise Care' (the item's title for those who
    read the minutes)."""
    meeting = item.meeting
    text = f"{meeting.title}, {format_date(meeting.starts_at)}: item {item.position}"
    return f"{text}, {item.title}" if with_title else text


def minutes_href(user, item) -> str | None:
    """The minutes of the item's meeting, at the item, for a person who may read them there."""
    if not policy.can_read_item_minutes(user, item):
        return None
    return url_for("meetings.minutes", meeting_id=item.meeting_id, _anchor=f"item-{item.id}")


# The clock -------------------------------------------------------------------------------------


def working_days_ago(moment: datetime, now: datetime, *, between=working_days_between) -> str:
    """'today', 'less than a working day ago' (over a weekend), '3 working days ago': deadlines
    are counted in England's working days, so a breach is too. ``between`` counts the working days
    (a page showing many escalations passes a counter that remembers the calendar)."""
    then, today = moment.astimezone(LONDON).date(), now.astimezone(LONDON).date()
    days = between(then, today)
    if days == 0:
        return "today" if then == today else "less than a working day ago"
    return f"{days} working day{'' if days == 1 else 's'} ago"


@dataclass(frozen=True)
class Clock:
    """Where the current stage stands against its deadline."""

    #: "5pm on Friday 13 November 2026": the deadline of the current stage.
    deadline: str
    #: The other agency must still respond (the deadline is running or has passed).
    awaiting: bool
    breached: bool
    #: How long ago the deadline passed, when it has.
    breached_ago: str | None
    #: When an unanswered stage moves up by itself, and to which stage.
    auto_escalates: str | None
    next_stage: int | None


def clock_of(escalation: Escalation, now: datetime) -> Clock:
    breached = escalation.breached(now)
    auto = escalation.auto_escalate_at if escalation.state.awaiting_response else None
    return Clock(
        deadline=deadline_words(escalation.deadline_at),
        awaiting=escalation.state.awaiting_response,
        breached=breached,
        breached_ago=working_days_ago(escalation.deadline_at, now) if breached else None,
        auto_escalates=deadline_words(auto) if auto is not None else None,
        next_stage=escalation.stage + 1 if auto is not None else None,
    )


# Rows of a list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    reference: str
    href: str
    about: str
    agencies: str
    stage: str
    state: str
    state_tag: str
    #: What the deadline column says: the deadline, "Responded", or when it closed.
    deadline: str
    breached: bool


def stage_name(escalation: Escalation) -> str:
    """'2: First-line managers', from the area's ladder (read once per request)."""
    ladder = policy.escalation_ladder(escalation.area_id)
    if escalation.stage <= ladder.top:
        return f"{escalation.stage}: {ladder.stage(escalation.stage).name}"
    return str(escalation.stage)


def rows_for(escalations, now: datetime) -> list[Row]:
    """A list's rows, from escalations loaded with their two agencies (no query per row)."""
    href_of = _href_maker()
    rows = []
    for escalation in escalations:
        state = escalation.state
        if state.closed:
            deadline = f"{state.label} on {format_date(escalation.closed_at)}" if escalation.closed_at else state.label
        elif state.awaiting_response:
            deadline = deadline_words(escalation.deadline_at)
        else:
            deadline = "Responded: waiting for the raiser"
        rows.append(Row(
            reference=escalation.reference,
            href=href_of(escalation.id),
            about=SHORT_SUBJECT[escalation.subject],
            agencies=f"{escalation.raising_agency.name} to {escalation.receiving_agency.name}",
            stage=stage_name(escalation),
            state=state.label,
            state_tag=STATE_TAG[state],
            deadline=deadline,
            breached=escalation.breached(now),
        ))
    return rows


_PLACEHOLDER_ID = 987654321


def _href_maker():
    """``url_for`` an escalation's page for many rows at the cost of one ``url_for``."""
    before, after = url_for("escalations.escalation", escalation_id=_PLACEHOLDER_ID).split(str(_PLACEHOLDER_ID))
    return lambda escalation_id: f"{before}{escalation_id}{after}"


def waiting_for(user, escalation: Escalation, now: datetime) -> bool:
    """Whether the person's side must act now: the receiving side until it responds; the raising
    side once it has a response to accept or take further, or the deadline passed unanswered."""
    side = policy.escalation_side(user, escalation)
    if escalation.state.closed or side is None:
        return False
    if side == "receiving":
        return escalation.state.awaiting_response
    return escalation.state is EscalationState.RESPONDED or escalation.breached(now)


# The ladder ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LadderStage:
    number: int
    #: The ladder's rule for this stage (None for a stage reached before the ladder was shortened).
    rule: StageRule | None
    #: The record of the stage, once the escalation has reached it.
    reached: EscalationStage | None
    current: bool
    #: For the current stage: the names of the people who may act for each side.
    raising_people: list[str]
    receiving_people: list[str]
    breached: bool


def ladder_of(escalation: Escalation, now: datetime) -> list[LadderStage]:
    """Every stage of the area's ladder, with what happened at those reached."""
    ladder = policy.escalation_ladder(escalation.area_id)
    reached = {stage.number: stage for stage in escalation.stages}
    rows = []
    for number in range(1, max(ladder.top, escalation.stage) + 1):
        current = number == escalation.stage and not escalation.state.closed
        people = {"raising": [], "receiving": []}
        if current and number <= ladder.top:
            for side in people:
                people[side] = [person.name for person in db.session.scalars(
                    policy.escalation_stage_people(escalation, number, side)
                ).all()]
                people[side].sort()
        stage = reached.get(number)
        rows.append(LadderStage(
            number=number,
            rule=ladder.stage(number) if number <= ladder.top else None,
            reached=stage,
            current=current,
            raising_people=people["raising"],
            receiving_people=people["receiving"],
            breached=stage.breached(now) if stage is not None else False,
        ))
    return rows


def people_at(escalation: Escalation, number: int, side: str) -> list[str]:
    """The names of the people who answer for one side at a stage (for the escalate page)."""
    ladder = policy.escalation_ladder(escalation.area_id)
    if number > ladder.top:
        return []
    return sorted(person.name for person in db.session.scalars(policy.escalation_stage_people(escalation, number, side)))


def board_chair_names(area_id: int) -> list[str]:
    return sorted(person.name for person in db.session.scalars(policy.board_chairs(area_id)))
