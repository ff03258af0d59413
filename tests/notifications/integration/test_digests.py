"""The daily summary, built and sent by the worker's ``send_digests`` task."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.concerns import operations
from portal.concerns.models import Concern
from portal.core.codes import TriageDecision
from portal.core.workdays import london_today
from portal.notifications.models import (
    DeliveryKind,
    DeliveryState,
    EmailDelivery,
    NotificationEvent,
    PreferenceChoice,
)
from portal.notifications.operations import set_preferences
from portal.people.models import User
from tests.notifications.integration.conftest import (
    PUBLIC_URL,
    acting,
    assert_no_personal_details,
    build_world,
    deliveries,
    raise_concern,
    subject_of,
    text_of,
    wait_for_states,
    wait_until,
)
from workers.tasks import notifications as tasks

pytestmark = pytest.mark.worker

E = NotificationEvent
QUEUED, IN_DIGEST, SENT = DeliveryState.IN_DIGEST_QUEUE, DeliveryState.IN_DIGEST, DeliveryState.SENT


def groups_in(text: str) -> dict[str, list[str]]:
    """The summary's groups as the reader sees them: heading (count) -> the references listed."""
    groups, heading = {}, None
    for line in text.splitlines():
        if match := re.fullmatch(r"(.+) \((\d+)\):", line.strip()):
            heading = match[1]
            groups[heading] = []
        elif line.startswith("- ") and heading is not None:
            groups[heading].append(line)
    return groups


def test_the_daily_summary_is_one_email_grouping_the_days_items_by_event_and_is_sent_once(portal, worker):
    world = build_world(portal, leads=2)
    summarised, immediate = world.leads
    portal.before_writing()
    with portal.session() as session:
        set_preferences(session.get(User, summarised.id), {
            E.CONCERN_RAISED: PreferenceChoice.DAILY_DIGEST, E.CONCERN_TRIAGED: PreferenceChoice.DAILY_DIGEST,
        })
        session.commit()

    first = raise_concern(portal, world)
    second = raise_concern(portal, world)
    portal.before_writing()
    with portal.session() as session:
        operations.triage_concern(session.get(Concern, first.id), decision=TriageDecision.S42_ENQUIRY, reason=None,
                                  by=acting(session.get(User, immediate.id)))
        session.commit()

    # Two concerns raised, one of them triaged by the other lead: three items wait for the summary.
    wait_until(lambda: len(deliveries(portal, summarised)) == 3, what="the three items to be fanned out")
    queued = wait_for_states(portal, [summarised], {QUEUED})
    wait_for_states(portal, [immediate], {SENT})
    assert len(portal.mail.to(immediate.email)) == 2  # one email per concern raised, straight away
    assert portal.mail.to(summarised.email) == []

    # The day passes: what waited yesterday goes into yesterday's summary.
    yesterday = london_today() - timedelta(days=1)
    with portal.session() as session:
        session.execute(sa.update(EmailDelivery).where(EmailDelivery.id.in_([row.id for row in queued]))
                        .values(digest_date=yesterday))
        session.commit()

    tasks.send_digests.delay()

    rows = wait_for_states(portal, [summarised], {IN_DIGEST, SENT})
    (digest,) = [row for row in rows if row.kind is DeliveryKind.DIGEST]
    assert digest.state is SENT and all(row.digest_id == digest.id for row in rows if row is not digest)
    (message,) = portal.mail.to(summarised.email)
    assert message["Message-ID"] == f"<digest-{summarised.id}-{yesterday.isoformat()}@safeguarding.invalid>"
    assert subject_of(message) == f"Safeguarding partnership portal: your daily summary for {yesterday:%-d %B %Y}"
    text = text_of(message)
    assert "3 notifications" in text
    groups = groups_in(text)
    assert sorted(groups) == ["A concern was raised", "A concern was triaged"]
    # Each line: "- A concern was raised: C-2026-000001: https://.../concerns/1"
    assert sorted(line.split(": ")[1] for line in groups["A concern was raised"]) == sorted([first.reference, second.reference])
    assert [line.split(": ")[1] for line in groups["A concern was triaged"]] == [first.reference]
    assert f"{PUBLIC_URL}/concerns/{first.id}" in text and f"{PUBLIC_URL}/concerns/{second.id}" in text
    assert_no_personal_details(message)
    assert all("daily summary" not in subject_of(m) for m in portal.mail.to(immediate.email))
    assert not any(row.kind is DeliveryKind.DIGEST for row in deliveries(portal, immediate))

    # The summary task running again (beat fires it daily; a retry may repeat it) sends nothing more.
    tasks.send_digests.delay()
    portal.redis.wait_idle()
    assert len(portal.mail.to(summarised.email)) == 1
    assert len([row for row in deliveries(portal, summarised) if row.kind is DeliveryKind.DIGEST]) == 1
