"""Escalations between agencies: what is disputed, the ladder's stages it has climbed, and a
timeline of every move with who made it and when.

An escalation is about one thing (a concern, a provider or one of its services, an overdue meeting
action, a meeting's decision) or is a professional disagreement about a decision. It is raised by
one person for their agency and received by another agency. It sits at one stage of the area's
ladder at a time (:mod:`portal.escalations.ladder`), in one state; each stage it reaches is an
:class:`EscalationStage` row whose deadline is computed when the stage starts, never typed.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency, Area, Service
from portal.concerns.models import Concern
from portal.core.codes import AbuseType, KeyQuestion, LabelledEnum
from portal.core.db import TimestampMixin, UTCDateTime, VersionedMixin, enum_column, utcnow
from portal.extensions import db
from portal.people.models import User


class EscalationSubject(LabelledEnum):
    """What an escalation is about."""

    CONCERN = "A safeguarding concern"
    SERVICE = "The quality of a provider's service"
    PROVIDER = "The quality of a provider as a whole"
    MEETING_ACTION = "A meeting action that is overdue"
    MEETING_DECISION = "A decision made at a meeting"
    DISAGREEMENT = "A professional disagreement with another agency about a decision"


class EscalationState(LabelledEnum):
    """Where the escalation stands at its current stage. Escalating is a move to the next stage,
    which starts again as open; resolved and withdrawn are final."""

    OPEN = "Open"
    ACKNOWLEDGED = "Acknowledged"
    RESPONDED = "Responded"
    RESOLVED = "Resolved"
    WITHDRAWN = "Withdrawn"

    @property
    def closed(self) -> bool:
        return self in {EscalationState.RESOLVED, EscalationState.WITHDRAWN}

    @property
    def awaiting_response(self) -> bool:
        """The receiving agency has not answered yet: the stage's deadline is running."""
        return self in {EscalationState.OPEN, EscalationState.ACKNOWLEDGED}


#: States that are still open, for queries.
OPEN_STATES = (EscalationState.OPEN, EscalationState.ACKNOWLEDGED, EscalationState.RESPONDED)
AWAITING_STATES = (EscalationState.OPEN, EscalationState.ACKNOWLEDGED)


class StageOutcome(LabelledEnum):
    """How a stage ended."""

    ESCALATED = "Escalated to the next stage"
    AUTO_ESCALATED = "Escalated by the portal: no response in time"
    RESOLVED = "Resolved"
    WITHDRAWN = "Withdrawn"


class ViewGivenBy(LabelledEnum):
    """Whose view on the disagreement was recorded, for an escalation about an adult."""

    ADULT = "The adult"
    ADVOCATE = "Their advocate"
    REPRESENTATIVE = "A family member, friend or carer representing them"


class EventKind(LabelledEnum):
    """The moves and notes on an escalation's timeline."""

    RAISED = "Raised"
    ACKNOWLEDGED = "Acknowledged"
    RESPONDED = "Responded"
    RESOLVED = "Resolved"
    ESCALATED = "Escalated to the next stage"
    AUTO_ESCALATED = "Escalated by the portal"
    WITHDRAWN = "Withdrawn"
    ADULT_VIEW = "The adult's view recorded"
    MEDIATION_NOTE = "Note from the Board's mediation"


class Escalation(TimestampMixin, VersionedMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    subject: Mapped[EscalationSubject] = mapped_column(enum_column(EscalationSubject, length=30))

    # What it is about: at most these, as the subject says.
    concern_id: Mapped[int | None] = mapped_column(sa.ForeignKey("concern.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service.id"), index=True)
    meeting_action_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting_action.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agenda_item.id"), index=True)

    raised_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    raising_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    receiving_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    disagreement: Mapped[str] = mapped_column(sa.Text)
    wanted: Mapped[str] = mapped_column(sa.Text)
    harm_imminent: Mapped[bool] = mapped_column(default=False)
    key_question_bits: Mapped[int] = mapped_column(default=0)

    state: Mapped[EscalationState] = mapped_column(enum_column(EscalationState, length=20), index=True)
    stage: Mapped[int] = mapped_column(default=1)
    # The current stage's times, copied from its row so that lists and the scheduled task can
    # find what is due or breached in one query.
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    auto_escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    outcome: Mapped[str | None] = mapped_column(sa.Text)
    learning: Mapped[str | None] = mapped_column(sa.Text)
    withdrawn_reason: Mapped[str | None] = mapped_column(sa.Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    adult_view: Mapped[str | None] = mapped_column(sa.Text)
    adult_view_by: Mapped[ViewGivenBy | None] = mapped_column(enum_column(ViewGivenBy, length=20))
    adult_view_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    adult_view_recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    area: Mapped[Area] = relationship()
    concern: Mapped[Concern | None] = relationship()
    provider: Mapped[Agency | None] = relationship(foreign_keys=[provider_id])
    service: Mapped[Service | None] = relationship()
    meeting_action = relationship("MeetingAction")
    agenda_item = relationship("AgendaItem")
    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id])
    raising_agency: Mapped[Agency] = relationship(foreign_keys=[raising_agency_id])
    receiving_agency: Mapped[Agency] = relationship(foreign_keys=[receiving_agency_id])
    adult_view_recorded_by: Mapped[User | None] = relationship(foreign_keys=[adult_view_recorded_by_id])
    stages: Mapped[list[EscalationStage]] = relationship(
        back_populates="escalation", order_by="EscalationStage.number", cascade="all, delete-orphan"
    )
    events: Mapped[list[EscalationEvent]] = relationship(
        back_populates="escalation", order_by="EscalationEvent.id", cascade="all, delete-orphan"
    )
    type_links: Mapped[list[EscalationAbuseType]] = relationship(cascade="all, delete-orphan")

    @property
    def reference(self) -> str:
        return f"ESC-{self.id:05d}"

    @property
    def key_questions(self) -> list[KeyQuestion]:
        return KeyQuestion.from_bits(self.key_question_bits)

    @property
    def abuse_types(self) -> list[AbuseType]:
        return sorted((link.abuse_type for link in self.type_links), key=lambda t: list(AbuseType).index(t))

    @property
    def current_stage(self) -> EscalationStage:
        return self.stages[-1]

    def breached(self, now: datetime | None = None) -> bool:
        """The current stage's deadline passed without a response (computed, never typed)."""
        return self.state.awaiting_response and (now or utcnow()) >= self.deadline_at


class EscalationAbuseType(db.Model):
    """The types of abuse or neglect an escalation is about (a theme on the Board's page)."""

    escalation_id: Mapped[int] = mapped_column(sa.ForeignKey("escalation.id"), primary_key=True)
    abuse_type: Mapped[AbuseType] = mapped_column(enum_column(AbuseType), primary_key=True)


class EscalationStage(db.Model):
    """One rung of the ladder the escalation reached, with its computed deadline and how it ended."""

    __table_args__ = (sa.UniqueConstraint("escalation_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(sa.ForeignKey("escalation.id"), index=True)
    number: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    working_days: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    auto_escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    response: Mapped[str | None] = mapped_column(sa.Text)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[StageOutcome | None] = mapped_column(enum_column(StageOutcome, length=20))

    escalation: Mapped[Escalation] = relationship(back_populates="stages")
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    responded_by: Mapped[User | None] = relationship(foreign_keys=[responded_by_id])

    def breached(self, now: datetime | None = None) -> bool:
        """No response by the deadline: answered late, or not answered and the deadline passed
        (for a stage that ended unanswered, by the time it ended)."""
        answered = self.responded_at
        if answered is not None:
            return answered > self.deadline_at
        return (self.ended_at or now or utcnow()) >= self.deadline_at


class EscalationEvent(db.Model):
    """A line on the timeline: a move (who, when, at which stage) or a note."""

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(sa.ForeignKey("escalation.id"), index=True)
    stage: Mapped[int]
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind, length=20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Nobody for the portal's own moves (an automatic escalation).
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"))
    #: What was said (a response, a reason, the learning). Never the adult's view itself, which is
    #: kept on the escalation and shown only to those who may see the adult's details.
    text: Mapped[str | None] = mapped_column(sa.Text)

    escalation: Mapped[Escalation] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship(lazy="joined")
    agency: Mapped[Agency | None] = relationship(lazy="joined")


class LadderSettings(TimestampMixin, VersionedMixin, db.Model):
    """A partnership's own ladder, where it differs from the default (see ladder.py)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), unique=True)
    #: [{"name", "raising_side", "receiving_side", "working_days", "roles": [Role names], "board_mediates"}]
    stages: Mapped[list] = mapped_column(sa.JSON)
    grace_working_days: Mapped[int]
    imminent_grace_hours: Mapped[int]
    reminder_working_days: Mapped[int]
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
