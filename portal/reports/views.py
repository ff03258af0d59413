"""The MSP and outcome report: the period form and the tables, and the same figures as one CSV.

Who may see it is the policy's ``can_view_msp_report``; whose figures, ``report_area_id`` (the area
of the agency the person acts for). The report holds counts only, so showing it shows no one's
personal details; each showing and each download is still audited, with its period and rules.
"""

from __future__ import annotations

import csv
import io

from flask import Response, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.audit.operations import record
from portal.core.workdays import london_today
from portal.extensions import db
from portal.intelligence.register.views import safe_cell
from portal.reports.forms import PeriodForm
from portal.reports.msp import COUNTING_RULES, MspReport, build_report, financial_year_start

#: The CSV's columns: the period and rules on every line, so each line stands on its own (a tidy table).
CSV_HEADER = ["Area", "Period start", "Period end", "Publication rules applied", "Table code", "Table", "Row",
              "Column", "Value"]


def _area_id_or_403() -> int:
    if not policy.can_view_msp_report(current_user):
        abort(403)
    return policy.report_area_id(current_user)


def _period_form() -> PeriodForm:
    today = london_today()
    return PeriodForm.from_query(request.args, default_start=financial_year_start(today), default_end=today)


def _audit(report: MspReport, area_id: int, shown_as: str) -> None:
    period = report.period
    rules = "with" if report.publication_rules else "without"
    record(
        "report.msp",
        f"produced the MSP and outcome figures ({shown_as}) for {period.start.isoformat()} to {period.end.isoformat()}, "
        f"{rules} the publication rules",
        details={"area_id": area_id, "start": period.start.isoformat(), "end": period.end.isoformat(),
                 "publication_rules": report.publication_rules, "format": shown_as},
    )
    db.session.commit()


@login_required
def msp_report():
    area_id = _area_id_or_403()
    form = _period_form()
    report = None
    if form.validate():
        report = build_report(area_id, form.period(), publication_rules=bool(form.publication_rules.data))
        _audit(report, area_id, "page")
    return render_template(
        "reports/msp.html", form=form, report=report, rules=COUNTING_RULES,
        csv_url=url_for("reports.msp_report_csv", **form.query()) if report else None,
    )


@login_required
def msp_report_csv():
    area_id = _area_id_or_403()
    form = _period_form()
    if not form.validate():
        # The page says what is wrong with the period, with what was typed kept.
        return redirect(url_for("reports.msp_report", **request.args.to_dict(flat=False)))
    report = build_report(area_id, form.period(), publication_rules=bool(form.publication_rules.data))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    leading = [report.area_name, report.period.start.isoformat(), report.period.end.isoformat(),
               "Yes" if report.publication_rules else "No"]
    for table, row, column, value in report.cells():
        writer.writerow([safe_cell(cell) for cell in [*leading, table.code, table.title, row, column, value]])
    _audit(report, area_id, "CSV")
    suffix = "-published" if report.publication_rules else ""
    filename = f"msp-outcomes-{report.period.start.isoformat()}-to-{report.period.end.isoformat()}{suffix}.csv"
    return Response(
        # A byte-order mark, so that spreadsheet programs read the file as UTF-8.
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
