"""The agenda pack: what is new about each provider on the agenda since the last meeting, built once
per attendee as that attendee may see it, and kept as built.

Each building is a new :class:`AgendaPack` version holding one :class:`PackCopy` per attendee with
a portal account. A copy's content is plain JSON worked out through the policy layer acting as the
attendee in the role they were invited in, so the pack never shows anyone what their own pages
would not; the template only renders it. The last version is frozen when the meeting is held, so
what people saw is kept whatever is recorded afterwards.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from portal import policy
from portal.agencies.models import Service
from portal.audit.operations import record
from portal.concerns.models import Concern
from portal.core.codes import KeyQuestion
from portal.core.db import utcnow
from portal.core.rules import WHOLE_RECORD, RuleError
from portal.core.templating import LONDON
from portal.core.workdays import london_today
from portal.extensions import db
from portal.intelligence.models import (
    ActionStatus,
    ImprovementAction,
    IntelligenceItem,
    MonitoringVisit,
    RiskSignal,
)
from portal.intelligence.presenters import SignalView, inspections_by_service, ratings_view, signal_views
from portal.meetings.models import (
    AgendaItem,
    AgendaPack,
    Attendee,
    Meeting,
    MeetingStatus,
    PackCopy,
    PlaceKind,
)
from portal.meetings.queries import previous_meeting
from portal.people.models import Membership, User

#: How far back a pack looks when the meeting follows on from no earlier one.
DEFAULT_LOOKBACK_DAYS = 90

#: What an attendee sees in place of an agenda item they may not see (the provider is not named).
HIDDEN_ITEM_TEXT = "An item about another provider: not shared with you"

#: Why what the adult wants is left out of a copy, by the reason the concern's rule gives.
WITHHELD_REASONS = {
    policy.NO_AGREEMENT: "your agency has no information-sharing agreement in force with the council covering "
    "personal safeguarding information",
    policy.NO_CONSENT: "the adult has not consented to their information being shared with your agency, and no "
    "decision to share without consent has been recorded",
}


class PackError(RuleError):
    """A pack that may not be built now."""

    def __init__(self, message: str):
        super().__init__(WHOLE_RECORD, message)


def latest_pack(meeting: Meeting) -> AgendaPack | None:
    return db.session.scalars(
        sa.select(AgendaPack).where(AgendaPack.meeting_id == meeting.id).order_by(AgendaPack.version.desc()).limit(1)
    ).first()


def pack_since(meeting: Meeting) -> date:
    """The day a pack covers from: the previous meeting's date, or a default look-back."""
    previous = previous_meeting(meeting)
    if previous is not None:
        return previous.starts_at.astimezone(LONDON).date()
    return meeting.starts_at.astimezone(LONDON).date() - timedelta(days=DEFAULT_LOOKBACK_DAYS)


def _lock_meeting(meeting: Meeting) -> None:
    """Serialise building and freezing a meeting's packs (PostgreSQL; SQLite serialises writes itself)."""
    db.session.execute(sa.select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())


def _current_attendees(meeting: Meeting) -> list[Attendee]:
    """Attendees with a portal account who were not taken off, in a role they still hold."""
    return [
        attendee for attendee in meeting.attendees
        if attendee.user_id is not None and attendee.removed_at is None and _usable(attendee.user, attendee.membership)
    ]


def _usable(user: User | None, membership: Membership | None) -> bool:
    return user is not None and user.active and membership is not None and membership.active


def build_pack(meeting: Meeting, *, by: User) -> AgendaPack:
    """Build a new version of the pack, one copy per current attendee; refused once it is frozen."""
    if meeting.status is MeetingStatus.CANCELLED:
        raise PackError("The meeting was cancelled: its agenda pack cannot be built.")
    _lock_meeting(meeting)
    latest = latest_pack(meeting)
    if latest is not None and latest.frozen_at is not None:
        raise PackError("The agenda pack was frozen when the meeting was held: it cannot be built again.")
    pack = AgendaPack(
        meeting_id=meeting.id, version=(latest.version + 1) if latest else 1, built_at=utcnow(),
        built_by_id=by.id if by is not None else None, since=pack_since(meeting),
    )
    db.session.add(pack)
    db.session.flush()
    for attendee in _current_attendees(meeting):
        db.session.add(_copy_for(pack, meeting, attendee.user, attendee.membership))
    db.session.flush()
    record(
        "meeting.pack.build", f"built version {pack.version} of the agenda pack of meeting {meeting.id}",
        target=pack, actor=by,
        details={"meeting_id": meeting.id, "version": pack.version, "since": pack.since, "copies": len(pack.copies)},
    )
    return pack


def freeze_latest_pack(meeting: Meeting, *, by: User) -> AgendaPack:
    """Keep the pack as people saw it: build one first if none was built, then freeze the latest."""
    _lock_meeting(meeting)
    pack = latest_pack(meeting)
    if pack is None:
        pack = build_pack(meeting, by=by)
    if pack.frozen_at is None:
        pack.frozen_at = utcnow()
        record(
            "meeting.pack.freeze", f"froze version {pack.version} of the agenda pack of meeting {meeting.id}",
            target=pack, actor=by, details={"meeting_id": meeting.id, "version": pack.version},
        )
        db.session.flush()
    return pack


def pack_copy_for(meeting: Meeting, user) -> PackCopy | None:
    """The person's copy of the latest pack. Someone invited after it was built gets theirs built
    now, while the pack is not frozen; a frozen pack is never added to."""
    pack = latest_pack(meeting)
    if pack is None:
        return None
    copy = _existing_copy(pack, user.id)
    if copy is not None or pack.frozen_at is not None:
        return copy
    membership = _membership_for(meeting, user)
    if membership is None:
        return None
    # Lock the pack, then look again: two pages opened at once build one copy.
    db.session.execute(sa.select(AgendaPack.id).where(AgendaPack.id == pack.id).with_for_update())
    copy = _existing_copy(pack, user.id)
    if copy is None:
        person = db.session.get(User, user.id)
        copy = _copy_for(pack, meeting, person, membership)
        db.session.add(copy)
        db.session.flush()
        record(
            "meeting.pack.late_copy", f"built a copy of agenda pack version {pack.version} of meeting {meeting.id} "
            "for someone invited after it was built",
            target=copy, actor=person, agency_id=membership.agency_id,
            details={"meeting_id": meeting.id, "version": pack.version, "user_id": person.id},
        )
    return copy


def _existing_copy(pack: AgendaPack, user_id: int) -> PackCopy | None:
    return db.session.scalars(
        sa.select(PackCopy).where(PackCopy.pack_id == pack.id, PackCopy.user_id == user_id)
    ).first()


def _membership_for(meeting: Meeting, user) -> Membership | None:
    """The role a copy is built for: the one the person was invited in; for an organiser, chair or
    minute-taker who is not on the list, the role they act in now."""
    attendee = db.session.scalars(
        sa.select(Attendee).where(
            Attendee.meeting_id == meeting.id, Attendee.user_id == user.id, Attendee.removed_at.is_(None)
        )
    ).first()
    if attendee is not None:
        membership = attendee.membership
    elif user.id in {meeting.organiser_id, meeting.chair_id, meeting.minute_taker_id}:
        membership = getattr(user, "membership", None)
    else:
        return None
    person = db.session.get(User, user.id)
    return membership if _usable(person, membership) else None


# Building one copy ----------------------------------------------------------------------------


@dataclass
class _Building:
    """What one copy is built from: the attendee as the policy sees them, and the pack's window."""

    acting: policy.ActingAs
    meeting: Meeting
    since: date
    today: date
    redacted: bool = False

    @property
    def since_start(self) -> datetime:
        return datetime.combine(self.since, time(0), LONDON).astimezone(UTC)

    @property
    def until(self) -> date:
        """The window's last day: the meeting's day, or today for a pack built before it, so that a
        pack built after the meeting (when it is held) never shows what happened since."""
        return min(self.today, self.meeting.starts_at.astimezone(LONDON).date())

    @property
    def until_end(self) -> datetime:
        return datetime.combine(self.until + timedelta(days=1), time(0), LONDON).astimezone(UTC)


def _copy_for(pack: AgendaPack, meeting: Meeting, user: User, membership: Membership) -> PackCopy:
    building = _Building(acting=policy.acting_as(user, membership), meeting=meeting, since=pack.since, today=london_today())
    content = {
        "meeting": _meeting_facts(meeting),
        "since": pack.since.isoformat(),
        "role": f"{membership.role.label}, {membership.agency.name}",
        "items": [],
        "other_actions": [],
    }
    if meeting.kind.about_an_adult and meeting.concern is not None:
        content["adult"] = _adult_section(building)
        # Escalations (issue 7): those about the meeting's concern the attendee may open.
        content["adult"]["escalations"] = _escalations(building, concern_id=meeting.concern_id).get(None, [])
    visible = {item.id for item in policy.agenda_items_visible_to(building.acting, meeting)}
    carried = _carried_actions(building)
    services_of = {
        item.id: _item_services(building, item)
        for item in meeting.agenda if item.id in visible and item.provider_id is not None
    }
    # Everything about the services is read once for the whole copy, not once per service.
    facts = _service_sections(building, [service for services in services_of.values() for service in services])
    # Escalations (issue 7): about every provider on the agenda the attendee sees, in one query.
    escalations = _escalations(building, provider_ids={
        item.provider_id for item in meeting.agenda if services_of.get(item.id)
    })
    placed: set[int] = set()
    general_item_seen = False
    for item in meeting.agenda:
        section = {"position": item.position, "title": item.title, "hidden": False, "provider": None,
                   "services": [], "actions": []}
        services = services_of.get(item.id)
        if item.id not in visible or services == []:
            building.redacted = True
            content["items"].append({"position": item.position, "title": HIDDEN_ITEM_TEXT, "hidden": True})
            continue
        if item.provider_id is not None:
            section["provider"] = {"id": item.provider_id, "name": item.provider.name}
            section["services"] = [facts[service.id] for service in services]
            section["escalations"] = [
                entry for entry in escalations.get(item.provider_id, [])
                if item.service_id is None or entry["service_id"] in {None, item.service_id}
            ]
            wanted = [action for action in carried if action["provider_id"] == item.provider_id]
        elif not general_item_seen:
            general_item_seen = True
            wanted = [action for action in carried if action["provider_id"] is None]
        else:
            wanted = []
        section["actions"] = [action for action in wanted if action["id"] not in placed]
        placed.update(action["id"] for action in section["actions"])
        content["items"].append(section)
    content["other_actions"] = [action for action in carried if action["id"] not in placed]
    return PackCopy(pack=pack, user_id=user.id, membership_id=membership.id, content=content, redacted=building.redacted)


def _meeting_facts(meeting: Meeting) -> dict:
    if meeting.place_kind is PlaceKind.ADULTS_HOME:
        place = PlaceKind.ADULTS_HOME.label
    elif meeting.place_kind is PlaceKind.ONLINE:
        place = meeting.place or PlaceKind.ONLINE.label
    else:
        place = meeting.place or ""
    return {
        "title": meeting.title,
        "kind": meeting.kind.label,
        "starts_at": meeting.starts_at.isoformat(),
        "ends_at": meeting.ends_at.isoformat(),
        "place": place,
        "online_link": meeting.online_link,
        "purpose": meeting.purpose,
        "organiser": f"{meeting.organiser.name}, {meeting.organiser_agency.name}",
        "chair": meeting.chair.name,
        "minute_taker": meeting.minute_taker.name if meeting.minute_taker else None,
    }


def _item_services(building: _Building, item: AgendaItem) -> list[Service]:
    """The item's services the attendee may see (all the provider's, or the one it is narrowed to).

    Marks the copy redacted when some of them are left out.
    """
    query = sa.select(Service).where(Service.provider_id == item.provider_id)
    if item.service_id is not None:
        query = query.where(Service.id == item.service_id)
    everything = db.session.scalars(query.order_by(Service.name, Service.id)).all()
    visible_ids = set(db.session.scalars(
        policy.intelligence_services_visible_to(building.acting)
        .where(Service.id.in_([service.id for service in everything])).with_only_columns(Service.id)
    )) if everything else set()
    shown = [service for service in everything if service.id in visible_ids]
    if len(shown) < len(everything):
        building.redacted = True
    return shown


def _questions(bits: int) -> str:
    return ", ".join(question.label for question in KeyQuestion.from_bits(bits))


def _service_sections(building: _Building, services: list[Service]) -> dict[int, dict]:
    """Each service's section of the copy, from one query per kind of fact for all of them."""
    ids = [service.id for service in services]
    if not ids:
        return {}
    signals = signal_views(building.acting, ids)
    items, ratings = _new_items(building, ids), _rating_changes(building, ids)
    concerns, actions = _concerns(building, ids), _improvement_actions(building, ids)
    return {
        service.id: {
            "id": service.id,
            "name": service.name,
            "signal": _signal(signals.get(service.id)),
            "intelligence": items.get(service.id, []),
            "ratings": ratings.get(service.id, []),
            "concerns": concerns.get(service.id, []),
            "improvement_actions": actions.get(service.id, []),
        }
        for service in services
    }


def _signal(view: SignalView | None) -> dict | None:
    if view is None or view.signal is None:
        return None
    signal = view.signal
    return {
        "band": signal.band.label,
        "likelihood": signal.likelihood,
        "consequence": signal.consequence,
        "converging": [question.label for question in view.converging_questions],
        "reasons": [
            {"occurred_on": reason.occurred_on.isoformat(), "source": reason.source, "severity": reason.severity,
             "key_questions": reason.key_questions, "summary": reason.summary}
            for reason in view.reasons[:RiskSignal.TOP_REASONS]
        ],
    }


def _new_items(building: _Building, service_ids: list[int]) -> dict[int, list[dict]]:
    """Intelligence items about each service dated within the pack's window, newest first."""
    items = db.session.scalars(
        policy.intelligence_items_visible_to(building.acting)
        .where(IntelligenceItem.service_id.in_(service_ids), IntelligenceItem.occurred_on >= building.since,
               IntelligenceItem.occurred_on <= building.until)
        .options(sa.orm.joinedload(IntelligenceItem.supplied_by))
        .order_by(IntelligenceItem.occurred_on.desc(), IntelligenceItem.id.desc())
    ).all()
    found = defaultdict(list)
    for item in items:
        found[item.service_id].append({
            "occurred_on": item.occurred_on.isoformat(),
            "source": item.source.label,
            "severity": f"Rated {item.rating.label}" if item.rating is not None else item.severity.label,
            "key_questions": _questions(item.key_question_bits),
            "summary": item.summary,
            "confidential": item.confidential,
            "supplied_by": item.supplied_by.name if item.supplied_by else None,
        })
    return found


def _rating_changes(building: _Building, service_ids: list[int]) -> dict[int, list[dict]]:
    """Each publication within the pack's window, with how each rating moved from the one before."""
    found = defaultdict(list)
    for service_id, inspections in inspections_by_service(service_ids).items():
        for index, inspection in enumerate(inspections):
            if not building.since <= inspection.published_on <= building.until:
                continue
            view = ratings_view(inspections[: index + 1])
            found[service_id].append({
                "published_on": inspection.published_on.isoformat(),
                "report_type": inspection.report_type,
                "url": inspection.url,
                "inherited": inspection.inherited,
                "rows": [
                    {"question": row.question, "rating": row.rating.label if row.rating else "Not given",
                     "change": row.change_text}
                    for row in view.rows
                ],
            })
    return found


def _concerns(building: _Building, service_ids: list[int]) -> dict[int, list[dict]]:
    """Concerns about each service raised or changed within the window: never the adult's details."""
    concerns = db.session.scalars(
        policy.concerns_visible_to(building.acting)
        .where(
            Concern.service_id.in_(service_ids),
            sa.or_(Concern.raised_at >= building.since_start, Concern.updated_at >= building.since_start),
            Concern.raised_at < building.until_end,
        )
        .options(sa.orm.selectinload(Concern.type_links))
        .order_by(Concern.raised_at.desc(), Concern.id.desc())
    ).all()
    found = defaultdict(list)
    for concern in concerns:
        found[concern.service_id].append({
            "reference": concern.reference,
            "raised_on": concern.raised_at.astimezone(LONDON).date().isoformat(),
            "status": concern.status.label,
            "abuse_types": sorted(abuse_type.label for abuse_type in concern.abuse_types),
            "new": concern.raised_at >= building.since_start,
        })
    return found


def _improvement_actions(building: _Building, service_ids: list[int]) -> dict[int, list[dict]]:
    """Improvement-plan actions from each service's monitoring visits that are not completed."""
    visits = policy.visits_visible_to(building.acting).where(MonitoringVisit.service_id.in_(service_ids))
    rows = db.session.execute(
        sa.select(ImprovementAction, MonitoringVisit.visited_on, MonitoringVisit.service_id)
        .join(MonitoringVisit, ImprovementAction.visit_id == MonitoringVisit.id)
        .where(
            ImprovementAction.visit_id.in_(visits.with_only_columns(MonitoringVisit.id)),
            ImprovementAction.status != ActionStatus.COMPLETED,
        )
        .order_by(ImprovementAction.due_on, ImprovementAction.id)
    ).all()
    found = defaultdict(list)
    for action, visited_on, service_id in rows:
        found[service_id].append({
            "description": action.description,
            "owner": action.owner,
            "due_on": action.due_on.isoformat(),
            "status": action.status.label,
            "overdue": action.due_on < building.today,
            "visited_on": visited_on.isoformat(),
        })
    return found


def _carried_actions(building: _Building) -> list[dict]:
    """Unfinished actions from earlier meetings this one follows on from, those the attendee may see."""
    from portal.meetings.minutes import actions_carried_into

    actions = actions_carried_into(building.meeting)
    if not actions:
        return []
    visible = policy.carried_actions_visible_to(building.acting, actions)
    if len(visible) < len(actions):
        building.redacted = True
    actions = visible
    return [
        {
            "id": action.id,
            "provider_id": action.agenda_item.provider_id if action.agenda_item is not None else None,
            "description": action.description,
            "owner": action.owner.name,
            "agency": action.owner_agency.name,
            "due_on": action.due_on.isoformat(),
            "state": action.state.label,
            "overdue": action.due_on < building.today and not action.state.finished,
            "meeting": action.meeting.title,
            "meeting_on": action.meeting.starts_at.isoformat(),
        }
        for action in actions
    ]


def _adult_section(building: _Building) -> dict:
    """The concern the meeting is about; what the adult wants only where the concern's rule allows."""
    concern = building.meeting.concern
    disclosure = policy.meeting_adult_disclosure(building.acting, building.meeting)
    section = {
        "reference": concern.reference,
        "status": concern.status.label,
        "abuse_types": sorted(abuse_type.label for abuse_type in concern.abuse_types),
        "disclosed": disclosure.allowed,
    }
    if disclosure.allowed:
        section.update({
            "views": concern.adult_views,
            "past_present_wishes": concern.past_present_wishes,
            "desired_outcomes": [
                {"words": outcome.words, "recorded_on": outcome.recorded_at.astimezone(LONDON).date().isoformat()}
                for outcome in concern.desired_outcomes
            ],
        })
    else:
        building.redacted = True
        section["withheld_because"] = WITHHELD_REASONS.get(
            disclosure.withheld_because, "the concern's rules on sharing the adult's information do not allow it"
        )
    return section


# Escalations (issue 7) --------------------------------------------------------------------------


def _escalations(building: _Building, *, provider_ids=(), concern_id: int | None = None) -> dict[int | None, list[dict]]:
    """Escalations the attendee may open, about these providers (and their services) or about the
    meeting's concern: those still open, and those resolved within the pack's window. One query
    for the whole copy, keyed by provider (None for the concern's)."""
    from portal.escalations.models import OPEN_STATES, Escalation, EscalationState

    if concern_id is not None:
        about = Escalation.concern_id == concern_id
    elif provider_ids:
        about = Escalation.provider_id.in_(sorted(provider_ids))
    else:
        return {}
    rows = db.session.scalars(
        policy.escalations_visible_to(building.acting)
        .where(
            about,
            sa.or_(
                Escalation.state.in_(OPEN_STATES),
                sa.and_(Escalation.state == EscalationState.RESOLVED, Escalation.closed_at >= building.since_start,
                        Escalation.closed_at < building.until_end),
            ),
        )
        .options(
            sa.orm.joinedload(Escalation.raising_agency), sa.orm.joinedload(Escalation.receiving_agency),
            sa.orm.joinedload(Escalation.service), sa.orm.selectinload(Escalation.stages),
        )
        .order_by(Escalation.raised_at, Escalation.id)
    ).all()
    now = utcnow()
    found = defaultdict(list)
    for escalation in rows:
        resolved = escalation.state is EscalationState.RESOLVED
        found[None if concern_id is not None else escalation.provider_id].append({
            "id": escalation.id,
            "reference": escalation.reference,
            "service_id": escalation.service_id,
            "about": escalation.service.name if escalation.service is not None else escalation.subject.label,
            "raised_by": escalation.raising_agency.name,
            "raised_with": escalation.receiving_agency.name,
            "raised_on": escalation.raised_at.astimezone(LONDON).date().isoformat(),
            "stage": escalation.stage,
            "stage_name": escalation.current_stage.name,
            "state": escalation.state.label,
            "deadline": None if resolved else escalation.deadline_at.isoformat(),
            "deadline_passed": escalation.breached(now),
            "resolved_on": escalation.closed_at.astimezone(LONDON).date().isoformat() if resolved else None,
        })
    return found
