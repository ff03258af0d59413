"""Automatic escalation by the scheduled task, run by a real worker process.

An escalation is raised as if a month ago (``now=``), so its first stage's deadline and grace
period are long past. The task Celery beat sends, ``workers.tasks.escalations.escalate_overdue``,
is published by name to this run's Redis, exactly as beat sends it; the worker moves the escalation
up as the portal's own action, and the people who answer at the next stage get the email through
the test SMTP server.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

import workers.celery_app as celery_app
from portal.agencies.models import Agency, Service
from portal.core.codes import Role
from portal.core.db import utcnow
from portal.escalations import operations as ops
from portal.escalations.models import Escalation, EscalationSubject, EventKind, StageOutcome
from portal.people.models import Membership, User
from tests.notifications.integration.conftest import (
    PUBLIC_URL,
    Person,
    acting,
    build_world,
    subject_of,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.worker

TASK = "workers.tasks.escalations.escalate_overdue"


@dataclass(frozen=True)
class RaisedEscalation:
    id: int
    reference: str
    deadline_at: object


def add_manager(portal, world) -> Person:
    """The provider's manager: the only one to answer for it from the second stage."""
    portal.before_writing()
    with portal.session() as session:
        provider_id = session.get(Service, world.service_id).provider_id
        manager = User(email=f"manager-{uuid.uuid4().hex[:8]}@care.example", name="Max Manager")
        session.add(Membership(user=manager, agency_id=provider_id, role=Role.PROVIDER_MANAGER))
        session.commit()
        return Person(manager.id, manager.email, manager.name)


def raise_a_month_ago(portal, world) -> RaisedEscalation:
    """The council's first lead escalates the service's quality to the provider, 30 days ago."""
    portal.before_writing()
    with portal.session() as session:
        service = session.get(Service, world.service_id)
        details = ops.RaiseDetails(
            subject=EscalationSubject.SERVICE, receiving_agency=session.get(Agency, service.provider_id), service=service,
            disagreement="Night checks are not being recorded.", wanted="A review of the night rota.", harm_imminent=False,
        )
        escalation = ops.raise_escalation(details, by=acting(session.get(User, world.leads[0].id)),
                                          now=utcnow() - timedelta(days=30))
        session.commit()
        return RaisedEscalation(escalation.id, escalation.reference, escalation.deadline_at)


def test_the_beat_task_on_a_real_worker_moves_an_overdue_escalation_and_emails_the_next_stage(portal, worker):
    world = build_world(portal, leads=2)
    manager = add_manager(portal, world)
    raised = raise_a_month_ago(portal, world)
    first_lead, second_lead = world.leads
    # Raising told the provider's people at the first stage; the council's second lead only
    # answers from the second stage, so has heard nothing yet.
    wait_until(lambda: portal.mail.to(world.staff.email), what="the email telling the provider's staff")
    portal.redis.wait_idle()
    assert portal.mail.to(second_lead.email) == []

    celery_app.celery.send_task(TASK)

    def moved():
        with portal.session() as session:
            escalation = session.get(Escalation, raised.id)
            if escalation.stage != 2:
                return None
            first_stage = escalation.stages[0]
            events = [(event.kind, event.actor_id, event.stage, event.text) for event in escalation.events]
            return escalation.state, first_stage.outcome, events, escalation.deadline_at

    state, outcome, events, deadline = wait_until(moved, what="the worker to move the escalation to stage 2")
    assert (state.name, outcome) == ("OPEN", StageOutcome.AUTO_ESCALATED)
    [auto] = [event for event in events if event[0] is EventKind.AUTO_ESCALATED]
    assert auto[1] is None and auto[2] == 1  # the portal's own action, at the first stage
    assert auto[3].startswith(f"No response by the deadline ({ops.deadline_words(raised.deadline_at)})")
    assert auto[3].endswith("the grace period of 2 working days has passed")
    assert deadline > utcnow()  # the second stage's deadline is worked out afresh, from now

    expected_subject = f"Safeguarding partnership portal: Escalated by the portal to stage 2: escalation {raised.reference} (stage 2)"
    for person in (second_lead, manager, first_lead):
        messages = wait_until(
            lambda person=person: [m for m in portal.mail.to(person.email) if subject_of(m) == expected_subject],
            what=f"the escalation email to {person.email}",
        )
        assert len(messages) == 1
        assert f"{PUBLIC_URL}/escalations/{raised.id}" in text_of(messages[0])
        assert f"Hello {person.name}" in text_of(messages[0])

    # Sent again (as beat would on its next beat), it moves nothing more.
    celery_app.celery.send_task(TASK)
    portal.redis.wait_idle()
    with portal.session() as session:
        assert session.scalar(sa.select(Escalation.stage).where(Escalation.id == raised.id)) == 2
        timeline = session.scalar(sa.select(sa.func.count()).select_from(Escalation).join(Escalation.events).where(
            Escalation.id == raised.id))
        assert timeline == len(events)
