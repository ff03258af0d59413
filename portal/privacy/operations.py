"""Every change the personal-data controls make: breaking glass, reviewing it, retention settings
and the redaction of closed concerns past their retention.

Like every module's operations, each checks its rules, changes state and writes the audit trail
in the caller's transaction; only :func:`redact_expired`, a scheduled task's body, commits (once
per adult or concern, so that one failure loses nothing else).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from portal import policy
from portal.agencies.models import Agency, Area
from portal.audit.operations import record
from portal.concerns.models import Adult, Comment, Concern, ConcernEvent, ConsentOverride, DesiredOutcome
from portal.core.codes import AgencyKind, ConcernStatus
from portal.core.db import utcnow
from portal.core.rules import WHOLE_RECORD, RuleError
from portal.extensions import db
from portal.notifications.models import NotificationEvent
from portal.notifications.operations import record_intent
from portal.people.models import User
from portal.privacy.models import REDACTED, BreakGlassGrant, Redaction, RetentionCategory, RetentionSetting

#: Fewest words a reason for breaking glass may have: enough to say what the emergency is.
MIN_REASON_WORDS = 5
MAX_TEXT = 10_000
#: The shortest and longest retention an area may set, in months.
MIN_MONTHS, MAX_MONTHS = 1, 1200


class PrivacyError(RuleError):
    """A change the personal-data rules do not allow; the message explains why."""


def _words(text: str | None) -> int:
    return len(re.findall(r"\w+", text or ""))


# Break glass ----------------------------------------------------------------------------------


def break_glass(concern: Concern, *, reason: str, by: User) -> BreakGlassGrant:
    """Give the person, in the role they act in, sight of the adult's withheld details for a while;
    audited as its own event and told at once to the area's and their own agency's safeguarding leads."""
    reason = (reason or "").strip()
    if _words(reason) < MIN_REASON_WORDS:
        raise PrivacyError("reason", f"Explain the emergency in at least {MIN_REASON_WORDS} words")
    if len(reason) > MAX_TEXT:
        raise PrivacyError("reason", f"The reason must be {MAX_TEXT:,} characters or fewer")
    membership = by.membership
    if membership is None:
        raise PrivacyError(WHOLE_RECORD, "Choose the agency you are working for first")
    withheld = policy.adult_details_disclosure(by, concern)
    if withheld.allowed:
        raise PrivacyError(WHOLE_RECORD, "You can already see the adult's details on this concern")
    now = utcnow()
    grant = BreakGlassGrant(
        concern=concern, user_id=by.id, membership_id=membership.id, agency_id=membership.agency_id, reason=reason,
        granted_at=now, expires_at=now + timedelta(minutes=current_app.config["BREAK_GLASS_MINUTES"]),
    )
    db.session.add(grant)
    db.session.flush()
    who = f"{by.name}, {membership.agency.name}"
    concern.events.append(ConcernEvent(
        occurred_at=now, actor_id=by.id, agency_id=membership.agency_id, kind="break_glass",
        summary=f"Break glass: {who} saw the adult's withheld details in an emergency",
    ))
    record(
        "privacy.break_glass", f"{concern.reference}: broke glass to see the adult's withheld details",
        target=concern, actor=by,
        details={"grant_id": grant.id, "until": grant.expires_at, "reason": reason, "withheld": withheld.withheld_because,
                 "role": membership.role, "adult_id": concern.adult_id},
    )
    leads = db.session.scalars(policy.break_glass_audience(concern.area_id, membership.agency_id)).all()
    record_intent(
        NotificationEvent.BREAK_GLASS_USED, subject_type="break_glass", subject_id=grant.id,
        summary=f"Break glass on {concern.reference} by {who}: review it"[:300],
        link=f"/privacy/break-glass#grant-{grant.id}", recipients=leads, actor=by,
    )
    return grant


def review_break_glass(grant: BreakGlassGrant, *, note: str, by: User) -> None:
    """A lead of the area records that a use of break glass was looked at, and what they found."""
    note = (note or "").strip()
    if grant.reviewed_at is not None:
        raise PrivacyError(WHOLE_RECORD, "This use of break glass has already been reviewed")
    if not note:
        raise PrivacyError("note", "Enter what the review found")
    if len(note) > MAX_TEXT:
        raise PrivacyError("note", f"The note must be {MAX_TEXT:,} characters or fewer")
    grant.reviewed_at, grant.reviewed_by_id, grant.review_note = utcnow(), by.id, note
    record(
        "privacy.break_glass_reviewed", f"{grant.concern.reference}: use of break glass by {grant.user.email} reviewed",
        target=grant, actor=by, details={"note": note, "concern_id": grant.concern_id},
    )


# Retention settings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Retention:
    """How long an area keeps one category: the months in force and the setting they come from."""

    category: RetentionCategory
    months: int
    setting: RetentionSetting | None

    @property
    def is_default(self) -> bool:
        return self.setting is None


def retention_for(area_id: int) -> dict[RetentionCategory, Retention]:
    """Each category's retention in an area: its newest setting, or the category's default."""
    newest = (
        sa.select(sa.func.max(RetentionSetting.id))
        .where(RetentionSetting.area_id == area_id)
        .group_by(RetentionSetting.category)
    )
    settings = {s.category: s for s in db.session.scalars(sa.select(RetentionSetting).where(RetentionSetting.id.in_(newest)))}
    return {
        category: Retention(category, settings[category].months if category in settings else category.default_months,
                            settings.get(category))
        for category in RetentionCategory
    }


def set_retention(area: Area, months: dict[RetentionCategory, int | None], *, by: User) -> list[RetentionCategory]:
    """Record an area's new retention periods; each change is a new setting, audited. Returns what changed."""
    problems = []
    for category, value in months.items():
        if value is None:
            problems.append((category.name.lower(), f"Enter how many months to keep {category.label.lower()}"))
        elif not MIN_MONTHS <= value <= MAX_MONTHS:
            problems.append((category.name.lower(), f"Months for {category.label.lower()} must be between {MIN_MONTHS} and {MAX_MONTHS:,}"))
    if problems:
        raise PrivacyError(problems[0][0], problems[0][1], problems)
    current = retention_for(area.id)
    changed = []
    for category, value in months.items():
        if current[category].months == value:
            continue
        setting = RetentionSetting(area_id=area.id, category=category, months=value, set_at=utcnow(), set_by_id=by.id)
        db.session.add(setting)
        record(
            "privacy.retention_set", f"{area.name}: {category.label} kept {value} months after a concern closes",
            target=setting, actor=by, details={"category": category, "before": current[category].months, "after": value},
        )
        changed.append(category)
    return changed


def retention_history(area_id: int, limit: int = 50) -> list[RetentionSetting]:
    return list(db.session.scalars(
        sa.select(RetentionSetting).where(RetentionSetting.area_id == area_id)
        .order_by(RetentionSetting.id.desc()).limit(limit)
    ))


# Redaction ------------------------------------------------------------------------------------


def months_before(moment: datetime, months: int) -> datetime:
    """The same time ``months`` calendar months earlier (the 31st becomes the month's last day)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    return moment.replace(year=year, month=month + 1, day=min(moment.day, calendar.monthrange(year, month + 1)[1]))


def _closed_before(cutoff: datetime):
    return sa.and_(Concern.status == ConcernStatus.CLOSED, Concern.closed_at <= cutoff)


def _not_redacted(category: RetentionCategory):
    done = sa.select(Redaction.id).where(Redaction.concern_id == Concern.id, Redaction.category == category)
    return ~done.exists()


def _locked(query):
    """The query's rows locked until the transaction ends (PostgreSQL; SQLite has one writer anyway)."""
    return query.with_for_update() if db.session.get_bind().dialect.name == "postgresql" else query


def _council_id(area_id: int) -> int | None:
    """The area's local authority: its administrators read the audit trail of what redaction did."""
    return db.session.scalar(
        sa.select(Agency.id).where(Agency.area_id == area_id, Agency.kind == AgencyKind.LOCAL_AUTHORITY)
        .order_by(Agency.id).limit(1)
    )


def redact_expired(now: datetime | None = None) -> int:
    """Redact every category of personal details of closed concerns past their area's retention.

    Safe to run twice or side by side: each adult or concern is re-read under a row lock and
    checked again, and the (concern, category) redaction row can exist only once. A reopened
    concern is not closed, so it is left alone. Returns the number of redactions made.
    """
    now = now or utcnow()
    made = 0
    for area_id in db.session.scalars(sa.select(Area.id).order_by(Area.id)).all():
        council_id = _council_id(area_id)
        for category, retention in retention_for(area_id).items():
            cutoff = months_before(now, retention.months)
            if category is RetentionCategory.ADULT_DETAILS:
                made += _redact_adults(area_id, retention, cutoff, now, council_id)
            else:
                made += _redact_concerns(area_id, category, retention, cutoff, now, council_id)
    db.session.commit()
    return made


def _redact_concerns(area_id, category, retention: Retention, cutoff, now, council_id) -> int:
    due = db.session.scalars(
        sa.select(Concern.id).where(Concern.area_id == area_id, _closed_before(cutoff), _not_redacted(category))
        .order_by(Concern.id)
    ).all()
    db.session.commit()
    made = 0
    for concern_id in due:
        concern = db.session.scalar(_locked(sa.select(Concern).where(
            Concern.id == concern_id, _closed_before(cutoff), _not_redacted(category))))
        if concern is None:
            db.session.rollback()
            continue
        SCRUBBERS[category](concern)
        made += _finish([concern], category, retention, now, council_id)
    return made


def _redact_adults(area_id, retention: Retention, cutoff, now, council_id) -> int:
    """The adult's details go only once every concern about them is closed and past retention: a
    concern still open, or closed more recently, still needs them."""
    category = RetentionCategory.ADULT_DETAILS
    live = sa.select(Concern.id).where(Concern.adult_id == Adult.id, ~_closed_before(cutoff))
    pending = sa.select(Concern.id).where(Concern.adult_id == Adult.id, _not_redacted(category))
    due = db.session.scalars(
        sa.select(Adult.id).where(Adult.area_id == area_id, ~live.exists(), pending.exists()).order_by(Adult.id)
    ).all()
    db.session.commit()
    made = 0
    for adult_id in due:
        adult = db.session.scalar(_locked(sa.select(Adult).where(Adult.id == adult_id, ~live.exists(), pending.exists())))
        if adult is None:
            db.session.rollback()
            continue
        concerns = db.session.scalars(_locked(
            sa.select(Concern).where(Concern.adult_id == adult.id, _not_redacted(category)).order_by(Concern.id)
        )).all()
        bands = {concern.id: _age_band(concern.id) for concern in concerns}
        for concern in concerns:
            _scrub_narrative(concern, adult)
        for name in ADULT_FIELDS:
            setattr(adult, name, None)
        record("privacy.redact", f"Personal details of an adult redacted after {retention.months} months",
               target=adult, actor=None, agency_id=council_id,
               details={"category": category, "months": retention.months, "concerns": sorted(bands)})
        made += _finish(concerns, category, retention, now, council_id, bands)
    return made


def _age_band(concern_id: int) -> int | None:
    from portal.reports.msp import age_band_number

    return age_band_number(concern_id)


def _finish(concerns, category, retention: Retention, now, council_id, bands=None) -> int:
    """Record each concern's redaction and its audit event, and commit; a redaction someone else
    made first (the unique row) means this one is dropped."""
    for concern in concerns:
        db.session.add(Redaction(
            concern_id=concern.id, category=category, redacted_at=now, months=retention.months,
            setting_id=retention.setting.id if retention.setting else None, age_band=(bands or {}).get(concern.id),
        ))
        record(
            "privacy.redact", f"{concern.reference}: {category.label.lower()} redacted after {retention.months} months",
            target=concern, actor=None, agency_id=council_id,
            details={"category": category, "months": retention.months, "setting_id": retention.setting.id if retention.setting else None},
        )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return 0
    return len(concerns)


#: The adult's own record: emptied (sex and primary support reason stay, for the national figures).
ADULT_FIELDS = ("name", "date_of_birth", "nhs_number", "address", "postcode", "communication_needs", "preferred_language")


def _patterns(adult: Adult) -> list[re.Pattern]:
    """What names the adult in free text: their full name and each part of it, NHS number and postcode."""
    found = []
    name = (adult.name or "").strip()
    if name:
        found.append(re.escape(name))
        found += [re.escape(part) for part in re.split(r"[\s\-]+", name) if len(part) >= 2]
    if adult.nhs_number:
        digits = adult.nhs_number
        found.append(r"\s?".join(re.escape(d) for d in digits))
    if adult.postcode:
        compact = adult.postcode.replace(" ", "")
        found.append(re.escape(compact[:-3]) + r"\s?" + re.escape(compact[-3:]))
    return [re.compile(rf"(?<!\w){pattern}(?!\w)", re.IGNORECASE) for pattern in found]


def scrub(text: str | None, patterns: list[re.Pattern], limit: int | None = None) -> str | None:
    """Text with every match of ``patterns`` replaced by ``[redacted]``."""
    if not text:
        return text
    for pattern in patterns:
        text = pattern.sub(REDACTED, text)
    return text[:limit] if limit else text


def _scrub_narrative(concern: Concern, adult: Adult) -> None:
    patterns = _patterns(adult)
    if not patterns:
        return
    for name in ("what_happened", "immediate_action", "triage_reason"):
        setattr(concern, name, scrub(getattr(concern, name), patterns))
    for comment in db.session.scalars(sa.select(Comment).where(Comment.concern_id == concern.id)):
        comment.body = scrub(comment.body, patterns)
    for event in db.session.scalars(sa.select(ConcernEvent).where(ConcernEvent.concern_id == concern.id)):
        event.summary = scrub(event.summary, patterns, 500)
    for override in db.session.scalars(sa.select(ConsentOverride).where(ConsentOverride.concern_id == concern.id)):
        override.explanation = scrub(override.explanation, patterns)
        override.not_told_reason = scrub(override.not_told_reason, patterns)


#: The adult's words and wishes on a concern: replaced, not emptied, where the figures or the rules
#: ask whether something was recorded (an advocate arranged, a best-interests decision made).
VOICE_FIELDS = (
    "adult_views", "preferred_contact", "preferred_meeting_place", "best_interests_decision", "past_present_wishes",
    "adult_feedback", "advocate_name", "advocate_organisation",
)


def _redact_voice(concern: Concern) -> None:
    from portal.escalations.models import Escalation

    for name in VOICE_FIELDS:
        if getattr(concern, name):
            setattr(concern, name, REDACTED)
    for outcome in db.session.scalars(sa.select(DesiredOutcome).where(DesiredOutcome.concern_id == concern.id)):
        outcome.words = REDACTED
    for escalation in db.session.scalars(sa.select(Escalation).where(Escalation.concern_id == concern.id)):
        if escalation.adult_view:
            escalation.adult_view = REDACTED


def _redact_reporter(concern: Concern) -> None:
    concern.reporter_name = concern.reporter_contact = concern.reporter_relationship = None


def _redact_guests(concern: Concern) -> None:
    from portal.meetings.models import Attendee, Meeting

    guests = sa.select(Attendee).join(Meeting, Attendee.meeting_id == Meeting.id).where(
        Meeting.concern_id == concern.id, Attendee.user_id.is_(None)
    )
    for guest in db.session.scalars(guests):
        guest.guest_name = REDACTED
        guest.guest_email = None


SCRUBBERS = {
    RetentionCategory.ADULT_VOICE: _redact_voice,
    RetentionCategory.REPORTER_CONTACT: _redact_reporter,
    RetentionCategory.MEETING_GUESTS: _redact_guests,
}


def redactions_of(concern: Concern) -> list[Redaction]:
    """What has been redacted from a concern, oldest first (for its page)."""
    return list(db.session.scalars(
        sa.select(Redaction).where(Redaction.concern_id == concern.id).order_by(Redaction.redacted_at, Redaction.id)
    ))
