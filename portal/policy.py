"""The one place that decides what a person may see and do.

Decisions depend on the membership the person is acting in (their role in one agency, chosen at
sign-in or by switching agency). Pages ask :func:`can` for capabilities; lists come from the
``*_visible_to`` / ``*_manageable_by`` query helpers so that a list, a count and an export can
never show more than a detail page; single objects come from the ``*_or_404`` helpers, so that an
object a person may not see does not reveal that it exists.
"""

from __future__ import annotations

import enum
from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user, login_required

from portal.agencies.models import Agency, Commissioning, Service
from portal.agreements.models import Agreement, AgreementParty
from portal.agreements.sharing import london_today
from portal.audit.models import AuditEvent
from portal.core.codes import Role
from portal.extensions import db
from portal.people.models import Membership, User


class Capability(enum.Enum):
    MANAGE_AGENCIES = "manage agencies, services and commissioning"
    MANAGE_PEOPLE = "invite people and manage their roles"
    MANAGE_AGREEMENTS = "record and revoke information-sharing agreements"
    READ_AUDIT = "read the audit trail"
    VIEW_OWN_AGENCY = "see their own agency, its services and agreements"


_EVERY_ROLE = frozenset(Role)

ROLE_CAPABILITIES: dict[Capability, frozenset[Role]] = {
    Capability.MANAGE_AGENCIES: frozenset({Role.ADMINISTRATOR}),
    Capability.MANAGE_PEOPLE: frozenset({Role.ADMINISTRATOR}),
    Capability.MANAGE_AGREEMENTS: frozenset({Role.ADMINISTRATOR}),
    Capability.READ_AUDIT: frozenset({Role.ADMINISTRATOR}),
    Capability.VIEW_OWN_AGENCY: _EVERY_ROLE - {Role.ADMINISTRATOR},
}


def _acting(user) -> Membership | None:
    if user is None or not user.is_authenticated:
        return None
    return user.membership


def can(user, capability: Capability) -> bool:
    """Whether the person, in the role they are acting in now, holds a capability."""
    membership = _acting(user)
    return membership is not None and membership.role in ROLE_CAPABILITIES[capability]


def require(capability: Capability):
    """View decorator: sign-in first, then 403 unless the acting role holds ``capability``."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not can(current_user, capability):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _first_or_404(query):
    found = db.session.scalars(query.limit(1)).first()
    if found is None:
        abort(404)
    return found


def _area_id(user) -> int | None:
    membership = _acting(user)
    return membership.agency.area_id if membership else None


# Agencies and services ------------------------------------------------------------------------


def agencies_manageable_by(user):
    """Agencies an administrator looks after: those in the area of the agency they act for."""
    if not can(user, Capability.MANAGE_AGENCIES):
        return sa.select(Agency).where(sa.false())
    return sa.select(Agency).where(Agency.area_id == _area_id(user))


def manageable_agency_or_404(user, agency_id: int) -> Agency:
    return _first_or_404(agencies_manageable_by(user).where(Agency.id == agency_id))


def manageable_service_or_404(user, service_id: int) -> Service:
    query = (
        sa.select(Service)
        .join(Agency, Service.provider_id == Agency.id)
        .where(Service.id == service_id, Agency.id.in_(_ids(agencies_manageable_by(user))))
    )
    return _first_or_404(query)


def manageable_commissioning_or_404(user, commissioning_id: int) -> Commissioning:
    query = (
        sa.select(Commissioning)
        .join(Service, Commissioning.service_id == Service.id)
        .where(
            Commissioning.id == commissioning_id,
            Service.provider_id.in_(_ids(agencies_manageable_by(user))),
        )
    )
    return _first_or_404(query)


def services_of_own_agency(user):
    """Services a person sees on their agency page: a provider's own, a commissioner's contracts."""
    membership = _acting(user)
    if membership is None or not can(user, Capability.VIEW_OWN_AGENCY):
        return sa.select(Service).where(sa.false())
    agency = membership.agency
    if agency.is_provider:
        return sa.select(Service).where(Service.provider_id == agency.id)
    if agency.commissions_services:
        today = london_today()
        current = (
            sa.select(Commissioning.service_id)
            .where(
                Commissioning.commissioner_id == agency.id,
                Commissioning.starts_on <= today,
                sa.or_(Commissioning.ends_on.is_(None), Commissioning.ends_on >= today),
            )
        )
        return sa.select(Service).where(Service.id.in_(current))
    return sa.select(Service).where(sa.false())


def _ids(query):
    """The id column of a scoped query, to use inside another query's IN clause."""
    entity = query.column_descriptions[0]["entity"]
    return query.with_only_columns(entity.id).scalar_subquery()


# People ---------------------------------------------------------------------------------------


def people_manageable_by(user):
    """People holding, or having held, a role in an agency the administrator looks after."""
    if not can(user, Capability.MANAGE_PEOPLE):
        return sa.select(User).where(sa.false())
    in_area = sa.select(Membership.user_id).where(Membership.agency_id.in_(_ids(agencies_manageable_by(user))))
    return sa.select(User).where(User.id.in_(in_area))


def manageable_person_or_404(user, person_id: int) -> User:
    return _first_or_404(people_manageable_by(user).where(User.id == person_id))


# Agreements -----------------------------------------------------------------------------------


def agreements_visible_to(user):
    """Administrators see their area's agreements; everyone else those their agency is party to."""
    membership = _acting(user)
    if membership is None:
        return sa.select(Agreement).where(sa.false())
    if can(user, Capability.MANAGE_AGREEMENTS):
        return sa.select(Agreement).where(Agreement.area_id == membership.agency.area_id)
    party = sa.select(AgreementParty.agreement_id).where(
        AgreementParty.agency_id == membership.agency_id
    )
    return sa.select(Agreement).where(Agreement.id.in_(party))


def visible_agreement_or_404(user, agreement_id: int) -> Agreement:
    return _first_or_404(agreements_visible_to(user).where(Agreement.id == agreement_id))


def manageable_agreement_or_404(user, agreement_id: int) -> Agreement:
    if not can(user, Capability.MANAGE_AGREEMENTS):
        abort(403)
    return visible_agreement_or_404(user, agreement_id)


def can_manage_agreements(user) -> bool:
    return can(user, Capability.MANAGE_AGREEMENTS)


# Audit ----------------------------------------------------------------------------------------


def audit_events_visible_to(user):
    """Events from the administrator's area, and those tied to no agency (failed sign-ins)."""
    if not can(user, Capability.READ_AUDIT):
        return sa.select(AuditEvent).where(sa.false())
    return sa.select(AuditEvent).where(
        sa.or_(
            AuditEvent.agency_id.is_(None),
            AuditEvent.agency_id.in_(_ids(agencies_manageable_by(user))),
        )
    )
