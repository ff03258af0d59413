"""What the partnership knows about the quality of each service: items from every source,
inspections, contract-monitoring visits with their improvement plans, the risk signal computed
from them, the risk register's human side (owner, review date) and file imports."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency, Area, Service
from portal.core.codes import DataCategory, KeyQuestion, LabelledEnum, Rating
from portal.core.db import TimestampMixin, UTCDateTime, VersionedMixin, enum_column, utcnow
from portal.extensions import db
from portal.people.models import User


class SourceType(LabelledEnum):
    """Where a piece of intelligence came from."""

    CONTRACT_MONITORING = "Contract-monitoring visit"
    INSPECTION = "Inspection"
    COMPLAINT = "Complaint"
    INCIDENT = "Incident or statutory notification"
    WHISTLEBLOWING = "Whistleblowing"
    SAFEGUARDING_CONCERN = "Safeguarding concern"
    FEEDBACK = "Feedback from people who use the service or their families"
    WORKFORCE = "Workforce indicator"
    SAR_FINDING = "Safeguarding Adults Review finding"
    ESCALATION = "Escalation between agencies"

    @property
    def confidential_by_default(self) -> bool:
        return self is SourceType.WHISTLEBLOWING

    @property
    def recorded_elsewhere(self) -> bool:
        """Items made from an inspection, a visit or a concern, never typed in on their own."""
        return self in {
            SourceType.CONTRACT_MONITORING, SourceType.INSPECTION, SourceType.SAFEGUARDING_CONCERN, SourceType.ESCALATION,
        }


class Severity(LabelledEnum):
    """How much an item says is wrong. Positive items are shown but never raise the risk signal."""

    POSITIVE = "Positive: no concern"
    LOW = "Low"
    MODERATE = "Moderate"
    HIGH = "High"
    SERIOUS = "Serious"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)

    @property
    def adverse(self) -> bool:
        return self is not Severity.POSITIVE


class QualityScore(LabelledEnum):
    """A contract-monitoring visit's score for one quality standard."""

    EXCELLENT = "Excellent"
    GOOD = "Good"
    REQUIRES_IMPROVEMENT = "Requires improvement"
    POOR = "Poor"


class ActionStatus(LabelledEnum):
    OPEN = "Open"
    RESPONDED = "Provider has responded"
    COMPLETED = "Completed"


class RiskBand(LabelledEnum):
    RED = "Red"
    AMBER = "Amber"
    GREEN = "Green"


class ImportKind(LabelledEnum):
    REGULATOR_RATINGS = "The regulator's care directory with ratings"
    MONITORING_VISITS = "Contract-monitoring results"
    ITEMS = "Other intelligence items"


class ImportStatus(LabelledEnum):
    CHECKING = "Checking the file"
    READY = "Checked: waiting for you to confirm"
    INVALID = "Not imported: the file has errors"
    APPLYING = "Importing"
    APPLIED = "Imported"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


class QualityArea(TimestampMixin, db.Model):
    """A group of contract-monitoring standards (for example "Safe care and treatment")."""

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    #: The key question a poor score in this area bears on.
    key_question: Mapped[KeyQuestion] = mapped_column(enum_column(KeyQuestion, length=20))
    position: Mapped[int] = mapped_column(default=0)

    area: Mapped[Area] = relationship()
    standards: Mapped[list[QualityStandard]] = relationship(
        back_populates="quality_area", order_by="QualityStandard.position"
    )

    __table_args__ = (sa.UniqueConstraint("area_id", "name"),)


class QualityStandard(TimestampMixin, db.Model):
    """One standard a contract-monitoring visit scores, such as "S4 Medicines are managed safely"."""

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    quality_area_id: Mapped[int] = mapped_column(sa.ForeignKey("quality_area.id"), index=True)
    #: The short code used as the column name in the contract-monitoring import template.
    code: Mapped[str] = mapped_column(sa.String(12))
    name: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    quality_area: Mapped[QualityArea] = relationship(back_populates="standards")

    __table_args__ = (sa.UniqueConstraint("area_id", "code"),)


class ImportBatch(TimestampMixin, db.Model):
    """An uploaded file: checked in full, previewed, then applied all at once or not at all."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(enum_column(ImportKind, length=30))
    status: Mapped[ImportStatus] = mapped_column(enum_column(ImportStatus, length=20), index=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    #: The agency the person uploading acted for; imported items are supplied by it.
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    rows_total: Mapped[int] = mapped_column(default=0)
    #: Progress of checking or applying, for the page that shows a large file's progress.
    rows_done: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    #: ``[[line, reason], ...]``: the first errors found, each with its line in the file.
    errors: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: What applying would do: counts, and the locations in the file that are not services here.
    preview: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: What applying did.
    result: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: A whole-file problem (wrong columns, unreadable spreadsheet), shown instead of row errors.
    problem: Mapped[str | None] = mapped_column(sa.Text)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agency: Mapped[Agency] = relationship()
    uploaded_by: Mapped[User] = relationship()


class Inspection(TimestampMixin, db.Model):
    """One published set of ratings for a service. A new publication adds a row; none is overwritten."""

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"), index=True)
    published_on: Mapped[date]
    report_type: Mapped[str | None] = mapped_column(sa.String(60))
    #: Ratings carried over when a service re-registered, rather than from an inspection of it.
    inherited: Mapped[bool] = mapped_column(default=False)
    url: Mapped[str | None] = mapped_column(sa.String(300))
    overall: Mapped[Rating | None] = mapped_column(enum_column(Rating, length=30))
    safe: Mapped[Rating | None] = mapped_column(enum_column(Rating, length=30))
    effective: Mapped[Rating | None] = mapped_column(enum_column(Rating, length=30))
    caring: Mapped[Rating | None] = mapped_column(enum_column(Rating, length=30))
    responsive: Mapped[Rating | None] = mapped_column(enum_column(Rating, length=30))
    well_led: Mapped[Rating | None] = mapped_column(enum_column(Rating, length=30))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    import_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batch.id"), index=True)
    #: A digest of date, ratings and inherited flag: importing the same publication again adds nothing.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))

    service: Mapped[Service] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("service_id", "fingerprint"),
        sa.Index("ix_inspection_service_published", "service_id", "published_on"),
    )

    def rating_for(self, question: KeyQuestion | None) -> Rating | None:
        """The rating for one key question, or the overall rating for None."""
        return self.overall if question is None else getattr(self, question.name.lower())

    def ratings(self) -> dict[KeyQuestion, Rating | None]:
        return {question: self.rating_for(question) for question in KeyQuestion}


class MonitoringVisit(TimestampMixin, VersionedMixin, db.Model):
    """A commissioner's contract-monitoring visit to a service."""

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"), index=True)
    #: The commissioning agency that made the visit.
    commissioner_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    visited_on: Mapped[date]
    officer_name: Mapped[str] = mapped_column(sa.String(200))
    findings: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    import_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batch.id"), index=True)
    #: For imports: the same visit in a file imported twice is added once.
    fingerprint: Mapped[str | None] = mapped_column(sa.String(64))

    service: Mapped[Service] = relationship()
    commissioner: Mapped[Agency] = relationship()
    scores: Mapped[list[VisitScore]] = relationship(back_populates="visit", cascade="all, delete-orphan")
    actions: Mapped[list[ImprovementAction]] = relationship(
        back_populates="visit", order_by="ImprovementAction.due_on", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("service_id", "fingerprint"),
        sa.Index("ix_monitoring_visit_service_visited", "service_id", "visited_on"),
    )


class VisitScore(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("monitoring_visit.id"), index=True)
    standard_id: Mapped[int] = mapped_column(sa.ForeignKey("quality_standard.id"))
    score: Mapped[QualityScore] = mapped_column(enum_column(QualityScore, length=30))

    visit: Mapped[MonitoringVisit] = relationship(back_populates="scores")
    standard: Mapped[QualityStandard] = relationship()

    __table_args__ = (sa.UniqueConstraint("visit_id", "standard_id"),)


class ImprovementAction(TimestampMixin, VersionedMixin, db.Model):
    """An action in a visit's improvement plan, which the provider's manager answers in the portal."""

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("monitoring_visit.id"), index=True)
    description: Mapped[str] = mapped_column(sa.Text)
    #: The person at the provider who owns the action, by name or role.
    owner: Mapped[str] = mapped_column(sa.String(200))
    due_on: Mapped[date]
    status: Mapped[ActionStatus] = mapped_column(enum_column(ActionStatus, length=20), default=ActionStatus.OPEN)
    provider_response: Mapped[str | None] = mapped_column(sa.Text)
    responded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    visit: Mapped[MonitoringVisit] = relationship(back_populates="actions")
    responded_by: Mapped[User | None] = relationship(foreign_keys=[responded_by_id])


class IntelligenceItem(TimestampMixin, VersionedMixin, db.Model):
    """One piece of intelligence about a service, from any source: the rows of the timeline."""

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    occurred_on: Mapped[date]
    source: Mapped[SourceType] = mapped_column(enum_column(SourceType, length=30))
    #: The key questions it bears on, as :meth:`KeyQuestion.to_bits`.
    key_question_bits: Mapped[int] = mapped_column(default=0)
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, length=20))
    #: For inspection items: the overall rating published.
    rating: Mapped[Rating | None] = mapped_column(enum_column(Rating, length=30))
    summary: Mapped[str] = mapped_column(sa.Text)
    #: The agency that supplied it.
    supplied_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    #: Who recorded it; never shown to anyone who may not see confidential items.
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    #: Never shown to the provider, nor to Board members.
    confidential: Mapped[bool] = mapped_column(default=False)
    sharing_category: Mapped[DataCategory] = mapped_column(
        enum_column(DataCategory, length=30), default=DataCategory.PROVIDER_INTELLIGENCE
    )
    concern_id: Mapped[int | None] = mapped_column(sa.ForeignKey("concern.id"), unique=True)
    inspection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inspection.id"), unique=True)
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("monitoring_visit.id"), unique=True)
    escalation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("escalation.id"), unique=True)
    import_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batch.id"), index=True)
    #: For imported items: the same row imported twice is added once.
    fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    is_deleted: Mapped[bool] = mapped_column(default=False)
    deleted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    deleted_reason: Mapped[str | None] = mapped_column(sa.Text)

    service: Mapped[Service] = relationship()
    supplied_by: Mapped[Agency | None] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])

    __table_args__ = (
        sa.UniqueConstraint("service_id", "fingerprint"),
        sa.Index("ix_intelligence_item_service_occurred", "service_id", "occurred_on"),
        # A profile's counts, chart and timeline page read only this index on PostgreSQL (index-only scans).
        sa.Index(
            "ix_intelligence_item_profile", "service_id", "occurred_on", "source",
            postgresql_include=["key_question_bits", "confidential", "sharing_category", "is_deleted", "id"],
        ),
    )

    @property
    def key_questions(self) -> list[KeyQuestion]:
        return KeyQuestion.from_bits(self.key_question_bits)

    @key_questions.setter
    def key_questions(self, questions) -> None:
        self.key_question_bits = KeyQuestion.to_bits(questions)


class RiskSignal(db.Model):
    """A service's risk signal, kept up to date as items change and refreshed nightly for time decay.

    Each service has two: one from every item, for those who may see confidential items, and one
    without confidential items, for the provider and the Board, so a score never hints at an item
    its reader may not see.
    """

    #: How many of the reasons ``top_reasons`` keeps: what a register row shows.
    TOP_REASONS = 3

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"), index=True)
    includes_confidential: Mapped[bool]
    score: Mapped[float] = mapped_column(default=0.0)
    likelihood: Mapped[int] = mapped_column(default=1)
    consequence: Mapped[int] = mapped_column(default=1)
    band: Mapped[RiskBand] = mapped_column(enum_column(RiskBand, length=10), default=RiskBand.GREEN)
    #: Key questions on which three or more independent sources converge, as bits.
    converging_bits: Mapped[int] = mapped_column(default=0)
    #: The contributing items, largest first: ``[{"item_id", "occurred_on", "source", ...}, ...]``.
    reasons: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: The first few of ``reasons`` (same shape) and how many there are, so that the register shows
    #: a row's reasons without reading them all (a busy service's signal holds hundreds).
    top_reasons: Mapped[list | None] = mapped_column(sa.JSON, default=list)
    reason_count: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    #: Kept here so that the register sorts and filters on them without more joins.
    latest_rating: Mapped[Rating | None] = mapped_column(enum_column(Rating, length=30))
    latest_rating_on: Mapped[date | None]
    last_visit_on: Mapped[date | None]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The day the decay was computed for.
    computed_for: Mapped[date]

    service: Mapped[Service] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("service_id", "includes_confidential"),
        sa.Index("ix_risk_signal_scope_score", "includes_confidential", "score"),
    )

    @property
    def converging(self) -> bool:
        return self.converging_bits != 0

    @property
    def converging_questions(self) -> list[KeyQuestion]:
        return KeyQuestion.from_bits(self.converging_bits)


class RegisterEntry(TimestampMixin, VersionedMixin, db.Model):
    """The human side of a service's line in the risk register: who owns the risk, when it is reviewed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"), unique=True)
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    review_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(sa.Text)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    service: Mapped[Service] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
