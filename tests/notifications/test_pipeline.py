"""The notification pipeline run eagerly in this process, with a real SMTP server.

The same code runs in the Celery worker; ``tests/notifications/integration`` runs it there.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from kombu.exceptions import OperationalError as BrokerDown

from portal.concerns import operations
from portal.concerns.operations import AdultDetails
from portal.core.codes import TriageDecision
from portal.core.db import utcnow
from portal.core.workdays import london_today
from portal.notifications import delivery
from portal.notifications.dispatch import run_sweep
from portal.notifications.models import (
    DeliveryKind,
    DeliveryState,
    EmailDelivery,
    Notification,
    NotificationEvent,
    NotificationIntent,
    PreferenceChoice,
)
from portal.notifications.operations import preferences_of, set_preferences
from portal.people.operations import end_membership
from tests.notifications.conftest import body_of, configured, html_of

E = NotificationEvent


def notified(db_session, concern, event=E.CONCERN_RAISED) -> set[str]:
    return set(
        db_session.scalars(
            sa.select(Notification.recipient_id).where(Notification.concern_id == concern.id, Notification.event == event)
        )
    )


def emails_for(db_session, user) -> list[EmailDelivery]:
    return list(db_session.scalars(sa.select(EmailDelivery).where(EmailDelivery.recipient_id == user.id).order_by(EmailDelivery.id)))


# The outbox -----------------------------------------------------------------------------------


def test_the_intent_is_written_with_the_change_and_delivered_only_after_commit(db_session, world, raise_one, smtp):
    concern = raise_one()
    db_session.flush()
    intent = db_session.scalar(sa.select(NotificationIntent).where(NotificationIntent.subject_id == concern.id))
    assert sorted(intent.recipient_ids) == sorted([world.lead.id, world.second_lead.id])
    assert intent.fanned_out_at is None
    assert notified(db_session, concern) == set() and smtp.messages == []

    db_session.commit()

    assert notified(db_session, concern) == {world.lead.id, world.second_lead.id}
    assert {m["To"] for m in smtp.messages} == {world.lead.email, world.second_lead.email}
    assert all(d.state is DeliveryState.SENT for d in emails_for(db_session, world.lead))


def test_a_rolled_back_change_sends_nothing(db_session, world, raise_one, smtp):
    concern_id = raise_one().id
    db_session.rollback()
    db_session.commit()  # a later commit must not carry the abandoned intent with it
    assert db_session.scalar(sa.select(sa.func.count(NotificationIntent.id)).where(NotificationIntent.subject_id == concern_id)) == 0
    assert db_session.scalar(sa.select(sa.func.count(Notification.id))) == 0
    assert smtp.messages == []


def test_a_broker_down_at_commit_keeps_the_change_and_the_sweep_delivers_it_later(db_session, app, world, raise_one, smtp, monkeypatch, caplog):
    # A stand-in for the broker only: integration tests stop a real Redis for the same journey.
    from workers.tasks import notifications as tasks

    def broker_down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patch:
        patch.setattr(tasks.fan_out, "delay", broker_down)
        concern = raise_one()
        db_session.commit()
    assert "the sweep will try again" in caplog.text
    assert concern.status.name == "SUBMITTED"  # the change itself stands
    assert notified(db_session, concern) == set() and smtp.messages == []

    with configured(app, SWEEP_GRACE_SECONDS=0):
        run_sweep()
    assert notified(db_session, concern) == {world.lead.id, world.second_lead.id}
    assert len(smtp.messages) == 2


def test_fanning_out_again_or_twice_at_once_makes_nothing_twice(db_session, world, raise_one, smtp):
    concern = raise_one()
    db_session.commit()
    intent_id = db_session.scalar(sa.select(NotificationIntent.id).where(NotificationIntent.subject_id == concern.id))
    assert delivery.fan_out([intent_id, intent_id]) == []
    db_session.execute(sa.update(NotificationIntent).values(fanned_out_at=None))  # as if a crash lost the claim...
    with pytest.raises(sa.exc.IntegrityError):  # ...the unique keys still refuse a second copy
        delivery.fan_out([intent_id])
    db_session.rollback()
    assert len(notified(db_session, concern)) == 2
    assert len(smtp.messages) == 2


# Who is told ----------------------------------------------------------------------------------


def test_someone_who_lost_access_before_delivery_is_not_told(db_session, world, raise_one, smtp):
    concern = raise_one()
    end_membership(world.second_lead.active_memberships[0])
    db_session.commit()
    assert notified(db_session, concern) == {world.lead.id}
    assert smtp.to(world.second_lead.email) == []


def test_a_comment_for_the_local_authority_only_reaches_only_local_authority_staff(db_session, world, raise_one, smtp):
    concern = raise_one()
    db_session.commit()
    lead = world.lead
    lead.membership = lead.active_memberships[0]
    operations.triage_concern(concern, decision=TriageDecision.S42_ENQUIRY, reason=None, by=lead)
    db_session.commit()
    operations.add_comment(concern, body="Police visit planned", local_authority_only=True, by=lead)
    db_session.commit()
    assert notified(db_session, concern, E.CONCERN_COMMENT) == {world.second_lead.id}
    everyone_else = notified(db_session, concern, E.CONCERN_TRIAGED)
    assert {world.staff.id, world.commissioner.id} <= everyone_else


# Preferences ----------------------------------------------------------------------------------


def test_off_means_neither_email_nor_portal_notification(db_session, world, raise_one, smtp):
    set_preferences(world.second_lead, {E.CONCERN_RAISED: PreferenceChoice.OFF})
    concern = raise_one()
    db_session.commit()
    assert notified(db_session, concern) == {world.lead.id}
    assert emails_for(db_session, world.second_lead) == []
    assert [m["To"] for m in smtp.messages] == [world.lead.email]


def test_an_event_that_must_always_be_sent_cannot_be_turned_off(db_session, world, raise_one, smtp):
    with pytest.raises(ValueError, match="always sent"):
        set_preferences(world.second_lead, {E.CONCERN_ASSIGNED: PreferenceChoice.OFF})
    assert preferences_of(world.second_lead.id)[E.CONCERN_ASSIGNED] is PreferenceChoice.IMMEDIATELY
    # Even a stored choice (from before the event was made compulsory) is ignored.
    from portal.notifications.models import NotificationPreference

    db_session.add(NotificationPreference(user_id=world.second_lead.id, event=E.CONCERN_ASSIGNED, choice=PreferenceChoice.OFF))
    concern = raise_one()
    db_session.commit()
    lead = world.lead
    lead.membership = lead.active_memberships[0]
    operations.assign_concern(concern, lead=world.second_lead, by=lead)
    db_session.commit()
    assert notified(db_session, concern, E.CONCERN_ASSIGNED) == {world.second_lead.id}
    assert any("assigned to you" in m["Subject"] for m in smtp.to(world.second_lead.email))


def test_changing_preferences_is_audited(db_session, world):
    from portal.audit.models import AuditEvent

    set_preferences(world.lead, {E.CONCERN_COMMENT: PreferenceChoice.DAILY_DIGEST, E.CONCERN_RAISED: PreferenceChoice.IMMEDIATELY})
    db_session.commit()
    event = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "notifications.preferences_changed"))
    assert event is not None and "1 kinds" in event.summary


# The daily summary ----------------------------------------------------------------------------


def test_the_daily_summary_is_one_email_per_person_per_day_grouping_the_items(db_session, world, raise_one, smtp):
    set_preferences(world.lead, {E.CONCERN_RAISED: PreferenceChoice.DAILY_DIGEST, E.CONCERN_COMMENT: PreferenceChoice.DAILY_DIGEST})
    first, second = raise_one(), raise_one(what_happened="Bruising seen on arm")
    db_session.commit()
    second_lead = world.second_lead
    second_lead.membership = second_lead.active_memberships[0]
    for concern in (first, second):
        operations.triage_concern(concern, decision=TriageDecision.S42_ENQUIRY, reason=None, by=second_lead)
        operations.add_comment(concern, body="Visited today", local_authority_only=False, by=second_lead)
    db_session.commit()
    queued = [d for d in emails_for(db_session, world.lead) if d.state is DeliveryState.IN_DIGEST_QUEUE]
    assert len(queued) == 4  # two raised, two comments; triage went straight away
    straight_away = [m["Subject"] for m in smtp.to(world.lead.email)]
    assert len(straight_away) == 2 and all("was triaged" in subject for subject in straight_away)
    smtp.clear()

    assert delivery.build_digests(london_today()) == []  # today's items wait for tomorrow
    tomorrow = london_today() + timedelta(days=1)
    digests = delivery.build_digests(tomorrow)
    assert len(digests) == 1
    assert delivery.build_digests(tomorrow) == []  # building again makes no second summary
    delivery.send_deliveries(digests)

    [message] = smtp.messages
    assert message["To"] == world.lead.email
    assert "daily summary" in message["Subject"]
    text = body_of(message)
    assert "4 notifications" in text
    assert "A concern was raised (2)" in text and "A new comment on a concern (2)" in text
    for concern in (first, second):
        assert text.count(concern.reference) == 2
    assert "Visited today" not in text and "Medication" not in text
    assert all(d.state is DeliveryState.IN_DIGEST for d in queued)
    assert db_session.get(EmailDelivery, digests[0]).kind is DeliveryKind.DIGEST


# What the email says --------------------------------------------------------------------------


def test_the_email_links_to_the_portal_and_carries_no_personal_details_of_the_adult(db_session, app, world, raise_one, smtp):
    concern = raise_one(
        adult=AdultDetails(name="Josephine Quigley", nhs_number="9434765919", address="4 Mill Lane", postcode="NS1 4AB"),
        what_happened="Josephine Quigley was left without food",
    )
    db_session.commit()
    [message] = smtp.to(world.lead.email)
    key = db_session.scalar(sa.select(EmailDelivery.key).where(EmailDelivery.recipient_id == world.lead.id))
    assert message["Message-ID"].startswith(f"<{key}@")
    assert concern.reference in message["Subject"]
    link = f"{app.config['PUBLIC_URL']}/concerns/{concern.id}"
    assert link in body_of(message) and f'href="{link}"' in html_of(message)
    for part in (body_of(message), html_of(message), message["Subject"]):
        for personal in ("Josephine", "Quigley", "9434765919", "Mill Lane", "NS1 4AB", "without food"):
            assert personal not in part


# Faults ---------------------------------------------------------------------------------------


def test_a_permanent_refusal_fails_that_email_with_the_error_and_the_rest_still_go(db_session, world, raise_one, smtp):
    smtp.refuse[world.lead.email] = "550 5.1.1 Mailbox unavailable"
    raise_one()
    db_session.commit()
    [refused] = emails_for(db_session, world.lead)
    assert refused.state is DeliveryState.FAILED
    assert "550" in refused.last_error and "Mailbox unavailable" in refused.last_error
    assert [d.state for d in emails_for(db_session, world.second_lead)] == [DeliveryState.SENT]
    assert [m["To"] for m in smtp.messages] == [world.second_lead.email]


def test_a_server_that_is_down_delays_the_email_and_never_loses_it(db_session, app, world, raise_one, smtp):
    from tests.notifications.conftest import free_port

    with configured(app, MAIL_PORT=free_port()):  # nothing listens there
        raise_one()
        db_session.commit()
    waiting = emails_for(db_session, world.lead)[0]
    assert waiting.state is DeliveryState.PENDING and waiting.attempts == 1
    assert "Attempt 1 failed" in waiting.last_error
    assert waiting.next_attempt_at > utcnow()
    assert smtp.messages == []

    # Too early: the backoff holds it back.
    with configured(app, SWEEP_GRACE_SECONDS=0):
        run_sweep()
    assert smtp.messages == []
    db_session.execute(sa.update(EmailDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    with configured(app, SWEEP_GRACE_SECONDS=0):
        run_sweep()
    assert {m["To"] for m in smtp.messages} == {world.lead.email, world.second_lead.email}
    assert db_session.get(EmailDelivery, waiting.id).state is DeliveryState.SENT


def test_after_the_last_attempt_a_transient_failure_becomes_failed_with_the_error(db_session, app, world, raise_one, smtp):
    smtp.refuse[world.lead.email] = "451 4.3.0 Try again later"
    with configured(app, DELIVERY_MAX_ATTEMPTS=2):
        raise_one()
        db_session.commit()
        email = emails_for(db_session, world.lead)[0]
        assert email.state is DeliveryState.PENDING and "451" in email.last_error
        db_session.execute(sa.update(EmailDelivery).where(EmailDelivery.id == email.id).values(next_attempt_at=utcnow()))
        delivery.send_deliveries([email.id])
    db_session.refresh(email)
    assert email.state is DeliveryState.FAILED
    assert email.attempts == 2
    assert email.last_error.startswith("Gave up after 2 attempts") and "451" in email.last_error


def test_a_template_error_fails_that_one_email_and_does_not_stop_the_queue(db_session, world, raise_one, smtp, monkeypatch):
    from jinja2 import TemplateSyntaxError

    real = delivery.render_template

    def broken_for_the_lead(name, **context):
        if context.get("recipient") is not None and context["recipient"].id == world.lead.id:
            raise TemplateSyntaxError("unexpected '}'", lineno=3, name=name)
        return real(name, **context)

    monkeypatch.setattr(delivery, "render_template", broken_for_the_lead)
    raise_one()
    db_session.commit()
    [broken] = emails_for(db_session, world.lead)
    assert broken.state is DeliveryState.FAILED
    assert broken.last_error.startswith("The email could not be written") and "unexpected '}'" in broken.last_error
    assert [m["To"] for m in smtp.messages] == [world.second_lead.email]


# Claims: exactly once in effect ---------------------------------------------------------------


def test_an_email_sent_or_being_sent_is_not_sent_again_but_one_left_by_a_dead_worker_is(db_session, world, raise_one, smtp):
    raise_one()
    db_session.commit()
    sent = emails_for(db_session, world.lead)[0]
    delivery.send_deliveries([sent.id, sent.id])  # a task delivered twice
    assert len(smtp.to(world.lead.email)) == 1

    # Another worker holds this one now: leave it alone.
    held = EmailDelivery(key="held-1", kind=DeliveryKind.ITEM, recipient_id=world.lead.id, intent_id=sent.intent_id,
                         state=DeliveryState.SENDING, attempts=1, claimed_until=utcnow() + timedelta(minutes=5))
    # Its worker died and the lease ran out: take it over.
    orphan = EmailDelivery(key="orphan-1", kind=DeliveryKind.ITEM, recipient_id=world.lead.id, intent_id=sent.intent_id,
                           state=DeliveryState.SENDING, attempts=1, claimed_until=utcnow() - timedelta(seconds=1))
    db_session.add_all([held, orphan])
    db_session.commit()
    delivery.send_deliveries([held.id, orphan.id])
    keys = [m["Message-ID"] for m in smtp.to(world.lead.email)]
    assert len(keys) == 2 and any("orphan-1" in k for k in keys) and not any("held-1" in k for k in keys)
    db_session.refresh(orphan)
    assert orphan.state is DeliveryState.SENT and orphan.attempts == 2
    assert held.id not in delivery.sweep().emails  # its lease still runs


def test_resending_a_failed_email_tries_it_again_and_a_sent_one_makes_a_copy(db_session, world, raise_one, smtp):
    smtp.refuse[world.lead.email] = "550 5.1.1 Mailbox unavailable"
    raise_one()
    db_session.commit()
    failed = emails_for(db_session, world.lead)[0]
    smtp.refuse.clear()
    again = delivery.resend(failed, world.second_lead)
    db_session.commit()
    assert again.id == failed.id and again.state is DeliveryState.PENDING and again.attempts == 0
    delivery.send_deliveries([again.id])
    assert len(smtp.to(world.lead.email)) == 1
    copy = delivery.resend(db_session.get(EmailDelivery, failed.id), world.second_lead)
    db_session.commit()
    assert copy.key.startswith(f"{failed.key}-resend-") and copy.id != failed.id
    delivery.send_deliveries([copy.id])
    assert len(smtp.to(world.lead.email)) == 2


def test_an_email_is_never_sent_for_a_pending_one_whose_retry_is_not_due(db_session, world, raise_one, smtp):
    raise_one()
    db_session.commit()
    later = EmailDelivery(key="later-1", kind=DeliveryKind.ITEM, recipient_id=world.lead.id,
                          intent_id=emails_for(db_session, world.lead)[0].intent_id, state=DeliveryState.PENDING,
                          next_attempt_at=utcnow() + timedelta(minutes=10))
    db_session.add(later)
    db_session.commit()
    smtp.clear()
    assert delivery.send_deliveries([later.id]) is None
    assert smtp.messages == []


def test_smtp_errors_are_sorted_into_try_again_and_give_up():
    from portal.notifications.backends import PermanentError, TransientError, _smtp_error

    assert isinstance(_smtp_error(smtplib.SMTPServerDisconnected("gone")), TransientError)
    assert isinstance(_smtp_error(ConnectionRefusedError(111, "refused")), TransientError)
    assert isinstance(_smtp_error(smtplib.SMTPDataError(452, b"Too much mail")), TransientError)
    assert isinstance(_smtp_error(smtplib.SMTPDataError(554, b"Rejected")), PermanentError)
    assert isinstance(_smtp_error(smtplib.SMTPRecipientsRefused({"a@b.example": (550, b"No such user")})), PermanentError)
    assert isinstance(_smtp_error(smtplib.SMTPRecipientsRefused({"a@b.example": (450, b"Greylisted")})), TransientError)
    with pytest.raises(ValueError):
        _smtp_error(ValueError("a bug is not a delivery problem"))


# Invitations go the same way ------------------------------------------------------------------


def test_an_invitation_email_has_its_own_key_and_state_like_any_other(db_session, world, smtp):
    from portal.people.operations import new_invitation

    invitation = new_invitation(world.staff, world.lead)
    assert smtp.messages == []  # not before the commit
    db_session.commit()
    [message] = smtp.to(world.staff.email)
    assert "invited" in message["Subject"] and "/invitation/" in body_of(message)
    assert message["Message-ID"].startswith(f"<invitation-{invitation.id}@")
    email = db_session.scalar(sa.select(EmailDelivery).where(EmailDelivery.invitation_id == invitation.id))
    assert email.kind is DeliveryKind.INVITATION and email.state is DeliveryState.SENT


def test_an_invitation_replaced_before_its_email_went_is_not_sent(db_session, world, smtp, monkeypatch):
    from portal.people.operations import new_invitation
    from workers.tasks import notifications as tasks

    with monkeypatch.context() as patch:
        patch.setattr(tasks.send_emails, "delay", lambda *args: (_ for _ in ()).throw(BrokerDown("down")))
        first = new_invitation(world.staff, world.lead)
        db_session.commit()
        new_invitation(world.staff, world.lead)  # withdraws the first
        db_session.commit()
    assert smtp.messages == []
    emails = db_session.scalars(sa.select(EmailDelivery).where(EmailDelivery.kind == DeliveryKind.INVITATION)).all()
    delivery.send_deliveries([e.id for e in emails])
    assert len(smtp.to(world.staff.email)) == 1
    stale = next(e for e in emails if e.invitation_id == first.id)
    db_session.refresh(stale)
    assert stale.state is DeliveryState.FAILED and "withdrawn, used or expired" in stale.last_error
