"""Emails sent by a real worker process: who gets what, exactly once, and what a refusing server does."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from portal.notifications import delivery, dispatch
from portal.notifications.models import (
    DeliveryState,
    EmailDelivery,
    Notification,
    NotificationEvent,
    PreferenceChoice,
)
from portal.notifications.operations import set_preferences
from portal.people.models import User
from tests.notifications.integration.conftest import (
    MAX_ATTEMPTS,
    PUBLIC_URL,
    RETRY_SECONDS,
    assert_no_personal_details,
    build_world,
    deliveries,
    html_of,
    raise_concern,
    subject_of,
    text_of,
    wait_for_states,
    wait_until,
)
from workers.tasks import notifications as tasks

pytestmark = pytest.mark.worker

SENT, FAILED = DeliveryState.SENT, DeliveryState.FAILED


def in_app(portal, concern_id: int) -> list[tuple]:
    with portal.session() as session:
        return sorted(session.execute(
            sa.select(Notification.recipient_id, Notification.event, Notification.summary, Notification.link)
            .where(Notification.concern_id == concern_id)
        ).all())


@pytest.fixture
def second_worker(workers, worker):
    """A second worker beside the shared one, so two take tasks at the same time."""
    second = workers.start()
    yield second
    workers.stop(second)


@pytest.fixture
def held_hand_over(monkeypatch):
    """Commits in this process hand nothing to the workers: the test publishes itself, as often as it likes."""
    held: list[int] = []
    monkeypatch.setattr(dispatch, "hand_over", held.extend)
    return held


def test_a_raised_concern_reaches_each_safeguarding_lead_by_email_through_the_worker(portal, worker):
    world = build_world(portal, leads=2)

    concern = raise_concern(portal, world)

    rows = wait_for_states(portal, world.leads, {SENT})
    assert len(rows) == 2
    for lead in world.leads:
        (message,) = wait_until(lambda lead=lead: portal.mail.to(lead.email), what=f"the email to {lead.email}")
        (row,) = [row for row in rows if row.recipient_id == lead.id]
        assert message["Message-ID"] == f"<{row.key}@safeguarding.invalid>"
        assert subject_of(message) == f"Safeguarding partnership portal: A concern was raised: {concern.reference}"
        link = f"{PUBLIC_URL}/concerns/{concern.id}"
        assert link in text_of(message) and f'href="{link}"' in html_of(message)
        assert f"Hello {lead.name}" in text_of(message)
        assert_no_personal_details(message)
        assert row.attempts == 1 and row.last_error is None
    assert portal.mail.to(world.staff.email) == [], "the person who raised it is not told about it"
    assert in_app(portal, concern.id) == sorted(
        (lead.id, NotificationEvent.CONCERN_RAISED, f"A concern was raised: {concern.reference}", f"/concerns/{concern.id}")
        for lead in world.leads
    )


def test_a_fan_out_delivered_several_times_and_raced_by_the_sweep_tells_each_person_once(
    portal, second_worker, held_hand_over
):
    world = build_world(portal, leads=3)
    concern = raise_concern(portal, world)
    (intent_id,) = held_hand_over

    start = threading.Barrier(2)

    def fan_out_here_too():  # the task's own body, run in this process at the same moment
        with portal.session():
            start.wait()
            tasks.fan_out.run([intent_id])

    racer = threading.Thread(target=fan_out_here_too)
    racer.start()
    start.wait()
    for _ in range(3):
        tasks.fan_out.delay([intent_id])
        tasks.sweep.delay()
    racer.join(30)

    rows = wait_for_states(portal, world.leads, {SENT})
    portal.redis.wait_idle()
    assert len(rows) == 3 and all(row.attempts == 1 for row in deliveries(portal, *world.leads))
    for lead in world.leads:
        assert len(portal.mail.to(lead.email)) == 1, lead.email
    assert [row[0] for row in in_app(portal, concern.id)] == sorted(lead.id for lead in world.leads)


def test_the_same_emails_sent_by_several_tasks_and_the_sweep_at_once_arrive_once_each(
    portal, second_worker, held_hand_over
):
    world = build_world(portal, leads=4)
    raise_concern(portal, world)
    (intent_id,) = held_hand_over
    with portal.session():
        ids = delivery.fan_out([intent_id])  # waiting to be sent; nobody has been asked to yet
    assert len(ids) == 4

    start = threading.Barrier(4)
    errors = []

    def in_this_process(work):
        def run():
            try:
                with portal.session():
                    start.wait()
                    work()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
        return threading.Thread(target=run)

    racers = [in_this_process(lambda: delivery.send_deliveries(ids)) for _ in range(2)]
    racers.append(in_this_process(dispatch.run_sweep))
    for racer in racers:
        racer.start()
    start.wait()
    for _ in range(3):
        tasks.send_emails.delay(ids)
        tasks.sweep.delay()
    for racer in racers:
        racer.join(30)
    assert errors == [], f"{errors!r}; emails: {[m['To'] for m in portal.mail.messages]}"

    rows = wait_for_states(portal, world.leads, {SENT})
    portal.redis.wait_idle()
    for row in rows:
        assert row.attempts == 1, "exactly one sender claimed it"
        assert len(portal.mail.with_id(row.key)) == 1, row.key
    for lead in world.leads:
        assert len(portal.mail.to(lead.email)) == 1, lead.email


def test_a_permanent_refusal_fails_that_email_with_the_servers_reply_and_the_next_one_is_still_sent(portal, worker):
    world = build_world(portal, leads=2)
    refused, other = world.leads  # the refused one comes first in the batch
    portal.mail.refuse[refused.email] = "550 5.1.1 No such mailbox here"

    raise_concern(portal, world)

    rows = {row.recipient_id: row for row in wait_for_states(portal, world.leads, {SENT, FAILED})}
    assert rows[refused.id].state is FAILED and rows[refused.id].attempts == 1, "not tried again"
    assert "550" in rows[refused.id].last_error and "No such mailbox here" in rows[refused.id].last_error
    assert rows[other.id].state is SENT and rows[other.id].id > rows[refused.id].id
    assert portal.mail.to(refused.email) == [] and len(portal.mail.to(other.email)) == 1


def test_a_temporary_refusal_is_tried_again_after_a_pause_and_then_sent(portal, worker):
    world = build_world(portal, leads=1)
    (lead,) = world.leads
    portal.mail.delay_data[lead.email] = 1  # the first DATA gets 451

    raise_concern(portal, world)

    (row,) = wait_for_states(portal, world.leads, {SENT, FAILED})
    assert row.state is SENT and row.attempts == 2 and row.last_error is None
    (refused_at, first), (sent_at, second) = portal.mail.replies_to(lead.email)
    assert (first, second) == ("451", "250") and len(portal.mail.to(lead.email)) == 1
    assert sent_at - refused_at >= 0.9 * RETRY_SECONDS, "tried again only after the pause"


def test_after_the_last_attempt_a_temporary_refusal_becomes_failed_and_the_others_in_the_batch_are_still_sent(
    portal, worker
):
    world = build_world(portal, leads=2)
    busy, other = world.leads  # the one that keeps being refused comes first in the batch
    portal.mail.delay_rcpt[busy.email] = 100

    raise_concern(portal, world)

    rows = {row.recipient_id: row for row in wait_for_states(portal, world.leads, {SENT, FAILED}, timeout=20)}
    assert rows[busy.id].state is FAILED and rows[busy.id].attempts == MAX_ATTEMPTS
    assert rows[busy.id].last_error.startswith(f"Gave up after {MAX_ATTEMPTS} attempts") and "451" in rows[busy.id].last_error
    replies = portal.mail.replies_to(busy.email)
    assert [code for _, code in replies] == ["451"] * MAX_ATTEMPTS
    pauses = [later - earlier for (earlier, _), (later, _) in zip(replies, replies[1:], strict=False)]
    assert all(pause >= 0.9 * RETRY_SECONDS * 2**n for n, pause in enumerate(pauses)), f"no doubling backoff: {pauses}"
    assert rows[other.id].state is SENT, f"never tried: {rows[other.id].last_error}"
    assert len(portal.mail.to(other.email)) == 1


def test_a_person_who_turned_an_event_off_gets_neither_email_nor_notification_while_others_do(portal, worker):
    world = build_world(portal, leads=2)
    quiet, other = world.leads
    portal.before_writing()
    with portal.session() as session:
        set_preferences(session.get(User, quiet.id), {NotificationEvent.CONCERN_RAISED: PreferenceChoice.OFF})
        session.commit()

    concern = raise_concern(portal, world)

    wait_for_states(portal, [other], {SENT})  # the fan-out is done (one transaction for everyone)
    assert deliveries(portal, quiet) == []
    assert [row[0] for row in in_app(portal, concern.id)] == [other.id]
    assert portal.mail.to(quiet.email) == [] and len(portal.mail.to(other.email)) == 1


def test_an_email_that_cannot_be_written_fails_alone_with_the_error_and_the_batch_goes_on(
    portal, worker, held_hand_over
):
    # A template cannot be broken inside another process; an email whose notification has gone
    # (no intent to write it from) fails in the same place, render_email. tests/notifications/
    # test_pipeline.py breaks the template itself, in this process.
    world = build_world(portal, leads=2)
    broken, other = world.leads
    raise_concern(portal, world)
    (intent_id,) = held_hand_over
    with portal.session() as session:
        ids = delivery.fan_out([intent_id])
        session.execute(sa.update(EmailDelivery).where(EmailDelivery.recipient_id == broken.id).values(intent_id=None))
        session.commit()

    tasks.send_emails.delay(ids)

    rows = {row.recipient_id: row for row in wait_for_states(portal, world.leads, {SENT, FAILED})}
    assert rows[broken.id].state is FAILED
    assert rows[broken.id].last_error.startswith("The email could not be written: ")
    assert rows[other.id].state is SENT and rows[other.id].id > rows[broken.id].id
    assert portal.mail.to(broken.email) == [] and len(portal.mail.to(other.email)) == 1
