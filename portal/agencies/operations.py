"""Creating and changing agencies, services and commissioning links."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from portal.agencies.models import Agency, Area, Commissioning, Service
from portal.audit.operations import record
from portal.core.changes import apply_changes
from portal.core.codes import AgencyKind, ServiceType
from portal.core.rules import RuleError
from portal.extensions import db
from portal.intelligence.operations import touch


class AgencyError(RuleError):
    """A change to an agency, service or commissioning link that the rules do not allow."""


def _check_agency_name(area: Area, name: str, except_id: int | None = None) -> None:
    query = sa.select(Agency.id).where(Agency.area_id == area.id, sa.func.lower(Agency.name) == name.lower())
    if except_id is not None:
        query = query.where(Agency.id != except_id)
    if db.session.scalar(query) is not None:
        raise AgencyError("name", "An agency with this name already exists in this area")


def _check_provider_ref(kind: AgencyKind, provider_ref: str | None, except_id: int | None = None) -> None:
    if not provider_ref:
        return
    if kind is not AgencyKind.CARE_PROVIDER:
        raise AgencyError("provider_ref", "Only care providers have a regulator provider ID: leave it empty")
    query = sa.select(Agency.id).where(Agency.provider_ref == provider_ref)
    if except_id is not None:
        query = query.where(Agency.id != except_id)
    if db.session.scalar(query) is not None:
        raise AgencyError("provider_ref", "Another agency already has this provider ID")


def create_agency(*, area: Area, name: str, kind: AgencyKind, provider_ref: str | None, require_two_factor: bool) -> Agency:
    _check_agency_name(area, name)
    _check_provider_ref(kind, provider_ref)
    agency = Agency(area=area, name=name, kind=kind, provider_ref=provider_ref or None, require_two_factor=require_two_factor)
    db.session.add(agency)
    record("agency.create", f"Agency {name} created", target=agency, details={"kind": kind, "provider_ref": provider_ref, "require_two_factor": require_two_factor})
    return agency


def update_agency(agency: Agency, *, name: str, kind: AgencyKind, provider_ref: str | None, require_two_factor: bool, active: bool) -> None:
    _check_agency_name(agency.area, name, except_id=agency.id)
    _check_provider_ref(kind, provider_ref, except_id=agency.id)
    if kind is not agency.kind and (agency.services or _has_members(agency)):
        raise AgencyError("kind", "The kind cannot change while the agency has services or people: it would break their roles")
    changed = apply_changes(agency, name=name, kind=kind, provider_ref=provider_ref or None, require_two_factor=require_two_factor, active=active)
    if changed:
        record("agency.update", f"Agency {agency.name} changed", target=agency, details={"changed": changed})


def _has_members(agency: Agency) -> bool:
    from portal.people.models import Membership

    return db.session.scalar(sa.select(Membership.id).where(Membership.agency_id == agency.id, Membership.active).limit(1)) is not None


def _check_service(location_ref: str, service_type: ServiceType, registered_beds: int | None, except_id: int | None = None) -> None:
    query = sa.select(Service.id).where(Service.location_ref == location_ref)
    if except_id is not None:
        query = query.where(Service.id != except_id)
    if db.session.scalar(query) is not None:
        raise AgencyError("location_ref", "Another service already has this location ID")
    if service_type.is_care_home and registered_beds is None:
        raise AgencyError("registered_beds", "Enter the number of registered beds for a care home")
    if not service_type.is_care_home and registered_beds is not None:
        raise AgencyError("registered_beds", "Only care homes have registered beds: leave it empty")


def add_service(provider: Agency, *, name: str, location_ref: str, service_type: ServiceType, address: str, postcode: str, registered_beds: int | None) -> Service:
    if not provider.is_provider:
        raise AgencyError("name", "Only care providers run services")
    _check_service(location_ref, service_type, registered_beds)
    service = Service(provider=provider, name=name, location_ref=location_ref, service_type=service_type, address=address, postcode=postcode, registered_beds=registered_beds)
    db.session.add(service)
    record("service.create", f"Service {name} ({location_ref}) added to {provider.name}", target=service, details={"provider_id": provider.id, "service_type": service_type, "postcode": postcode})
    # A new service has a (green) risk signal from the start, so the register lists it at once.
    touch(service.id)
    return service


def update_service(service: Service, *, name: str, location_ref: str, service_type: ServiceType, address: str, postcode: str, registered_beds: int | None, active: bool) -> None:
    _check_service(location_ref, service_type, registered_beds, except_id=service.id)
    changed = apply_changes(service, name=name, location_ref=location_ref, service_type=service_type, address=address, postcode=postcode, registered_beds=registered_beds, active=active)
    if changed:
        record("service.update", f"Service {service.name} changed", target=service, details={"changed": changed})


def add_commissioning(service: Service, *, commissioner: Agency, starts_on: date, ends_on: date | None) -> Commissioning:
    if not commissioner.commissions_services:
        raise AgencyError("commissioner", "Only a local authority or an NHS integrated care board commissions services")
    if ends_on is not None and ends_on < starts_on:
        raise AgencyError("ends_on", "The end date must be the same as or after the start date")
    for existing in service.commissionings:
        overlaps = (existing.ends_on is None or existing.ends_on >= starts_on) and (ends_on is None or ends_on >= existing.starts_on)
        if existing.commissioner_id == commissioner.id and overlaps:
            raise AgencyError("starts_on", f"{commissioner.name} already commissions this service for part of that period")
    link = Commissioning(service=service, commissioner=commissioner, starts_on=starts_on, ends_on=ends_on)
    db.session.add(link)
    record("commissioning.create", f"{commissioner.name} commissions {service.name} from {starts_on}", target=service, details={"commissioner_id": commissioner.id, "starts_on": starts_on, "ends_on": ends_on})
    return link


def end_commissioning(link: Commissioning, ends_on: date) -> None:
    if ends_on < link.starts_on:
        raise AgencyError("ends_on", "The end date must be the same as or after the start date")
    before = link.ends_on
    link.ends_on = ends_on
    record("commissioning.end", f"{link.commissioner.name} stops commissioning {link.service.name} after {ends_on}", target=link.service, details={"commissioning_id": link.id, "ends_on": [before, ends_on]})
