"""The append-only audit trail, chained by keyed hashes so that tampering shows."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import UTCDateTime
from portal.extensions import db


class AuditEvent(db.Model):
    """Who did what to which object, when and from where; never updated or deleted."""

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Position in the chain: 1, 2, 3... with no gaps.
    seq: Mapped[int] = mapped_column(unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    #: The agency the actor was acting for at the time.
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    #: A dotted verb such as ``auth.sign_in`` or ``agency.update``.
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(40))
    summary: Mapped[str] = mapped_column(sa.String(500))
    #: Canonical JSON (sorted keys) of what changed or what was seen.
    details: Mapped[str] = mapped_column(sa.Text, default="{}")
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    __table_args__ = (sa.Index("ix_audit_event_object", "object_type", "object_id"),)


class AuditChainHead(db.Model):
    """One row holding the end of the chain; updating it serialises writers on every database."""

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(sa.String(64))
