"""The Board's oversight page ("which escalations are stuck, where, and for how long?") and the
annual report's escalation figures as CSV.

Both read only what :func:`portal.policy.escalations_visible_to` gives the viewer (for the Board:
every escalation in their area) and hand the figures to :mod:`portal.escalations.oversight`. The
page depends on the clock (deadlines pass by the hour), so it is never kept in the page cache.
"""

from __future__ import annotations

import csv
import io

from flask import Response, redirect, render_template, request, url_for
from flask_login import current_user

from portal import policy
from portal.audit.operations import record
from portal.core.db import utcnow
from portal.escalations import oversight as board
from portal.escalations.oversight_forms import PeriodForm
from portal.extensions import db
from portal.intelligence.register.views import safe_cell
from portal.policy import Capability


def _figures(form: PeriodForm, now):
    """Read the escalations the page needs (open now, or touching the quarter or the period) and
    work out its figures."""
    area_id = current_user.membership.agency.area_id
    period = form.chosen() if form.validate() else None
    quarter = board.financial_quarter(board.london_date(now))
    earliest = min(quarter.starts_at, period.starts_at) if period else quarter.starts_at
    latest = max(now, period.ends_at) if period else now
    escalations = board.load(policy.escalations_visible_to(current_user), earliest=earliest, latest=latest)
    return board.compute(escalations, ladder=policy.escalation_ladder(area_id), now=now, period=period)


@policy.require(Capability.OVERSEE_ESCALATIONS)
def oversight():
    now = utcnow()
    form = PeriodForm(request.args, today=board.london_date(now))
    figures = _figures(form, now)
    return render_template(
        "escalations/oversight.html", form=form, oversight=figures, charts=board.charts(figures),
        area=current_user.membership.agency.area, csv_args=form.query_args() if figures.figures else None,
        median_text=board.median_text,
    )


@policy.require(Capability.OVERSEE_ESCALATIONS)
def oversight_csv():
    now = utcnow()
    form = PeriodForm(request.args, today=board.london_date(now))
    if not form.validate():
        # The page says what is wrong with the period, and keeps what was typed.
        return redirect(url_for("escalations.oversight", **request.args.to_dict(flat=False)))
    figures = _figures(form, now).figures
    rows = board.csv_rows(figures)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(board.CSV_HEADER)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    period = figures.period
    record(
        "escalation.oversight.export", f"exported the escalation figures for {period.label}",
        details={"first_day": period.first, "last_day": period.last, "rows": len(rows)},
    )
    db.session.commit()
    filename = f"escalation-figures-{period.first.isoformat()}-to-{period.last.isoformat()}.csv"
    return Response(
        # A byte-order mark, so that spreadsheet programs read the file as UTF-8.
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
