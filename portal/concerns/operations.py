"""Every change to a concern: raising, triage, the MSP conversation, consent, closing and reopening.

Each operation checks the rules, changes state, adds a timeline entry, writes the audit trail and
records notification intents, all in the caller's transaction. Operations never commit; the page,
the import or the task that calls them does. Who may call which operation is the policy layer's
question (``portal.policy``), asked by the caller first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa

from portal.agencies.models import Agency, Area, Service
from portal.audit.operations import record
from portal.concerns.models import (
    Adult,
    Comment,
    Concern,
    ConcernEvent,
    ConsentOverride,
    DesiredOutcome,
    ReferenceCounter,
)
from portal.core.changes import apply_changes
from portal.core.codes import (
    RAG,
    AbuseType,
    ActionResult,
    AgencyKind,
    ConcernStatus,
    ConsentToShare,
    MentalCapacity,
    MspAsked,
    OutcomesAchieved,
    OverrideReason,
    PrimarySupportReason,
    RaisedVia,
    RiskLocation,
    RiskOutcome,
    RiskSource,
    Role,
    Sex,
    TriageDecision,
)
from portal.core.db import utcnow
from portal.core.rules import WHOLE_RECORD, RuleError
from portal.core.workdays import LONDON, add_working_days, london_today
from portal.extensions import db
from portal.intelligence.operations import sync_concern_item
from portal.notifications.models import NotificationEvent
from portal.notifications.operations import notify
from portal.notifications.reminders import cancel_reminders, london_time, schedule_reminder
from portal.people.models import User

S = ConcernStatus

#: The lifecycle: every move a concern may make, and the words for it. No other move is allowed.
TRANSITIONS: dict[tuple[ConcernStatus, ConcernStatus], str] = {
    (S.SUBMITTED, S.TRIAGED): "triaged",
    (S.TRIAGED, S.IN_PROGRESS): "started",
    (S.IN_PROGRESS, S.CLOSED): "closed",
    (S.CLOSED, S.IN_PROGRESS): "reopened",
}

#: Longest free text accepted anywhere on a concern; longer text is refused, never cut.
MAX_TEXT = 10_000

#: Results where a risk was found or could not be ruled out: only these have a risk outcome (SG2e).
RISK_FOUND = frozenset({
    ActionResult.RISK_ACTION, ActionResult.RISK_NO_ACTION,
    ActionResult.INCONCLUSIVE_ACTION, ActionResult.INCONCLUSIVE_NO_ACTION,
})


class ConcernError(RuleError):
    """A change to a concern that the rules do not allow; the message explains why to the person."""


@dataclass
class AdultDetails:
    """What is known about the adult when a concern is raised; any detail may be missing."""

    name: str | None = None
    date_of_birth: date | None = None
    nhs_number: str | None = None
    sex: Sex | None = None
    address: str | None = None
    postcode: str | None = None
    communication_needs: str | None = None
    preferred_language: str | None = None
    primary_support_reason: PrimarySupportReason | None = None


def allowed_moves(status: ConcernStatus) -> list[ConcernStatus]:
    return [to for (frm, to) in TRANSITIONS if frm is status]


def _check_move(concern: Concern, to: ConcernStatus, verb: str) -> None:
    """Refuse a move that is not in the lifecycle, or that is the right move made the wrong way
    (starting work on a closed concern would reopen it without a reason)."""
    actual = TRANSITIONS.get((concern.status, to))
    if actual is not None and actual != verb:
        raise ConcernError(
            WHOLE_RECORD,
            f"This concern is {concern.status.label.lower()}, so it cannot be {verb}: "
            f"from here it can only be {actual}.",
        )
    if actual is None:
        allowed = ", ".join(s.label.lower() for s in allowed_moves(concern.status)) or "nothing"
        raise ConcernError(
            WHOLE_RECORD,
            f"This concern is {concern.status.label.lower()}, so it cannot move to "
            f"{to.label.lower()}. From here it can only move to: {allowed}.",
        )


def _move(concern: Concern, to: ConcernStatus, verb: str) -> None:
    _check_move(concern, to, verb)
    concern.status = to


def _event(concern: Concern, kind: str, summary: str, by: User | None) -> None:
    agency_id = by.membership.agency_id if by is not None and by.membership is not None else None
    concern.events.append(
        ConcernEvent(occurred_at=utcnow(), actor_id=by.id if by else None, agency_id=agency_id, kind=kind, summary=summary[:500])
    )


#: Changes that alter what the concern's item on its service's intelligence timeline says.
_TIMELINE_CHANGES = frozenset({"raise", "triage", "start", "close", "reopen"})


def _audit(concern: Concern, action: str, summary: str, by: User | None, **details) -> None:
    record(f"concern.{action}", f"{concern.reference}: {summary}", target=concern, actor=by, details=details)
    if action in _TIMELINE_CHANGES:
        sync_concern_item(concern)


def _check_text(field: str, value: str | None, label: str, limit: int = MAX_TEXT) -> None:
    if value is not None and len(value) > limit:
        raise ConcernError(field, f"{label} must be {limit:,} characters or fewer")


#: The short fields about the adult and their limits (the columns' sizes).
ADULT_LIMITS = {"name": 200, "nhs_number": 10, "address": 300, "postcode": 8, "preferred_language": 100, "communication_needs": MAX_TEXT}


def _check_adult(details: AdultDetails) -> None:
    for name, limit in ADULT_LIMITS.items():
        _check_text(name, getattr(details, name), name.replace("_", " ").capitalize(), limit)


def next_reference(year: int) -> str:
    """The next human reference for a year, such as C-2026-000123; safe under concurrent raisers."""
    claim = (
        sa.update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last=ReferenceCounter.last + 1)
        .returning(ReferenceCounter.last)
    )
    number = db.session.execute(claim).scalar_one_or_none()
    if number is None:
        db.session.add(ReferenceCounter(year=year, last=0))
        db.session.flush()
        number = db.session.execute(claim).scalar_one()
    return f"C-{year}-{number:06d}"


# Raising --------------------------------------------------------------------------------------


def raise_concern(
    *,
    area: Area,
    raised_by: User | None,
    service: Service | None,
    what_happened: str,
    abuse_types: set[AbuseType],
    happened_on: date | None = None,
    risk_location: RiskLocation | None = None,
    risk_source: RiskSource | None = None,
    immediate_risk: RAG | None = None,
    immediate_action: str | None = None,
    adult: AdultDetails | None = None,
    consent: ConsentToShare | None = None,
    reporter_name: str | None = None,
    reporter_contact: str | None = None,
    reporter_relationship: str | None = None,
    raised_at: datetime | None = None,
) -> Concern:
    """Record a new concern, from a signed-in person (``raised_by``) or the public form (None).

    ``raised_at`` is for records made after the event (imports, the demo); it defaults to now.
    """
    if not (what_happened or "").strip():
        raise ConcernError("what_happened", "Enter what happened")
    _check_text("what_happened", what_happened, "What happened")
    _check_text("immediate_action", immediate_action, "What was done straight away")
    for name, value in (("reporter_name", reporter_name), ("reporter_contact", reporter_contact), ("reporter_relationship", reporter_relationship)):
        _check_text(name, value, name.replace("_", " ").capitalize(), 200)
    if adult is not None:
        _check_adult(adult)
    if not abuse_types and raised_by is not None:
        raise ConcernError("abuse_types", "Select at least one type of abuse or neglect")
    if happened_on is not None and happened_on > london_today():
        raise ConcernError("happened_on", "The date it happened must be today or in the past")
    if service is not None and service.provider.area_id != area.id:
        raise ConcernError("service", "Select a service in this area")

    membership = raised_by.membership if raised_by is not None else None
    if raised_by is not None and membership is None:
        raise ConcernError(WHOLE_RECORD, "Choose the agency you are working for before raising a concern")
    raising_agency = membership.agency if membership is not None else None
    if raising_agency is not None and raising_agency.is_provider and (service is None or service.provider_id != raising_agency.id):
        raise ConcernError("service", "Select one of your organisation's services")
    via = RaisedVia.PUBLIC if raised_by is None else RaisedVia.PROVIDER if raising_agency.is_provider else RaisedVia.PARTNER

    now = utcnow()
    if raised_at is not None and raised_at > now:
        raise ConcernError("raised_at", "A concern cannot be raised in the future")
    raised_at = raised_at or now
    concern = Concern(
        reference=next_reference(raised_at.year),
        area=area,
        status=S.SUBMITTED,
        raised_via=via,
        raised_at=raised_at,
        raised_by=raised_by,
        raising_agency=raising_agency,
        reporter_name=reporter_name or None,
        reporter_contact=reporter_contact or None,
        reporter_relationship=reporter_relationship or None,
        service=service,
        provider_id=service.provider_id if service is not None else None,
        what_happened=what_happened.strip(),
        happened_on=happened_on,
        risk_location=risk_location,
        risk_source=risk_source,
        immediate_risk=immediate_risk,
        immediate_action=immediate_action or None,
        consent=consent,
        consent_recorded_at=raised_at if consent is not None else None,
    )
    concern.abuse_types = set(abuse_types)
    if adult is not None and any(vars(adult).values()):
        concern.adult = Adult(area=area, **vars(adult))
    db.session.add(concern)
    db.session.flush()
    who = "the public form" if raised_by is None else f"{raised_by.name}, {raising_agency.name}"
    _event(concern, "raised", f"Raised by {who}", raised_by)
    _audit(concern, "raise", f"raised via {via.label.lower()}", raised_by, service_id=concern.service_id, types=concern.abuse_types)
    leads = _leads(concern)
    notify(NotificationEvent.CONCERN_RAISED, concern, leads, actor=raised_by)
    _remind_to_triage(concern, leads)
    return concern


#: A concern not triaged by 9am on the next working day reminds the area's safeguarding leads.
TRIAGE_REMINDER_TIME = time(9, 0)


def _triage_reminder_prefix(concern: Concern) -> str:
    return f"concern:{concern.id}:awaiting-triage:"


def _remind_to_triage(concern: Concern, leads: list[User]) -> None:
    due = london_time(add_working_days(concern.raised_at.astimezone(LONDON).date(), 1), TRIAGE_REMINDER_TIME)
    for lead in leads:
        schedule_reminder(
            f"{_triage_reminder_prefix(concern)}{lead.id}", recipient=lead, at=due,
            event=NotificationEvent.CONCERN_AWAITING_TRIAGE, subject_type="concern", subject_id=concern.id,
            summary=f"{NotificationEvent.CONCERN_AWAITING_TRIAGE.label}: {concern.reference}",
            link=f"/concerns/{concern.id}",
        )


def _leads(concern: Concern) -> list[User]:
    from portal.policy import area_leads

    return list(db.session.scalars(area_leads(concern.area_id)))


def _audience(concern: Concern, *, local_authority_only: bool = False) -> list[User]:
    from portal.policy import concern_audience

    return list(db.session.scalars(concern_audience(concern, local_authority_only=local_authority_only)))


# Triage and assignment ------------------------------------------------------------------------


def triage_concern(concern: Concern, *, decision: TriageDecision, reason: str | None, by: User, assign_to: User | None = None) -> None:
    """Record the safeguarding lead's decision: a s42 enquiry, another enquiry, a quality concern, or not."""
    if decision.needs_reason and not (reason or "").strip():
        raise ConcernError("reason", f"Enter why the decision is {decision.label.lower()}")
    _check_text("reason", reason, "Reason")
    _move(concern, S.TRIAGED, "triaged")
    cancel_reminders(_triage_reminder_prefix(concern))
    concern.triage_decision = decision
    concern.triage_reason = (reason or "").strip() or None
    concern.triaged_at = utcnow()
    concern.triaged_by = by
    _event(concern, "triaged", f"Triaged: {decision.label}" + (f" – {concern.triage_reason}" if concern.triage_reason else ""), by)
    _audit(concern, "triage", decision.label, by, decision=decision, reason=concern.triage_reason)
    notify(NotificationEvent.CONCERN_TRIAGED, concern, _audience(concern), actor=by)
    if assign_to is not None:
        assign_concern(concern, lead=assign_to, by=by)


def assign_concern(concern: Concern, *, lead: User, by: User) -> None:
    if not any(
        m.role is Role.SAFEGUARDING_LEAD and m.agency.kind is AgencyKind.LOCAL_AUTHORITY and m.agency.area_id == concern.area_id
        for m in lead.active_memberships
    ):
        raise ConcernError("assign_to", "Select a safeguarding lead in this area")
    if concern.status is S.CLOSED:
        raise ConcernError(WHOLE_RECORD, "This concern is closed: reopen it before assigning it")
    if concern.assigned_to_id == lead.id:
        return
    concern.assigned_to = lead
    _event(concern, "assigned", f"Assigned to {lead.name}", by)
    _audit(concern, "assign", f"assigned to {lead.email}", by, assigned_to=lead.id)
    notify(NotificationEvent.CONCERN_ASSIGNED, concern, [lead], actor=by)


def start_work(concern: Concern, *, by: User) -> None:
    """Move a triaged concern into progress; the advocacy gate holds it until an advocate is recorded."""
    _check_move(concern, S.IN_PROGRESS, "started")
    if concern.status is S.TRIAGED and concern.advocate_required and not concern.advocate_recorded:
        raise ConcernError(
            WHOLE_RECORD,
            "An independent advocate must be arranged first: the adult has substantial difficulty "
            "being involved and nobody appropriate to support them. Record the advocate, then start work.",
        )
    _move(concern, S.IN_PROGRESS, "started")
    _event(concern, "started", "Work started", by)
    _audit(concern, "start", "work started", by)


# The Making Safeguarding Personal conversation -------------------------------------------------


MSP_FIELDS = {
    "msp_asked": "Asked about outcomes",
    "adult_views": "The adult's views",
    "preferred_contact": "Who they prefer to talk to",
    "preferred_meeting_place": "Where they prefer to meet",
    "wants_to_attend_meetings": "Wants to attend meetings",
    "mental_capacity": "Mental capacity",
    "best_interests_decision": "Best-interests decision",
    "past_present_wishes": "Past and present wishes",
    "substantial_difficulty": "Substantial difficulty being involved",
    "appropriate_person": "An appropriate person to support them",
}


def record_msp(
    concern: Concern,
    *,
    by: User,
    msp_asked: MspAsked | None,
    adult_views: str | None,
    preferred_contact: str | None,
    preferred_meeting_place: str | None,
    wants_to_attend_meetings: bool | None,
    mental_capacity: MentalCapacity | None,
    best_interests_decision: str | None,
    past_present_wishes: str | None,
    substantial_difficulty: bool | None,
    appropriate_person: bool | None,
) -> None:
    """Record what the adult said and how they want to be involved; capacity and advocacy."""
    if concern.status is S.CLOSED:
        raise ConcernError(WHOLE_RECORD, "This concern is closed: reopen it to change the record")
    for field, value in (
        ("adult_views", adult_views), ("best_interests_decision", best_interests_decision),
        ("past_present_wishes", past_present_wishes),
    ):
        _check_text(field, value, MSP_FIELDS[field])
    _check_text("preferred_contact", preferred_contact, MSP_FIELDS["preferred_contact"], 300)
    _check_text("preferred_meeting_place", preferred_meeting_place, MSP_FIELDS["preferred_meeting_place"], 300)
    if mental_capacity is MentalCapacity.LACKED and not (best_interests_decision or "").strip():
        raise ConcernError(
            "best_interests_decision",
            "Enter the best-interests decision: the adult lacks capacity to decide about the enquiry",
        )
    changed = apply_changes(
        concern,
        msp_asked=msp_asked,
        adult_views=adult_views or None,
        preferred_contact=preferred_contact or None,
        preferred_meeting_place=preferred_meeting_place or None,
        wants_to_attend_meetings=wants_to_attend_meetings,
        mental_capacity=mental_capacity,
        best_interests_decision=best_interests_decision or None,
        past_present_wishes=past_present_wishes or None,
        substantial_difficulty=substantial_difficulty,
        appropriate_person=appropriate_person,
    )
    if changed:
        names = ", ".join(MSP_FIELDS[name].lower() for name in changed)
        _event(concern, "msp", f"Making Safeguarding Personal record updated: {names}", by)
        _audit(concern, "msp", "MSP record updated", by, changed=sorted(changed))


def add_desired_outcome(concern: Concern, *, words: str, by: User) -> DesiredOutcome:
    """Add an outcome the adult wants, in their own words; earlier ones are kept as they were."""
    words = (words or "").strip()
    if not words:
        raise ConcernError("words", "Enter the outcome the adult wants, in their own words")
    _check_text("words", words, "Desired outcome")
    if concern.status is S.CLOSED:
        raise ConcernError(WHOLE_RECORD, "This concern is closed: reopen it to add outcomes")
    outcome = DesiredOutcome(words=words, recorded_by=by, recorded_at=utcnow())
    concern.desired_outcomes.append(outcome)
    _event(concern, "outcome", "Desired outcome added", by)
    _audit(concern, "outcome", "desired outcome added", by)
    return outcome


def record_advocate(concern: Concern, *, name: str, organisation: str | None, arranged_on: date, by: User) -> None:
    if concern.status is S.CLOSED:
        raise ConcernError(WHOLE_RECORD, "This concern is closed: reopen it to record an advocate")
    if not (name or "").strip():
        raise ConcernError("advocate_name", "Enter the advocate's name")
    _check_text("advocate_name", name.strip(), "The advocate's name", 200)
    _check_text("advocate_organisation", (organisation or "").strip(), "The advocate's organisation", 200)
    if arranged_on > london_today():
        raise ConcernError("advocate_arranged_on", "The date arranged must be today or in the past")
    concern.advocate_name = name.strip()
    concern.advocate_organisation = (organisation or "").strip() or None
    concern.advocate_arranged_on = arranged_on
    _event(concern, "advocate", f"Independent advocate recorded: {concern.advocate_name}", by)
    _audit(concern, "advocate", "independent advocate recorded", by)


def update_adult(concern: Concern, details: AdultDetails, *, by: User) -> None:
    """Record or correct what is known about the adult."""
    if not (details.name or "").strip():
        raise ConcernError("name", "Enter the adult's name")
    _check_adult(details)
    if details.date_of_birth is not None and details.date_of_birth > london_today():
        raise ConcernError("date_of_birth", "Date of birth must be in the past")
    if concern.adult is None:
        concern.adult = Adult(area_id=concern.area_id, **vars(details))
        changed = list(vars(details))
    else:
        changed = list(apply_changes(concern.adult, **vars(details)))
    if changed:
        _event(concern, "adult", "Details of the adult updated", by)
        _audit(concern, "adult", "adult's details updated", by, changed=sorted(changed))


def link_adult(concern: Concern, adult: Adult, *, by: User) -> None:
    """Point a concern at an adult already known from another concern (the lead decides they match)."""
    if adult.area_id != concern.area_id:
        raise ConcernError("adult", "Select an adult in this area")
    previous = concern.adult
    concern.adult = adult
    _event(concern, "linked", "Linked to the same adult as earlier concerns", by)
    _audit(concern, "link_adult", "linked to a known adult", by, adult_id=adult.id, previous=previous.id if previous else None)
    if previous is not None and previous.id != adult.id:
        db.session.flush()
        still_used = db.session.scalar(sa.select(sa.func.count(Concern.id)).where(Concern.adult_id == previous.id))
        if not still_used:
            # The duplicate record would otherwise keep personal data attached to nothing.
            record("adult.merge", "Duplicate record of an adult removed after linking", target=previous, actor=by, details={"kept": adult.id})
            db.session.delete(previous)


def other_concerns_about(concern: Concern) -> list[Concern]:
    if concern.adult_id is None:
        return []
    query = sa.select(Concern).where(Concern.adult_id == concern.adult_id, Concern.id != concern.id)
    return list(db.session.scalars(query.order_by(Concern.raised_at)))


def possible_matches(concern: Concern, visible) -> list[tuple[Concern, str]]:
    """Other concerns in the area that may be about the same adult, and what matched.

    Same NHS number, or same name and date of birth; concerns already linked to this adult are
    not offered again. ``visible`` is the viewer's scoped query (``policy.concerns_visible_to``).
    """
    adult = concern.adult
    if adult is None:
        return []
    same_nhs = Adult.nhs_number == adult.nhs_number if adult.nhs_number else None
    same_name_and_birth = (
        sa.and_(sa.func.lower(Adult.name) == adult.name.lower(), Adult.date_of_birth == adult.date_of_birth)
        if adult.name and adult.date_of_birth
        else None
    )
    rules = [rule for rule in (same_nhs, same_name_and_birth) if rule is not None]
    if not rules:
        return []
    query = (
        visible
        .join(Adult, Concern.adult_id == Adult.id)
        .where(Concern.area_id == concern.area_id, Adult.area_id == concern.area_id, Adult.id != adult.id, sa.or_(*rules))
        .order_by(Concern.raised_at, Concern.id)
    )
    matches = []
    for other in db.session.scalars(query):
        if adult.nhs_number and other.adult.nhs_number == adult.nhs_number:
            matches.append((other, "Same NHS number"))
        else:
            matches.append((other, "Same name and date of birth"))
    return matches



# Consent to share -----------------------------------------------------------------------------


def record_consent(concern: Concern, *, consent: ConsentToShare, by: User) -> None:
    before = concern.consent
    concern.consent = consent
    if before is not consent:
        concern.consent_recorded_at = utcnow()
        _event(concern, "consent", f"Consent to share: {consent.label}", by)
        _audit(concern, "consent", consent.label, by, consent=[before, consent])


def override_consent(
    concern: Concern,
    *,
    reason: OverrideReason,
    explanation: str,
    adult_told: bool,
    not_told_reason: str | None,
    by: User,
) -> ConsentOverride:
    """Share although the adult refused: why, who decided, when, and whether the adult was told."""
    if concern.consent is not ConsentToShare.REFUSED:
        raise ConcernError(WHOLE_RECORD, "Only a refusal of consent can be overridden")
    if concern.consent_overridden:
        raise ConcernError(WHOLE_RECORD, "This refusal has already been overridden")
    if not (explanation or "").strip():
        raise ConcernError("explanation", "Explain why the adult's refusal is being overridden")
    _check_text("explanation", explanation, "Explanation")
    if not adult_told and not (not_told_reason or "").strip():
        raise ConcernError("not_told_reason", "Enter why the adult has not been told")
    override = ConsentOverride(
        reason=reason,
        explanation=explanation.strip(),
        decided_by=by,
        decided_at=utcnow(),
        adult_told=adult_told,
        not_told_reason=None if adult_told else not_told_reason.strip(),
    )
    concern.overrides.append(override)
    _event(concern, "override", f"Refusal of consent overridden: {reason.label}", by)
    _audit(concern, "override", f"consent overridden: {reason.label}", by, reason=reason, adult_told=adult_told)
    return override


# Closing and reopening ------------------------------------------------------------------------


def close_concern(
    concern: Concern,
    *,
    action_result: ActionResult | None,
    risk_outcome: RiskOutcome | None,
    outcomes_achieved: OutcomesAchieved | None,
    adult_feedback: str | None,
    by: User,
) -> None:
    """Close with the outcomes the national return asks for, and the adult's own view."""
    _check_move(concern, S.CLOSED, "closed")
    problems = []
    if action_result is None:
        problems.append(("action_result", "Select the action taken and its result"))
    if risk_outcome is None and (action_result is None or action_result in RISK_FOUND):
        problems.append(("risk_outcome", "Select whether the risk was removed, reduced or remained"))
    if concern.outcomes_expressed and outcomes_achieved is None:
        problems.append(("outcomes_achieved", "Select whether the outcomes the adult wanted were achieved"))
    if concern.msp_asked is None:
        problems.append((WHOLE_RECORD, "Record whether the adult was asked what outcomes they wanted before closing"))
    elif concern.outcomes_expressed and not concern.desired_outcomes:
        problems.append((WHOLE_RECORD, "Record the outcomes the adult wanted, in their own words, before closing"))
    if concern.advocate_required and not concern.advocate_recorded:
        problems.append((WHOLE_RECORD, "Record the independent advocate before closing: the adult needs one to be involved"))
    if adult_feedback is not None and len(adult_feedback) > MAX_TEXT:
        problems.append(("adult_feedback", f"The adult's feedback must be {MAX_TEXT:,} characters or fewer"))
    if problems:
        raise ConcernError(problems[0][0], problems[0][1], problems)
    _move(concern, S.CLOSED, "closed")
    concern.closed_at = utcnow()
    concern.action_result = action_result
    concern.risk_outcome = risk_outcome
    concern.outcomes_achieved = outcomes_achieved if concern.outcomes_expressed else None
    concern.adult_feedback = (adult_feedback or "").strip() or None
    summary = f"Closed: {action_result.label}" + (f"; {risk_outcome.label}" if risk_outcome else "")
    if concern.outcomes_achieved:
        summary += f"; outcomes {concern.outcomes_achieved.label.lower()}"
    _event(concern, "closed", summary, by)
    _audit(
        concern, "close", summary, by,
        action_result=action_result, risk_outcome=risk_outcome, outcomes_achieved=concern.outcomes_achieved,
    )
    notify(NotificationEvent.CONCERN_CLOSED, concern, _audience(concern), actor=by)


def reopen_concern(concern: Concern, *, reason: str, by: User) -> None:
    if not (reason or "").strip():
        raise ConcernError("reason", "Enter why the concern is being reopened")
    _check_text("reason", reason, "Reason")
    _move(concern, S.IN_PROGRESS, "reopened")
    # The earlier closure stays on the timeline; the answers go, so figures never count it twice.
    concern.closed_at = concern.action_result = concern.risk_outcome = None
    concern.outcomes_achieved = concern.adult_feedback = None
    _event(concern, "reopened", f"Reopened: {reason.strip()}", by)
    _audit(concern, "reopen", "reopened", by, reason=reason.strip())
    notify(NotificationEvent.CONCERN_REOPENED, concern, _audience(concern), actor=by)


# Comments -------------------------------------------------------------------------------------


def add_comment(concern: Concern, *, body: str, local_authority_only: bool, by: User) -> Comment:
    body = (body or "").strip()
    if by.membership is None:
        raise ConcernError(WHOLE_RECORD, "Choose the agency you are working for before commenting")
    if not body:
        raise ConcernError("body", "Enter a comment")
    _check_text("body", body, "Comment")
    from portal.policy import sees_local_authority_only_comments

    if local_authority_only and not sees_local_authority_only_comments(by):
        raise ConcernError("local_authority_only", "Only local authority staff can write a comment for the local authority only")
    comment = Comment(body=body, local_authority_only=local_authority_only, author=by, agency_id=by.membership.agency_id, created_at=utcnow())
    concern.comments.append(comment)
    _event(concern, "comment", f"Comment from {by.membership.agency.name}" + (" (local authority only)" if local_authority_only else ""), by)
    _audit(concern, "comment", "comment added", by, local_authority_only=local_authority_only)
    notify(
        NotificationEvent.CONCERN_COMMENT, concern, _audience(concern, local_authority_only=local_authority_only),
        actor=by, restricted=local_authority_only,
    )
    return comment


def services_for_raiser(user: User, area: Area):
    """Services a person may raise a concern about: their own organisation's, or any in the area."""
    query = sa.select(Service).join(Agency, Service.provider_id == Agency.id).where(Agency.area_id == area.id, Service.active)
    if user is not None and user.membership is not None and user.membership.agency.is_provider:
        query = query.where(Service.provider_id == user.membership.agency_id)
    return query.order_by(Service.name)
