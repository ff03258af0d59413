"""Pages for information-sharing agreements: everyone sees their own; administrators record them."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.agencies.models import Agency
from portal.agreements import operations
from portal.agreements.forms import AgreementForm, EditAgreementForm, RevokeForm, SignForm
from portal.agreements.models import Agreement, AgreementParty, AgreementStatus
from portal.agreements.sharing import london_today
from portal.core.concurrency import check_version
from portal.core.rules import save_form
from portal.core.templating import format_date
from portal.extensions import db
from portal.people.models import User
from portal.policy import Capability

manage_agreements = policy.require(Capability.MANAGE_AGREEMENTS)

#: GOV.UK tag colour for each status.
STATUS_TAG_CLASSES = {
    AgreementStatus.DRAFT: "govuk-tag--light-blue",
    AgreementStatus.ACTIVE: "govuk-tag--green",
    AgreementStatus.REVIEW_DUE: "govuk-tag--yellow",
    AgreementStatus.EXPIRED: "govuk-tag--grey",
    AgreementStatus.REVOKED: "govuk-tag--red",
}


#: Statuses in which an agreement can no longer be signed, changed or revoked.
CLOSED = frozenset({AgreementStatus.REVOKED, AgreementStatus.EXPIRED})


def _is_open(agreement: Agreement) -> bool:
    return agreement.status_on(london_today()) not in CLOSED


def _with_details(query):
    return query.options(
        sa.orm.selectinload(Agreement.parties).joinedload(AgreementParty.agency),
        sa.orm.selectinload(Agreement.category_links),
    )


@login_required
def list_agreements():
    if current_user.membership is None:
        abort(403)
    today = london_today()
    agreements = db.session.scalars(
        _with_details(policy.agreements_visible_to(current_user)).order_by(Agreement.title, Agreement.id)
    ).all()
    rows = [(agreement, agreement.status_on(today)) for agreement in agreements]
    status = request.args.get("status", "")
    if status in AgreementStatus.__members__:
        rows = [(agreement, s) for agreement, s in rows if s is AgreementStatus[status]]
    else:
        status = ""
    return render_template(
        "agreements/list.html",
        rows=rows,
        status=status,
        statuses=AgreementStatus,
        tag_classes=STATUS_TAG_CLASSES,
        can_manage=policy.can_manage_agreements(current_user),
    )


def _status_explanation(agreement: Agreement, status: AgreementStatus, today: date) -> str:
    """Why the agreement has the status it has today, in a sentence."""
    if status is AgreementStatus.REVOKED:
        revoked_by = db.session.get(User, agreement.revoked_by_id) if agreement.revoked_by_id else None
        by = f" by {revoked_by.name}" if revoked_by else ""
        return f"Revoked on {format_date(agreement.revoked_at)}{by}: {agreement.revoked_reason}"
    if status is AgreementStatus.EXPIRED:
        return f"Expired on {format_date(agreement.ends_on)}. It no longer lets the parties share data."
    if status is AgreementStatus.DRAFT:
        unsigned = [party.agency.name for party in agreement.parties if party.signed_on is None]
        if unsigned:
            return f"Draft: waiting for signatures from {_and_list(unsigned)}."
        return f"Signed by every party. It comes into force on {format_date(agreement.starts_on)}."
    if status is AgreementStatus.REVIEW_DUE:
        return f"Review due since {format_date(agreement.review_on)}. It still lets the parties share data until {format_date(agreement.ends_on)}."
    return f"In force: the parties may share the data it covers until {format_date(agreement.ends_on)}. Review due on {format_date(agreement.review_on)}."


def _and_list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


@login_required
def show_agreement(agreement_id: int):
    agreement = policy.visible_agreement_or_404(current_user, agreement_id)
    today = london_today()
    status = agreement.status_on(today)
    can_manage = policy.can_manage_agreements(current_user)
    return render_template(
        "agreements/show.html",
        agreement=agreement,
        status=status,
        explanation=_status_explanation(agreement, status, today),
        tag_class=STATUS_TAG_CLASSES[status],
        can_manage=can_manage,
        is_open=status not in CLOSED,
        anyone_signed=any(party.signed_on for party in agreement.parties),
    )


def _party_choices(area_id: int, current: list[Agency] = ()) -> list[tuple[int, str]]:
    """The area's active agencies, and any current party that has since become inactive."""
    agencies = db.session.scalars(
        sa.select(Agency).where(Agency.area_id == area_id, Agency.active).order_by(Agency.name)
    ).all()
    extra = [agency for agency in current if agency not in agencies]
    return [(agency.id, f"{agency.name} ({agency.kind.label})") for agency in [*agencies, *extra]]


def _chosen_agencies(area_id: int, ids: list[int]) -> list[Agency]:
    if not ids:
        return []
    return list(
        db.session.scalars(sa.select(Agency).where(Agency.area_id == area_id, Agency.id.in_(ids)).order_by(Agency.name))
    )


def _terms(form, area_id: int) -> dict:
    return dict(
        title=form.title.data,
        purpose=form.purpose.data,
        controllers=form.controllers.data,
        lawful_basis=form.lawful_basis.data,
        special_category_condition=form.special_category_condition.data,
        categories=form.categories.data,
        retention_months=form.retention_months.data,
        starts_on=form.starts_on.data,
        review_on=form.review_on.data,
        ends_on=form.ends_on.data,
        party_agencies=_chosen_agencies(area_id, form.parties.data),
    )


@manage_agreements
def new_agreement():
    area = current_user.membership.agency.area
    form = AgreementForm()
    form.parties.choices = _party_choices(area.id)
    if form.validate_on_submit():
        created = {}

        def change():
            created["agreement"] = operations.create_agreement(area=area, **_terms(form, area.id))

        if save_form(form, change):
            flash(f"{form.title.data} recorded. It comes into force once every party has signed.", "success")
            return redirect(url_for("agreements.show_agreement", agreement_id=created["agreement"].id))
    return render_template("agreements/form.html", form=form, agreement=None)


@manage_agreements
def edit_agreement(agreement_id: int):
    agreement = policy.manageable_agreement_or_404(current_user, agreement_id)
    if any(party.signed_on for party in agreement.parties):
        flash("This agreement has been signed, so it cannot change: revoke it and record a new agreement instead.")
        return redirect(url_for("agreements.show_agreement", agreement_id=agreement.id))
    form = EditAgreementForm(obj=agreement)
    form.parties.choices = _party_choices(agreement.area_id, agreement.party_agencies)
    if not form.is_submitted():
        form.parties.data = [party.agency_id for party in agreement.parties]
    if form.validate_on_submit():

        def change():
            check_version(agreement, form.version.data)
            operations.update_agreement(agreement, **_terms(form, agreement.area_id))

        if save_form(form, change):
            flash("Changes saved.", "success")
            return redirect(url_for("agreements.show_agreement", agreement_id=agreement.id))
    return render_template("agreements/form.html", form=form, agreement=agreement)


@manage_agreements
def sign_party(agreement_id: int, party_id: int):
    agreement = policy.manageable_agreement_or_404(current_user, agreement_id)
    party = next((p for p in agreement.parties if p.id == party_id), None)
    if party is None:
        abort(404)
    if party.signed_on is not None:
        flash(f"{party.agency.name} has already signed this agreement.")
        return redirect(url_for("agreements.show_agreement", agreement_id=agreement.id))
    if not _is_open(agreement):
        flash("This agreement has been revoked or has expired, so it can no longer be signed.")
        return redirect(url_for("agreements.show_agreement", agreement_id=agreement.id))
    form = SignForm()
    if form.validate_on_submit():

        def change():
            operations.sign_for_party(
                party, signatory_name=form.signatory_name.data,
                signatory_job_title=form.signatory_job_title.data, signed_on=form.signed_on.data,
            )

        if save_form(form, change):
            flash(f"Signature recorded for {party.agency.name}.", "success")
            return redirect(url_for("agreements.show_agreement", agreement_id=agreement.id))
    return render_template("agreements/sign.html", form=form, agreement=agreement, party=party)


@manage_agreements
def revoke_agreement(agreement_id: int):
    agreement = policy.manageable_agreement_or_404(current_user, agreement_id)
    if not _is_open(agreement):
        flash("This agreement has already been revoked or has expired.")
        return redirect(url_for("agreements.show_agreement", agreement_id=agreement.id))
    form = RevokeForm()
    if form.validate_on_submit():

        def change():
            operations.revoke_agreement(agreement, reason=form.reason.data, by_user=current_user._get_current_object())

        if save_form(form, change):
            flash(f"{agreement.title} revoked. It no longer lets the parties share data.", "success")
            return redirect(url_for("agreements.show_agreement", agreement_id=agreement.id))
    return render_template("agreements/revoke.html", form=form, agreement=agreement)
