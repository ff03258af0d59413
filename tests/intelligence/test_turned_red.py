"""A service whose risk signal turns Red tells its commissioners and the area's safeguarding leads,
once, naming the service and nothing from the items."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.intelligence.models import RiskBand, RiskSignal, Severity, SourceType
from portal.notifications.models import NotificationEvent, NotificationIntent


def _red_intents(service):
    return db.session.scalars(
        sa.select(NotificationIntent).where(
            NotificationIntent.event == NotificationEvent.SERVICE_TURNED_RED, NotificationIntent.subject_id == service.id,
        )
    ).all()


def _band(service):
    return db.session.scalar(
        sa.select(RiskSignal.band).where(RiskSignal.service_id == service.id, RiskSignal.includes_confidential.is_(True))
    )


def test_turning_red_tells_the_commissioner_and_the_leads_once(intel_world, add_item):
    home, users = intel_world.home, intel_world.users
    add_item(home, source=SourceType.COMPLAINT, severity=Severity.LOW, summary="Laundry went missing")
    assert _band(home) is not RiskBand.RED
    assert _red_intents(home) == []

    add_item(home, source=SourceType.INCIDENT, severity=Severity.SERIOUS, summary="Unwitnessed fall, fracture")
    add_item(home, source=SourceType.WHISTLEBLOWING, severity=Severity.SERIOUS, summary="Night staff asleep")
    assert _band(home) is RiskBand.RED
    [intent] = _red_intents(home)
    assert set(intent.recipient_ids) == {users.council_commissioner.id, users.lead.id}
    assert intent.summary == "Sunrise House is now Red on the risk register"
    assert intent.link == f"/services/{home.id}"

    # Still Red after another item: nobody is told again.
    add_item(home, source=SourceType.FEEDBACK, severity=Severity.HIGH, summary="Family worried")
    assert len(_red_intents(home)) == 1
