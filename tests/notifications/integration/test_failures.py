"""Parts failing for real: the broker down when a change is committed, a worker killed mid-send."""

from __future__ import annotations

import logging
import time

import pytest
import redis
import sqlalchemy as sa

from portal.core.db import utcnow
from portal.notifications.models import DeliveryState, EmailDelivery, Notification, NotificationIntent
from tests.notifications.integration.conftest import (
    WAIT_SECONDS,
    RedisDatabase,
    assert_no_personal_details,
    build_world,
    deliveries,
    publishing_to,
    raise_concern,
    restore_unacknowledged,
    subject_of,
    wait_for_states,
    wait_until,
)
from workers.tasks import notifications as tasks

pytestmark = pytest.mark.worker


def intent_and_notifications(portal, concern_id: int):
    with portal.session() as session:
        intent = session.execute(
            sa.select(NotificationIntent.id, NotificationIntent.fanned_out_at).where(NotificationIntent.subject_id == concern_id)
        ).one()
        notified = session.scalars(sa.select(Notification.recipient_id).where(Notification.concern_id == concern_id)).all()
        return intent, sorted(notified)


def test_with_the_broker_down_at_commit_the_change_stands_and_the_sweep_delivers_it_once_later(
    portal, workers, private_redis, caplog
):
    world = build_world(portal, leads=1)
    (lead,) = world.leads
    private_redis.start()
    private_redis.stop()  # the portal's broker has gone away

    with publishing_to(private_redis.url), caplog.at_level(logging.ERROR):
        started = time.monotonic()
        concern = raise_concern(portal, world)  # commits; handing over fails, and must not raise
        took = time.monotonic() - started

        assert "Could not hand intents" in caplog.text and "the sweep will try again" in caplog.text
        assert took < 5, f"publishing to a broker that is down held the commit for {took:.1f} s"
        (_, fanned_out_at), notified = intent_and_notifications(portal, concern.id)
        assert fanned_out_at is None and notified == [] and deliveries(portal, lead) == []

        private_redis.start()  # back, on the same port, empty
        broker = RedisDatabase(private_redis.url, redis.Redis.from_url(private_redis.url))
        worker = workers.start(redis_url=private_redis.url)
        try:
            time.sleep(0.5)
            assert portal.mail.to(lead.email) == [], "nothing is sent until the sweep finds the intent"

            tasks.sweep.delay()  # what beat does every SWEEP_SECONDS

            (row,) = wait_for_states(portal, [lead], {DeliveryState.SENT})
            broker.wait_idle()
            tasks.sweep.delay()  # a second sweep finds nothing left to do
            broker.wait_idle()
        finally:
            workers.stop(worker)
            broker.client.close()

    (message,) = portal.mail.to(lead.email)
    assert message["Message-ID"] == f"<{row.key}@safeguarding.invalid>" and row.attempts == 1
    assert concern.reference in subject_of(message)
    assert_no_personal_details(message)
    (_, fanned_out_at), notified = intent_and_notifications(portal, concern.id)
    assert fanned_out_at is not None and notified == [lead.id]


def test_a_worker_killed_while_sending_leaves_exactly_one_email_in_the_end(portal, workers):
    world = build_world(portal, leads=1)
    (lead,) = world.leads
    first = workers.running()
    hold = portal.mail.hold_next_rcpt()

    raise_concern(portal, world)

    assert hold.reached.wait(WAIT_SECONDS), "the worker never got as far as the mail server"
    (row,) = deliveries(portal, lead)
    assert row.state is DeliveryState.SENDING and row.attempts == 1
    workers.kill(first)  # SIGKILL, mid-conversation with the mail server
    hold.release()  # the server carries on, but the client is gone: no DATA, so no message
    time.sleep(0.3)
    assert portal.mail.to(lead.email) == []

    workers.running()  # the next worker
    with portal.session() as session:
        lease = session.scalar(sa.select(EmailDelivery.claimed_until).where(EmailDelivery.id == row.id))
    wait_until(lambda: utcnow() > lease, what="the dead worker's lease to run out")
    # Both ways back: the sweep finds the email whose lease ran out, and the dead worker's task,
    # never acknowledged, goes back to the queue (its visibility timeout has passed too).
    tasks.sweep.delay()
    restore_unacknowledged(portal.redis.url)
    workers.killed.remove(first)

    (row,) = wait_for_states(portal, [lead], {DeliveryState.SENT, DeliveryState.FAILED})
    portal.redis.wait_idle()  # the redelivered task has run too
    (row,) = deliveries(portal, lead)
    assert row.state is DeliveryState.SENT and row.attempts >= 2
    assert len(portal.mail.with_id(row.key)) == 1
    assert len(portal.mail.to(lead.email)) == 1
