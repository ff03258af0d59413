"""The risk register, its CSV export and each service's register entry (owner, review date, note)."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.audit.operations import record
from portal.core.pagecache import cached_page
from portal.core.pagination import page_number
from portal.core.rules import save_form
from portal.core.workdays import london_today
from portal.extensions import db
from portal.intelligence import operations
from portal.intelligence.models import RegisterEntry
from portal.intelligence.register import queries
from portal.intelligence.register.forms import RegisterEntryForm, RegisterFilterForm
from portal.policy import Capability


def _filter_form(scope: queries.Scope) -> RegisterFilterForm:
    form = RegisterFilterForm(request.args)
    choices = queries.filter_choices(scope)
    form.set_choices(areas=choices.areas, commissioners=choices.commissioners)
    return form


@policy.require(Capability.VIEW_INTELLIGENCE)
@cached_page
def register():
    scope = queries.Scope.of(current_user)
    form = _filter_form(scope)
    filtered = any(name not in {"page", "sort", "per_page"} for name in request.args)
    page = None
    if form.validate():
        page = queries.register_page(scope, form.filters(), page=page_number(), per_page=form.per_page.data)
    return render_template(
        "register/register.html",
        form=form,
        page=page,
        filtered=filtered,
        can_manage=policy.can_manage_register(current_user),
        sees_confidential=policy.sees_confidential_intelligence(current_user),
    )


# The export ------------------------------------------------------------------------------------

CSV_HEADER = [
    "Service", "Provider", "Area", "Service type", "RAG band", "Likelihood", "Consequence",
    "Likelihood x consequence", "Score", "Converging on", "Last inspection rating", "Last inspection date",
    "Last contract-monitoring visit", "Days since last visit", "Risk owner", "Review date", "Review overdue",
    "Contributing items (largest first)",
]
#: A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A cell a spreadsheet shows as text, never runs."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv_values(row: queries.RegisterRow) -> list:
    reasons = [reason.as_text() for reason in row.reasons]
    if row.more_reasons:
        reasons.append(f"and {row.more_reasons} more")
    return [
        row.service_name, row.provider_name, row.area_name, row.service_type.label, row.band.label,
        row.likelihood, row.consequence, row.rating_product, f"{row.score:.2f}",
        ", ".join(question.label for question in row.converging_questions),
        row.latest_rating.label if row.latest_rating else ("Not rated overall" if row.latest_rating_on else "No inspection recorded"),
        row.latest_rating_on.isoformat() if row.latest_rating_on else "",
        row.last_visit_on.isoformat() if row.last_visit_on else "Never",
        row.days_since_visit if row.days_since_visit is not None else "",
        row.owner_name or "", row.review_on.isoformat() if row.review_on else "",
        "Yes" if row.review_overdue else "No",
        " | ".join(reasons),
    ]


@policy.require(Capability.VIEW_INTELLIGENCE)
def export_register():
    scope = queries.Scope.of(current_user)
    form = _filter_form(scope)
    if not form.validate():
        return redirect(url_for("register.register", **request.args.to_dict(flat=False)))
    filters = form.filters()
    rows = queries.all_rows(scope, filters)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow([safe_cell(value) for value in _csv_values(row)])
    record(
        "intelligence.register.export", f"exported the risk register ({len(rows)} services)",
        details={"filters": filters.describe(), "rows": len(rows),
                 "confidential": policy.sees_confidential_intelligence(current_user)},
    )
    db.session.commit()
    filename = f"risk-register-{london_today().isoformat()}.csv"
    return Response(
        # A byte-order mark, so that spreadsheet programs read the file as UTF-8.
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


# Register entries ------------------------------------------------------------------------------


@login_required
def edit_entry(service_id: int):
    service = policy.intelligence_service_or_404(current_user, service_id)
    if not policy.can_manage_register(current_user, service):
        abort(403)
    entry = db.session.scalar(sa.select(RegisterEntry).where(RegisterEntry.service_id == service.id))
    candidates = db.session.scalars(policy.register_owner_candidates(current_user)).all()
    form = RegisterEntryForm(obj=entry)
    form.owner.choices = [("", "Select a person")] + [(person.id, person.name) for person in candidates]
    if request.method == "GET":
        form.owner.data = entry.owner_id if entry is not None else None
        # 0: there was no entry when the form was opened, so one made meanwhile is a concurrent edit.
        form.version.data = entry.version if entry is not None else 0
    if form.validate_on_submit():
        owner = next((person for person in candidates if person.id == form.owner.data), None)

        def change():
            operations.set_register_entry(
                service, owner=owner, review_on=form.review_on.data, note=form.note.data,
                by=current_user._get_current_object(), version=form.version.data,
            )

        if save_form(form, change):
            flash(f"The register entry for {service.name} has been saved.", "success")
            return redirect(url_for("register.register"))
    return render_template("register/entry.html", form=form, service=service, entry=entry)
