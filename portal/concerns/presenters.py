"""What a person sees of a concern, decided before the template sees any of it.

The adult's personal details pass through :func:`present_concern`: where the policy layer says
they are withheld, each field is replaced by the reason ("withheld: no agreement / no consent"),
never silently dropped, and every showing of them is written to the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portal import policy
from portal.audit.operations import record
from portal.concerns.models import Comment, Concern
from portal.privacy.operations import redactions_of


@dataclass(frozen=True)
class AdultView:
    """The adult as this viewer may see them: real values, or the reason each is withheld."""

    shown: bool
    withheld_because: str | None
    name: str | None = None
    date_of_birth: object = None
    nhs_number: str | None = None
    sex: object = None
    address: str | None = None
    postcode: str | None = None
    communication_needs: str | None = None
    preferred_language: str | None = None
    primary_support_reason: object = None
    reporter_name: str | None = None
    reporter_contact: str | None = None
    reporter_relationship: str | None = None
    #: Shown only because the viewer broke glass: until when.
    break_glass_until: object = None


@dataclass(frozen=True)
class ConcernView:
    adult: AdultView | None
    comments: list[Comment] = field(default_factory=list)
    can_work_on: bool = False
    can_override_consent: bool = False
    sees_local_authority_only: bool = False
    #: Personal-data controls (portal.privacy): may break glass here, may see who viewed the adult,
    #: and what retention has redacted.
    can_break_glass: bool = False
    can_review_access: bool = False
    redactions: list = field(default_factory=list)


PERSONAL_FIELDS = (
    "name", "date_of_birth", "nhs_number", "sex", "address", "postcode",
    "communication_needs", "preferred_language", "primary_support_reason",
)


def present_concern(user, concern: Concern, *, audit: bool = True) -> ConcernView:
    disclosure = policy.adult_details_disclosure(user, concern)
    adult = None
    if concern.adult is not None or concern.reporter_name or concern.reporter_contact or concern.reporter_relationship:
        if disclosure.allowed:
            values = {name: getattr(concern.adult, name) for name in PERSONAL_FIELDS} if concern.adult else {}
            adult = AdultView(
                shown=True, withheld_because=None, reporter_name=concern.reporter_name,
                reporter_contact=concern.reporter_contact, reporter_relationship=concern.reporter_relationship,
                break_glass_until=disclosure.break_glass_until, **values,
            )
            if audit:
                details = {"adult_id": concern.adult_id, "role": user.membership.role if user.membership else None}
                if disclosure.break_glass_until is not None:
                    details["break_glass"] = True
                record(
                    "concern.view_personal",
                    f"{concern.reference}: personal details of the adult seen"
                    + (" under break glass" if disclosure.break_glass_until is not None else ""),
                    target=concern,
                    actor=user,
                    details=details,
                )
        else:
            adult = AdultView(shown=False, withheld_because=disclosure.withheld_because)
    return ConcernView(
        adult=adult,
        comments=policy.comments_visible_to(user, concern),
        can_work_on=policy.can_work_on_concern(user, concern),
        can_override_consent=policy.can_override_consent(user, concern),
        sees_local_authority_only=policy.sees_local_authority_only_comments(user),
        can_break_glass=adult is not None and policy.can_break_glass(user, concern, disclosure),
        can_review_access=concern.adult_id is not None and policy.can_review_adult_access(user),
        redactions=redactions_of(concern),
    )
