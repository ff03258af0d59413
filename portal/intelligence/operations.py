"""Every change to provider intelligence: items, inspections, visits and their improvement plans,
the register's owner and review date, and the risk signal that follows them.

Signals are recomputed for each service touched in a transaction just before it commits (see
:func:`_refresh_touched_before_commit`), so a page never computes them, and an import of many
rows recomputes each service once. A nightly task refreshes every signal for time decay.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal import policy
from portal.agencies.models import Agency, Service
from portal.audit.operations import record
from portal.concerns.models import Concern
from portal.core.codes import AbuseType, AgencyKind, ConcernStatus, DataCategory, KeyQuestion, Rating, TriageDecision
from portal.core.db import utcnow
from portal.core.rules import WHOLE_RECORD, RuleError
from portal.core.workdays import LONDON, london_today
from portal.extensions import db
from portal.intelligence.models import (
    ActionStatus,
    ImprovementAction,
    Inspection,
    IntelligenceItem,
    MonitoringVisit,
    QualityArea,
    QualityScore,
    QualityStandard,
    RegisterEntry,
    RiskBand,
    RiskSignal,
    Severity,
    SourceType,
    VisitScore,
)
from portal.intelligence.risk import ItemFacts, assess, current_rules
from portal.people.models import User

MAX_SUMMARY = 2000
MAX_TEXT = 10000


class IntelligenceError(RuleError):
    pass


def fingerprint(*parts) -> str:
    """A stable digest of an imported record's content, so importing it twice adds it once."""
    text = "\x1f".join("" if part is None else str(getattr(part, "name", part)) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()


# Touched services: signals are recomputed once per service, just before the transaction commits ---

_TOUCHED = "intelligence_touched_services"


def touch(service_id: int) -> None:
    """Mark a service's risk signal as needing recomputation before this transaction commits."""
    db.session.info.setdefault(_TOUCHED, set()).add(service_id)


@event.listens_for(Session, "before_commit")
def _refresh_touched_before_commit(session: Session) -> None:
    touched = session.info.pop(_TOUCHED, None)
    if touched:
        refresh_signals(sorted(touched), session=session)


@event.listens_for(Session, "after_rollback")
def _forget_touched(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


# Items ---------------------------------------------------------------------------------------


@dataclass
class ItemDetails:
    occurred_on: date
    source: SourceType
    key_questions: set[KeyQuestion]
    severity: Severity
    summary: str
    confidential: bool | None = None
    sharing_category: DataCategory = DataCategory.PROVIDER_INTELLIGENCE


def check_item(details: ItemDetails, *, today: date | None = None) -> None:
    """Refuse an item the timeline could not use; every problem found, each on its field."""
    problems = []
    if details.occurred_on > (today or london_today()):
        problems.append(("occurred_on", "The date must be today or in the past"))
    if details.source.recorded_elsewhere:
        problems.append(("source", f"{details.source.label} items are added from their own records, not typed in"))
    if not details.key_questions:
        problems.append(("key_questions", "Select at least one key question it bears on"))
    summary = (details.summary or "").strip()
    if not summary:
        problems.append(("summary", "Enter a summary"))
    elif len(summary) > MAX_SUMMARY:
        problems.append(("summary", f"The summary must be {MAX_SUMMARY:,} characters or fewer"))
    if problems:
        raise IntelligenceError(problems[0][0], problems[0][1], problems)


def record_item(
    service: Service, details: ItemDetails, *, by: User | None, supplied_by: Agency | None, import_id=None,
    fingerprint_: str | None = None, audit: bool = True,
) -> IntelligenceItem:
    """Add an item from a complaint, incident, whistleblower, feedback, workforce figure or review."""
    check_item(details)
    confidential = details.source.confidential_by_default if details.confidential is None else details.confidential
    item = IntelligenceItem(
        service_id=service.id, occurred_on=details.occurred_on, source=details.source,
        key_question_bits=KeyQuestion.to_bits(details.key_questions), severity=details.severity,
        summary=details.summary.strip(), confidential=confidential, sharing_category=details.sharing_category,
        supplied_by_id=supplied_by.id if supplied_by is not None else None,
        recorded_by_id=by.id if by is not None else None, import_id=import_id, fingerprint=fingerprint_,
    )
    db.session.add(item)
    db.session.flush()
    touch(service.id)
    if audit:
        record("intelligence.item.add", f"added a {details.source.label.lower()} item", target=item,
               details={"service_id": service.id, "confidential": confidential}, actor=by)
    return item


def update_item(item: IntelligenceItem, details: ItemDetails, *, by: User) -> None:
    """Change an item typed in by a person; items made from other records change with those records."""
    if item.source.recorded_elsewhere:
        raise IntelligenceError(WHOLE_RECORD, "This item changes with the record it was made from")
    if details.source.recorded_elsewhere:
        raise IntelligenceError("source", f"{details.source.label} items are added from their own records")
    check_item(details)
    item.occurred_on = details.occurred_on
    item.source = details.source
    item.key_question_bits = KeyQuestion.to_bits(details.key_questions)
    item.severity = details.severity
    item.summary = details.summary.strip()
    if details.confidential is not None:
        item.confidential = details.confidential
    item.sharing_category = details.sharing_category
    touch(item.service_id)
    record("intelligence.item.edit", "changed an intelligence item", target=item, actor=by)


def delete_item(item: IntelligenceItem, *, reason: str, by: User) -> None:
    """Take an item off the timeline and out of the signal, keeping it, who and why."""
    if item.source.recorded_elsewhere:
        raise IntelligenceError(WHOLE_RECORD, "This item changes with the record it was made from")
    if not (reason or "").strip():
        raise IntelligenceError("reason", "Enter why the item is being removed")
    item.is_deleted = True
    item.deleted_by_id = by.id
    item.deleted_reason = reason.strip()
    touch(item.service_id)
    record("intelligence.item.delete", "removed an intelligence item", target=item, details={"reason": reason}, actor=by)


# Inspections -----------------------------------------------------------------------------------


@dataclass
class InspectionDetails:
    published_on: date
    overall: Rating | None
    ratings: dict[KeyQuestion, Rating | None]
    inherited: bool = False
    report_type: str | None = None
    url: str | None = None

    def fingerprint(self) -> str:
        return fingerprint(
            self.published_on.isoformat(), self.overall, *(self.ratings.get(q) for q in KeyQuestion), self.inherited
        )


_RATING_SEVERITY = {Rating.INADEQUATE: Severity.SERIOUS, Rating.REQUIRES_IMPROVEMENT: Severity.MODERATE}


def _inspection_item_fields(inspection: Inspection) -> dict:
    ratings = inspection.ratings()
    poor = [question for question, rating in ratings.items() if rating in _RATING_SEVERITY]
    all_ratings = [inspection.overall, *ratings.values()]
    severity = Severity.POSITIVE
    for rating in all_ratings:
        candidate = _RATING_SEVERITY.get(rating)
        if candidate is not None and candidate.rank > severity.rank:
            severity = candidate
    rated = ", ".join(f"{question.label}: {rating.label}" for question, rating in ratings.items() if rating is not None)
    overall = inspection.overall.label if inspection.overall is not None else "no overall rating"
    summary = f"Rated {overall} overall" + (f" ({rated})" if rated else "") + (". Inherited rating" if inspection.inherited else "")
    return {
        "occurred_on": inspection.published_on,
        "key_question_bits": KeyQuestion.to_bits(poor or KeyQuestion),
        "severity": severity,
        "rating": inspection.overall,
        "summary": summary,
    }


def record_inspection(
    service: Service, details: InspectionDetails, *, by: User | None, supplied_by: Agency | None,
    import_id=None, audit: bool = True,
) -> Inspection | None:
    """Add a publication's ratings to the service's history; the same publication twice adds nothing.

    Returns the new inspection, or None when it was already there.
    """
    if details.published_on > london_today():
        raise IntelligenceError("published_on", "The publication date must be today or in the past")
    if details.overall is None and not any(details.ratings.values()):
        raise IntelligenceError("overall", "Enter at least one rating")
    print_ = details.fingerprint()
    exists = db.session.scalar(
        sa.select(Inspection.id).where(Inspection.service_id == service.id, Inspection.fingerprint == print_)
    )
    if exists is not None:
        return None
    inspection = Inspection(
        service_id=service.id, published_on=details.published_on, report_type=details.report_type,
        inherited=details.inherited, url=details.url, overall=details.overall,
        recorded_by_id=by.id if by is not None else None, import_id=import_id, fingerprint=print_,
        **{question.name.lower(): details.ratings.get(question) for question in KeyQuestion},
    )
    db.session.add(inspection)
    db.session.flush()
    db.session.add(IntelligenceItem(
        service_id=service.id, source=SourceType.INSPECTION, inspection_id=inspection.id,
        supplied_by_id=supplied_by.id if supplied_by is not None else None,
        recorded_by_id=by.id if by is not None else None, import_id=import_id,
        **_inspection_item_fields(inspection),
    ))
    touch(service.id)
    if audit:
        record("intelligence.inspection.add", "recorded inspection ratings", target=inspection,
               details={"service_id": service.id, "overall": details.overall}, actor=by)
    return inspection


# Quality standards and contract-monitoring visits ----------------------------------------------

#: The standards a new partnership starts with: 16 standards in 5 areas. Administrators change them.
DEFAULT_STANDARDS = [
    ("Safe care and treatment", KeyQuestion.SAFE, [
        ("S1", "People are protected from abuse and avoidable harm"),
        ("S2", "Risks to people are assessed and managed"),
        ("S3", "There are enough suitably skilled staff"),
        ("S4", "Medicines are managed safely"),
    ]),
    ("Effective support", KeyQuestion.EFFECTIVE, [
        ("E1", "Needs are assessed and care follows current guidance"),
        ("E2", "Staff are trained, supervised and supported"),
        ("E3", "Consent is sought and the Mental Capacity Act is followed"),
    ]),
    ("Caring and dignity", KeyQuestion.CARING, [
        ("C1", "People are treated with kindness, dignity and respect"),
        ("C2", "People are involved in decisions about their care"),
        ("C3", "Privacy and independence are promoted"),
    ]),
    ("Responsive care", KeyQuestion.RESPONSIVE, [
        ("R1", "Care is planned around the person"),
        ("R2", "Complaints are listened to and acted on"),
        ("R3", "People are supported at the end of their life"),
    ]),
    ("Leadership and governance", KeyQuestion.WELL_LED, [
        ("W1", "There is a registered manager and clear leadership"),
        ("W2", "Quality is checked and improved"),
        ("W3", "Notifications and records are complete and on time"),
    ]),
]


def ensure_default_standards(area_id: int) -> list[QualityStandard]:
    """Give an area the default standards if it has none yet; returns its active standards."""
    existing = standards_for(area_id, include_retired=True)
    if existing:
        return [standard for standard in existing if standard.active]
    for position, (name, question, standards) in enumerate(DEFAULT_STANDARDS):
        quality_area = QualityArea(area_id=area_id, name=name, key_question=question, position=position)
        db.session.add(quality_area)
        for index, (code, title) in enumerate(standards):
            quality_area.standards.append(
                QualityStandard(area_id=area_id, code=code, name=title, position=position * 100 + index)
            )
    db.session.flush()
    return standards_for(area_id)


def standards_for(area_id: int, *, include_retired: bool = False) -> list[QualityStandard]:
    query = (
        sa.select(QualityStandard)
        .join(QualityArea, QualityStandard.quality_area_id == QualityArea.id)
        .where(QualityStandard.area_id == area_id)
        .order_by(QualityArea.position, QualityStandard.position, QualityStandard.id)
    )
    if not include_retired:
        query = query.where(QualityStandard.active)
    return list(db.session.scalars(query))


@dataclass
class ActionDetails:
    description: str
    owner: str
    due_on: date


@dataclass
class VisitDetails:
    visited_on: date
    officer_name: str
    findings: str
    scores: dict[int, QualityScore]
    actions: list[ActionDetails]

    def fingerprint(self) -> str:
        return fingerprint(
            self.visited_on.isoformat(), self.officer_name.strip(), self.findings.strip(),
            *(f"{standard}={score.name}" for standard, score in sorted(self.scores.items())),
            *(f"{a.description.strip()}|{a.owner.strip()}|{a.due_on.isoformat()}" for a in self.actions),
        )


_SCORE_SEVERITY = {QualityScore.POOR: Severity.HIGH, QualityScore.REQUIRES_IMPROVEMENT: Severity.MODERATE}


def _visit_item_fields(visit: MonitoringVisit, standards: dict[int, QualityStandard]) -> dict:
    counts: dict[QualityScore, int] = defaultdict(int)
    questions: set[KeyQuestion] = set()
    severity = Severity.POSITIVE
    for score in visit.scores:
        counts[score.score] += 1
        candidate = _SCORE_SEVERITY.get(score.score)
        if candidate is not None:
            questions.add(standards[score.standard_id].quality_area.key_question)
            if candidate.rank > severity.rank:
                severity = candidate
    tally = ", ".join(f"{counts[score]} {score.label}" for score in QualityScore if counts[score])
    summary = f"Contract-monitoring visit by {visit.officer_name}: {tally or 'no standards scored'}."
    if visit.findings:
        summary += " " + visit.findings.strip()[:400]
    return {
        "occurred_on": visit.visited_on,
        "key_question_bits": KeyQuestion.to_bits(questions or KeyQuestion),
        "severity": severity,
        "summary": summary,
    }


def check_visit(details: VisitDetails, standards: dict[int, QualityStandard]) -> None:
    problems = []
    if details.visited_on > london_today():
        problems.append(("visited_on", "The visit date must be today or in the past"))
    if not (details.officer_name or "").strip():
        problems.append(("officer_name", "Enter the visiting officer's name"))
    elif len(details.officer_name.strip()) > 200:
        problems.append(("officer_name", "The officer's name must be 200 characters or fewer"))
    if len(details.findings or "") > MAX_TEXT:
        problems.append(("findings", f"Findings must be {MAX_TEXT:,} characters or fewer"))
    unknown = set(details.scores) - set(standards)
    if unknown:
        problems.append(("scores", "Score only the standards in use in this area"))
    if not details.scores:
        problems.append(("scores", "Score at least one standard"))
    for index, action in enumerate(details.actions):
        if not action.description.strip() or not action.owner.strip():
            problems.append((f"actions-{index}", f"Action {index + 1}: enter what must be done and who owns it"))
    if problems:
        raise IntelligenceError(problems[0][0], problems[0][1], problems)


def record_visit(
    service: Service, details: VisitDetails, *, commissioner: Agency, by: User | None,
    import_id=None, audit: bool = True,
) -> MonitoringVisit | None:
    """Record a contract-monitoring visit, its scores and improvement plan; a repeated import adds nothing."""
    standards = {standard.id: standard for standard in standards_for(service.provider.area_id)}
    check_visit(details, standards)
    print_ = details.fingerprint()
    if import_id is not None and db.session.scalar(
        sa.select(MonitoringVisit.id).where(MonitoringVisit.service_id == service.id, MonitoringVisit.fingerprint == print_)
    ):
        return None
    visit = MonitoringVisit(
        service_id=service.id, commissioner_id=commissioner.id, visited_on=details.visited_on,
        officer_name=details.officer_name.strip(), findings=(details.findings or "").strip(),
        recorded_by_id=by.id if by is not None else None, import_id=import_id,
        fingerprint=print_ if import_id is not None else None,
    )
    visit.scores = [VisitScore(standard_id=standard_id, score=score) for standard_id, score in details.scores.items()]
    visit.actions = [
        ImprovementAction(description=a.description.strip(), owner=a.owner.strip(), due_on=a.due_on, status=ActionStatus.OPEN)
        for a in details.actions
    ]
    db.session.add(visit)
    db.session.flush()
    db.session.add(IntelligenceItem(
        service_id=service.id, source=SourceType.CONTRACT_MONITORING, visit_id=visit.id,
        supplied_by_id=commissioner.id, recorded_by_id=by.id if by is not None else None, import_id=import_id,
        **_visit_item_fields(visit, standards),
    ))
    touch(service.id)
    if audit:
        record("intelligence.visit.add", "recorded a contract-monitoring visit", target=visit,
               details={"service_id": service.id, "actions": len(details.actions)}, actor=by)
    return visit


def add_action(visit: MonitoringVisit, details: ActionDetails, *, by: User) -> ImprovementAction:
    if not details.description.strip():
        raise IntelligenceError("description", "Enter what must be done")
    if not details.owner.strip():
        raise IntelligenceError("owner", "Enter who owns the action")
    action = ImprovementAction(
        visit=visit, description=details.description.strip(), owner=details.owner.strip(), due_on=details.due_on,
        status=ActionStatus.OPEN,
    )
    db.session.add(action)
    db.session.flush()
    record("intelligence.action.add", "added an improvement action", target=action, actor=by)
    return action


def respond_to_action(action: ImprovementAction, *, response: str, by: User) -> None:
    """The provider's manager says what they have done about an action."""
    if action.status is ActionStatus.COMPLETED:
        raise IntelligenceError(WHOLE_RECORD, "This action is completed; it can no longer be answered")
    if not (response or "").strip():
        raise IntelligenceError("response", "Enter what has been done")
    if len(response) > MAX_TEXT:
        raise IntelligenceError("response", f"The response must be {MAX_TEXT:,} characters or fewer")
    action.provider_response = response.strip()
    action.responded_by_id = by.id
    action.responded_at = utcnow()
    action.status = ActionStatus.RESPONDED
    record("intelligence.action.respond", "answered an improvement action", target=action, actor=by)


def complete_action(action: ImprovementAction, *, by: User) -> None:
    """The commissioner accepts the provider's response and closes the action."""
    if action.status is not ActionStatus.RESPONDED:
        raise IntelligenceError(WHOLE_RECORD, "An action can be completed once the provider has responded")
    action.status = ActionStatus.COMPLETED
    action.completed_by_id = by.id
    action.completed_at = utcnow()
    record("intelligence.action.complete", "completed an improvement action", target=action, actor=by)


def _check_standard_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise IntelligenceError("name", "Enter the standard's name")
    if len(name) > 200:
        raise IntelligenceError("name", "The standard's name must be 200 characters or fewer")
    return name


def add_standard(quality_area: QualityArea, *, code: str, name: str, by: User) -> QualityStandard:
    """Add a standard that visits score from now on; its code is the column name in the import template."""
    code = (code or "").strip().upper()
    problems = []
    if not code or len(code) > 12 or not code.replace("-", "").isalnum():
        problems.append(("code", "Enter a short code of letters and numbers, 12 characters or fewer, like S5"))
    elif db.session.scalar(sa.select(QualityStandard.id).where(
        QualityStandard.area_id == quality_area.area_id, sa.func.upper(QualityStandard.code) == code
    )):
        problems.append(("code", f"There is already a standard with the code {code}"))
    try:
        name = _check_standard_name(name)
    except IntelligenceError as error:
        problems.extend(error.problems)
    if problems:
        raise IntelligenceError(problems[0][0], problems[0][1], problems)
    last = db.session.scalar(
        sa.select(sa.func.max(QualityStandard.position)).where(QualityStandard.quality_area_id == quality_area.id)
    )
    standard = QualityStandard(
        area_id=quality_area.area_id, quality_area_id=quality_area.id, code=code, name=name,
        position=(last + 1) if last is not None else quality_area.position * 100,
    )
    db.session.add(standard)
    db.session.flush()
    record("intelligence.standard.add", f"added quality standard {code}", target=standard, actor=by)
    return standard


def rename_standard(standard: QualityStandard, *, name: str, by: User) -> None:
    """Reword a standard; visits already scored against it keep their scores."""
    standard.name = _check_standard_name(name)
    record("intelligence.standard.rename", f"renamed quality standard {standard.code}", target=standard, actor=by)


def set_standard_active(standard: QualityStandard, *, active: bool, by: User) -> None:
    """Retire a standard (new visits no longer score it; old visits keep it) or bring it back."""
    standard.active = active
    verb = "restored" if active else "retired"
    record(f"intelligence.standard.{verb[:-1]}", f"{verb} quality standard {standard.code}", target=standard, actor=by)


# Concerns appear on the timeline automatically, with nothing about the adult -------------------

_CONCERN_SEVERITY = {"RED": Severity.SERIOUS, "AMBER": Severity.HIGH, "GREEN": Severity.MODERATE}


def _concern_item_fields(concern: Concern) -> dict:
    severity = _CONCERN_SEVERITY.get(concern.immediate_risk.name if concern.immediate_risk else "", Severity.MODERATE)
    if concern.triage_decision in {TriageDecision.NO_FURTHER_ACTION, TriageDecision.SIGNPOSTED}:
        severity = Severity.LOW
    questions = {KeyQuestion.SAFE}
    if AbuseType.ORGANISATIONAL in concern.abuse_types:
        questions.add(KeyQuestion.WELL_LED)
    if AbuseType.NEGLECT in concern.abuse_types:
        questions.add(KeyQuestion.CARING)
    types = ", ".join(sorted(t.label for t in concern.abuse_types)) or "type not yet known"
    state = concern.triage_decision.label if concern.triage_decision else concern.status.label
    if concern.status is ConcernStatus.CLOSED and concern.risk_outcome is not None:
        state = f"closed: {concern.risk_outcome.label.lower()}"
    raised_on = concern.raised_at.astimezone(LONDON).date()
    return {
        "occurred_on": raised_on,
        "key_question_bits": KeyQuestion.to_bits(questions),
        "severity": severity,
        "summary": f"Safeguarding concern {concern.reference}: {types} ({state})",
        # The provider sees only the concerns it raised itself, as on the concerns pages.
        "confidential": concern.raising_agency_id != concern.provider_id,
    }


def sync_concern_item(concern: Concern) -> None:
    """Keep the concern's timeline item in step with it: its reference, types and state, never the adult."""
    if concern.service_id is None:
        return
    fields = _concern_item_fields(concern)
    item = db.session.scalar(sa.select(IntelligenceItem).where(IntelligenceItem.concern_id == concern.id))
    if item is None:
        supplier = concern.raising_agency_id or db.session.scalar(
            sa.select(Agency.id).where(Agency.area_id == concern.area_id, Agency.kind == AgencyKind.LOCAL_AUTHORITY)
            .order_by(Agency.id).limit(1)
        )
        item = IntelligenceItem(
            service_id=concern.service_id, source=SourceType.SAFEGUARDING_CONCERN, concern_id=concern.id,
            supplied_by_id=supplier, sharing_category=DataCategory.PROVIDER_INTELLIGENCE, **fields,
        )
        db.session.add(item)
    else:
        for name, value in fields.items():
            setattr(item, name, value)
    touch(concern.service_id)


def sync_escalation_item(escalation) -> None:
    """Keep an escalation about a service on its timeline and in its risk signal: its reference,
    stage and state, the agencies, never the adult. Harm said to be imminent is serious; a
    disagreement that reached the senior stages is high; a withdrawn one is low."""
    from portal.escalations.models import EscalationState

    if escalation.state is EscalationState.WITHDRAWN:
        severity = Severity.LOW
    elif escalation.harm_imminent:
        severity = Severity.SERIOUS
    elif escalation.stage >= 3:
        severity = Severity.HIGH
    else:
        severity = Severity.MODERATE
    fields = {
        "occurred_on": escalation.raised_at.astimezone(LONDON).date(),
        "key_question_bits": escalation.key_question_bits,
        "severity": severity,
        "summary": (
            f"Escalation {escalation.reference} from {escalation.raising_agency.name} to "
            f"{escalation.receiving_agency.name}: stage {escalation.stage}, {escalation.state.label.lower()}"
        ),
        # The provider is told of escalations it is a party to; others about it stay confidential.
        "confidential": escalation.provider_id not in {escalation.raising_agency_id, escalation.receiving_agency_id},
    }
    item = db.session.scalar(sa.select(IntelligenceItem).where(IntelligenceItem.escalation_id == escalation.id))
    if item is None:
        item = IntelligenceItem(
            service_id=escalation.service_id, source=SourceType.ESCALATION, escalation_id=escalation.id,
            supplied_by_id=escalation.raising_agency_id, sharing_category=DataCategory.PROVIDER_INTELLIGENCE, **fields,
        )
        db.session.add(item)
    else:
        for name, value in fields.items():
            setattr(item, name, value)
    touch(escalation.service_id)


# The register's human side -----------------------------------------------------------------------


def set_register_entry(
    service: Service, *, owner: User | None, review_on: date | None, note: str | None, by: User,
    version: int | None = None,
) -> RegisterEntry:
    """Name the risk's owner and its next review date."""
    if review_on is not None and review_on < london_today() - timedelta(days=365):
        raise IntelligenceError("review_on", "The review date must be within the last year or in the future")
    if note is not None and len(note) > MAX_TEXT:
        raise IntelligenceError("note", f"The note must be {MAX_TEXT:,} characters or fewer")
    entry = db.session.scalar(sa.select(RegisterEntry).where(RegisterEntry.service_id == service.id))
    if entry is None:
        entry = RegisterEntry(service_id=service.id)
        db.session.add(entry)
    elif version is not None and entry.version != version:
        from portal.core.concurrency import ConcurrentEditError

        raise ConcurrentEditError("Someone else changed this register entry while you were editing it. Check it and try again.")
    entry.owner_id = owner.id if owner is not None else None
    entry.review_on = review_on
    entry.note = (note or "").strip() or None
    entry.updated_by_id = by.id
    db.session.flush()
    record("intelligence.register.update", "updated a risk register entry", target=entry,
           details={"service_id": service.id, "owner_id": entry.owner_id, "review_on": review_on}, actor=by)
    return entry


# Risk signals ------------------------------------------------------------------------------------

_REFRESH_CHUNK = 400


def refresh_signals(service_ids, *, today: date | None = None, session=None) -> int:
    """Recompute and store the risk signals of these services as of ``today``; returns how many."""
    session = session or db.session
    rules = current_rules()
    today = today or london_today()
    ids = list(service_ids)
    for start in range(0, len(ids), _REFRESH_CHUNK):
        _refresh_chunk(session, rules, ids[start:start + _REFRESH_CHUNK], today)
    return len(ids)


def _refresh_chunk(session, rules, ids: list[int], today: date) -> None:
    horizon = today - timedelta(days=rules.horizon_days)
    item = IntelligenceItem
    rows = session.execute(
        sa.select(item.service_id, item.sharing_category, item.id, item.occurred_on, item.source, item.severity,
                  item.key_question_bits, item.summary, item.confidential)
        .where(item.service_id.in_(ids), item.is_deleted.is_(False), item.occurred_on >= horizon,
               item.occurred_on <= today)
    )
    facts: dict[int, list[ItemFacts]] = defaultdict(list)
    # Items filed as personal safeguarding data: never seen by those who read the signal without
    # confidential items, and marked in the full signal's reasons for those not party to such data.
    personal: set[int] = set()
    for service_id, category, *fields in rows:
        facts[service_id].append(ItemFacts(*fields))
        if category is DataCategory.PERSONAL_SAFEGUARDING:
            personal.add(fields[0])

    latest: dict[int, tuple[Rating | None, date]] = {}
    for service_id, overall, published_on in session.execute(
        sa.select(Inspection.service_id, Inspection.overall, Inspection.published_on)
        .where(Inspection.service_id.in_(ids))
        .order_by(Inspection.service_id, Inspection.published_on, Inspection.id)
    ):
        latest[service_id] = (overall, published_on)
    visits = dict(session.execute(
        sa.select(MonitoringVisit.service_id, sa.func.max(MonitoringVisit.visited_on))
        .where(MonitoringVisit.service_id.in_(ids)).group_by(MonitoringVisit.service_id)
    ).all())
    existing = {
        (signal.service_id, signal.includes_confidential): signal
        for signal in session.scalars(sa.select(RiskSignal).where(RiskSignal.service_id.in_(ids)))
    }
    now = utcnow()
    turned_red: list[int] = []
    for service_id in ids:
        everything = facts.get(service_id, [])
        for includes_confidential in (True, False):
            items = everything if includes_confidential else [
                f for f in everything if not f.confidential and f.id not in personal
            ]
            result = assess(rules, items, today)
            for reason in result.reasons:
                if reason["item_id"] in personal:
                    reason["personal"] = True
            signal = existing.get((service_id, includes_confidential))
            if signal is None:
                signal = RiskSignal(service_id=service_id, includes_confidential=includes_confidential)
                session.add(signal)
            if includes_confidential and result.band is RiskBand.RED and signal.band is not RiskBand.RED:
                turned_red.append(service_id)
            signal.score = result.score
            signal.likelihood = result.likelihood
            signal.consequence = result.consequence
            signal.band = result.band
            signal.converging_bits = result.converging_bits
            signal.reasons = result.reasons
            signal.top_reasons = result.reasons[:RiskSignal.TOP_REASONS]
            signal.reason_count = len(result.reasons)
            rating, rated_on = latest.get(service_id, (None, None))
            signal.latest_rating = rating
            signal.latest_rating_on = rated_on
            signal.last_visit_on = visits.get(service_id)
            signal.computed_at = now
            signal.computed_for = today
    if turned_red and session is db.session():
        _tell_turned_red(turned_red)


def _tell_turned_red(service_ids: list[int]) -> None:
    """A service whose full risk signal has just become Red: its commissioners and the area's
    safeguarding leads are told (the "service" audience), naming the service, never an item."""
    from portal.notifications.models import NotificationEvent
    from portal.notifications.operations import record_intent

    for service in db.session.scalars(sa.select(Service).where(Service.id.in_(service_ids))):
        audience = policy.notification_audience_ids("service", service.id)
        if not audience:
            continue
        record_intent(
            NotificationEvent.SERVICE_TURNED_RED, subject_type="service", subject_id=service.id,
            summary=f"{service.name} is now Red on the risk register", link=f"/services/{service.id}",
            recipients=db.session.scalars(sa.select(User).where(User.id.in_(audience))).all(),
        )


def refresh_outdated_signals(*, today: date | None = None, batch: int = 400) -> int:
    """The nightly refresh for time decay: every service whose signals were computed before ``today``
    (or never). Commits per batch; running it twice in a day does nothing the second time."""
    today = today or london_today()
    fresh = sa.select(RiskSignal.service_id).where(RiskSignal.computed_for >= today)
    ids = list(db.session.scalars(sa.select(Service.id).where(Service.id.not_in(fresh)).order_by(Service.id)))
    for start in range(0, len(ids), batch):
        refresh_signals(ids[start:start + batch], today=today)
        db.session.commit()
    return len(ids)
