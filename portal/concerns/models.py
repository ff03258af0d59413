"""Safeguarding concerns, the adult they are about, and the Making Safeguarding Personal record."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency, Area, Service
from portal.core.codes import (
    RAG,
    AbuseType,
    ActionResult,
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
    Sex,
    TriageDecision,
)
from portal.core.db import TimestampMixin, UTCDateTime, VersionedMixin, enum_column, utcnow
from portal.extensions import db
from portal.people.models import User


class Adult(TimestampMixin, VersionedMixin, db.Model):
    """The adult a concern is about. Personal data: shown only where the policy layer allows."""

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    #: Empty when a member of the public knew where the adult lives but not their name.
    name: Mapped[str | None] = mapped_column(sa.String(200))
    date_of_birth: Mapped[date | None]
    #: Ten digits, checked with the NHS number's modulus 11 check digit.
    nhs_number: Mapped[str | None] = mapped_column(sa.String(10), index=True)
    sex: Mapped[Sex | None] = mapped_column(enum_column(Sex))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    postcode: Mapped[str | None] = mapped_column(sa.String(8))
    communication_needs: Mapped[str | None] = mapped_column(sa.Text)
    preferred_language: Mapped[str | None] = mapped_column(sa.String(100))
    primary_support_reason: Mapped[PrimarySupportReason | None] = mapped_column(enum_column(PrimarySupportReason))

    area: Mapped[Area] = relationship()
    concerns: Mapped[list[Concern]] = relationship(back_populates="adult")


class ReferenceCounter(db.Model):
    """The last concern number issued in a year; updating the row serialises concurrent raisers."""

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class Concern(TimestampMixin, VersionedMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The human reference, such as C-2026-000123.
    reference: Mapped[str] = mapped_column(sa.String(16), unique=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    status: Mapped[ConcernStatus] = mapped_column(enum_column(ConcernStatus), index=True)
    raised_via: Mapped[RaisedVia] = mapped_column(enum_column(RaisedVia))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: Empty for the public form.
    raised_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    raising_agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    #: A member of the public's own name and how to reach them, if they chose to give them.
    reporter_name: Mapped[str | None] = mapped_column(sa.String(200))
    reporter_contact: Mapped[str | None] = mapped_column(sa.String(200))
    reporter_relationship: Mapped[str | None] = mapped_column(sa.String(200))

    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service.id"), index=True)
    #: The service's provider, kept so that scoping by provider needs no join.
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    what_happened: Mapped[str] = mapped_column(sa.Text)
    happened_on: Mapped[date | None]
    risk_location: Mapped[RiskLocation | None] = mapped_column(enum_column(RiskLocation))
    risk_source: Mapped[RiskSource | None] = mapped_column(enum_column(RiskSource))
    immediate_risk: Mapped[RAG | None] = mapped_column(enum_column(RAG))
    immediate_action: Mapped[str | None] = mapped_column(sa.Text)

    adult_id: Mapped[int | None] = mapped_column(sa.ForeignKey("adult.id"), index=True)

    # Triage
    triage_decision: Mapped[TriageDecision | None] = mapped_column(enum_column(TriageDecision))
    triage_reason: Mapped[str | None] = mapped_column(sa.Text)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    triaged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    #: The safeguarding lead working on it.
    assigned_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)

    # Making Safeguarding Personal
    msp_asked: Mapped[MspAsked | None] = mapped_column(enum_column(MspAsked))
    adult_views: Mapped[str | None] = mapped_column(sa.Text)
    #: Who the adult prefers to talk to, e.g. their District Nurse.
    preferred_contact: Mapped[str | None] = mapped_column(sa.String(300))
    preferred_meeting_place: Mapped[str | None] = mapped_column(sa.String(300))
    wants_to_attend_meetings: Mapped[bool | None]
    mental_capacity: Mapped[MentalCapacity | None] = mapped_column(enum_column(MentalCapacity))
    best_interests_decision: Mapped[str | None] = mapped_column(sa.Text)
    #: When the adult lacks capacity: their past and present wishes, which still count.
    past_present_wishes: Mapped[str | None] = mapped_column(sa.Text)
    substantial_difficulty: Mapped[bool | None]
    appropriate_person: Mapped[bool | None]
    advocate_name: Mapped[str | None] = mapped_column(sa.String(200))
    advocate_organisation: Mapped[str | None] = mapped_column(sa.String(200))
    advocate_arranged_on: Mapped[date | None]
    consent: Mapped[ConsentToShare | None] = mapped_column(enum_column(ConsentToShare))
    #: When consent was last recorded; an override counts only for the refusal it answered.
    consent_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Closure
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    action_result: Mapped[ActionResult | None] = mapped_column(enum_column(ActionResult))
    risk_outcome: Mapped[RiskOutcome | None] = mapped_column(enum_column(RiskOutcome))
    outcomes_achieved: Mapped[OutcomesAchieved | None] = mapped_column(enum_column(OutcomesAchieved))
    adult_feedback: Mapped[str | None] = mapped_column(sa.Text)

    area: Mapped[Area] = relationship()
    service: Mapped[Service | None] = relationship()
    provider: Mapped[Agency | None] = relationship(foreign_keys=[provider_id])
    raised_by: Mapped[User | None] = relationship(foreign_keys=[raised_by_id])
    raising_agency: Mapped[Agency | None] = relationship(foreign_keys=[raising_agency_id])
    triaged_by: Mapped[User | None] = relationship(foreign_keys=[triaged_by_id])
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    adult: Mapped[Adult | None] = relationship(back_populates="concerns")
    type_links: Mapped[list[ConcernAbuseType]] = relationship(cascade="all, delete-orphan")
    desired_outcomes: Mapped[list[DesiredOutcome]] = relationship(order_by="DesiredOutcome.id", cascade="all, delete-orphan")
    overrides: Mapped[list[ConsentOverride]] = relationship(order_by="ConsentOverride.id", cascade="all, delete-orphan")
    events: Mapped[list[ConcernEvent]] = relationship(order_by="ConcernEvent.id", cascade="all, delete-orphan")
    comments: Mapped[list[Comment]] = relationship(order_by="Comment.id", cascade="all, delete-orphan")

    @property
    def abuse_types(self) -> set[AbuseType]:
        return {link.abuse_type for link in self.type_links}

    @abuse_types.setter
    def abuse_types(self, wanted: set[AbuseType]) -> None:
        self.type_links = [link for link in self.type_links if link.abuse_type in wanted] + [
            ConcernAbuseType(abuse_type=t) for t in wanted - self.abuse_types
        ]

    @property
    def advocate_required(self) -> bool:
        """Substantial difficulty and no appropriate person: an independent advocate must be arranged."""
        return self.substantial_difficulty is True and self.appropriate_person is False

    @property
    def advocate_recorded(self) -> bool:
        return bool(self.advocate_name)

    @property
    def consent_overridden(self) -> bool:
        """Whether the current refusal has been overridden (an override of an earlier one does not count)."""
        if self.consent is not ConsentToShare.REFUSED:
            return False
        since = self.consent_recorded_at
        return any(since is None or override.decided_at >= since for override in self.overrides)

    @property
    def outcomes_expressed(self) -> bool:
        return self.msp_asked is MspAsked.ASKED_EXPRESSED


class ConcernAbuseType(db.Model):
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concern.id"), primary_key=True)
    abuse_type: Mapped[AbuseType] = mapped_column(enum_column(AbuseType), primary_key=True)


class DesiredOutcome(db.Model):
    """What the adult wants to happen, in their own words; added to over time, never rewritten."""

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concern.id"), index=True)
    words: Mapped[str] = mapped_column(sa.Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    recorded_by: Mapped[User | None] = relationship()


class ConsentOverride(db.Model):
    """A decision to share personal details although the adult refused, and why."""

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concern.id"), index=True)
    reason: Mapped[OverrideReason] = mapped_column(enum_column(OverrideReason))
    explanation: Mapped[str] = mapped_column(sa.Text)
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    adult_told: Mapped[bool]
    #: Why the adult was not told, when they were not.
    not_told_reason: Mapped[str | None] = mapped_column(sa.Text)

    concern: Mapped[Concern] = relationship(back_populates="overrides")
    decided_by: Mapped[User] = relationship()


class ConcernEvent(db.Model):
    """One entry on a concern's timeline."""

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concern.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"))
    #: A short verb such as ``raised``, ``triaged`` or ``closed``.
    kind: Mapped[str] = mapped_column(sa.String(40))
    summary: Mapped[str] = mapped_column(sa.String(500))

    # Always shown with the entry: load with it rather than one query per timeline line.
    actor: Mapped[User | None] = relationship(lazy="joined")
    agency: Mapped[Agency | None] = relationship(lazy="joined")


class Comment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concern.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    #: Seen only by people in a local authority.
    local_authority_only: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")
    agency: Mapped[Agency] = relationship(lazy="joined")
