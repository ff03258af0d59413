"""Breaking glass on a concern, reviewing its uses, who has seen an adult's record, and retention."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.audit.operations import record
from portal.core.pagination import paginate
from portal.core.periods import day_from_query, london_bounds
from portal.core.rules import save_form
from portal.core.workdays import LONDON
from portal.extensions import db
from portal.people.models import User
from portal.policy import Capability
from portal.privacy import access, operations
from portal.privacy.forms import BreakGlassForm, RetentionForm, ReviewForm, field_name
from portal.privacy.models import BreakGlassGrant, RetentionCategory


def _me() -> User:
    return current_user._get_current_object()


# Break glass ----------------------------------------------------------------------------------


@login_required
def break_glass(concern_id: int):
    concern = policy.visible_concern_or_404(current_user, concern_id)
    if not policy.can(current_user, Capability.BREAK_GLASS):
        abort(403)
    disclosure = policy.adult_details_disclosure(current_user, concern)
    if disclosure.allowed:
        flash("You can already see the adult's details on this concern.", "success")
        return redirect(url_for("concerns.show_concern", concern_id=concern.id))
    form = BreakGlassForm()
    if form.validate_on_submit():
        granted = []
        if save_form(form, lambda: granted.append(operations.break_glass(concern, reason=form.reason.data, by=_me()))):
            until = granted[0].expires_at.astimezone(LONDON)
            flash(f"You can see the adult's details until {until:%H:%M}. The safeguarding leads have been told.", "success")
            return redirect(url_for("concerns.show_concern", concern_id=concern.id, _anchor="adult"))
    return render_template("privacy/break_glass.html", form=form, concern=concern, disclosure=disclosure,
                           minutes=current_app.config["BREAK_GLASS_MINUTES"])


@policy.require(Capability.BREAK_GLASS)
def break_glass_uses():
    query = (
        policy.break_glass_grants_visible_to(current_user)
        .options(sa.orm.joinedload(BreakGlassGrant.concern), sa.orm.joinedload(BreakGlassGrant.user),
                 sa.orm.joinedload(BreakGlassGrant.agency), sa.orm.joinedload(BreakGlassGrant.reviewed_by))
        # Those still waiting for review first, then newest first.
        .order_by(BreakGlassGrant.reviewed_at.is_not(None), BreakGlassGrant.granted_at.desc(), BreakGlassGrant.id.desc())
    )
    return render_template("privacy/break_glass_uses.html", page=paginate(query),
                           can_review=policy.can_review_break_glass(current_user))


@login_required
def review_break_glass(grant_id: int):
    grant = policy.reviewable_grant_or_404(current_user, grant_id)
    if grant.reviewed_at is not None:
        flash("This use of break glass has already been reviewed.", "success")
        return redirect(url_for("privacy.break_glass_uses", _anchor=f"grant-{grant.id}"))
    form = ReviewForm()
    if form.validate_on_submit():
        if save_form(form, lambda: operations.review_break_glass(grant, note=form.note.data, by=_me())):
            flash(f"The use of break glass on {grant.concern.reference} is marked as reviewed.", "success")
            return redirect(url_for("privacy.break_glass_uses", _anchor=f"grant-{grant.id}"))
    return render_template("privacy/review.html", form=form, grant=grant)


# Who has seen an adult's record ---------------------------------------------------------------


def _person() -> int | None:
    value = request.args.get("person", "")
    return int(value) if value.isdigit() and int(value) < 2**31 else None


@login_required
def adult_access(adult_id: int):
    adult = policy.adult_for_access_review_or_404(current_user, adult_id)
    since, until, person_id = day_from_query("from"), day_from_query("to"), _person()
    start, end = london_bounds(since, until)
    query = access.adult_access_query(adult, person_id=person_id, since=start, until=end)
    page = paginate(query, per_page=50)
    lines = access.describe(page.items)
    concerns = access.concerns_of(adult)
    record("privacy.adult_access_review", "read who has seen or changed an adult's details", target=adult,
           details={"person": person_id, "from": since, "to": until, "page": page.page})
    db.session.commit()
    return render_template(
        "privacy/adult_access.html", adult=adult, page=page, lines=lines, people=access.people_in_trail(adult),
        person_id=person_id, since=since, until=until, concerns=concerns,
    )


# Retention ------------------------------------------------------------------------------------


@policy.require(Capability.CONFIGURE_RETENTION)
def retention():
    area = current_user.membership.agency.area
    current = operations.retention_for(area.id)
    form = RetentionForm(data={field_name(c): r.months for c, r in current.items()})
    if form.validate_on_submit():
        changed = []
        if save_form(form, lambda: changed.extend(operations.set_retention(area, form.months(), by=_me()))):
            flash(f"Retention periods saved: {len(changed)} changed." if changed else "Nothing changed.", "success")
            return redirect(url_for("privacy.retention"))
    return render_template(
        "privacy/retention.html", form=form, area=area, current=current, categories=list(RetentionCategory),
        field_name=field_name, history=operations.retention_history(area.id),
    )
