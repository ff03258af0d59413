"""Case work on one concern: the page everyone who may see it opens, and the actions on it.

Each action page finds the concern through the policy layer (404 when the person may not see it,
403 when they may see it but not do this), then hands the change to an operation through
``save_form``, so a refusal shows on the form with nothing typed lost.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.concerns import operations
from portal.concerns.forms import (
    AdultForm,
    AdvocateForm,
    AssignForm,
    CloseForm,
    CommentForm,
    ConfirmForm,
    ConsentForm,
    LinkAdultForm,
    MspForm,
    OutcomeForm,
    OverrideForm,
    ReopenForm,
    TriageForm,
)
from portal.concerns.models import Concern, ConsentOverride
from portal.concerns.operations import AdultDetails, ConcernError
from portal.concerns.presenters import present_concern
from portal.core.concurrency import check_version
from portal.core.pagination import paginate
from portal.core.rules import WHOLE_RECORD, save_form
from portal.extensions import db
from portal.people.models import User
from portal.policy import Capability

#: The adult's fields, as the form, ``AdultDetails`` and the ``Adult`` model all name them.
ADULT_FIELDS = tuple(AdultDetails.__dataclass_fields__)


def _me() -> User:
    """The signed-in person as a model instance, for operations to store."""
    return current_user._get_current_object()


def _workable_concern_or_abort(concern_id: int) -> Concern:
    concern = policy.visible_concern_or_404(current_user, concern_id)
    if not policy.can_work_on_concern(current_user, concern):
        abort(403)
    return concern


def _back_to_concern(concern: Concern, message: str, anchor: str | None = None):
    flash(message, "success")
    return redirect(url_for("concerns.show_concern", concern_id=concern.id, _anchor=anchor))


def _lead_choices(concern: Concern, blank: str) -> list[tuple]:
    leads = db.session.scalars(policy.area_leads(concern.area_id).order_by(User.name, User.id)).all()
    return [("", blank)] + [(lead.id, lead.name) for lead in leads]


def _chosen_lead(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id else None


# The concern and its comments -----------------------------------------------------------------


def _comment_form() -> CommentForm:
    form = CommentForm()
    if not policy.sees_local_authority_only_comments(current_user):
        del form.local_authority_only
    return form


def _render_concern(concern: Concern, comment_form: CommentForm):
    view = present_concern(current_user, concern)
    db.session.commit()  # the audit event of a showing of personal details
    return render_template(
        "concerns/show.html",
        concern=concern,
        view=view,
        allowed_moves=operations.allowed_moves(concern.status),
        comment_form=comment_form,
        form=comment_form,
    )


@login_required
def show_concern(concern_id: int):
    concern = policy.visible_concern_or_404(current_user, concern_id)
    return _render_concern(concern, _comment_form())


@login_required
def add_comment(concern_id: int):
    concern = policy.visible_concern_or_404(current_user, concern_id)
    form = _comment_form()
    if form.validate_on_submit():
        local_authority_only = bool(form.local_authority_only and form.local_authority_only.data)

        def change():
            operations.add_comment(concern, body=form.body.data, local_authority_only=local_authority_only, by=_me())

        if save_form(form, change):
            return _back_to_concern(concern, "Comment added.", anchor="comments")
    return _render_concern(concern, form)


# Triage and assignment ------------------------------------------------------------------------


@login_required
def triage(concern_id: int):
    concern = _workable_concern_or_abort(concern_id)
    form = TriageForm()
    form.assign_to.choices = _lead_choices(concern, "Do not assign yet")
    if form.validate_on_submit():
        assign_to = _chosen_lead(form.assign_to.data)

        def change():
            operations.triage_concern(concern, decision=form.decision.data, reason=form.reason.data, by=_me(), assign_to=assign_to)

        if save_form(form, change):
            return _back_to_concern(concern, f"Triage decision recorded: {form.decision.data.label}.")
    return render_template("concerns/triage.html", form=form, concern=concern)


@login_required
def assign(concern_id: int):
    concern = _workable_concern_or_abort(concern_id)
    form = AssignForm(lead=concern.assigned_to_id)
    form.lead.choices = _lead_choices(concern, "Select a safeguarding lead")
    if form.validate_on_submit():
        lead = _chosen_lead(form.lead.data)
        if save_form(form, lambda: operations.assign_concern(concern, lead=lead, by=_me())):
            return _back_to_concern(concern, f"{concern.reference} is assigned to {lead.name}.")
    return render_template("concerns/assign.html", form=form, concern=concern)


@login_required
def start(concern_id: int):
    concern = _workable_concern_or_abort(concern_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        if save_form(form, lambda: operations.start_work(concern, by=_me())):
            return _back_to_concern(concern, "Work on this concern has started.")
    return render_template("concerns/start.html", form=form, concern=concern)


# The Making Safeguarding Personal conversation -------------------------------------------------


@login_required
def msp(concern_id: int):
    concern = _workable_concern_or_abort(concern_id)
    form = MspForm(obj=concern)
    if form.validate_on_submit():

        def change():
            check_version(concern, form.version.data)
            operations.record_msp(concern, by=_me(), **{name: getattr(form, name).data for name in operations.MSP_FIELDS})

        if save_form(form, change):
            return _back_to_concern(concern, "The Making Safeguarding Personal record has been saved.")
    return render_template("concerns/msp.html", form=form, concern=concern)


@login_required
def new_outcome(concern_id: int):
    concern = _workable_concern_or_abort(concern_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        if save_form(form, lambda: operations.add_desired_outcome(concern, words=form.words.data, by=_me())):
            return _back_to_concern(concern, "Desired outcome added.")
    return render_template("concerns/outcome.html", form=form, concern=concern)


@login_required
def advocate(concern_id: int):
    concern = _workable_concern_or_abort(concern_id)
    form = AdvocateForm(obj=concern)
    if form.validate_on_submit():

        def change():
            operations.record_advocate(
                concern, name=form.advocate_name.data, organisation=form.advocate_organisation.data,
                arranged_on=form.advocate_arranged_on.data, by=_me(),
            )

        if save_form(form, change):
            return _back_to_concern(concern, "The independent advocate has been recorded.")
    return render_template("concerns/advocate.html", form=form, concern=concern)


# The adult ------------------------------------------------------------------------------------


def _render_adult(concern: Concern, form, details_form: AdultForm):
    """The adult's page; ``form`` is the form whose errors the summary shows.

    The page shows the adult's personal details, and those of possible matches: each is a view
    the audit trail records, as on the concern page.
    """
    if concern.adult is not None:
        present_concern(current_user, concern)
    matches = operations.possible_matches(concern, policy.concerns_visible_to(current_user))
    shown = {other.id: present_concern(current_user, other).adult for other, _ in matches}
    return render_template(
        "concerns/adult.html",
        concern=concern,
        form=form,
        details_form=details_form,
        matches=matches,
        shown=shown,
        linked=operations.other_concerns_about(concern),
    )


@login_required
def adult(concern_id: int):
    concern = _workable_concern_or_abort(concern_id)
    form = AdultForm(obj=concern.adult)
    if form.validate_on_submit():
        details = AdultDetails(**{name: getattr(form, name).data or None for name in ADULT_FIELDS})

        def change():
            if concern.adult is not None:
                check_version(concern.adult, form.version.data)
            operations.update_adult(concern, details, by=_me())

        if save_form(form, change):
            return _back_to_concern(concern, "The adult's details have been saved.")
    return _render_adult(concern, form, form)


@login_required
def link_adult(concern_id: int):
    concern = _workable_concern_or_abort(concern_id)
    form = LinkAdultForm()
    if form.validate_on_submit():
        candidates = {str(other.adult_id): other.adult for other, _ in operations.possible_matches(concern, policy.concerns_visible_to(current_user))}

        def change():
            chosen = candidates.get(form.adult_id.data or "")
            if chosen is None:
                raise ConcernError(WHOLE_RECORD, "Choose one of the possible matches listed below")
            operations.link_adult(concern, chosen, by=_me())

        if save_form(form, change):
            return _back_to_concern(concern, "This concern is now linked to the same adult as the earlier concerns.")
    return _render_adult(concern, form, AdultForm(formdata=None, obj=concern.adult))


# Consent to share -----------------------------------------------------------------------------


@login_required
def consent(concern_id: int):
    concern = _workable_concern_or_abort(concern_id)
    form = ConsentForm(obj=concern)
    if form.validate_on_submit():
        if save_form(form, lambda: operations.record_consent(concern, consent=form.consent.data, by=_me())):
            return _back_to_concern(concern, f"Consent to share recorded: {form.consent.data.label}.")
    return render_template("concerns/consent.html", form=form, concern=concern)


@login_required
def override(concern_id: int):
    concern = policy.visible_concern_or_404(current_user, concern_id)
    if not policy.can_override_consent(current_user, concern):
        abort(403)
    form = OverrideForm()
    if form.validate_on_submit():

        def change():
            operations.override_consent(
                concern, reason=form.reason.data, explanation=form.explanation.data, adult_told=form.adult_told.data,
                not_told_reason=form.not_told_reason.data, by=_me(),
            )

        if save_form(form, change):
            return _back_to_concern(concern, "The refusal of consent has been overridden. The decision is listed for audit.")
    return render_template("concerns/override.html", form=form, concern=concern)


@policy.require(Capability.WORK_ON_CONCERNS)
def list_overrides():
    query = (
        policy.overrides_visible_to(current_user)
        .options(sa.orm.joinedload(ConsentOverride.concern), sa.orm.joinedload(ConsentOverride.decided_by))
        .order_by(ConsentOverride.decided_at.desc(), ConsentOverride.id.desc())
    )
    return render_template("concerns/overrides.html", page=paginate(query))


# Closing and reopening ------------------------------------------------------------------------


@login_required
def close(concern_id: int):
    concern = _workable_concern_or_abort(concern_id)
    form = CloseForm()
    if not concern.outcomes_expressed:
        del form.outcomes_achieved
    if form.validate_on_submit():

        def change():
            operations.close_concern(
                concern,
                action_result=form.action_result.data,
                risk_outcome=form.risk_outcome.data,
                outcomes_achieved=form.outcomes_achieved.data if form.outcomes_achieved else None,
                adult_feedback=form.adult_feedback.data or None,
                by=_me(),
            )

        if save_form(form, change):
            return _back_to_concern(concern, f"{concern.reference} is closed.")
    return render_template("concerns/close.html", form=form, concern=concern)


@login_required
def reopen(concern_id: int):
    concern = _workable_concern_or_abort(concern_id)
    form = ReopenForm()
    if form.validate_on_submit():
        if save_form(form, lambda: operations.reopen_concern(concern, reason=form.reason.data or "", by=_me())):
            return _back_to_concern(concern, f"{concern.reference} has been reopened.")
    return render_template("concerns/reopen.html", form=form, concern=concern)
