"""Pages for agencies and services: an administrator's directory, and each person's own agency."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import policy
from portal.agencies import operations
from portal.agencies.forms import (
    AgencyForm,
    CommissioningForm,
    EditAgencyForm,
    EditServiceForm,
    EndCommissioningForm,
    ServiceForm,
)
from portal.agencies.models import Agency, Service
from portal.agreements.sharing import london_today
from portal.core.codes import AgencyKind
from portal.core.concurrency import check_version
from portal.core.pagination import paginate
from portal.core.rules import save_form
from portal.extensions import db
from portal.people.models import Membership
from portal.policy import Capability

manage_agencies = policy.require(Capability.MANAGE_AGENCIES)


@policy.require(Capability.VIEW_OWN_AGENCY)
def own_agency():
    agency = current_user.membership.agency
    services = db.session.scalars(policy.services_of_own_agency(current_user).order_by(Service.name)).all()
    agreements = db.session.scalars(policy.agreements_visible_to(current_user)).all()
    return render_template(
        "agencies/own.html", agency=agency, services=services, agreements=agreements, today=london_today(),
        can_raise=policy.can(current_user, Capability.RAISE_CONCERN),
    )


@manage_agencies
def list_agencies():
    query = policy.agencies_manageable_by(current_user)
    kind = request.args.get("kind", "")
    if kind in AgencyKind.__members__:
        query = query.where(Agency.kind == AgencyKind[kind])
    page = paginate(query.order_by(Agency.name))
    ids = [agency.id for agency in page.items]
    services = dict(
        db.session.execute(
            sa.select(Service.provider_id, sa.func.count()).where(Service.provider_id.in_(ids)).group_by(Service.provider_id)
        ).all()
    )
    people = dict(
        db.session.execute(
            sa.select(Membership.agency_id, sa.func.count())
            .where(Membership.agency_id.in_(ids), Membership.active)
            .group_by(Membership.agency_id)
        ).all()
    )
    return render_template("agencies/list.html", page=page, services=services, people=people, kind=kind, kinds=AgencyKind)


@manage_agencies
def new_agency():
    form = AgencyForm()
    if form.validate_on_submit():
        created = {}

        def change():
            created["agency"] = operations.create_agency(
                area=current_user.membership.agency.area, name=form.name.data, kind=form.kind.data,
                provider_ref=form.provider_ref.data, require_two_factor=form.require_two_factor.data,
            )

        if save_form(form, change):
            flash(f"{form.name.data} added.", "success")
            return redirect(url_for("agencies.show_agency", agency_id=created["agency"].id))
    return render_template("agencies/agency_form.html", form=form, agency=None)


@manage_agencies
def show_agency(agency_id: int):
    agency = policy.manageable_agency_or_404(current_user, agency_id)
    members = db.session.scalars(
        sa.select(Membership).where(Membership.agency_id == agency.id, Membership.active).options(sa.orm.joinedload(Membership.user))
    ).all()
    return render_template("agencies/show.html", agency=agency, members=members, today=london_today())


@manage_agencies
def edit_agency(agency_id: int):
    agency = policy.manageable_agency_or_404(current_user, agency_id)
    form = EditAgencyForm(obj=agency)
    if form.validate_on_submit():

        def change():
            check_version(agency, form.version.data)
            if agency.id == current_user.membership.agency_id and not form.active.data:
                raise operations.AgencyError("active", "You cannot deactivate the agency you are working for")
            operations.update_agency(
                agency, name=form.name.data, kind=form.kind.data, provider_ref=form.provider_ref.data,
                require_two_factor=form.require_two_factor.data, active=form.active.data,
            )

        if save_form(form, change):
            flash("Changes saved.", "success")
            return redirect(url_for("agencies.show_agency", agency_id=agency.id))
    return render_template("agencies/agency_form.html", form=form, agency=agency)


@manage_agencies
def new_service(agency_id: int):
    agency = policy.manageable_agency_or_404(current_user, agency_id)
    if not agency.is_provider:
        flash("Only care providers run services.")
        return redirect(url_for("agencies.show_agency", agency_id=agency.id))
    form = ServiceForm()
    if form.validate_on_submit():
        created = {}

        def change():
            created["service"] = operations.add_service(
                agency, name=form.name.data, location_ref=form.location_ref.data, service_type=form.service_type.data,
                address=form.address.data, postcode=form.postcode.data, registered_beds=form.registered_beds.data,
            )

        if save_form(form, change):
            flash(f"{form.name.data} added.", "success")
            return redirect(url_for("agencies.show_service", service_id=created["service"].id))
    return render_template("agencies/service_form.html", form=form, agency=agency, service=None)


@manage_agencies
def show_service(service_id: int):
    service = policy.manageable_service_or_404(current_user, service_id)
    return render_template("agencies/service.html", service=service, today=london_today())


@manage_agencies
def edit_service(service_id: int):
    service = policy.manageable_service_or_404(current_user, service_id)
    form = EditServiceForm(obj=service)
    if form.validate_on_submit():

        def change():
            check_version(service, form.version.data)
            operations.update_service(
                service, name=form.name.data, location_ref=form.location_ref.data, service_type=form.service_type.data,
                address=form.address.data, postcode=form.postcode.data, registered_beds=form.registered_beds.data,
                active=form.active.data,
            )

        if save_form(form, change):
            flash("Changes saved.", "success")
            return redirect(url_for("agencies.show_service", service_id=service.id))
    return render_template("agencies/service_form.html", form=form, agency=service.provider, service=service)


def _commissioner_choices():
    agencies = db.session.scalars(
        policy.agencies_manageable_by(current_user)
        .where(Agency.kind.in_([AgencyKind.LOCAL_AUTHORITY, AgencyKind.NHS_ICB]), Agency.active)
        .order_by(Agency.name)
    )
    return [("", "Select a commissioner")] + [(a.id, a.name) for a in agencies]


@manage_agencies
def new_commissioning(service_id: int):
    service = policy.manageable_service_or_404(current_user, service_id)
    form = CommissioningForm()
    form.commissioner.choices = _commissioner_choices()
    if form.validate_on_submit():
        commissioner = policy.manageable_agency_or_404(current_user, form.commissioner.data)

        def change():
            operations.add_commissioning(service, commissioner=commissioner, starts_on=form.starts_on.data, ends_on=form.ends_on.data)

        if save_form(form, change):
            flash(f"{commissioner.name} now commissions {service.name}.", "success")
            return redirect(url_for("agencies.show_service", service_id=service.id))
    return render_template("agencies/commissioning_form.html", form=form, service=service)


@manage_agencies
def end_commissioning(commissioning_id: int):
    link = policy.manageable_commissioning_or_404(current_user, commissioning_id)
    form = EndCommissioningForm()
    if form.validate_on_submit():
        if save_form(form, lambda: operations.end_commissioning(link, form.ends_on.data)):
            flash("Contract end date saved.", "success")
            return redirect(url_for("agencies.show_service", service_id=link.service_id))
    return render_template("agencies/end_commissioning.html", form=form, link=link)
