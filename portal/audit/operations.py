"""Writing audit events into the chain, and checking the chain end to end."""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_login import current_user

from portal.audit.models import AuditChainHead, AuditEvent
from portal.core.db import utcnow
from portal.extensions import db

GENESIS_HASH = "0" * 64
HEAD_ID = 1


def _json_default(value):
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(_json_default(v) if isinstance(v, enum.Enum) else v for v in value)
    return str(value)


def canonical_json(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=_json_default)


def _audit_key() -> bytes:
    key = current_app.config.get("AUDIT_KEY") or current_app.config["SECRET_KEY"]
    return key.encode()


def event_hash(event: AuditEvent) -> str:
    """The keyed hash of an event's contents and of the hash before it."""
    fields = [
        event.seq,
        event.occurred_at.isoformat(timespec="microseconds"),
        event.actor_id,
        event.agency_id,
        event.action,
        event.object_type,
        event.object_id,
        event.summary,
        event.details,
        event.ip_address,
        event.prev_hash,
    ]
    message = json.dumps(fields, separators=(",", ":")).encode()
    return hmac.new(_audit_key(), message, hashlib.sha256).hexdigest()


def _current_actor():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user
    return None


def record(
    action: str,
    summary: str,
    *,
    target=None,
    details: dict | None = None,
    actor=None,
    agency_id: int | None = None,
) -> AuditEvent:
    """Append an event to the trail, in the caller's transaction.

    ``target`` is the model instance acted on (its class name and id are kept); ``actor`` defaults
    to the signed-in person and ``agency_id`` to the agency they are acting for.
    """
    actor = actor if actor is not None else _current_actor()
    if agency_id is None and actor is not None and actor.membership is not None:
        agency_id = actor.membership.agency_id
    if target is not None and target.id is None:
        db.session.flush()

    seq, prev_hash = _claim_next_position()
    event = AuditEvent(
        seq=seq,
        occurred_at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        agency_id=agency_id,
        action=action,
        object_type=type(target).__name__ if target is not None else None,
        object_id=str(target.id) if target is not None else None,
        summary=summary[:500],
        details=canonical_json(details or {}),
        ip_address=request.remote_addr if has_request_context() else None,
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    db.session.add(event)
    db.session.execute(
        sa.update(AuditChainHead).where(AuditChainHead.id == HEAD_ID).values(last_hash=event.hash)
    )
    return event


def _claim_next_position() -> tuple[int, str]:
    """Take the next place in the chain, holding the head row's lock until the transaction ends."""
    claim = (
        sa.update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(seq=AuditChainHead.seq + 1)
        .returning(AuditChainHead.seq, AuditChainHead.last_hash)
    )
    row = db.session.execute(claim).one_or_none()
    if row is None:
        db.session.add(AuditChainHead(id=HEAD_ID, seq=0, last_hash=GENESIS_HASH))
        db.session.flush()
        row = db.session.execute(claim).one()
    return row.seq, row.last_hash


@dataclass(frozen=True)
class ChainReport:
    checked: int
    #: The ``seq`` of the first event whose link or contents do not match; None when intact.
    broken_at: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the whole trail in order and report the first event that breaks the chain."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    query = sa.select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch_size)
    for event in db.session.scalars(query):
        if event.seq != expected_seq:
            return ChainReport(checked, expected_seq, f"event {expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return ChainReport(checked, event.seq, "its link to the previous event does not match")
        if not hmac.compare_digest(event.hash, event_hash(event)):
            return ChainReport(checked, event.seq, "its contents do not match its hash")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = db.session.get(AuditChainHead, HEAD_ID)
    if head is not None and (head.seq != checked or head.last_hash != prev_hash):
        return ChainReport(
            checked, checked + 1, "events at the end of the trail have been removed"
        )
    return ChainReport(checked)
