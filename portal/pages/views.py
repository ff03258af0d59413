"""The start page, each role's home page, and the statements every public service publishes."""

from __future__ import annotations

import sqlalchemy as sa
from flask import redirect, render_template, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.agencies.models import Agency
from portal.agreements.models import AgreementStatus
from portal.agreements.sharing import london_today
from portal.extensions import db
from portal.policy import Capability


def start():
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    return render_template("pages/start.html")


@login_required
def home():
    today = london_today()
    agreements = db.session.scalars(policy.agreements_visible_to(current_user)).all()
    by_status = {status: [a for a in agreements if a.status_on(today) is status] for status in AgreementStatus}
    figures = {}
    if policy.can(current_user, Capability.MANAGE_AGENCIES):
        figures["agencies"] = db.session.scalar(
            sa.select(sa.func.count()).select_from(policy.agencies_manageable_by(current_user).where(Agency.active).subquery())
        )
        figures["people"] = db.session.scalar(
            sa.select(sa.func.count()).select_from(policy.people_manageable_by(current_user).subquery())
        )
    return render_template(
        "pages/home.html",
        agreements_by_status=by_status,
        review_due=by_status[AgreementStatus.REVIEW_DUE],
        figures=figures,
        Capability=Capability,
        can=lambda capability: policy.can(current_user, capability),
    )


def accessibility():
    return render_template("pages/accessibility.html")


def privacy():
    return render_template("pages/privacy.html")
