"""Notification intents: recorded with the change that causes them, one per recipient.

Until the workers deliver them by email (a later issue), people read them in the portal.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import UTCDateTime, enum_column, utcnow
from portal.extensions import db


class NotificationEvent(enum.Enum):
    CONCERN_RAISED = "A concern was raised"
    CONCERN_TRIAGED = "A concern was triaged"
    CONCERN_ASSIGNED = "A concern was assigned to you"
    CONCERN_COMMENT = "A new comment on a concern"
    CONCERN_CLOSED = "A concern was closed"
    CONCERN_REOPENED = "A concern was reopened"

    @property
    def label(self) -> str:
        return self.value


class Notification(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    event: Mapped[NotificationEvent] = mapped_column(enum_column(NotificationEvent))
    concern_id: Mapped[int | None] = mapped_column(sa.ForeignKey("concern.id"), index=True)
    #: What happened, with no personal details of the adult (it may be emailed later).
    summary: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    concern = relationship("Concern")
