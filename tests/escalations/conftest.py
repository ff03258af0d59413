"""Escalation tests build on the intelligence area (``intel_world``): a council, an ICB, a regulator,
a Board, the police, two providers (Sunrise Care, Moonlight Care) with a service each, and a person
in every role (see tests/intelligence/conftest.py).

``raise_about`` raises an escalation through the real operation, as a given person, at a given
moment (an aware datetime: tests freeze the clock by passing ``now``).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import pytest

from portal.core.codes import KeyQuestion
from portal.escalations import operations as ops
from portal.escalations.models import EscalationSubject
from portal.extensions import db
from tests.intelligence.conftest import (  # noqa: F401 - fixtures used here
    acting,
    add_item,
    db_session,
    intel_world,
)
from tests.meetings.conftest import adult_concern, make_meeting  # noqa: F401 - fixtures used here

#: A Monday morning with no bank holiday near it (England): 09:30 on 9 November 2026, in GMT.
MONDAY = datetime(2026, 11, 9, 9, 30, tzinfo=UTC)


def as_acting(user):
    """Put a person in their first role, as signing in would, for calling operations directly."""
    user.membership = user.active_memberships[0]
    return user


def raise_escalation(world, *, by=None, subject=EscalationSubject.SERVICE, to=None, service=None, provider=None,
                     concern=None, meeting_action=None, agenda_item=None, harm_imminent=False, now=MONDAY,
                     disagreement="The provider's falls policy is not being followed at night.",
                     wanted="A review of the night staffing rota within a month.", key_questions=(KeyQuestion.SAFE,),
                     abuse_types=()):
    """Raise an escalation (default: the council's commissioner, about Sunrise House, to Sunrise Care)."""
    by = as_acting(by or world.users.council_commissioner)
    if subject is EscalationSubject.SERVICE and service is None:
        service = world.home
    details = ops.RaiseDetails(
        subject=subject, receiving_agency=to or world.sunrise, disagreement=disagreement, wanted=wanted,
        harm_imminent=harm_imminent, abuse_types=list(abuse_types), key_questions=list(key_questions),
        concern=concern, provider=provider, service=service, meeting_action=meeting_action, agenda_item=agenda_item,
    )
    escalation = ops.raise_escalation(details, by=by, now=now)
    db.session.commit()
    return escalation


@pytest.fixture
def raise_about(db_session, intel_world):  # noqa: F811 - the fixture imported above
    """:func:`raise_escalation` in the test's world."""
    return functools.partial(raise_escalation, intel_world)
