"""The demo's personal-data controls: the area's retention settings, with a short one for public
reporters' contact details so that the oldest closed concerns are already redacted under it, and a
use of break glass by the police's designated lead waiting for the council's review.

(The demo's concerns all fall within the last year, so a concern closed six years ago is not
added: the short setting shows redaction instead.)"""

from __future__ import annotations

from portal import policy
from portal.agencies.models import Agency, Area
from portal.concerns.models import Concern
from portal.core.codes import ConcernStatus
from portal.people.models import User
from portal.privacy import operations
from portal.privacy.models import RetentionCategory

ADMIN = "admin@council.northshire.example"
POLICE_LEAD = "lead@police.northshire.example"

#: Northshire keeps a public reporter's contact details for nine months after closing, not two years.
RETENTION = {
    RetentionCategory.ADULT_DETAILS: 72, RetentionCategory.ADULT_VOICE: 72,
    RetentionCategory.REPORTER_CONTACT: 9, RetentionCategory.MEETING_GUESTS: 24,
}

BREAK_GLASS_REASON = (
    "Officers are with the adult's son after a call about money taken from her account tonight and need her "
    "address and date of birth to check she is safe at home before morning."
)


def _acting(user: User) -> User:
    user.membership = user.active_memberships[0]
    return user


def seed_privacy(area: Area, agencies: dict[str, Agency], users: dict[str, User], concerns: dict[str, Concern]) -> None:
    operations.set_retention(area, RETENTION, by=_acting(users[ADMIN]))
    operations.redact_expired()
    _break_glass(users, concerns)
    for user in users.values():
        user.membership = None


def _break_glass(users: dict[str, User], concerns: dict[str, Concern]) -> None:
    """The police's designated lead breaks glass on an open concern whose adult's details are withheld
    from the police (the adult has not agreed to share)."""
    lead = _acting(users[POLICE_LEAD])
    withheld = [
        concern for concern in sorted(concerns.values(), key=lambda c: c.reference)
        if concern.adult is not None and concern.status is not ConcernStatus.CLOSED
        and not policy.adult_details_disclosure(lead, concern).allowed
    ]
    if withheld:
        operations.break_glass(withheld[0], reason=BREAK_GLASS_REASON, by=lead)
