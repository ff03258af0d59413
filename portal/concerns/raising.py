"""Raising concerns (signed in, and the public form) and the lists and search of concerns."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.agencies.models import Agency, Area, Service
from portal.agreements.sharing import london_today
from portal.concerns import operations
from portal.concerns.models import Concern, ConcernAbuseType
from portal.concerns.operations import AdultDetails
from portal.concerns.raising_forms import DANGER_TO_RAG, PublicReportForm, RaiseConcernForm, SearchForm
from portal.core.codes import RAG, ConcernStatus
from portal.core.pagination import paginate
from portal.core.rules import save_form
from portal.core.templating import LONDON
from portal.core.workdays import working_days_between
from portal.extensions import db
from portal.policy import Capability

# Raising, signed in ---------------------------------------------------------------------------


def _service_label(service: Service) -> str:
    return f"{service.name} ({service.provider.name})"


@policy.require(Capability.RAISE_CONCERN)
def raise_concern():
    agency = current_user.membership.agency
    services = db.session.scalars(
        operations.services_for_raiser(current_user, agency.area).options(sa.orm.joinedload(Service.provider))
    ).all()
    form = RaiseConcernForm(service_required=agency.is_provider)
    blank = "Select a service" if agency.is_provider else "Not about a particular service"
    form.service.choices = [("", blank)] + [(s.id, _service_label(s)) for s in services]
    wanted = request.args.get("service")
    if wanted is not None:
        # "Raise a concern about this service": a service the person may not raise about is not found.
        chosen = next((s for s in services if str(s.id) == wanted), None)
        if chosen is None:
            abort(404)
        if request.method == "GET":
            form.service.data = chosen.id
    if form.validate_on_submit():
        service = next((s for s in services if s.id == form.service.data), None)
        created = {}

        def change():
            created["concern"] = operations.raise_concern(
                area=agency.area,
                raised_by=current_user,
                service=service,
                what_happened=form.what_happened.data,
                abuse_types=form.abuse_types.data,
                happened_on=form.happened_on.data,
                risk_location=form.risk_location.data,
                risk_source=form.risk_source.data,
                immediate_risk=form.immediate_risk.data,
                immediate_action=form.immediate_action.data,
                adult=_adult_details(form),
                consent=form.consent.data,
            )

        if save_form(form, change):
            concern = created["concern"]
            flash(f"Concern {concern.reference} raised. The local authority's safeguarding team has been told.", "success")
            return redirect(url_for("concerns.show_concern", concern_id=concern.id))
    return render_template("concerns/raising/new.html", form=form, agency=agency)


def _adult_details(form: RaiseConcernForm) -> AdultDetails | None:
    if not form.adult_name.data:
        return None
    return AdultDetails(
        name=form.adult_name.data,
        date_of_birth=form.adult_date_of_birth.data,
        nhs_number=form.adult_nhs_number.data or None,
        sex=form.adult_sex.data,
        address=form.adult_address.data or None,
        postcode=form.adult_postcode.data or None,
        communication_needs=form.adult_communication_needs.data or None,
        preferred_language=form.adult_preferred_language.data or None,
        primary_support_reason=form.adult_primary_support_reason.data,
    )


# Raising, public ------------------------------------------------------------------------------


def report():
    """The public form: no account, a reference at the end, and nothing saved for a bot."""
    areas = db.session.scalars(sa.select(Area).order_by(Area.name)).all()
    form = PublicReportForm()
    form.area.choices = [("", "Select an area")] + [(a.id, a.name) for a in areas]
    if request.method == "GET" and len(areas) == 1:
        form.area.data = areas[0].id
    if form.is_submitted() and form.website.data:
        # People never see the trap field, so whatever filled it in is a bot: it gets the page a
        # person gets (without a reference, as there is nothing to refer to), and nothing is kept.
        session["reported_reference"] = ""
        return redirect(url_for("raising.report_sent"))
    if form.validate_on_submit():
        area = next(a for a in areas if a.id == form.area.data)
        created = {}

        def change():
            created["concern"] = operations.raise_concern(
                area=area,
                raised_by=None,
                service=None,
                what_happened=form.what_happened.data,
                abuse_types=set(),
                risk_location=form.risk_location.data,
                immediate_risk=DANGER_TO_RAG.get(form.in_danger.data),
                adult=_public_adult(form),
                reporter_name=form.reporter_name.data or None,
                reporter_contact=form.reporter_contact.data or None,
                reporter_relationship=form.reporter_relationship.data or None,
            )

        if save_form(form, change):
            session["reported_reference"] = created["concern"].reference
            return redirect(url_for("raising.report_sent"))
    return render_template("concerns/raising/report.html", form=form)


def _public_adult(form: PublicReportForm) -> AdultDetails | None:
    if not (form.adult_name.data or form.adult_address.data or form.adult_postcode.data):
        return None
    return AdultDetails(
        name=form.adult_name.data or None,
        address=form.adult_address.data or None,
        postcode=form.adult_postcode.data or None,
    )


def report_sent():
    reference = session.pop("reported_reference", None)
    if reference is None:
        return redirect(url_for("raising.report"))
    return render_template("concerns/raising/report_sent.html", reference=reference)


# Lists ----------------------------------------------------------------------------------------


def _rows(query):
    """A page of concerns with what the list rows show, loaded up front."""
    return paginate(query.options(sa.orm.selectinload(Concern.service), sa.orm.selectinload(Concern.type_links)))


def _newest_first(query):
    return query.order_by(Concern.raised_at.desc(), Concern.id.desc())


def _render_list(template: str, **context):
    return render_template(
        template,
        can_raise_concern=policy.can(current_user, Capability.RAISE_CONCERN),
        can_work_on_concerns=policy.can(current_user, Capability.WORK_ON_CONCERNS),
        **context,
    )


@login_required
def my_concerns():
    query = policy.concerns_visible_to(current_user).where(Concern.raised_by_id == current_user.id)
    return _render_list(
        "concerns/raising/list.html",
        page=_rows(_newest_first(query)),
        title="Concerns you raised",
        empty="You have not raised any concerns.",
        endpoint="raising.my_concerns",
    )


@login_required
def organisation_concerns():
    membership = current_user.membership
    raised_here = Concern.raising_agency_id == membership.agency_id if membership is not None else sa.false()
    query = policy.concerns_visible_to(current_user).where(raised_here)
    return _render_list(
        "concerns/raising/list.html",
        page=_rows(_newest_first(query)),
        title=f"Concerns raised by {membership.agency.name}" if membership is not None else "Your organisation's concerns",
        empty="Nobody in your organisation has raised a concern you can see.",
        endpoint="raising.organisation_concerns",
    )


@policy.require(Capability.WORK_ON_CONCERNS)
def triage_queue():
    query = (
        policy.concerns_visible_to(current_user)
        .where(Concern.status == ConcernStatus.SUBMITTED)
        .order_by(Concern.raised_at, Concern.id)
    )
    page = _rows(query)
    today = london_today()
    waiting = {c.id: working_days_between(c.raised_at.astimezone(LONDON).date(), today) for c in page.items}
    red = db.session.scalar(
        sa.select(sa.func.count()).select_from(query.where(Concern.immediate_risk == RAG.RED).order_by(None).subquery())
    )
    return _render_list("concerns/raising/triage.html", page=page, waiting=waiting, red=red)


@login_required
def search():
    scoped = policy.concerns_visible_to(current_user)
    form = SearchForm(request.args)
    services = db.session.scalars(
        sa.select(Service)
        .where(Service.id.in_(scoped.with_only_columns(Concern.service_id).where(Concern.service_id.is_not(None))))
        .join(Agency, Service.provider_id == Agency.id)
        .options(sa.orm.contains_eager(Service.provider))
        .order_by(Service.name, Agency.name)
    ).all()
    form.service.choices = [("", "Any service")] + [(s.id, _service_label(s)) for s in services]
    searched = any(name != "page" for name in request.args)
    if not form.validate():
        return _render_list("concerns/raising/search.html", form=form, page=None, searched=searched)
    return _render_list(
        "concerns/raising/search.html", form=form, page=_rows(_newest_first(_filtered(scoped, form))), searched=searched
    )


def _filtered(query, form: SearchForm):
    """The scoped query narrowed by the search's filters; never wider than the scope."""
    reference = (form.reference.data or "").upper().replace(" ", "")
    if reference:
        if reference[0].isdigit():
            reference = "C-" + reference
        escaped = reference.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(sa.func.upper(Concern.reference).like(escaped + "%", escape="\\"))
    if form.service.data is not None:
        query = query.where(Concern.service_id == form.service.data)
    if form.status.data is not None:
        query = query.where(Concern.status == form.status.data)
    if form.abuse_type.data is not None:
        query = query.where(
            sa.exists().where(ConcernAbuseType.concern_id == Concern.id, ConcernAbuseType.abuse_type == form.abuse_type.data)
        )
    if form.raised_from.data is not None:
        query = query.where(Concern.raised_at >= _start_of_london_day(form.raised_from.data))
    if form.raised_to.data is not None:
        try:
            query = query.where(Concern.raised_at < _start_of_london_day(form.raised_to.data + timedelta(days=1)))
        except OverflowError:
            pass  # the last day there is: nothing is raised after it
    return query


def _start_of_london_day(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LONDON).astimezone(UTC)
