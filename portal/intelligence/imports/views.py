"""Import pages: a person's imports, uploading a file, its check (row errors or a preview), the
confirmation that applies it, and the CSV templates for contract-monitoring results and items.

Files with more rows than ``IMPORT_BACKGROUND_ROWS`` are checked and applied by Celery tasks;
the import's page then shows their progress, polled by ``static/imports.js``.
"""

from __future__ import annotations

import csv
import io

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.core.codes import DataCategory, KeyQuestion
from portal.core.pagination import paginate
from portal.extensions import db
from portal.intelligence.imports import operations
from portal.intelligence.imports.forms import CancelForm, ConfirmForm, UploadForm
from portal.intelligence.imports.operations import KIND_SLUGS, SLUG_OF
from portal.intelligence.imports.parsing import FileProblem
from portal.intelligence.models import ImportBatch, ImportKind, ImportStatus, QualityScore, Severity, SourceType
from portal.intelligence.operations import ensure_default_standards
from portal.people.models import User
from portal.policy import Capability
from workers.tasks.imports import apply_import, check_import

RUNNING = {ImportStatus.CHECKING, ImportStatus.APPLYING}


def _me() -> User:
    return current_user._get_current_object()


def _in_background(batch: ImportBatch) -> bool:
    return batch.rows_total > current_app.config["IMPORT_BACKGROUND_ROWS"]


def _importable_kind_or_abort(slug: str) -> ImportKind:
    kind = KIND_SLUGS.get(slug)
    if kind is None:
        abort(404)
    if not policy.can_import(current_user, kind):
        abort(403)
    return kind


@policy.require(Capability.IMPORT_INTELLIGENCE)
def list_imports():
    query = policy.imports_visible_to(current_user).order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
    kinds = [(slug, kind) for slug, kind in KIND_SLUGS.items() if policy.can_import(current_user, kind)]
    return render_template("imports/list.html", page=paginate(query), kinds=kinds, slug_of=SLUG_OF)


def _render_upload(form: UploadForm, kind: ImportKind, status: int = 200):
    guide = {}
    if kind is ImportKind.MONITORING_VISITS:
        guide["standards"] = ensure_default_standards(current_user.membership.agency.area_id)
        db.session.commit()  # the area's default standards, if it had none yet
    elif kind is ImportKind.ITEMS:
        guide.update(
            sources=[source for source in SourceType if not source.recorded_elsewhere],
            severities=list(Severity), questions=list(KeyQuestion), categories=list(DataCategory),
        )
    guide["scores"] = list(QualityScore)
    return render_template(
        "imports/new.html", form=form, kind=kind, slug=SLUG_OF[kind], guide=guide,
        max_megabytes=current_app.config["IMPORT_MAX_MEGABYTES"],
    ), status


@login_required
def new_import(kind: str):
    kind = _importable_kind_or_abort(kind)
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            batch, table = operations.start_import(kind, filename=upload.filename, content=upload.read(), by=_me())
        except FileProblem as problem:
            db.session.rollback()
            form.file.errors.append(str(problem))
        else:
            db.session.commit()
            if _in_background(batch):
                check_import.delay(batch.id)
            else:
                operations.check_batch(batch, table)
                db.session.commit()
            return redirect(url_for("imports.show_import", import_id=batch.id))
    return _render_upload(form, kind)


def file_too_large(error):
    """A file over the size limit: the upload page again with a message, not a broken connection."""
    kind = KIND_SLUGS.get((request.view_args or {}).get("kind"))
    limit = current_app.config["IMPORT_MAX_MEGABYTES"]
    message = f"The selected file must be smaller than {limit} MB"
    if kind is None or not policy.can_import(current_user, kind):
        return render_template("errors/error.html", code=413, title="The file is too large", message=message), 413
    form = UploadForm(formdata=None)
    form.file.errors = [message]
    return _render_upload(form, kind, status=413)


@login_required
def download_template(kind: str):
    kind = KIND_SLUGS.get(kind)
    if kind is None or kind is ImportKind.REGULATOR_RATINGS:
        abort(404)  # the regulator publishes its own file
    kind = _importable_kind_or_abort(SLUG_OF[kind])
    columns = operations.template_columns(kind, _me())
    db.session.commit()  # the area's default standards, if it had none yet
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(columns)
    return Response(
        out.getvalue(), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{SLUG_OF[kind]}-template.csv"'},
    )


def progress_of(batch: ImportBatch) -> dict:
    """How far a batch has got, for its page and for the page's polling."""
    total = max(batch.rows_total, 0)
    done = min(max(batch.rows_done, 0), total)
    percent = int(done * 100 / total) if total else 0
    verb = "Checked" if batch.status is ImportStatus.CHECKING else "Imported"
    return {
        "status": batch.status.name, "label": batch.status.label, "rows_done": done, "rows_total": total,
        "percent": percent, "finished": batch.status not in RUNNING,
        "message": f"{batch.status.label}: {verb.lower()} {done:,} of {total:,} rows ({percent}%)",
    }


@login_required
def show_import(import_id: int):
    batch = policy.visible_import_or_404(current_user, import_id)
    return render_template(
        "imports/show.html", batch=batch, progress=progress_of(batch), slug=SLUG_OF[batch.kind],
        confirm_form=ConfirmForm(), cancel_form=CancelForm(), may_confirm=policy.can_import(current_user, batch.kind),
    )


@login_required
def import_progress(import_id: int):
    batch = policy.visible_import_or_404(current_user, import_id)
    response = jsonify(progress_of(batch))
    response.headers["Cache-Control"] = "no-store"
    return response


@login_required
def confirm_import(import_id: int):
    batch = policy.visible_import_or_404(current_user, import_id)
    if not policy.can_import(current_user, batch.kind):
        abort(403)
    back = redirect(url_for("imports.show_import", import_id=batch.id))
    if not ConfirmForm().validate_on_submit() or batch.status is not ImportStatus.READY:
        flash(f"This import cannot be confirmed now: its status is “{batch.status.label}”.", "important")
        return back
    if _in_background(batch):
        apply_import.delay(batch.id)
        flash("The import has started. This page shows how far it has got.", "important")
        return back
    batch = operations.apply_batch(batch.id)
    if batch is not None and batch.status is ImportStatus.APPLIED:
        flash("The file has been imported.", "success")
    return back


@login_required
def cancel_import(import_id: int):
    batch = policy.visible_import_or_404(current_user, import_id)
    if CancelForm().validate_on_submit() and operations.cancel_import(batch):
        flash(f"The import of {batch.filename} was cancelled. Nothing was imported.", "success")
        return redirect(url_for("imports.list_imports"))
    flash("This import can no longer be cancelled.", "important")
    return redirect(url_for("imports.show_import", import_id=batch.id))
