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

    Safeguarding leads: every concern in their area. Provider staff: those they raised. Provider
    managers: those their organisation raised. Commissioners: those their agency raised and those
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
        # A designated lead in the police or an NHS trust: what their agency raised.
        return sa.select(Concern).where(Concern.raising_agency_id == agency.id)
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


NO_AGREEMENT = "withheld: no agreement"
NO_CONSENT = "withheld: no consent"


def adult_details_disclosure(user, concern: Concern) -> Disclosure:
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
    """Email deliveries an administrator may see and resend: those to people in their area."""
    from portal.notifications.models import EmailDelivery

    if not can(user, Capability.OPERATE_NOTIFICATIONS):
        return _nothing(EmailDelivery)
    people = (
        sa.select(Membership.user_id)
        .join(Agency, Membership.agency_id == Agency.id)
        .where(Agency.area_id == _area_id(user))
    )
    return sa.select(EmailDelivery).where(EmailDelivery.recipient_id.in_(people))


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
    if membership is None or not has_request_context():
        return _intelligence_services_visible_to(user)
    memo = g.setdefault("policy_queries", {})
    key = ("intelligence_services", user.id, membership.id)
    if key not in memo:
        memo[key] = _intelligence_services_visible_to(user)
    return memo[key]


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
