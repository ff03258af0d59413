"""Administrators' pages for people: invite, edit, give and end roles, deactivate."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import policy
from portal.agencies.models import Agency
from portal.auth import operations as auth_operations
from portal.core.concurrency import check_version
from portal.core.forms import clean_text
from portal.core.pagination import paginate
from portal.core.rules import save_form
from portal.extensions import db
from portal.people import operations
from portal.people.forms import AddRoleForm, ConfirmForm, EditPersonForm, InvitePersonForm
from portal.people.models import Invitation, Membership, User
from portal.policy import Capability

manage_people = policy.require(Capability.MANAGE_PEOPLE)


def _agency_choices():
    agencies = db.session.scalars(policy.agencies_manageable_by(current_user).where(Agency.active).order_by(Agency.name))
    return [("", "Select an agency")] + [(a.id, f"{a.name} ({a.kind.label})") for a in agencies]


def _chosen_agency(form) -> Agency | None:
    if form.agency.data is None:
        return None
    return db.session.scalar(policy.agencies_manageable_by(current_user).where(Agency.id == form.agency.data))


@manage_people
def list_people():
    query = policy.people_manageable_by(current_user)
    search = clean_text(request.args.get("q", ""), 100)
    if search:
        pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(sa.func.lower(User.name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
        )
    # Each row lists the person's roles and agencies: load them with the page, not per row.
    memberships = sa.orm.selectinload(User.memberships).joinedload(Membership.agency)
    page = paginate(query.order_by(User.name).options(memberships))
    return render_template("people/list.html", page=page, search=search)


@manage_people
def invite():
    form = InvitePersonForm()
    form.agency.choices = _agency_choices()
    if form.validate_on_submit():
        created = {}

        def change():
            created["invitation"] = operations.invite_person(
                email=form.email.data, name=form.name.data, job_title=form.job_title.data,
                agency=_chosen_agency(form), role=form.role.data, invited_by=current_user,
            )

        if save_form(form, change):
            invitation = created["invitation"]
            hours = current_app.config["INVITATION_VALID_HOURS"]
            flash(f"Invitation sent to {invitation.user.email}. The link works for {hours} hours.", "success")
            return redirect(url_for("people.show_person", person_id=invitation.user_id))
    return render_template("people/invite.html", form=form)


@manage_people
def show_person(person_id: int):
    person = policy.manageable_person_or_404(current_user, person_id)
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.user_id == person.id).order_by(Invitation.id.desc()).limit(1)
    )
    return render_template("people/show.html", person=person, invitation=invitation, confirm=ConfirmForm())


@manage_people
def edit_person(person_id: int):
    person = policy.manageable_person_or_404(current_user, person_id)
    form = EditPersonForm(obj=person)
    if form.validate_on_submit():

        def change():
            check_version(person, form.version.data)
            operations.update_person(person, name=form.name.data, email=form.email.data, job_title=form.job_title.data)

        if save_form(form, change):
            flash("Changes saved.", "success")
            return redirect(url_for("people.show_person", person_id=person.id))
    return render_template("people/edit.html", form=form, person=person)


@manage_people
def add_role(person_id: int):
    person = policy.manageable_person_or_404(current_user, person_id)
    form = AddRoleForm()
    form.agency.choices = _agency_choices()
    if form.validate_on_submit():
        if save_form(form, lambda: operations.add_membership(person, _chosen_agency(form), form.role.data)):
            flash("Role added.", "success")
            return redirect(url_for("people.show_person", person_id=person.id))
    return render_template("people/add_role.html", form=form, person=person)


@manage_people
def end_role(person_id: int, membership_id: int):
    person = policy.manageable_person_or_404(current_user, person_id)
    membership = next((m for m in person.active_memberships if m.id == membership_id), None)
    if membership is None or not ConfirmForm().validate_on_submit():
        abort(404)
    if membership.id == current_user.membership.id:
        flash("You cannot end the role you are using now. Ask another administrator.")
    else:
        operations.end_membership(membership)
        db.session.commit()
        flash("Role ended.", "success")
    return redirect(url_for("people.show_person", person_id=person.id))


@manage_people
def resend_invitation(person_id: int):
    person = policy.manageable_person_or_404(current_user, person_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not person.active:
        flash(f"{person.name}'s account is deactivated: reactivate it before sending a new link.")
        return redirect(url_for("people.show_person", person_id=person.id))
    operations.new_invitation(person, current_user)
    db.session.commit()
    flash(f"A new invitation has been sent to {person.email}. Earlier links no longer work.", "success")
    return redirect(url_for("people.show_person", person_id=person.id))


@manage_people
def set_active(person_id: int):
    person = policy.manageable_person_or_404(current_user, person_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if person.id == current_user.id:
        flash("You cannot deactivate your own account.")
    else:
        activate = request.form.get("active") == "1"
        operations.set_active(person, activate)
        db.session.commit()
        flash(f"{person.name} can {'now' if activate else 'no longer'} sign in.", "success")
    return redirect(url_for("people.show_person", person_id=person.id))


@manage_people
def reset_two_factor(person_id: int):
    person = policy.manageable_person_or_404(current_user, person_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    auth_operations.disable_two_factor(person, actor=current_user)
    flash(f"Two-factor sign-in reset for {person.name}. They will set it up again when they next sign in, if their agency requires it.", "success")
    return redirect(url_for("people.show_person", person_id=person.id))
