"""The partnership's escalation ladder: its administrators set the stages, who answers at each,
the working days to respond, the grace periods and the reminder.

Only administrators (``CONFIGURE_LADDER``), for the partnership of the agency they act for. The
rules a ladder must keep are the operation's (:func:`~portal.escalations.ladder_operations.save_ladder`):
its messages go on the form, with everything typed kept.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.core.rules import save_form
from portal.escalations.ladder import ladder_for
from portal.escalations.ladder_forms import form_data, ladder_form
from portal.escalations.ladder_operations import details_from_ladder, save_ladder
from portal.escalations.models import LadderSettings
from portal.extensions import db
from portal.people.models import User

SAVED = ("The escalation ladder has been saved. Stages that start from now on use it; escalations already at a "
         "stage keep the deadline worked out when that stage started.")


@login_required
def ladder():
    if not policy.can_configure_ladder(current_user):
        abort(403)
    area = current_user.membership.agency.area
    settings = db.session.scalar(sa.select(LadderSettings).where(LadderSettings.area_id == area.id))
    current = ladder_for(area.id)
    form_class = ladder_form(current.top)
    if request.method == "POST":
        form = form_class()
        if form.validate_on_submit() and save_form(
            form, lambda: save_ladder(form.details(), by=current_user._get_current_object(), version=form.version.data)
        ):
            flash(SAVED, "success")
            return redirect(url_for("escalations.ladder"))
    else:
        form = form_class(data=form_data(details_from_ladder(current), settings.version if settings else None))
    changed_by = db.session.get(User, settings.updated_by_id) if settings and settings.updated_by_id else None
    return render_template(
        "escalations/ladder.html", form=form, area=area, settings=settings, changed_by=changed_by,
        stages=[form.stage_fields(number) for number in range(1, current.top + 1)],
    )
