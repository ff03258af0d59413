"""Notifications: intents recorded with a change (the outbox), and what delivering them produced.

A domain change records one :class:`NotificationIntent` in its own transaction, naming the
people the policy layer says may open its subject. After commit a worker fans it out: an in-app
:class:`Notification` per recipient and, as each person prefers, an :class:`EmailDelivery` now or
in the next day's digest. Every email has an idempotency key, so no path sends it twice.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.codes import LabelledEnum
from portal.core.db import UTCDateTime, enum_column, utcnow
from portal.extensions import db


class NotificationEvent(LabelledEnum):
    """What happened. ``label`` is what a person reads; ``mandatory`` events cannot be turned off."""

    CONCERN_RAISED = "A concern was raised"
    CONCERN_TRIAGED = "A concern was triaged"
    CONCERN_ASSIGNED = "A concern was assigned to you"
    CONCERN_COMMENT = "A new comment on a concern"
    CONCERN_CLOSED = "A concern was closed"
    CONCERN_REOPENED = "A concern was reopened"
    CONCERN_AWAITING_TRIAGE = "A concern is still waiting for triage"
    MEETING_INVITATION = "You were invited to a meeting"
    MEETING_CHANGED = "A meeting you are invited to changed"
    MEETING_CANCELLED = "A meeting you were invited to was cancelled"
    MEETING_ACTION_ASSIGNED = "A meeting action was given to you"
    MEETING_ACTION_DUE = "A meeting action of yours is due soon"
    ESCALATION_RAISED = "An escalation was raised with your agency"
    ESCALATION_UPDATED = "An escalation you are part of moved on"
    ESCALATION_ESCALATED = "An escalation reached a stage you answer at"
    ESCALATION_DUE = "An escalation's response is due soon"
    ESCALATION_BREACHED = "An escalation's deadline passed without a response"
    SERVICE_TURNED_RED = "A service you oversee turned Red on the risk register"
    BREAK_GLASS_USED = "Someone broke glass to see an adult's withheld details"
    @property
    def mandatory(self) -> bool:
        """Sent straight away whatever the person's preferences: it needs them personally."""
        return self in MANDATORY_EVENTS

    @property
    def explanation(self) -> str:
        return EVENT_EXPLANATIONS[self]


MANDATORY_EVENTS = frozenset({
    NotificationEvent.CONCERN_ASSIGNED, NotificationEvent.MEETING_ACTION_ASSIGNED, NotificationEvent.ESCALATION_BREACHED,
    NotificationEvent.BREAK_GLASS_USED,
})

EVENT_EXPLANATIONS = {
    NotificationEvent.CONCERN_RAISED: "Someone raised a concern that you may open: for safeguarding leads, one waiting for triage.",
    NotificationEvent.CONCERN_TRIAGED: "A safeguarding lead decided what happens next with a concern you can see.",
    NotificationEvent.CONCERN_ASSIGNED: "A concern is now yours to work on. This is always sent straight away.",
    NotificationEvent.CONCERN_COMMENT: "Someone added a comment to a concern you can see.",
    NotificationEvent.CONCERN_CLOSED: "A concern you can see was closed, with its outcome.",
    NotificationEvent.CONCERN_REOPENED: "A closed concern you can see was reopened.",
    NotificationEvent.CONCERN_AWAITING_TRIAGE: "A reminder that a concern in your area has waited a working day without triage.",
    NotificationEvent.MEETING_INVITATION: "Someone invited you to a meeting. The calendar invitation itself is always emailed.",
    NotificationEvent.MEETING_CHANGED: "The time, place or agenda of a meeting you are invited to changed.",
    NotificationEvent.MEETING_CANCELLED: "A meeting you were invited to was cancelled, or you were taken off its list.",
    NotificationEvent.MEETING_ACTION_ASSIGNED: "A meeting gave you an action to do. This is always sent straight away.",
    NotificationEvent.MEETING_ACTION_DUE: "A reminder before one of your meeting actions falls due, and on the day.",
    NotificationEvent.ESCALATION_RAISED: "Someone in another agency escalated something to yours, at a stage you answer at.",
    NotificationEvent.ESCALATION_UPDATED: "An escalation you raised or answer was acknowledged, answered, resolved or withdrawn, or a note was added.",
    NotificationEvent.ESCALATION_ESCALATED: "An escalation moved up the ladder to a stage you answer at, by someone or by the portal.",
    NotificationEvent.ESCALATION_DUE: "A reminder before the response to an escalation you answer is due.",
    NotificationEvent.SERVICE_TURNED_RED: "The risk signal of a service you commission, or one in your area if you are a safeguarding lead, has just become Red.",
    NotificationEvent.ESCALATION_BREACHED: "An escalation at your stage, or the stage before yours, was not answered by its deadline. This is always sent straight away.",
    NotificationEvent.BREAK_GLASS_USED: "A safeguarding lead in your area or your agency used break glass to see an adult's withheld details in an emergency. This is always sent straight away.",
}


class PreferenceChoice(LabelledEnum):
    IMMEDIATELY = "Straight away"
    DAILY_DIGEST = "In a daily summary email"
    OFF = "Off"

class DeliveryKind(LabelledEnum):
    ITEM = "One notification"
    DIGEST = "Daily summary"
    INVITATION = "Invitation to the portal"
    CALENDAR = "Meeting invitation, update or cancellation"
    #: A password reset link (or, for people who may not reset, why not). Names stay within 10 letters.
    RESET = "Password reset"

class DeliveryState(LabelledEnum):
    PENDING = "Waiting to send"
    SENDING = "Sending"
    SENT = "Sent"
    FAILED = "Failed"
    IN_DIGEST_QUEUE = "Waiting for the daily summary"
    IN_DIGEST = "Sent in a daily summary"

class NotificationIntent(db.Model):
    """The outbox: one row per change that people should hear about, written in its transaction."""

    __tablename__ = "notification_intent"

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[NotificationEvent] = mapped_column(enum_column(NotificationEvent, length=40))
    #: What the notification is about, for the policy check at delivery (``concern`` for now).
    subject_type: Mapped[str] = mapped_column(sa.String(40))
    subject_id: Mapped[int] = mapped_column()
    #: A concern's comment that only local-authority staff may read narrows who is told.
    restricted: Mapped[bool] = mapped_column(default=False)
    #: What happened, naming only a reference: never the adult's personal details.
    summary: Mapped[str] = mapped_column(sa.String(300))
    #: Path within the portal, joined to PUBLIC_URL in emails.
    link: Mapped[str] = mapped_column(sa.String(300))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    #: People the policy layer allowed when the change was made; checked again at delivery.
    recipient_ids: Mapped[list[int]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: Set, in the worker's transaction, when the intent became notifications and emails.
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Notification(db.Model):
    """An in-app notification: one per recipient per intent."""

    __table_args__ = (sa.UniqueConstraint("intent_id", "recipient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    intent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notification_intent.id"))
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    event: Mapped[NotificationEvent] = mapped_column(enum_column(NotificationEvent, length=40))
    concern_id: Mapped[int | None] = mapped_column(sa.ForeignKey("concern.id"), index=True)
    #: What happened, with no personal details of the adult.
    summary: Mapped[str] = mapped_column(sa.String(300))
    link: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    concern = relationship("Concern")


class EmailDelivery(db.Model):
    """One email to one person: a single notification or a day's summary."""

    __tablename__ = "email_delivery"
    __table_args__ = (sa.Index("ix_email_delivery_state_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The idempotency key: unique, and the email's Message-ID, so no path sends it twice.
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[DeliveryKind] = mapped_column(enum_column(DeliveryKind))
    #: Empty only for a calendar email to a meeting guest without an account (see ``attendee_id``).
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    intent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notification_intent.id"), index=True)
    #: For a calendar email: the invitee, and the meeting's SEQUENCE the email was queued for.
    attendee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attendee.id"), index=True)
    calendar_sequence: Mapped[int | None] = mapped_column()
    #: For a digest, the London day it covers; for an item waiting for one, the day it belongs to.
    digest_date: Mapped[date | None] = mapped_column(sa.Date)
    #: For an invitation email: the invitation, whose link is written only when the email is sent.
    invitation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invitation.id"))
    #: The digest an item was sent in.
    digest_id: Mapped[int | None] = mapped_column(sa.ForeignKey("email_delivery.id"), index=True)
    state: Mapped[DeliveryState] = mapped_column(enum_column(DeliveryState), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: Not to be tried before this (a retry's backoff); empty means now.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A worker holds a delivery it is sending until this time; after it, another may take over.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recipient = relationship("User", foreign_keys=[recipient_id])
    intent = relationship("NotificationIntent")
    invitation = relationship("Invitation")
    items = relationship("EmailDelivery", foreign_keys=[digest_id], order_by="EmailDelivery.id")


class NotificationPreference(db.Model):
    """How a person wants to hear about one kind of event; no row means straight away."""

    __tablename__ = "notification_preference"
    __table_args__ = (sa.UniqueConstraint("user_id", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    event: Mapped[NotificationEvent] = mapped_column(enum_column(NotificationEvent, length=40))
    choice: Mapped[PreferenceChoice] = mapped_column(enum_column(PreferenceChoice))

    user = relationship("User")


class Reminder(db.Model):
    """'Remind this person about this at that time', registered by other modules."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Chosen by the module (e.g. ``concern:12:awaiting-triage:4``): scheduling again moves it.
    key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    event: Mapped[NotificationEvent] = mapped_column(enum_column(NotificationEvent, length=40))
    subject_type: Mapped[str] = mapped_column(sa.String(40))
    subject_id: Mapped[int] = mapped_column()
    summary: Mapped[str] = mapped_column(sa.String(300))
    link: Mapped[str] = mapped_column(sa.String(300))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
