"""Delivering intents: fanning out to people, sending emails exactly once in effect, the sweep.

Each step claims its rows with one conditional UPDATE before doing anything, so two workers, a
task delivered twice or the sweep racing the normal path can never both act on the same row:

* an intent is fanned out by whoever sets its ``fanned_out_at`` (in the same transaction as the
  notifications and emails it creates, which are also unique per intent and person);
* an email is sent by whoever moves it to ``SENDING`` with a lease; it is marked ``SENT`` as soon
  as the server accepts it. A worker that dies mid-send leaves the lease to run out, after which
  the sweep hands the email on. The only window left is a worker killed after the server
  accepted the message but before ``SENT`` was committed; the email then carries the same
  Message-ID (its idempotency key) the second time, which mail systems use to drop duplicates.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice

import sqlalchemy as sa
from flask import current_app, render_template
from sqlalchemy.orm import selectinload

from portal.core.db import utcnow
from portal.core.workdays import london_today
from portal.extensions import db
from portal.notifications.backends import OutgoingEmail, PermanentError, TransientError, open_connection
from portal.notifications.models import (
    DeliveryKind,
    DeliveryState,
    EmailDelivery,
    Notification,
    NotificationIntent,
    PreferenceChoice,
)
from portal.notifications.operations import preferences_for
from portal.people.models import User

BATCH = 100
MAX_ERROR = 1000


def batches(ids, size: int = BATCH):
    iterator = iter(ids)
    while chunk := list(islice(iterator, size)):
        yield chunk


# Fanning out ----------------------------------------------------------------------------------


def fan_out(intent_ids: list[int]) -> list[int]:
    """Turn intents into in-app notifications and emails; returns the emails to send now.

    Only intents this call claims are fanned out; the others are someone else's or done. Besides
    the intents it was given, it takes up to ``BATCH`` others nobody has fanned out yet: in a
    burst their own tasks, further back in the queue, then find nothing to do, and the work is
    done in batches. Recipients are checked again against the policy layer, so a person who can
    no longer open the subject is not told about it.
    """
    from portal.policy import notification_audience_ids

    if not intent_ids:
        return []
    now = utcnow()
    waiting = (
        sa.select(NotificationIntent.id)
        .where(NotificationIntent.fanned_out_at.is_(None))
        .order_by(NotificationIntent.id)
        .limit(BATCH)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        waiting = waiting.with_for_update(skip_locked=True)  # leave rows another worker is taking
    claimed = db.session.scalars(
        sa.update(NotificationIntent)
        .where(
            sa.or_(NotificationIntent.id.in_(intent_ids), NotificationIntent.id.in_(waiting.scalar_subquery())),
            NotificationIntent.fanned_out_at.is_(None),
        )
        .values(fanned_out_at=now)
        .returning(NotificationIntent.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        db.session.commit()
        return []
    intents = db.session.scalars(sa.select(NotificationIntent).where(NotificationIntent.id.in_(claimed))).all()
    today = london_today()
    emails = []
    audiences, preferences = {}, {}  # asked once per subject and per event within the batch
    for intent in intents:
        subject = (intent.subject_type, intent.subject_id, intent.restricted)
        if subject not in audiences:
            audiences[subject] = notification_audience_ids(*subject[:2], restricted=intent.restricted)
        recipients = [uid for uid in intent.recipient_ids if uid in audiences[subject]]
        if not recipients:
            continue
        asked = (intent.event, tuple(recipients))
        if asked not in preferences:
            preferences[asked] = preferences_for(recipients, intent.event)
        choices = preferences[asked]
        concern_id = intent.subject_id if intent.subject_type == "concern" else None
        for uid in recipients:
            choice = choices.get(uid, PreferenceChoice.IMMEDIATELY)
            if choice is PreferenceChoice.OFF:
                continue
            db.session.add(
                Notification(
                    intent_id=intent.id, recipient_id=uid, event=intent.event, concern_id=concern_id,
                    summary=intent.summary, link=intent.link, created_at=intent.created_at,
                )
            )
            immediate = choice is PreferenceChoice.IMMEDIATELY
            email = EmailDelivery(
                key=f"intent-{intent.id}-to-{uid}", kind=DeliveryKind.ITEM, recipient_id=uid, intent_id=intent.id,
                state=DeliveryState.PENDING if immediate else DeliveryState.IN_DIGEST_QUEUE,
                digest_date=None if immediate else today, created_at=now,
            )
            db.session.add(email)
            if immediate:
                emails.append(email)
    db.session.flush()
    ids = [email.id for email in emails]
    db.session.commit()
    return ids


# Sending --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Retry:
    """Emails that hit a transient error and should be tried again after ``seconds``."""

    ids: list[int]
    seconds: int


def _claim(delivery_ids: list[int], now: datetime) -> list[int]:
    lease = now + timedelta(seconds=current_app.config["DELIVERY_LEASE_SECONDS"])
    claimable = sa.or_(
        sa.and_(
            EmailDelivery.state == DeliveryState.PENDING,
            sa.or_(EmailDelivery.next_attempt_at.is_(None), EmailDelivery.next_attempt_at <= now),
        ),
        sa.and_(EmailDelivery.state == DeliveryState.SENDING, EmailDelivery.claimed_until < now),
    )
    claimed = db.session.scalars(
        sa.update(EmailDelivery)
        .where(EmailDelivery.id.in_(delivery_ids), claimable)
        .values(state=DeliveryState.SENDING, claimed_until=lease, attempts=EmailDelivery.attempts + 1)
        .returning(EmailDelivery.id)
    ).all()
    db.session.commit()
    return sorted(claimed)


def _settle(delivery_id: int, *, digest: bool = False, **values) -> None:
    """Record what happened to a claimed email, and commit at once."""
    db.session.execute(
        sa.update(EmailDelivery)
        .where(EmailDelivery.id == delivery_id, EmailDelivery.state == DeliveryState.SENDING)
        .values(claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    if digest and values.get("state") is DeliveryState.SENT:
        db.session.execute(
            sa.update(EmailDelivery)
            .where(EmailDelivery.digest_id == delivery_id)
            .values(state=DeliveryState.IN_DIGEST, sent_at=values["sent_at"])
        )
    db.session.commit()


def backoff_seconds(attempts: int) -> int:
    base = current_app.config["DELIVERY_RETRY_SECONDS"]
    return min(3600, base * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class _Claimed:
    """What sending one claimed email needs, read before the mail server is spoken to."""

    id: int
    kind: DeliveryKind
    attempts: int
    lease: datetime
    email: OutgoingEmail | None
    error: Exception | None


def _write(delivery: EmailDelivery) -> _Claimed:
    try:
        email, error = render_email(delivery), None
    except NotWorthSending as exc:
        email, error = None, exc
    except Exception as exc:  # noqa: BLE001 - a broken template fails this email, not the queue
        current_app.logger.exception("Could not render email %s", delivery.key)
        email, error = None, exc
    return _Claimed(delivery.id, delivery.kind, delivery.attempts, delivery.claimed_until, email, error)


def send_deliveries(delivery_ids: list[int]) -> Retry | None:
    """Send the emails this call can claim; returns those to try again after a transient error."""
    if not delivery_ids:
        return None
    now = utcnow()
    claimed = _claim(delivery_ids, now)
    if not claimed:
        return None
    deliveries = db.session.scalars(
        sa.select(EmailDelivery)
        .where(EmailDelivery.id.in_(claimed))
        .options(selectinload(EmailDelivery.recipient), selectinload(EmailDelivery.intent),
                 selectinload(EmailDelivery.items).selectinload(EmailDelivery.intent),
                 selectinload(EmailDelivery.invitation))
        .order_by(EmailDelivery.id)
    ).all()
    # Every email is written first and the reading transaction ended before the mail server is
    # spoken to; only plain values are used after this. Held open across the sending, that
    # transaction made SQLite refuse the write recording a sent email ("database is locked") when
    # another worker was writing: the email stayed SENDING and was sent again after its lease.
    batch = [_write(delivery) for delivery in deliveries]
    db.session.commit()
    config = current_app.config
    # Stop 5 s before the lease runs out, or halfway through a shorter lease: a fixed 5 s with
    # DELIVERY_LEASE_SECONDS of 5 or less put every email back unsent, again and again.
    margin = timedelta(seconds=min(5, config["DELIVERY_LEASE_SECONDS"] / 2))
    retry_ids, wait = [], 0
    with open_connection() as connection:
        for index, item in enumerate(batch):
            if utcnow() >= item.lease - margin:
                # This batch has taken too long: leave the rest to be claimed afresh.
                rest = [later.id for later in batch[index:]]
                db.session.execute(
                    sa.update(EmailDelivery).where(EmailDelivery.id.in_(rest), EmailDelivery.state == DeliveryState.SENDING)
                    .values(state=DeliveryState.PENDING, claimed_until=None, attempts=EmailDelivery.attempts - 1)
                )
                db.session.commit()
                return Retry(retry_ids + rest, wait)
            if isinstance(item.error, NotWorthSending):
                _settle(item.id, state=DeliveryState.FAILED, last_error=str(item.error))
                continue
            if item.error is not None:
                _settle(item.id, state=DeliveryState.FAILED, last_error=_error_text("The email could not be written", item.error))
                continue
            try:
                connection.send(item.email)
            except PermanentError as exc:
                _settle(item.id, state=DeliveryState.FAILED, last_error=_error_text("Refused", exc))
                continue
            except TransientError as exc:
                # A mailbox refused for now (greylisted, full) holds back only its own email; a
                # server that is down or busy holds back the rest of the batch too. (Rescheduling
                # the rest for one mailbox's refusal failed them all, untried, at the last attempt.)
                held_back = batch[index:index + 1] if exc.this_email_only else batch[index:]
                ids, seconds = _reschedule(held_back, exc, config["DELIVERY_MAX_ATTEMPTS"])
                retry_ids += ids
                wait = max(wait, seconds)
                if exc.this_email_only:
                    continue
                break
            _settle(item.id, state=DeliveryState.SENT, sent_at=utcnow(), last_error=None,
                    digest=item.kind is DeliveryKind.DIGEST)
    return Retry(retry_ids, wait) if retry_ids else None


def _error_text(what: str, exc: Exception) -> str:
    return f"{what}: {exc}"[:MAX_ERROR]


def _reschedule(items: list[_Claimed], exc: Exception, max_attempts: int) -> tuple[list[int], int]:
    """After a transient error: try again with backoff, or fail after the last attempt.
    Returns the emails to try again and the seconds to wait."""
    retry_ids, wait = [], 0
    for item in items:
        if item.attempts >= max_attempts:
            _settle(item.id, state=DeliveryState.FAILED,
                    last_error=_error_text(f"Gave up after {item.attempts} attempts", exc))
            continue
        wait = max(wait, backoff_seconds(item.attempts))
        _settle(item.id, state=DeliveryState.PENDING, last_error=_error_text(f"Attempt {item.attempts} failed", exc),
                next_attempt_at=utcnow() + timedelta(seconds=backoff_seconds(item.attempts)))
        retry_ids.append(item.id)
    return retry_ids, wait


# Writing the emails ---------------------------------------------------------------------------


def portal_link(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def queue_invitation_email(invitation) -> EmailDelivery:
    """The email carrying an invitation, sent after the transaction that made it commits."""
    from portal.core.session import send_after_commit

    email = EmailDelivery(
        key=f"invitation-{invitation.id}", kind=DeliveryKind.INVITATION, recipient_id=invitation.user_id,
        invitation_id=invitation.id, state=DeliveryState.PENDING, created_at=utcnow(),
    )
    db.session.add(email)
    send_after_commit(db.session, email)
    return email


class NotWorthSending(Exception):
    """The email no longer has a purpose (an invitation withdrawn or expired before it went)."""


#: How other modules' kinds of email are written (a meeting's calendar email), registered by those
#: modules so that this one need not import them.
RENDERERS: dict[DeliveryKind, Callable[[EmailDelivery], OutgoingEmail]] = {}


def register_renderer(kind: DeliveryKind, renderer: Callable[[EmailDelivery], OutgoingEmail]) -> None:
    """``renderer`` writes the email for a delivery of ``kind``, or raises :class:`NotWorthSending`."""
    RENDERERS[kind] = renderer


GUEST_RECIPIENT = "Meeting guest (address withheld)"


def recipient_label(delivery: EmailDelivery) -> str:
    """Who an email went to, as the administrators' pages show it: a meeting guest's address and
    name are not shown (it may be the adult the meeting is about)."""
    return delivery.recipient.email if delivery.recipient is not None else GUEST_RECIPIENT


def _invitation_email(delivery: EmailDelivery, service: str) -> OutgoingEmail:
    from portal.people.operations import invitation_link

    invitation = delivery.invitation
    if not invitation.is_usable() or not invitation.user.active:
        raise NotWorthSending("The invitation was withdrawn, used or expired before this email could go")
    context = {"invitation": invitation, "link": invitation_link(invitation), "service_name": service}
    return OutgoingEmail(
        to=invitation.user.email,
        subject=f"You have been invited to the {service}",
        text=render_template("people/email/invitation.txt", **context),
        html=render_template("people/email/invitation.html", **context),
        key=delivery.key,
    )


def render_email(delivery: EmailDelivery) -> OutgoingEmail:
    """The email for a delivery: what happened and a link, never the adult's personal details."""
    service = current_app.config["SERVICE_NAME"]
    if delivery.kind is DeliveryKind.INVITATION:
        return _invitation_email(delivery, service)
    if delivery.kind in RENDERERS:
        return RENDERERS[delivery.kind](delivery)
    context = {
        "service_name": service,
        "recipient": delivery.recipient,
        "notifications_link": portal_link("/notifications"),
        "preferences_link": portal_link("/notifications/preferences"),
    }
    if delivery.kind is DeliveryKind.DIGEST:
        groups = defaultdict(list)
        for item in delivery.items:
            groups[item.intent.event.label].append({"summary": item.intent.summary, "link": portal_link(item.intent.link)})
        context.update(day=delivery.digest_date, groups=sorted(groups.items()), count=len(delivery.items))
        subject = f"{service}: your daily summary for {delivery.digest_date:%-d %B %Y}"
        template = "digest"
    else:
        intent = delivery.intent
        context.update(event=intent.event, summary=intent.summary, link=portal_link(intent.link))
        subject = f"{service}: {intent.summary}"
        template = "item"
    return OutgoingEmail(
        to=delivery.recipient.email,
        subject=subject,
        text=render_template(f"notifications/email/{template}.txt", **context),
        html=render_template(f"notifications/email/{template}.html", **context),
        key=delivery.key,
    )


# Daily summaries ------------------------------------------------------------------------------


def build_digests(today: date | None = None) -> list[int]:
    """One summary email per person per day for the items they chose to hear about that way.

    Items waiting from any day before ``today`` (London) join their person's summary for that
    day; building again is harmless, since a summary's key is its person and day.
    """
    today = today or london_today()
    waiting = db.session.execute(
        sa.select(EmailDelivery.recipient_id, EmailDelivery.digest_date)
        .where(EmailDelivery.state == DeliveryState.IN_DIGEST_QUEUE, EmailDelivery.digest_date < today,
               EmailDelivery.digest_id.is_(None))
        .distinct()
    ).all()
    digest_ids = []
    for recipient_id, day in waiting:
        digest = db.session.scalar(
            sa.select(EmailDelivery).where(
                EmailDelivery.kind == DeliveryKind.DIGEST, EmailDelivery.recipient_id == recipient_id,
                EmailDelivery.digest_date == day, EmailDelivery.state == DeliveryState.PENDING,
            )
        )
        if digest is None:
            earlier = db.session.scalar(
                sa.select(sa.func.count(EmailDelivery.id)).where(
                    EmailDelivery.kind == DeliveryKind.DIGEST, EmailDelivery.recipient_id == recipient_id,
                    EmailDelivery.digest_date == day,
                )
            )
            suffix = f"-{earlier + 1}" if earlier else ""
            digest = EmailDelivery(
                key=f"digest-{recipient_id}-{day.isoformat()}{suffix}", kind=DeliveryKind.DIGEST,
                recipient_id=recipient_id, digest_date=day, state=DeliveryState.PENDING, created_at=utcnow(),
            )
            db.session.add(digest)
            db.session.flush()
        db.session.execute(
            sa.update(EmailDelivery)
            .where(EmailDelivery.recipient_id == recipient_id, EmailDelivery.digest_date == day,
                   EmailDelivery.kind == DeliveryKind.ITEM, EmailDelivery.state == DeliveryState.IN_DIGEST_QUEUE,
                   EmailDelivery.digest_id.is_(None))
            .values(digest_id=digest.id)
        )
        # Items stay queued until their summary is sent, so the operations page shows them waiting.
        digest_ids.append(digest.id)
    db.session.commit()
    return digest_ids


# The sweep ------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    intents: list[int]
    emails: list[int]
    reminders: int

    def __bool__(self) -> bool:
        return bool(self.intents or self.emails or self.reminders)


def sweep(now: datetime | None = None) -> SweepResult:
    """What the normal path missed: intents not fanned out, emails due a retry or left by a dead
    worker, and reminders that have come due. Returns what should be handed to workers."""
    from portal.notifications.reminders import fire_due_reminders

    now = now or utcnow()
    grace = now - timedelta(seconds=current_app.config["SWEEP_GRACE_SECONDS"])
    reminders = fire_due_reminders(now)
    intents = db.session.scalars(
        sa.select(NotificationIntent.id)
        .where(NotificationIntent.fanned_out_at.is_(None), NotificationIntent.created_at <= grace)
        .order_by(NotificationIntent.id)
    ).all()
    emails = db.session.scalars(
        sa.select(EmailDelivery.id)
        .where(
            sa.or_(
                sa.and_(
                    EmailDelivery.state == DeliveryState.PENDING,
                    sa.or_(
                        sa.and_(EmailDelivery.next_attempt_at.is_(None), EmailDelivery.created_at <= grace),
                        EmailDelivery.next_attempt_at <= now,
                    ),
                ),
                sa.and_(EmailDelivery.state == DeliveryState.SENDING, EmailDelivery.claimed_until < now),
            )
        )
        .order_by(EmailDelivery.id)
    ).all()
    db.session.commit()
    return SweepResult(list(intents), list(emails), reminders)


def can_resend(delivery: EmailDelivery) -> bool:
    """A failed email may be tried again; a single notification already sent may be sent once more."""
    return delivery.state is DeliveryState.FAILED or (
        delivery.kind is DeliveryKind.ITEM and delivery.state in (DeliveryState.SENT, DeliveryState.IN_DIGEST)
    )


def resend(delivery: EmailDelivery, by: User) -> EmailDelivery:
    """An administrator's resend: a failed email is tried again; a sent one is sent once more."""
    from portal.audit.operations import record

    if not can_resend(delivery):
        raise ValueError(f"This email is {delivery.state.label.lower()}: only a failed email, or one notification "
                         "already sent, can be sent again")
    if delivery.state is DeliveryState.FAILED:
        delivery.state = DeliveryState.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = None
        delivery.last_error = None  # the audit trail keeps the resend; the error was shown before it
        target = delivery
    else:
        # A key of its own, unique even if two administrators resend at the same moment.
        target = EmailDelivery(
            key=f"{delivery.key}-resend-{uuid.uuid4().hex[:12]}", kind=DeliveryKind.ITEM,
            recipient_id=delivery.recipient_id, intent_id=delivery.intent_id, state=DeliveryState.PENDING,
            created_at=utcnow(),
        )
        db.session.add(target)
    db.session.flush()
    record("notifications.resend", f"Email {delivery.key} to {recipient_label(delivery)} sent again", target=target,
           actor=by, details={"delivery_id": delivery.id})
    return target
