"""The one place that decides what a person may see and do.

Decisions depend on the membership the person is acting in (their role in one agency, chosen at
sign-in or by switching agency). Pages ask :func:`can` for capabilities; lists come from the
``*_visible_to`` / ``*_manageable_by`` query helpers so that a list, a count and an export can
never show more than a detail page; single objects come from the ``*_or_404`` helpers, so that an
object a person may not see does not reveal that it exists.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from functools import wraps

import sqlalchemy as sa
from flask import abort, g, has_request_context
from flask_login import current_user, login_required

from portal.agencies.models import Agency, Commissioning, Service
from portal.agreements.models import Agreement, AgreementParty
from portal.agreements.sharing import london_today, partner_ids_sharing, shares
from portal.audit.models import AuditEvent
from portal.concerns.models import Comment, Concern, ConsentOverride
from portal.core.codes import AgencyKind, ConsentToShare, DataCategory, Role
from portal.extensions import db
from portal.people.models import Membership, User


class Capability(enum.Enum):
    MANAGE_AGENCIES = "manage agencies, services and commissioning"
    MANAGE_PEOPLE = "invite people and manage their roles"
    MANAGE_AGREEMENTS = "record and revoke information-sharing agreements"
    READ_AUDIT = "read the audit trail"
    VIEW_OWN_AGENCY = "see their own agency, its services and agreements"
    RAISE_CONCERN = "raise a safeguarding concern"
    WORK_ON_CONCERNS = "triage, work on and close concerns in their area"
    OPERATE_NOTIFICATIONS = "see notification deliveries in their area and resend them"
    VIEW_INTELLIGENCE = "see provider profiles and the risk register, within what they may see"
    IMPORT_INTELLIGENCE = "import inspection ratings, contract-monitoring results or intelligence items"
    VIEW_MEETINGS = "see the meetings they are invited to and their own meeting actions"
    SCHEDULE_MEETINGS = "schedule partnership meetings"
    RAISE_ESCALATIONS = "escalate a concern, a provider, an overdue action or a disagreement, and see their escalations"
    OVERSEE_ESCALATIONS = "see every escalation in their area, its themes and figures, without the adults' details"
    CONFIGURE_LADDER = "set the partnership's escalation ladder: stages, deadlines and grace period"
    CONFIGURE_SIGN_ON = "connect their area's agencies to their own identity providers (OpenID Connect)"
    BREAK_GLASS = "see an adult's withheld details in an emergency, with a reason, notified and audited"
    CONFIGURE_RETENTION = "set how long each category of personal data is kept after a concern closes"


_EVERY_ROLE = frozenset(Role)

ROLE_CAPABILITIES: dict[Capability, frozenset[Role]] = {
    Capability.MANAGE_AGENCIES: frozenset({Role.ADMINISTRATOR}),
    Capability.MANAGE_PEOPLE: frozenset({Role.ADMINISTRATOR}),
    Capability.MANAGE_AGREEMENTS: frozenset({Role.ADMINISTRATOR}),
    Capability.READ_AUDIT: frozenset({Role.ADMINISTRATOR}),
    Capability.VIEW_OWN_AGENCY: _EVERY_ROLE - {Role.ADMINISTRATOR},
    Capability.RAISE_CONCERN: frozenset(
        {Role.PROVIDER_STAFF, Role.PROVIDER_MANAGER, Role.COMMISSIONER, Role.INSPECTOR, Role.SAFEGUARDING_LEAD}
    ),
    Capability.WORK_ON_CONCERNS: frozenset({Role.SAFEGUARDING_LEAD}),
    Capability.OPERATE_NOTIFICATIONS: frozenset({Role.ADMINISTRATOR}),
    Capability.VIEW_INTELLIGENCE: frozenset(
        {Role.COMMISSIONER, Role.INSPECTOR, Role.SAFEGUARDING_LEAD, Role.PROVIDER_MANAGER, Role.SAB_MEMBER, Role.SAB_CHAIR}
    ),
    Capability.IMPORT_INTELLIGENCE: frozenset({Role.COMMISSIONER, Role.INSPECTOR, Role.SAFEGUARDING_LEAD}),
    Capability.VIEW_MEETINGS: _EVERY_ROLE - {Role.ADMINISTRATOR},
    Capability.SCHEDULE_MEETINGS: frozenset({Role.COMMISSIONER, Role.SAFEGUARDING_LEAD, Role.SAB_CHAIR}),
    Capability.RAISE_ESCALATIONS: _EVERY_ROLE - {Role.ADMINISTRATOR},
    Capability.OVERSEE_ESCALATIONS: frozenset({Role.SAB_MEMBER, Role.SAB_CHAIR}),
    Capability.CONFIGURE_LADDER: frozenset({Role.ADMINISTRATOR}),
    Capability.CONFIGURE_SIGN_ON: frozenset({Role.ADMINISTRATOR}),
    Capability.BREAK_GLASS: frozenset({Role.SAFEGUARDING_LEAD}),
    Capability.CONFIGURE_RETENTION: frozenset({Role.ADMINISTRATOR}),
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
        return sa.select(Service).where(Service.id.in_(_commissioned_service_ids(agency.id)))
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


# Concerns -------------------------------------------------------------------------------------


def _nothing(entity):
    return sa.select(entity).where(sa.false())


def _commissioned_service_ids(agency_id: int):
    today = london_today()
    return sa.select(Commissioning.service_id).where(
        Commissioning.commissioner_id == agency_id,
        Commissioning.starts_on <= today,
        sa.or_(Commissioning.ends_on.is_(None), Commissioning.ends_on >= today),
    )


def _is_area_lead(membership: Membership | None) -> bool:
    return (
        membership is not None
        and membership.role is Role.SAFEGUARDING_LEAD
        and membership.agency.kind is AgencyKind.LOCAL_AUTHORITY
    )


def concerns_visible_to(user):
    """Concerns a person may open: the one rule behind every list, search, count and export.

    Safeguarding leads: every concern in their area (a designated lead outside the council, in the
    police or an NHS trust, sees the adult's details only under the disclosure rule, or by breaking
    glass in an emergency). Provider staff: those they raised. Provider managers: those their
    organisation raised. Commissioners: those their agency raised and those
    about services it commissions now. Inspectors: those the regulator raised and those about any
    service in the area. Board members and administrators: none individually.
    """
    membership = _acting(user)
    if membership is None:
        return _nothing(Concern)
    agency = membership.agency
    if _is_area_lead(membership):
        return sa.select(Concern).where(Concern.area_id == agency.area_id)
    if membership.role is Role.PROVIDER_STAFF:
        # What they raised while at this provider: someone who moves on does not take it along.
        return sa.select(Concern).where(Concern.raised_by_id == user.id, Concern.raising_agency_id == agency.id)
    if membership.role is Role.SAFEGUARDING_LEAD:
        # A designated lead in the police or an NHS trust: what their agency raised, and the area's
        # other concerns, whose adult's details they may need in an emergency (break glass).
        return sa.select(Concern).where(
            sa.or_(Concern.raising_agency_id == agency.id, Concern.area_id == agency.area_id)
        )
    if membership.role is Role.PROVIDER_MANAGER:
        return sa.select(Concern).where(Concern.raising_agency_id == agency.id)
    if membership.role is Role.COMMISSIONER:
        return sa.select(Concern).where(
            sa.or_(Concern.raising_agency_id == agency.id, Concern.service_id.in_(_commissioned_service_ids(agency.id)))
        )
    if membership.role is Role.INSPECTOR:
        return sa.select(Concern).where(
            sa.or_(
                Concern.raising_agency_id == agency.id,
                sa.and_(Concern.area_id == agency.area_id, Concern.service_id.is_not(None)),
            )
        )
    return _nothing(Concern)


def visible_concern_or_404(user, concern_id: int) -> Concern:
    return _first_or_404(concerns_visible_to(user).where(Concern.id == concern_id))


@dataclass(frozen=True)
class Disclosure:
    """Whether a person may see the adult's personal details on a concern, and if not, why."""

    allowed: bool
    withheld_because: str | None = None
    #: Shown only because the person broke glass: until when (see ``portal.privacy``).
    break_glass_until: datetime | None = None


NO_AGREEMENT = "withheld: no agreement"
NO_CONSENT = "withheld: no consent"


def adult_details_disclosure(user, concern: Concern) -> Disclosure:
    """The field-level rule for the adult's personal details (:func:`_disclosure_by_agreement`), or,
    where that withholds them, an unexpired break-glass grant of the person in the role they act in."""
    decided = _disclosure_by_agreement(user, concern)
    if decided.allowed:
        return decided
    until = break_glass_until(user, concern)
    return Disclosure(True, break_glass_until=until) if until is not None else decided


def _disclosure_by_agreement(user, concern: Concern) -> Disclosure:
    """The field-level rule for the adult's personal details (name, date of birth, NHS number...).

    The area's local authority and the agency that raised the concern always see them (a refusal
    keeps them there). Anyone else needs both an information-sharing agreement in force covering
    personal safeguarding data between their agency and the area's local authority, and a basis
    in consent: given, a recorded override of a refusal, or, where the adult lacks capacity to
    decide, a recorded best-interests decision.
    """
    membership = _acting(user)
    if membership is None:
        return Disclosure(False, NO_AGREEMENT)
    if membership.agency.kind is AgencyKind.LOCAL_AUTHORITY and membership.agency.area_id == concern.area_id:
        return Disclosure(True)
    if concern.raising_agency_id is not None and concern.raising_agency_id == membership.agency_id:
        return Disclosure(True)
    councils = db.session.scalars(
        sa.select(Agency.id).where(Agency.area_id == concern.area_id, Agency.kind == AgencyKind.LOCAL_AUTHORITY)
    ).all()
    if not any(shares(membership.agency_id, DataCategory.PERSONAL_SAFEGUARDING, council) for council in councils):
        return Disclosure(False, NO_AGREEMENT)
    best_interests = concern.consent is ConsentToShare.NOT_POSSIBLE and bool(concern.best_interests_decision)
    if concern.consent is not ConsentToShare.GIVEN and not concern.consent_overridden and not best_interests:
        return Disclosure(False, NO_CONSENT)
    return Disclosure(True)


def can_work_on_concern(user, concern: Concern) -> bool:
    """Triage, assign, record the MSP conversation, start, close and reopen."""
    membership = _acting(user)
    return _is_area_lead(membership) and membership.agency.area_id == concern.area_id


def can_override_consent(user, concern: Concern) -> bool:
    """Safeguarding leads, and managers of the agency that raised the concern."""
    membership = _acting(user)
    if can_work_on_concern(user, concern):
        return True
    return (
        membership is not None
        and membership.role is Role.PROVIDER_MANAGER
        and membership.agency_id == concern.raising_agency_id
    )


def sees_local_authority_only_comments(user) -> bool:
    membership = _acting(user)
    return membership is not None and membership.agency.kind is AgencyKind.LOCAL_AUTHORITY


def comments_visible_to(user, concern: Concern) -> list[Comment]:
    if sees_local_authority_only_comments(user):
        return list(concern.comments)
    return [comment for comment in concern.comments if not comment.local_authority_only]


def overrides_visible_to(user):
    """Every consent override, for audit: safeguarding leads see their area's."""
    membership = _acting(user)
    if not _is_area_lead(membership):
        return _nothing(ConsentOverride)
    return (
        sa.select(ConsentOverride)
        .join(Concern, ConsentOverride.concern_id == Concern.id)
        .where(Concern.area_id == membership.agency.area_id)
    )


def concern_audience(concern: Concern, *, local_authority_only: bool = False):
    """Everyone who may open a concern, as a query of users: who is told about it."""
    agency = sa.orm.aliased(Agency)
    rules = [
        sa.and_(
            Membership.role == Role.SAFEGUARDING_LEAD,
            agency.kind == AgencyKind.LOCAL_AUTHORITY,
            agency.area_id == concern.area_id,
        ),
        sa.and_(
            Membership.role == Role.PROVIDER_STAFF,
            User.id == concern.raised_by_id,
            Membership.agency_id == concern.raising_agency_id,
        ),
        sa.and_(
            Membership.role == Role.SAFEGUARDING_LEAD,
            agency.kind != AgencyKind.LOCAL_AUTHORITY,
            Membership.agency_id == concern.raising_agency_id,
        ),
        sa.and_(Membership.role == Role.PROVIDER_MANAGER, Membership.agency_id == concern.raising_agency_id),
        sa.and_(
            Membership.role.in_([Role.COMMISSIONER, Role.INSPECTOR]),
            Membership.agency_id == concern.raising_agency_id,
        ),
    ]
    if concern.service_id is not None:
        commissioners = _commissioners_of(concern.service_id)
        rules.append(sa.and_(Membership.role == Role.COMMISSIONER, Membership.agency_id.in_(commissioners)))
        rules.append(sa.and_(Membership.role == Role.INSPECTOR, agency.area_id == concern.area_id))
    query = (
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .join(agency, Membership.agency_id == agency.id)
        .where(User.active, Membership.active, agency.active, sa.or_(*rules))
    )
    if local_authority_only:
        query = query.where(agency.kind == AgencyKind.LOCAL_AUTHORITY)
    return query.distinct()


def area_leads(area_id: int):
    """The safeguarding leads of an area's local authority, as a query of users."""
    return (
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .join(Agency, Membership.agency_id == Agency.id)
        .where(
            User.active,
            Membership.active,
            Membership.role == Role.SAFEGUARDING_LEAD,
            Agency.kind == AgencyKind.LOCAL_AUTHORITY,
            Agency.area_id == area_id,
        )
        .distinct()
    )


# Notifications --------------------------------------------------------------------------------


def _concern_audience_ids(subject_id: int, restricted: bool):
    concern = db.session.get(Concern, subject_id)
    if concern is None:
        return None
    return concern_audience(concern, local_authority_only=restricted).with_only_columns(User.id)


#: For each kind of subject a notification may be about, who may open it (a query of user ids).
#: Later modules register theirs here, so that delivery asks the same rules as their pages.
NOTIFICATION_AUDIENCES = {"concern": _concern_audience_ids}


def notification_audience_ids(subject_type: str, subject_id: int, *, restricted: bool = False) -> set[int]:
    """The people who may open a notification's subject now: nobody else is told about it."""
    audience = NOTIFICATION_AUDIENCES.get(subject_type)
    query = audience(subject_id, restricted) if audience is not None else None
    if query is None:
        return set()
    return set(db.session.scalars(query))


def deliveries_visible_to(user):
    """Email deliveries an administrator may see and resend: those to people in their area, and
    calendar emails to guests (without an account) of meetings in their area. The page names
    such a guest only as a meeting guest: it may be the adult the meeting is about."""
    from portal.notifications.models import EmailDelivery

    if not can(user, Capability.OPERATE_NOTIFICATIONS):
        return _nothing(EmailDelivery)
    area_id = _area_id(user)
    people = (
        sa.select(Membership.user_id)
        .join(Agency, Membership.agency_id == Agency.id)
        .where(Agency.area_id == area_id)
    )
    models = _meeting_models()
    guests = (
        sa.select(models.Attendee.id)
        .join(models.Meeting, models.Attendee.meeting_id == models.Meeting.id)
        .where(models.Attendee.user_id.is_(None), models.Meeting.area_id == area_id)
    )
    return sa.select(EmailDelivery).where(
        sa.or_(
            EmailDelivery.recipient_id.in_(people),
            sa.and_(EmailDelivery.recipient_id.is_(None), EmailDelivery.attendee_id.in_(guests)),
        )
    )


def visible_delivery_or_404(user, delivery_id: int):
    from portal.notifications.models import EmailDelivery

    return _first_or_404(deliveries_visible_to(user).where(EmailDelivery.id == delivery_id))


# Provider intelligence ------------------------------------------------------------------------


def _intelligence_models():
    from portal.intelligence import models

    return models


#: Roles that see confidential intelligence (whistleblowing, concerns the provider did not raise).
_SEES_CONFIDENTIAL = frozenset({Role.COMMISSIONER, Role.INSPECTOR, Role.SAFEGUARDING_LEAD})


def _shared_for_provider_intelligence(agency_id: int):
    """Services whose provider, or a current commissioner, shares provider intelligence with the agency."""
    partners = partner_ids_sharing(agency_id, DataCategory.PROVIDER_INTELLIGENCE)
    commissioned_by_partner = sa.select(Commissioning.service_id).where(
        Commissioning.commissioner_id.in_(partners),
        Commissioning.starts_on <= london_today(),
        sa.or_(Commissioning.ends_on.is_(None), Commissioning.ends_on >= london_today()),
    )
    return sa.or_(Service.provider_id.in_(partners), Service.id.in_(commissioned_by_partner))


def intelligence_services_visible_to(user):
    """Services whose intelligence, profile and register line a person may see (built once per request)."""
    membership = _acting(user)
    if membership is None:
        return _intelligence_services_visible_to(user)
    return _memo("intelligence_services", (user.id, membership.id), lambda: _intelligence_services_visible_to(user))


def _intelligence_services_visible_to(user):
    """Services whose intelligence, profile and register line a person may see.

    Commissioners: the services their agency commissions now, and those shared with it under an
    agreement in force covering provider intelligence. Inspectors: services shared with the
    regulator that way. The area's safeguarding leads, Board members and the Board's chair: every
    service in the area. Provider managers: their own organisation's services. Nobody else.
    """
    membership = _acting(user)
    if membership is None:
        return _nothing(Service)
    agency = membership.agency
    in_area = Service.provider_id.in_(sa.select(Agency.id).where(Agency.area_id == agency.area_id))
    role = membership.role
    if role is Role.COMMISSIONER:
        return sa.select(Service).where(
            sa.or_(Service.id.in_(_commissioned_service_ids(agency.id)), _shared_for_provider_intelligence(agency.id))
        )
    if role is Role.INSPECTOR:
        return sa.select(Service).where(_shared_for_provider_intelligence(agency.id))
    if _is_area_lead(membership) or role in {Role.SAB_MEMBER, Role.SAB_CHAIR}:
        return sa.select(Service).where(in_area)
    if role is Role.PROVIDER_MANAGER:
        return sa.select(Service).where(Service.provider_id == agency.id)
    return _nothing(Service)


def intelligence_service_or_404(user, service_id: int) -> Service:
    return _first_or_404(intelligence_services_visible_to(user).where(Service.id == service_id))


def intelligence_providers_visible_to(user):
    """Providers with at least one service whose intelligence the person may see."""
    return sa.select(Agency).where(Agency.id.in_(intelligence_services_visible_to(user).with_only_columns(Service.provider_id)))


def intelligence_provider_or_404(user, provider_id: int) -> Agency:
    return _first_or_404(intelligence_providers_visible_to(user).where(Agency.id == provider_id))


def sees_confidential_intelligence(user) -> bool:
    """Whistleblowing and other confidential items, and who recorded them: never the provider or the Board."""
    membership = _acting(user)
    if membership is None or membership.role not in _SEES_CONFIDENTIAL:
        return False
    return membership.role is not Role.SAFEGUARDING_LEAD or _is_area_lead(membership)


def sees_personal_category_intelligence(user) -> bool:
    """Items filed as personal safeguarding data: the area's council, and agencies it shares such data with."""
    membership = _acting(user)
    if membership is None or not sees_confidential_intelligence(user):
        return False
    if membership.agency.kind is AgencyKind.LOCAL_AUTHORITY:
        return True
    councils = sa.select(Agency.id).where(
        Agency.area_id == membership.agency.area_id, Agency.kind == AgencyKind.LOCAL_AUTHORITY
    )
    partners = partner_ids_sharing(membership.agency_id, DataCategory.PERSONAL_SAFEGUARDING)
    return bool(db.session.scalar(sa.select(sa.exists(councils.where(Agency.id.in_(partners))))))


def intelligence_items_visible_to(user):
    """Items on the services a person may see, without those their role may not (the timeline's rule)."""
    Item = _intelligence_models().IntelligenceItem
    query = sa.select(Item).where(
        Item.is_deleted.is_(False),
        Item.service_id.in_(intelligence_services_visible_to(user).with_only_columns(Service.id)),
    )
    if not sees_confidential_intelligence(user):
        query = query.where(Item.confidential.is_(False))
    if not sees_personal_category_intelligence(user):
        query = query.where(Item.sharing_category != DataCategory.PERSONAL_SAFEGUARDING)
    return query


def visible_item_or_404(user, item_id: int):
    Item = _intelligence_models().IntelligenceItem
    return _first_or_404(intelligence_items_visible_to(user).where(Item.id == item_id))


def risk_signals_visible_to(user):
    """The register's rows: one signal per visible service, the one built from what the person may see."""
    RiskSignal = _intelligence_models().RiskSignal
    return sa.select(RiskSignal).where(
        RiskSignal.includes_confidential.is_(sees_confidential_intelligence(user)),
        RiskSignal.service_id.in_(intelligence_services_visible_to(user).with_only_columns(Service.id)),
    )


def can_record_intelligence(user, service: Service | None = None) -> bool:
    """Add, change and remove items: commissioners, inspectors and the area's safeguarding leads."""
    return sees_confidential_intelligence(user) and (service is None or _sees_service(user, service))


def can_record_inspection(user, service: Service | None = None) -> bool:
    """Inspectors record ratings by hand; commissioners and inspectors import the regulator's file."""
    membership = _acting(user)
    return (
        membership is not None and membership.role is Role.INSPECTOR
        and (service is None or _sees_service(user, service))
    )


def can_import(user, kind) -> bool:
    """Who may import each kind of file (``kind`` is an :class:`ImportKind`)."""
    kinds = _intelligence_models().ImportKind
    membership = _acting(user)
    if membership is None:
        return False
    allowed = {
        kinds.REGULATOR_RATINGS: {Role.COMMISSIONER, Role.INSPECTOR},
        kinds.MONITORING_VISITS: {Role.COMMISSIONER},
        kinds.ITEMS: {Role.COMMISSIONER, Role.INSPECTOR},
    }[kind]
    return membership.role in allowed or (kind is kinds.ITEMS and _is_area_lead(membership))


def imports_visible_to(user):
    """A person's own imports."""
    ImportBatch = _intelligence_models().ImportBatch
    membership = _acting(user)
    if membership is None:
        return _nothing(ImportBatch)
    return sa.select(ImportBatch).where(ImportBatch.uploaded_by_id == user.id, ImportBatch.agency_id == membership.agency_id)


def visible_import_or_404(user, import_id: int):
    ImportBatch = _intelligence_models().ImportBatch
    return _first_or_404(imports_visible_to(user).where(ImportBatch.id == import_id))


def can_record_visit(user, service: Service | None = None) -> bool:
    """Contract-monitoring visits: commissioners, for services their agency commissions now."""
    membership = _acting(user)
    if membership is None or membership.role is not Role.COMMISSIONER:
        return False
    if service is None:
        return True
    commissioned = _commissioned_service_ids(membership.agency_id).where(Commissioning.service_id == service.id)
    return db.session.scalar(sa.select(sa.exists(commissioned)))


def visits_visible_to(user):
    Visit = _intelligence_models().MonitoringVisit
    return sa.select(Visit).where(
        Visit.service_id.in_(intelligence_services_visible_to(user).with_only_columns(Service.id))
    )


def visible_visit_or_404(user, visit_id: int):
    Visit = _intelligence_models().MonitoringVisit
    return _first_or_404(visits_visible_to(user).where(Visit.id == visit_id))


def can_manage_visit(user, visit) -> bool:
    """Add actions to a visit's plan and complete them: commissioners of the agency that visited."""
    membership = _acting(user)
    return membership is not None and membership.role is Role.COMMISSIONER and membership.agency_id == visit.commissioner_id


def can_respond_to_action(user, action) -> bool:
    """The provider's manager answers its improvement actions."""
    membership = _acting(user)
    return (
        membership is not None and membership.role is Role.PROVIDER_MANAGER
        and membership.agency_id == action.visit.service.provider_id
    )


def can_manage_register(user, service: Service | None = None) -> bool:
    """Name a risk's owner and review date: commissioners and the area's safeguarding leads."""
    membership = _acting(user)
    if membership is None or not (membership.role is Role.COMMISSIONER or _is_area_lead(membership)):
        return False
    return service is None or _sees_service(user, service)


def register_owner_candidates(user):
    """People who may own a register entry: commissioners and safeguarding leads of the area's agencies."""
    membership = _acting(user)
    if membership is None:
        return _nothing(User)
    return (
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .join(Agency, Membership.agency_id == Agency.id)
        .where(
            User.active, Membership.active, Agency.area_id == membership.agency.area_id,
            Membership.role.in_([Role.COMMISSIONER, Role.SAFEGUARDING_LEAD]),
            Agency.kind.in_([AgencyKind.LOCAL_AUTHORITY, AgencyKind.NHS_ICB]),
        )
        .distinct()
        .order_by(User.name)
    )


def can_configure_standards(user) -> bool:
    return can(user, Capability.MANAGE_AGENCIES)


def _sees_service(user, service: Service) -> bool:
    query = intelligence_services_visible_to(user).where(Service.id == service.id)
    return db.session.scalar(sa.select(sa.exists(query.with_only_columns(Service.id))))


def _service_audience_ids(subject_id: int, restricted: bool):
    """Who is told about a service's risk: commissioners of it now and the area's safeguarding leads."""
    service = db.session.get(Service, subject_id)
    if service is None:
        return None
    commissioners = _commissioners_of(service.id)
    agency = sa.orm.aliased(Agency)
    return (
        sa.select(User.id)
        .join(Membership, Membership.user_id == User.id)
        .join(agency, Membership.agency_id == agency.id)
        .where(
            User.active, Membership.active, agency.active,
            sa.or_(
                sa.and_(Membership.role == Role.COMMISSIONER, Membership.agency_id.in_(commissioners)),
                sa.and_(
                    Membership.role == Role.SAFEGUARDING_LEAD, agency.kind == AgencyKind.LOCAL_AUTHORITY,
                    agency.area_id == service.provider.area_id,
                ),
            ),
        )
        .distinct()
    )


def _commissioners_of(service_id: int):
    today = london_today()
    return sa.select(Commissioning.commissioner_id).where(
        Commissioning.service_id == service_id,
        Commissioning.starts_on <= today,
        sa.or_(Commissioning.ends_on.is_(None), Commissioning.ends_on >= today),
    )


NOTIFICATION_AUDIENCES["service"] = _service_audience_ids


# Meetings -------------------------------------------------------------------------------------


def _meeting_models():
    from portal.meetings import models

    return models


class ActingAs:
    """A person seen in one of their memberships, to work out what they may see when they are not
    the one signed in (an attendee's agenda pack, built by the chair)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user: User, membership: Membership):
        self._user = user
        self.membership = membership

    def __getattr__(self, name):
        return getattr(self._user, name)


def acting_as(user: User, membership: Membership) -> ActingAs:
    return ActingAs(user, membership)


def schedulable_meeting_kinds(user) -> list:
    """Kinds of meeting the person may schedule in the role they act in now.

    Provider quality meetings and risk summits: commissioners and the area's safeguarding leads.
    A safeguarding meeting about an adult: the area's safeguarding leads (for a concern they work
    on). Board and sub-group meetings: the Board's chair.
    """
    MeetingKind = _meeting_models().MeetingKind
    membership = _acting(user)
    if membership is None or not can(user, Capability.SCHEDULE_MEETINGS):
        return []
    if membership.role is Role.SAB_CHAIR:
        return [MeetingKind.SAB_BOARD, MeetingKind.SAB_SUBGROUP]
    kinds = [MeetingKind.PROVIDER_QUALITY, MeetingKind.RISK_SUMMIT]
    if _is_area_lead(membership):
        kinds.insert(1, MeetingKind.ADULT_SAFEGUARDING)
    elif membership.role is not Role.COMMISSIONER:
        return []
    return kinds


def can_schedule_meeting(user, kind=None, concern: Concern | None = None) -> bool:
    kinds = schedulable_meeting_kinds(user)
    if kind is None:
        return bool(kinds)
    if kind not in kinds:
        return False
    return not kind.about_an_adult or (concern is not None and can_work_on_concern(user, concern))


def meetings_visible_to(user):
    """Meetings a person may open: those they organise, chair, minute or are invited to (and not
    taken off). Everything inside a meeting is then decided item by item below."""
    models = _meeting_models()
    Meeting, Attendee = models.Meeting, models.Attendee
    if not can(user, Capability.VIEW_MEETINGS):
        return _nothing(Meeting)
    invited = sa.select(Attendee.meeting_id).where(Attendee.user_id == user.id, Attendee.removed_at.is_(None))
    return sa.select(Meeting).where(
        sa.or_(
            Meeting.id.in_(invited),
            Meeting.organiser_id == user.id,
            Meeting.chair_id == user.id,
            Meeting.minute_taker_id == user.id,
        )
    )


def visible_meeting_or_404(user, meeting_id: int, *loading):
    """The meeting, if the person may open it; ``loading``: loader options for what the page shows."""
    Meeting = _meeting_models().Meeting
    return _first_or_404(meetings_visible_to(user).where(Meeting.id == meeting_id).options(*loading))


def can_manage_meeting(user, meeting) -> bool:
    """Change the time, place and agenda, invite, cancel, build the pack and mark it held: the
    organiser and the chair, in a role that may still schedule that kind of meeting."""
    return (
        meeting.status is not _meeting_models().MeetingStatus.CANCELLED
        and user.is_authenticated
        and user.id in {meeting.organiser_id, meeting.chair_id}
        and can(user, Capability.VIEW_MEETINGS)
    )


def can_record_minutes(user, meeting) -> bool:
    """Attendance, minutes and actions: the chair and the minute-taker (and the organiser), once
    the meeting is not cancelled."""
    return (
        meeting.status is not _meeting_models().MeetingStatus.CANCELLED
        and user.is_authenticated
        and user.id in {meeting.organiser_id, meeting.chair_id, meeting.minute_taker_id}
        and can(user, Capability.VIEW_MEETINGS)
    )


def can_approve_minutes(user, meeting) -> bool:
    return can_record_minutes(user, meeting) and user.id == meeting.chair_id


def agenda_items_visible_to(user, meeting) -> list:
    """The agenda items whose pack section, minutes and actions the person may see.

    Items about no provider: everyone who sees the meeting. Items about a provider: those who may
    see that provider's intelligence, so a provider's representative sees only their own and a
    commissioner without an agreement sees only the providers they commission.
    """
    items = list(meeting.agenda)
    provider_ids = {item.provider_id for item in items if item.provider_id is not None}
    if not provider_ids:
        return items
    visible = set(
        db.session.scalars(
            intelligence_providers_visible_to(user).with_only_columns(Agency.id).where(Agency.id.in_(provider_ids))
        )
    )
    return [item for item in items if item.provider_id is None or item.provider_id in visible]


def meeting_adult_disclosure(user, meeting) -> Disclosure:
    """For a meeting about an adult: whether the person sees the adult's details there (the concern's rule)."""
    if meeting.concern is None:
        return Disclosure(False, NO_CONSENT)
    return adult_details_disclosure(user, meeting.concern)


def can_read_adult_summary(user, meeting) -> bool:
    """The plain-language summary is about the adult: attendees who may see the adult's details."""
    return meeting.kind.about_an_adult and meeting_adult_disclosure(user, meeting).allowed


def can_write_adult_summary(user, meeting) -> bool:
    """The lead for the adult: the organiser or chair, while they may still work on the concern."""
    return (
        meeting.kind.about_an_adult
        and meeting.concern is not None
        and user.is_authenticated
        and user.id in {meeting.organiser_id, meeting.chair_id}
        and can_work_on_concern(user, meeting.concern)
    )


def meeting_actions_visible_to(user):
    """Meeting actions a person may see: their own, and those on agenda items they may see in
    meetings they may open or that those meetings follow on from (the same series, or the same
    adult's concern), since unfinished actions carry into the next meeting's agenda."""
    models = _meeting_models()
    Action, Meeting, AgendaItem = models.MeetingAction, models.Meeting, models.AgendaItem
    if not can(user, Capability.VIEW_MEETINGS):
        return _nothing(Action)
    opened = meetings_visible_to(user).with_only_columns(Meeting.id)
    related = sa.select(Meeting.series_id, Meeting.concern_id).where(Meeting.id.in_(opened)).subquery()
    visible_meetings = sa.select(Meeting.id).where(
        sa.or_(
            Meeting.id.in_(opened),
            Meeting.series_id.in_(sa.select(related.c.series_id).where(related.c.series_id.is_not(None))),
            Meeting.concern_id.in_(sa.select(related.c.concern_id).where(related.c.concern_id.is_not(None))),
        )
    )
    hidden_items = sa.select(AgendaItem.id).where(
        AgendaItem.provider_id.is_not(None),
        AgendaItem.provider_id.not_in(intelligence_providers_visible_to(user).with_only_columns(Agency.id)),
    )
    return sa.select(Action).where(
        sa.or_(
            Action.owner_id == user.id,
            sa.and_(
                Action.meeting_id.in_(visible_meetings),
                sa.or_(Action.agenda_item_id.is_(None), Action.agenda_item_id.not_in(hidden_items)),
            ),
        )
    )


def visible_meeting_action_or_404(user, action_id: int):
    Action = _meeting_models().MeetingAction
    return _first_or_404(meeting_actions_visible_to(user).where(Action.id == action_id))


def can_update_meeting_action(user, action) -> bool:
    """The owner reports progress; the meeting's chair, minute-taker and organiser too."""
    return user.is_authenticated and (action.owner_id == user.id or can_record_minutes(user, action.meeting))


def meeting_invitee_candidates(user):
    """Memberships a person may invite to a meeting: active people in active agencies of their
    area, in any role but administrator (the portal's administrators see no case content)."""
    membership = _acting(user)
    if membership is None:
        return _nothing(Membership)
    return (
        sa.select(Membership)
        .join(User, Membership.user_id == User.id)
        .join(Agency, Membership.agency_id == Agency.id)
        .where(
            User.active, Membership.active, Agency.active,
            Agency.area_id == membership.agency.area_id,
            Membership.role != Role.ADMINISTRATOR,
        )
        .order_by(User.name, Agency.name)
    )


def _meeting_audience_ids(subject_id: int, restricted: bool):
    """Who may be told about a meeting: its organiser, chair, minute-taker and invitees not taken off."""
    models = _meeting_models()
    meeting = db.session.get(models.Meeting, subject_id)
    if meeting is None:
        return None
    invited = sa.select(models.Attendee.user_id).where(
        models.Attendee.meeting_id == meeting.id, models.Attendee.user_id.is_not(None), models.Attendee.removed_at.is_(None)
    )
    staff = {meeting.organiser_id, meeting.chair_id, meeting.minute_taker_id} - {None}
    return sa.select(User.id).where(User.active, sa.or_(User.id.in_(invited), User.id.in_(staff)))


def _meeting_cancelled_audience_ids(subject_id: int, restricted: bool):
    """A cancellation, or being taken off the list, reaches everyone who was ever invited."""
    models = _meeting_models()
    if db.session.get(models.Meeting, subject_id) is None:
        return None
    ever_invited = sa.select(models.Attendee.user_id).where(models.Attendee.meeting_id == subject_id)
    return sa.select(User.id).where(User.active, User.id.in_(ever_invited))


def _meeting_action_audience_ids(subject_id: int, restricted: bool):
    """Reminders about an action go to its owner while it is not finished."""
    action = db.session.get(_meeting_models().MeetingAction, subject_id)
    if action is None or action.state.finished:
        return None
    return sa.select(User.id).where(User.active, User.id == action.owner_id)


NOTIFICATION_AUDIENCES["meeting"] = _meeting_audience_ids
NOTIFICATION_AUDIENCES["meeting_cancelled"] = _meeting_cancelled_audience_ids
NOTIFICATION_AUDIENCES["meeting_action"] = _meeting_action_audience_ids


# Meetings: minutes and actions


def can_read_minutes(user, meeting) -> bool:
    """Draft minutes: those who record them. Once the chair approves them: everyone who sees the
    meeting (the items they may see, through :func:`agenda_items_visible_to`)."""
    return meeting.minutes_locked or can_record_minutes(user, meeting)


def can_read_item_minutes(user, item) -> bool:
    """An agenda item's minutes (its decisions): for those who may open its meeting, read its
    minutes, and see that item."""
    Meeting = _meeting_models().Meeting
    opened = meetings_visible_to(user).with_only_columns(Meeting.id).where(Meeting.id == item.meeting_id)
    if db.session.scalar(opened.limit(1)) is None or not can_read_minutes(user, item.meeting):
        return False
    return item.id in {visible.id for visible in agenda_items_visible_to(user, item.meeting)}


def readable_agenda_item_or_404(user, item_id: int):
    """The agenda item, if the person may read its minutes (a decision to escalate, say)."""
    item = db.session.get(_meeting_models().AgendaItem, item_id)
    if item is None or not can_read_item_minutes(user, item):
        abort(404)
    return item


def carried_actions_visible_to(user, actions) -> list:
    """Of the unfinished actions carried into a meeting, those the person may see (the rule of
    :func:`meeting_actions_visible_to`, so a list and an action's own page always agree)."""
    if not actions:
        return []
    Action = _meeting_models().MeetingAction
    visible = set(db.session.scalars(
        meeting_actions_visible_to(user).with_only_columns(Action.id).where(Action.id.in_([a.id for a in actions]))
    ))
    return [action for action in actions if action.id in visible]


# Meetings: scheduling, invitations and replies ------------------------------------------------


def can_record_reply(user, attendee) -> bool:
    """An invitee answers for themselves; the organiser or chair records the answer of a guest
    without an account (who replied by phone or to the email)."""
    if not user.is_authenticated or attendee.removed_at is not None:
        return False
    if attendee.user_id is not None:
        return attendee.user_id == user.id and can(user, Capability.VIEW_MEETINGS)
    return can_manage_meeting(user, attendee.meeting)


def meeting_guest_names_visible(user, meeting) -> bool:
    """Guests of a meeting about an adult are the adult and people close to them: their names and
    email addresses follow the rule for the adult's details; others see only who they are to the adult."""
    return meeting_adult_disclosure(user, meeting).allowed


# Escalations ----------------------------------------------------------------------------------


def _escalation_models():
    from portal.escalations import models

    return models


_BOARD_ROLES = frozenset({Role.SAB_MEMBER, Role.SAB_CHAIR})


def _roles_in_agency(agency_id: int) -> frozenset[Role]:
    return frozenset(db.session.scalars(
        sa.select(Membership.role).join(User, Membership.user_id == User.id)
        .where(Membership.agency_id == agency_id, Membership.active, User.active).distinct()
    ))


def stage_roles(agency_id: int, ladder) -> list[frozenset[Role]]:
    """For each stage of the ladder, the roles that act for this agency there.

    The ladder names roles per stage; an agency with nobody active in a stage's roles is
    represented there by those who acted for it at the stage below (a police force has designated
    leads but no "provider manager"), so every stage always has someone to answer.
    """
    held = _roles_in_agency(agency_id)
    acting, previous = [], frozenset()
    for rule in ladder.stages:
        roles = rule.roles if rule.roles & held else previous
        acting.append(roles)
        previous = roles or rule.roles
    return acting


def _memo(name: str, key, build):
    """What ``build`` returns, built once per request under (name, key); built afresh outside one."""
    if not has_request_context():
        return build()
    memo = g.setdefault("policy_queries", {})
    if (name, key) not in memo:
        memo[(name, key)] = build()
    return memo[(name, key)]


def escalation_ladder(area_id: int):
    from portal.escalations.ladder import ladder_for

    return _memo("ladder", area_id, lambda: ladder_for(area_id))


def _reached(escalation_entity, number: int, now):
    """SQL: the escalation has reached stage ``number``, or the stage below it is breached (the
    people at the next stage are told of a breach, so they may open what they are told about)."""
    E = escalation_entity
    models = _escalation_models()
    if number == 1:
        return sa.true()
    return sa.or_(
        E.stage >= number,
        sa.and_(E.stage == number - 1, E.state.in_(models.AWAITING_STATES), E.deadline_at <= now),
    )


def escalations_visible_to(user):
    """Escalations a person may open: the one rule behind every list, count and drill-down.

    Board members and the Board's chair: every escalation in their area (pages then show no
    adult's details to them). Everyone else: those they raised, and those of their agency, on
    either side, at the stages their role acts at (from the stage it reached, or the next one once
    the current stage's deadline has passed unanswered). The raising agency is represented by the
    person who raised it alone at the first stage. Administrators: none.
    """
    from portal.core.db import utcnow

    E = _escalation_models().Escalation
    membership = _acting(user)
    if membership is None or not can(user, Capability.RAISE_ESCALATIONS):
        return _nothing(E)
    area_id = membership.agency.area_id
    if membership.role in _BOARD_ROLES:
        return sa.select(E).where(E.area_id == area_id)
    agency_id = membership.agency_id
    ladder = escalation_ladder(area_id)
    roles = _memo("stage_roles", agency_id, lambda: stage_roles(agency_id, ladder))
    now = utcnow()
    rules = [sa.and_(E.raised_by_id == user.id, E.raising_agency_id == agency_id)]
    for number, acting in enumerate(roles, start=1):
        if membership.role not in acting:
            continue
        reached = _reached(E, number, now)
        rules.append(sa.and_(E.receiving_agency_id == agency_id, reached))
        if number >= 2:
            rules.append(sa.and_(E.raising_agency_id == agency_id, reached))
    return sa.select(E).where(E.area_id == area_id, sa.or_(*rules))


def visible_escalation_or_404(user, escalation_id: int, *loading):
    E = _escalation_models().Escalation
    return _first_or_404(escalations_visible_to(user).where(E.id == escalation_id).options(*loading))


def escalation_side(user, escalation) -> str | None:
    """Which side the person answers for at the escalation's current stage: "receiving",
    "raising", or None (they may still see it, as someone at an earlier stage or the Board)."""
    membership = _acting(user)
    if membership is None or not can(user, Capability.RAISE_ESCALATIONS) or membership.role in _BOARD_ROLES:
        return None
    ladder = escalation_ladder(escalation.area_id)
    if escalation.stage > ladder.top:
        return None
    number = escalation.stage
    agency_id = membership.agency_id
    # Once per request: a list asks this of every row.
    roles = _memo("stage_roles", agency_id, lambda: stage_roles(agency_id, ladder))
    if agency_id == escalation.receiving_agency_id:
        if membership.role in roles[number - 1]:
            return "receiving"
        return None
    if agency_id == escalation.raising_agency_id:
        if user.id == escalation.raised_by_id:
            return "raising"
        if number >= 2 and membership.role in roles[number - 1]:
            return "raising"
    return None


def can_answer_escalation(user, escalation) -> bool:
    """Acknowledge and respond: the receiving agency's people at the current stage."""
    return escalation_side(user, escalation) == "receiving"


def can_resolve_escalation(user, escalation) -> bool:
    """Record the agreed outcome and the learning: either side at the current stage."""
    return escalation_side(user, escalation) is not None


def can_escalate_further(user, escalation) -> bool:
    """Take it to the next stage, or withdraw it: the raising side at the current stage."""
    return escalation_side(user, escalation) == "raising"


def can_mediate(user, escalation) -> bool:
    """At a stage where the Board mediates, its chair adds notes; decisions stay with the agencies."""
    membership = _acting(user)
    if membership is None or membership.role is not Role.SAB_CHAIR or membership.agency.area_id != escalation.area_id:
        return False
    ladder = escalation_ladder(escalation.area_id)
    return escalation.stage <= ladder.top and ladder.stage(escalation.stage).board_mediates


def sees_escalation_adult_view(user, escalation) -> bool:
    """The adult's view on the disagreement is about the adult: those who may see their details on
    the concern, never the Board (which sees escalations without adults' details)."""
    membership = _acting(user)
    if escalation.concern is None or membership is None or membership.role in _BOARD_ROLES:
        return False
    return adult_details_disclosure(user, escalation.concern).allowed


def can_record_escalation_adult_view(user, escalation) -> bool:
    """Either side at the current stage, while they may see the adult's details."""
    return escalation_side(user, escalation) is not None and sees_escalation_adult_view(user, escalation)


def escalation_receiving_candidates(user):
    """Agencies a person may escalate to: the other active agencies of their area (not the Board,
    which mediates but does not decide)."""
    membership = _acting(user)
    if membership is None or not can(user, Capability.RAISE_ESCALATIONS):
        return _nothing(Agency)
    return (
        sa.select(Agency)
        .where(
            Agency.area_id == membership.agency.area_id, Agency.active,
            Agency.id != membership.agency_id, Agency.kind != AgencyKind.SAB,
        )
        .order_by(Agency.name)
    )


def escalation_stage_people(escalation, number: int, side: str):
    """The people who answer for one side at one stage, as a query of users: the receiving
    agency's people in the stage's roles; for the raising side, the person who raised it and,
    from the second stage, their agency's people in the stage's roles."""
    ladder = escalation_ladder(escalation.area_id)
    agency_id = escalation.receiving_agency_id if side == "receiving" else escalation.raising_agency_id
    roles = stage_roles(agency_id, ladder)[number - 1] if number <= ladder.top else frozenset()
    in_roles = sa.and_(Membership.agency_id == agency_id, Membership.role.in_(roles), Membership.active)
    if side == "raising":
        raiser = sa.and_(User.id == escalation.raised_by_id, Membership.agency_id == agency_id, Membership.active)
        rule = sa.or_(raiser, in_roles) if number >= 2 else raiser
    else:
        rule = in_roles
    return sa.select(User).join(Membership, Membership.user_id == User.id).where(User.active, rule).distinct()


def board_chairs(area_id: int):
    """The Board's chair(s) in an area, as a query of users."""
    return (
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .join(Agency, Membership.agency_id == Agency.id)
        .where(User.active, Membership.active, Membership.role == Role.SAB_CHAIR, Agency.area_id == area_id)
        .distinct()
    )


def _escalation_audience_ids(subject_id: int, restricted: bool):
    """Who may be told about an escalation: both sides at every stage it reached (and the next one
    once the current stage is breached), and the Board's chair and members of its area."""
    models = _escalation_models()
    escalation = db.session.get(models.Escalation, subject_id)
    if escalation is None:
        return None
    ladder = escalation_ladder(escalation.area_id)
    reach = min(ladder.top, escalation.stage + (1 if escalation.breached() else 0))
    people = [
        escalation_stage_people(escalation, number, side).with_only_columns(User.id)
        for number in range(1, reach + 1) for side in ("raising", "receiving")
    ]
    board = (
        sa.select(Membership.user_id).join(Agency, Membership.agency_id == Agency.id)
        .where(Membership.active, Membership.role.in_(_BOARD_ROLES), Agency.area_id == escalation.area_id)
    )
    return sa.select(User.id).where(User.active, sa.or_(*(User.id.in_(query) for query in people), User.id.in_(board)))


NOTIFICATION_AUDIENCES["escalation"] = _escalation_audience_ids


def escalations_about(user, **subject):
    """The escalations a person may open about one thing (``concern_id=``, ``service_id=``,
    ``provider_id=``, ``meeting_action_id=``, ``agenda_item_id=``), newest first: what a concern's,
    a service's, an action's or a meeting's page lists."""
    E = _escalation_models().Escalation
    query = escalations_visible_to(user)
    for name, value in subject.items():
        query = query.where(getattr(E, name) == value)
    return query.order_by(E.raised_at.desc(), E.id.desc())


def can_configure_ladder(user) -> bool:
    return can(user, Capability.CONFIGURE_LADDER)


# Reports --------------------------------------------------------------------------------------


def can_view_msp_report(user) -> bool:
    """The MSP and outcome figures (aggregates, no personal data): the area's safeguarding leads,
    and the Board's members and chair."""
    membership = _acting(user)
    return membership is not None and (_is_area_lead(membership) or membership.role in _BOARD_ROLES)


def report_area_id(user) -> int | None:
    """The area whose figures a person produces: the area of the agency they act for."""
    return _area_id(user) if can_view_msp_report(user) else None


# Sign-on with agencies' identity providers (part A) ------------------------------------------
# PART-A-POLICY (keep this line)


def sign_on_agency_or_404(user, agency_id: int) -> Agency:
    """An agency whose sign-on the person may configure: one they manage, as an administrator.

    Another area's agency (or none at all) is 404; a role without the capability is 403.
    """
    if not can(user, Capability.CONFIGURE_SIGN_ON):
        abort(403)
    return manageable_agency_or_404(user, agency_id)


def local_passwords_allowed(user) -> bool:
    """False when an agency the person works for signs its people in only through its own provider.

    The strictest agency wins: a portal password would otherwise bypass that agency's controls.
    """
    from portal.auth.models import IdentityProvider

    agency_ids = [m.agency_id for m in user.active_memberships]
    if not agency_ids:
        return True
    sso_only = sa.select(IdentityProvider.id).where(
        IdentityProvider.agency_id.in_(agency_ids), IdentityProvider.enabled,
        IdentityProvider.local_passwords_allowed.is_(False),
    )
    return db.session.scalar(sso_only.limit(1)) is None


# Sessions, password reset and rate limits (part B) -------------------------------------------
# PART-B-POLICY (keep this line)


# Personal-data controls: break glass, who viewed an adult, retention (part E) ----------------
# PART-E-POLICY (keep this line)


def _privacy_models():
    from portal.privacy import models

    return models


def break_glass_until(user, concern: Concern) -> datetime | None:
    """When the person's break-glass sight of this concern's adult ends, if they hold one now: only
    in the role and agency they broke glass in, and only until it expires."""
    from portal.core.db import utcnow

    membership = _acting(user)
    if membership is None:
        return None
    Grant = _privacy_models().BreakGlassGrant
    return db.session.scalar(
        sa.select(sa.func.max(Grant.expires_at)).where(
            Grant.concern_id == concern.id, Grant.user_id == user.id, Grant.membership_id == membership.id,
            Grant.expires_at > utcnow(),
        )
    )


def can_break_glass(user, concern: Concern, disclosure: Disclosure | None = None) -> bool:
    """Whether the person may break glass on a concern they see: they hold the capability and the
    adult's details are withheld from them (``disclosure``, when the caller has worked it out)."""
    if not can(user, Capability.BREAK_GLASS):
        return False
    return not (disclosure or adult_details_disclosure(user, concern)).allowed


def break_glass_grants_visible_to(user):
    """Break-glass uses to review: the council's leads see every use in their area; a designated lead
    elsewhere sees their own agency's people's uses in the area. Nobody else any."""
    Grant = _privacy_models().BreakGlassGrant
    membership = _acting(user)
    if membership is None or not can(user, Capability.BREAK_GLASS):
        return _nothing(Grant)
    in_area = Grant.concern_id.in_(sa.select(Concern.id).where(Concern.area_id == membership.agency.area_id))
    if _is_area_lead(membership):
        return sa.select(Grant).where(in_area)
    return sa.select(Grant).where(in_area, Grant.agency_id == membership.agency_id)


def can_review_break_glass(user) -> bool:
    """Marking a use reviewed: the area's (council's) safeguarding leads."""
    return _is_area_lead(_acting(user))


def reviewable_grant_or_404(user, grant_id: int):
    """A use of break glass the person may review: 404 when they may not see it, 403 when they may
    see it but not review it."""
    Grant = _privacy_models().BreakGlassGrant
    grant = _first_or_404(break_glass_grants_visible_to(user).where(Grant.id == grant_id))
    if not can_review_break_glass(user):
        abort(403)
    return grant


def break_glass_audience(concern_area_id: int, agency_id: int):
    """Who is told at once of a use of break glass: the area's council safeguarding leads (the record
    is theirs) and the designated safeguarding leads of the agency of the person who used it."""
    agency = sa.orm.aliased(Agency)
    return (
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .join(agency, Membership.agency_id == agency.id)
        .where(
            User.active, Membership.active, Membership.role == Role.SAFEGUARDING_LEAD,
            sa.or_(
                sa.and_(agency.kind == AgencyKind.LOCAL_AUTHORITY, agency.area_id == concern_area_id),
                Membership.agency_id == agency_id,
            ),
        )
        .distinct()
    )


def _break_glass_audience_ids(subject_id: int, restricted: bool):
    grant = db.session.get(_privacy_models().BreakGlassGrant, subject_id)
    if grant is None:
        return None
    return break_glass_audience(grant.concern.area_id, grant.agency_id).with_only_columns(User.id)


NOTIFICATION_AUDIENCES["break_glass"] = _break_glass_audience_ids


def can_review_adult_access(user) -> bool:
    """Who has seen or changed an adult's details: for the area's (council's) safeguarding leads."""
    return _is_area_lead(_acting(user))


def adult_for_access_review_or_404(user, adult_id: int):
    """An adult of the lead's area: 403 for anyone who is not an area lead, 404 for another area's."""
    from portal.concerns.models import Adult

    if not can_review_adult_access(user):
        abort(403)
    return _first_or_404(sa.select(Adult).where(Adult.id == adult_id, Adult.area_id == _area_id(user)))


def can_configure_retention(user) -> bool:
    return can(user, Capability.CONFIGURE_RETENTION)
