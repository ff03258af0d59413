"""Provider and service profiles, the records behind them, the risk rules and the quality standards.

Each page finds its object through the policy layer (404 when the person may not see it, 403 when
they may see it but not do this), then hands any change to an operation through ``save_form``, so
a refusal shows on the form with nothing typed lost.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.agencies.models import Agency, Service
from portal.core.concurrency import check_version
from portal.core.pagecache import cached_page
from portal.core.pagination import paginate
from portal.core.rules import WHOLE_RECORD, save_form
from portal.core.workdays import london_today
from portal.extensions import db
from portal.intelligence import operations
from portal.intelligence.forms import (
    PERIODS,
    ActionForm,
    AddStandardForm,
    CompleteForm,
    InspectionForm,
    ItemForm,
    ProviderSearchForm,
    RemoveItemForm,
    RenameStandardForm,
    RespondForm,
    StandardChangeForm,
    TimelineFilterForm,
    visit_form_class,
)
from portal.intelligence.models import (
    ImprovementAction,
    IntelligenceItem,
    MonitoringVisit,
    QualityArea,
    QualityStandard,
    RegisterEntry,
    Severity,
    SourceType,
)
from portal.intelligence.operations import (
    ActionDetails,
    InspectionDetails,
    IntelligenceError,
    ItemDetails,
    VisitDetails,
)
from portal.intelligence.presenters import (
    inspections_by_service,
    item_figures,
    ratings_chart,
    ratings_view,
    signal_for,
    signals_by_service,
    timeline,
    visible_items,
)
from portal.intelligence.risk import current_rules
from portal.people.models import User
from portal.policy import Capability

#: Visits listed on a service's page, newest first.
VISITS_SHOWN = 20


def _me() -> User:
    """The signed-in person as a model instance, for operations to store."""
    return current_user._get_current_object()


def _acting_agency() -> Agency:
    return current_user.membership.agency


def _save_versioned(form, record, change) -> bool:
    """Run ``change`` through ``save_form``, refused if ``record`` changed since the form was filled in."""

    def checked():
        check_version(record, form.version.data)
        change()

    return save_form(form, checked)


def _back_to_service(service_id: int, message: str, anchor: str | None = None):
    flash(message, "success")
    return redirect(url_for("intelligence.service_profile", service_id=service_id, _anchor=anchor))


def _back_to_visit(visit: MonitoringVisit, message: str):
    flash(message, "success")
    return redirect(url_for("intelligence.visit", visit_id=visit.id, _anchor="improvement-plan"))


# Providers and profiles -----------------------------------------------------------------------


@policy.require(Capability.VIEW_INTELLIGENCE)
@cached_page
def list_providers():
    form = ProviderSearchForm(request.args)
    form.validate()
    services = policy.intelligence_services_visible_to(current_user)
    query = policy.intelligence_providers_visible_to(current_user)
    wanted = (form.q.data or "").strip() if not form.q.errors else ""
    if wanted:
        pattern = "%" + wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        named = services.where(Service.name.ilike(pattern, escape="\\")).with_only_columns(Service.provider_id)
        query = query.where(sa.or_(Agency.name.ilike(pattern, escape="\\"), Agency.id.in_(named)))
    page = paginate(query.order_by(Agency.name, Agency.id))
    provider_ids = [provider.id for provider in page.items]
    listed = db.session.scalars(
        services.where(Service.provider_id.in_(provider_ids)).order_by(Service.name, Service.id)
    ).all() if provider_ids else []
    by_provider: dict[int, list[Service]] = {}
    for service in listed:
        by_provider.setdefault(service.provider_id, []).append(service)
    signals = signals_by_service(current_user, [service.id for service in listed])
    return render_template(
        "intelligence/providers.html", form=form, page=page, services=by_provider, signals=signals, searched=bool(wanted)
    )


def _timeline_context(items, service_names: dict[int, str], subject: str, chart_id: str, *, sees_recorder: bool, can_edit: bool) -> dict:
    """What both profiles show below the ratings: the filtered timeline, the counts, the monthly chart.

    ``items`` is the reader's visible items on the profile's services, built once for the page: the
    counts, the chart and the timeline's total come from one count of them, the timeline's page
    from one more query.
    """
    today = london_today()
    filters = TimelineFilterForm(request.args)
    filters.validate()
    figures = item_figures(items, today)
    page, rows = timeline(
        current_user, items, service_names, filters, today, figures, sees_recorder=sees_recorder, can_edit=can_edit
    )
    counts, totals = figures.counts_by_source()
    return {
        "filters": filters,
        "form": filters,
        "page": page,
        "rows": rows,
        "counts": counts,
        "count_totals": totals,
        "periods": PERIODS,
        "monthly": figures.monthly_chart(chart_id, subject),
        "sees_recorder": sees_recorder,
    }


@login_required
@cached_page
def provider_profile(provider_id: int):
    # The provider's services the reader may see, found once for the whole page: a provider is
    # visible exactly when one of its services is (policy.intelligence_providers_visible_to).
    services = db.session.scalars(
        policy.intelligence_services_visible_to(current_user).where(Service.provider_id == provider_id)
        .order_by(Service.name, Service.id)
    ).all()
    if not services:
        abort(404)
    provider = db.session.get(Agency, provider_id)
    service_ids = [service.id for service in services]
    inspections = inspections_by_service(service_ids)
    sees_confidential = policy.sees_confidential_intelligence(current_user)
    # Every service here is one the reader sees, so recording on them turns on the role alone.
    can_edit = policy.can_record_intelligence(current_user)
    return render_template(
        "intelligence/provider.html",
        provider=provider,
        services=services,
        ratings={service.id: ratings_view(inspections.get(service.id, [])) for service in services},
        ratings_charts={
            service.id: ratings_chart(f"ratings-{service.id}", inspections[service.id], service.name)
            for service in services if inspections.get(service.id)
        },
        signals=signals_by_service(current_user, service_ids),
        can_edit_items=can_edit,
        **_timeline_context(
            visible_items(current_user, service_ids), {service.id: service.name for service in services},
            provider.name, "monthly-provider", sees_recorder=sees_confidential, can_edit=can_edit,
        ),
    )


@login_required
@cached_page
def service_profile(service_id: int):
    service = policy.intelligence_service_or_404(current_user, service_id)
    inspections = inspections_by_service([service.id]).get(service.id, [])
    entry = db.session.scalar(
        sa.select(RegisterEntry).where(RegisterEntry.service_id == service.id).options(sa.orm.joinedload(RegisterEntry.owner))
    )
    visits = db.session.scalars(
        policy.visits_visible_to(current_user).where(MonitoringVisit.service_id == service.id)
        .options(sa.orm.selectinload(MonitoringVisit.actions), sa.orm.joinedload(MonitoringVisit.commissioner))
        .order_by(MonitoringVisit.visited_on.desc(), MonitoringVisit.id.desc()).limit(VISITS_SHOWN)
    ).all()
    # The reader sees this service (found above through the policy), so the checks that would ask
    # that again turn on the role alone; recording a visit also needs the service commissioned.
    can_record = policy.can_record_intelligence(current_user)
    items = visible_items(current_user, [service.id])
    return render_template(
        "intelligence/service.html",
        service=service,
        ratings=ratings_view(inspections),
        ratings_chart=ratings_chart(f"ratings-{service.id}", inspections, service.name) if inspections else None,
        signal=signal_for(current_user, service.id, items),
        rules=current_rules(),
        entry=entry,
        edit_entry_url=(
            url_for("register.edit_entry", service_id=service.id)
            if policy.can_manage_register(current_user)
            else None
        ),
        visits=visits,
        can_record_item=can_record,
        can_record_inspection=policy.can_record_inspection(current_user),
        can_record_visit=policy.can_record_visit(current_user, service),
        **_timeline_context(
            items, {service.id: service.name}, service.name, f"monthly-{service.id}",
            sees_recorder=policy.sees_confidential_intelligence(current_user), can_edit=can_record,
        ),
    )


# Items ----------------------------------------------------------------------------------------


def _service_or_abort(service_id: int, may) -> Service:
    """The service (404 when the person may not see it), or 403 when ``may`` says they may not do this."""
    service = policy.intelligence_service_or_404(current_user, service_id)
    if not may(current_user, service):
        abort(403)
    return service


def _editable_item_or_abort(item_id: int) -> IntelligenceItem:
    item = policy.visible_item_or_404(current_user, item_id)
    if not policy.can_record_intelligence(current_user, item.service) or item.source.recorded_elsewhere:
        abort(403)
    return item


def _item_details(form: ItemForm) -> ItemDetails:
    return ItemDetails(
        occurred_on=form.occurred_on.data, source=form.source.data, key_questions=set(form.key_questions.data),
        severity=form.severity.data, summary=form.summary.data or "", confidential=form.confidential.data,
        sharing_category=form.sharing_category.data,
    )


@login_required
def new_item(service_id: int):
    service = _service_or_abort(service_id, policy.can_record_intelligence)
    form = ItemForm()
    if request.method == "GET" and request.args.get("source") in {source.name for source in SourceType}:
        form.source.data = SourceType[request.args["source"]]
    del form.version
    if form.validate_on_submit():
        details = _item_details(form)
        if save_form(form, lambda: operations.record_item(service, details, by=_me(), supplied_by=_acting_agency())):
            return _back_to_service(service.id, f"{details.source.label} item added to the timeline.", anchor="timeline")
    return render_template("intelligence/item_form.html", form=form, service=service, item=None)


@login_required
def edit_item(item_id: int):
    item = _editable_item_or_abort(item_id)
    form = ItemForm(obj=item)
    if form.validate_on_submit():
        details = _item_details(form)
        if _save_versioned(form, item, lambda: operations.update_item(item, details, by=_me())):
            return _back_to_service(item.service_id, "The item has been changed.", anchor="timeline")
    return render_template("intelligence/item_form.html", form=form, service=item.service, item=item)


@login_required
def remove_item(item_id: int):
    item = _editable_item_or_abort(item_id)
    form = RemoveItemForm(obj=item)
    if form.validate_on_submit():
        if _save_versioned(form, item, lambda: operations.delete_item(item, reason=form.reason.data, by=_me())):
            return _back_to_service(item.service_id, "The item has been removed from the timeline and the risk signal.")
    return render_template("intelligence/remove_item.html", form=form, service=item.service, item=item)


# Inspections ----------------------------------------------------------------------------------


@login_required
def new_inspection(service_id: int):
    service = _service_or_abort(service_id, policy.can_record_inspection)
    form = InspectionForm()
    if form.validate_on_submit():
        details = InspectionDetails(
            published_on=form.published_on.data, overall=form.overall.data, ratings=form.ratings(),
            inherited=bool(form.inherited.data), report_type=form.report_type.data or None, url=form.url.data or None,
        )

        def change():
            if operations.record_inspection(service, details, by=_me(), supplied_by=_acting_agency()) is None:
                raise IntelligenceError(WHOLE_RECORD, "These ratings, published on that date, are already recorded")

        if save_form(form, change):
            return _back_to_service(service.id, "The ratings have been recorded.", anchor="ratings")
    return render_template("intelligence/inspection_form.html", form=form, service=service)


# Contract-monitoring visits and their improvement plans ---------------------------------------


def _standards_by_area(standards: list[QualityStandard]) -> list[tuple[QualityArea, list[QualityStandard]]]:
    grouped: dict[int, tuple[QualityArea, list[QualityStandard]]] = {}
    for standard in standards:
        grouped.setdefault(standard.quality_area_id, (standard.quality_area, []))[1].append(standard)
    return list(grouped.values())


@login_required
def new_visit(service_id: int):
    service = _service_or_abort(service_id, policy.can_record_visit)
    standards = operations.ensure_default_standards(service.provider.area_id)
    # Committed now, so the standards' ids on the form are still theirs when it comes back.
    db.session.commit()
    form = visit_form_class(standards)()
    if form.validate_on_submit():
        details = VisitDetails(
            visited_on=form.visited_on.data, officer_name=form.officer_name.data or "", findings=form.findings.data or "",
            scores={
                standard.id: field.data
                for standard, field in zip(standards, form.score_fields(s.id for s in standards), strict=True)
                if field.data is not None
            },
            actions=[
                ActionDetails(description=description.data, owner=owner.data, due_on=due_on.data)
                for description, owner, due_on in form.action_slots() if description.data
            ],
        )
        recorded = []

        def change():
            recorded.append(operations.record_visit(service, details, commissioner=_acting_agency(), by=_me()))

        if save_form(form, change):
            return _back_to_visit(recorded[0], "The contract-monitoring visit has been recorded.")
    return render_template(
        "intelligence/visit_form.html", form=form, service=service, groups=_standards_by_area(standards),
    )


def _visible_action_or_404(action_id: int) -> ImprovementAction:
    action = db.session.get(ImprovementAction, action_id)
    if action is None:
        abort(404)
    policy.visible_visit_or_404(current_user, action.visit_id)
    return action


@login_required
def visit(visit_id: int):
    shown = policy.visible_visit_or_404(current_user, visit_id)
    scores = {score.standard_id: score for score in shown.scores}
    standards = [standard for standard in operations.standards_for(shown.service.provider.area_id, include_retired=True) if standard.id in scores]
    return render_template(
        "intelligence/visit.html",
        visit=shown,
        service=shown.service,
        groups=_standards_by_area(standards),
        scores=scores,
        can_manage=policy.can_manage_visit(current_user, shown),
        can_respond={action.id: policy.can_respond_to_action(current_user, action) for action in shown.actions},
        complete_form=CompleteForm(),
    )


@login_required
def new_action(visit_id: int):
    shown = policy.visible_visit_or_404(current_user, visit_id)
    if not policy.can_manage_visit(current_user, shown):
        abort(403)
    form = ActionForm()
    if form.validate_on_submit():
        details = ActionDetails(description=form.description.data, owner=form.owner.data, due_on=form.due_on.data)
        if save_form(form, lambda: operations.add_action(shown, details, by=_me())):
            return _back_to_visit(shown, "The action has been added to the improvement plan.")
    return render_template("intelligence/action_form.html", form=form, visit=shown, service=shown.service)


@login_required
def respond_action(action_id: int):
    action = _visible_action_or_404(action_id)
    if not policy.can_respond_to_action(current_user, action):
        abort(403)
    form = RespondForm(obj=action, response=action.provider_response)
    if form.validate_on_submit():
        if _save_versioned(form, action, lambda: operations.respond_to_action(action, response=form.response.data, by=_me())):
            return _back_to_visit(action.visit, "Your response has been sent to the commissioner.")
    return render_template("intelligence/respond.html", form=form, action=action, visit=action.visit, service=action.visit.service)


@login_required
def complete_action(action_id: int):
    action = _visible_action_or_404(action_id)
    if not policy.can_manage_visit(current_user, action.visit):
        abort(403)
    form = CompleteForm()
    if form.validate_on_submit():
        if _save_versioned(form, action, lambda: operations.complete_action(action, by=_me())):
            return _back_to_visit(action.visit, "The action is completed.")
    flash(" ".join(form.form_errors) or "The action could not be completed. Try again.", "important")
    return redirect(url_for("intelligence.visit", visit_id=action.visit_id, _anchor=f"action-{action.id}"))


# The rules, for everyone who reads a signal ---------------------------------------------------


@policy.require(Capability.VIEW_INTELLIGENCE)
def risk_rules():
    return render_template("intelligence/risk_rules.html", rules=current_rules(), sources=SourceType, severities=Severity)


# Quality standards ----------------------------------------------------------------------------


def _area_standard_or_404(area_id: int, standard_id) -> QualityStandard:
    standard = db.session.get(QualityStandard, _submitted_id(standard_id))
    if standard is None or standard.area_id != area_id:
        abort(404)
    return standard


def _submitted_id(value) -> int:
    """A submitted id as an int (0 for nonsense, which no row has)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if 0 < number < 2**31 else 0


@login_required
def quality_standards():
    if not policy.can_configure_standards(current_user):
        abort(403)
    area_id = _acting_agency().area_id
    operations.ensure_default_standards(area_id)
    db.session.commit()
    areas = db.session.scalars(
        sa.select(QualityArea).where(QualityArea.area_id == area_id).order_by(QualityArea.position, QualityArea.id)
        .options(sa.orm.selectinload(QualityArea.standards))
    ).all()
    add_form = AddStandardForm(prefix="add")
    add_form.quality_area.choices = [("", "Select a quality area")] + [(area.id, area.name) for area in areas]
    renaming = None
    rename_form = None
    wanted = request.form.get("rename") if request.method == "POST" else request.args.get("rename")
    if wanted:
        renaming = _area_standard_or_404(area_id, wanted)
        rename_form = RenameStandardForm(prefix="rename", name=renaming.name)
    form = add_form
    if request.method == "POST":
        if renaming is not None:
            form = rename_form
            if form.validate_on_submit() and save_form(form, lambda: operations.rename_standard(renaming, name=form.name.data, by=_me())):
                return _standards_changed(f"{renaming.code} has been reworded.")
        elif "change" in request.form:
            form = StandardChangeForm()
            if form.validate_on_submit():
                standard = _area_standard_or_404(area_id, form.standard_id.data)
                active = form.change.data == "restore"
                if save_form(form, lambda: operations.set_standard_active(standard, active=active, by=_me())):
                    return _standards_changed(f"{standard.code} has been {'restored' if active else 'retired'}.")
        elif add_form.validate_on_submit():
            quality_area = next(area for area in areas if area.id == add_form.quality_area.data)
            if save_form(add_form, lambda: operations.add_standard(
                quality_area, code=add_form.code.data, name=add_form.name.data, by=_me()
            )):
                return _standards_changed("The standard has been added. Visits recorded from now on score it.")
    return render_template(
        "intelligence/standards.html", areas=areas, add_form=add_form, rename_form=rename_form, renaming=renaming,
        form=form, change_form=StandardChangeForm(),
    )


def _standards_changed(message: str):
    flash(message, "success")
    return redirect(url_for("intelligence.quality_standards"))
