"""Raising an escalation, the list of a person's escalations, one escalation's page and its moves,
and the escalations listed on the page of the thing they are about.

Every page finds the escalation (or the thing being escalated) through the policy layer: 404 when
the person may not see it, so escalating something one cannot see is a 404 too; 403 when they see it
but their side may not make this move. Every change goes through ``portal.escalations.operations``
by ``save_form``, so a refusal of the state machine (escalating a closed escalation, resolving
without an outcome, a stale page) shows on the page with nothing typed lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from portal import policy
from portal.agencies.models import Agency
from portal.audit.operations import record
from portal.core.db import utcnow
from portal.core.forms import MAX_ID
from portal.core.pagination import paginate
from portal.core.rules import save_form
from portal.core.templating import format_date
from portal.core.workdays import LONDON
from portal.escalations import operations, presenters
from portal.escalations.forms import (
    AcknowledgeForm,
    AdultViewForm,
    EscalateForm,
    MediationNoteForm,
    RaiseForm,
    ResolveForm,
    RespondForm,
    WithdrawForm,
)
from portal.escalations.models import OPEN_STATES, Escalation, EscalationStage, EscalationSubject
from portal.extensions import db
from portal.people.models import User
from portal.policy import Capability

#: What one escalation's page shows, loaded with it.
_PAGE_LOADING = (
    joinedload(Escalation.raised_by), joinedload(Escalation.raising_agency), joinedload(Escalation.receiving_agency),
    selectinload(Escalation.stages).joinedload(EscalationStage.acknowledged_by),
    selectinload(Escalation.stages).joinedload(EscalationStage.responded_by),
    selectinload(Escalation.events), selectinload(Escalation.type_links),
)
#: What a row of a list shows, loaded with it.
_ROW_LOADING = (joinedload(Escalation.raising_agency), joinedload(Escalation.receiving_agency))


def _me() -> User:
    return current_user._get_current_object()


def _to_escalation(escalation_id: int, message: str, category: str = "success"):
    flash(message, category)
    return redirect(url_for("escalations.escalation", escalation_id=escalation_id))


def _save(form, change) -> bool:
    """``save_form``, with a late refusal of the person's side (the page checked it first) as a 403."""
    try:
        return save_form(form, change)
    except PermissionError:
        db.session.rollback()
        abort(403)


# The list --------------------------------------------------------------------------------------


@policy.require(Capability.RAISE_ESCALATIONS)
def list_escalations():
    """Open escalations the person's side must act on first, then the other open ones they may
    see, then the closed ones a page at a time: all from ``escalations_visible_to``."""
    now = utcnow()
    visible = policy.escalations_visible_to(current_user)
    open_ones = db.session.scalars(
        visible.where(Escalation.state.in_(OPEN_STATES)).options(*_ROW_LOADING)
        .order_by(Escalation.deadline_at, Escalation.id)
    ).all()
    waiting = [escalation for escalation in open_ones if presenters.waiting_for(current_user, escalation, now)]
    waiting_ids = {escalation.id for escalation in waiting}
    others = [escalation for escalation in open_ones if escalation.id not in waiting_ids]
    closed = paginate(
        visible.where(Escalation.state.not_in(OPEN_STATES)).options(*_ROW_LOADING)
        .order_by(Escalation.closed_at.desc(), Escalation.id.desc())
    )
    return render_template(
        "escalations/list.html",
        waiting=presenters.rows_for(waiting, now),
        others=presenters.rows_for(others, now),
        closed=closed,
        closed_rows=presenters.rows_for(closed.items, now),
    )


# Raising ---------------------------------------------------------------------------------------

#: The query-string name for each kind of thing that can be escalated.
_THING_ARGS = ("concern", "service", "provider", "action", "item")


@dataclass
class Thing:
    """What is being escalated, found through the policy layer, and how the page names it."""

    subject: EscalationSubject
    what: str | None = None
    concern: object | None = None
    service: object | None = None
    provider: object | None = None
    meeting_action: object | None = None
    agenda_item: object | None = None

    def details(self, **typed) -> operations.RaiseDetails:
        return operations.RaiseDetails(
            subject=self.subject, concern=self.concern, service=self.service, provider=self.provider,
            meeting_action=self.meeting_action, agenda_item=self.agenda_item, **typed,
        )


def _thing_or_404() -> Thing:
    """The thing named in the query string, if the person may see it (else 404); none named is a
    professional disagreement."""
    given = [name for name in _THING_ARGS if name in request.args]
    if not given:
        return Thing(EscalationSubject.DISAGREEMENT)
    if len(given) > 1:
        abort(404)
    name = given[0]
    ident = request.args.get(name, type=int)
    if ident is None or not 0 < ident <= MAX_ID:
        abort(404)
    if name == "concern":
        concern = policy.visible_concern_or_404(current_user, ident)
        return Thing(EscalationSubject.CONCERN, f"Concern {concern.reference}", concern=concern)
    if name == "service":
        service = policy.intelligence_service_or_404(current_user, ident)
        return Thing(EscalationSubject.SERVICE, f"{service.name}, {service.provider.name}", service=service)
    if name == "provider":
        provider = policy.intelligence_provider_or_404(current_user, ident)
        return Thing(EscalationSubject.PROVIDER, provider.name, provider=provider)
    if name == "action":
        action = policy.visible_meeting_action_or_404(current_user, ident)
        return Thing(
            EscalationSubject.MEETING_ACTION,
            f"{action.description} (from {action.meeting.title}; owned by {action.owner_agency.name}, "
            f"due {format_date(action.due_on)})",
            meeting_action=action,
        )
    return _decision_or_404(ident)


def _decision_or_404(item_id: int) -> Thing:
    """A meeting's agenda item, for a person who may read its minutes there."""
    item = policy.readable_agenda_item_or_404(current_user, item_id)
    return Thing(EscalationSubject.MEETING_DECISION, presenters.decision_text(item), agenda_item=item)


@policy.require(Capability.RAISE_ESCALATIONS)
def raise_escalation():
    thing = _thing_or_404()
    me = _me()
    candidates = db.session.scalars(policy.escalation_receiving_candidates(current_user)).all()
    initial = {}
    if request.method == "GET":
        usual = operations.default_receiving_agency(
            thing.details(receiving_agency=None, disagreement=None, wanted=None, harm_imminent=None), me.membership,
        )
        initial["receiving_agency"] = usual.id if usual is not None else None
        if thing.concern is not None:
            initial["abuse_types"] = set(thing.concern.abuse_types)
    form = RaiseForm(data=initial)
    form.receiving_agency.choices = [("", "Choose an agency")] + [(agency.id, agency.name) for agency in candidates]
    asks_key_questions = thing.subject in {EscalationSubject.SERVICE, EscalationSubject.PROVIDER}
    if form.validate_on_submit():
        chosen = form.receiving_agency.data
        details = thing.details(
            receiving_agency=db.session.get(Agency, chosen) if chosen is not None else None,
            disagreement=form.disagreement.data, wanted=form.wanted.data, harm_imminent=form.harm_imminent.data,
            abuse_types=sorted(form.abuse_types.data or (), key=lambda member: member.name),
            key_questions=sorted(form.key_questions.data or (), key=lambda member: member.name) if asks_key_questions else [],
        )
        raised: list[Escalation] = []
        if _save(form, lambda: raised.append(operations.raise_escalation(details, by=me))):
            escalation = raised[0]
            return _to_escalation(
                escalation.id,
                f"Escalation {escalation.reference} has been raised. {escalation.receiving_agency.name} has been told: "
                f"they must respond by {operations.deadline_words(escalation.deadline_at)}.",
            )
    ladder = policy.escalation_ladder(me.membership.agency.area_id)
    return render_template(
        "escalations/raise.html", form=form, thing=thing, asks_key_questions=asks_key_questions,
        first_stage=ladder.stage(1),
    )


# One escalation --------------------------------------------------------------------------------


@policy.require(Capability.RAISE_ESCALATIONS)
def escalation(escalation_id: int):
    shown = policy.visible_escalation_or_404(current_user, escalation_id, *_PAGE_LOADING)
    now = utcnow()
    sees_view = policy.sees_escalation_adult_view(current_user, shown)
    if sees_view and shown.adult_view:
        _audit_adult_view(shown)
    moves = operations.allowed_moves(current_user, shown, now)
    return render_template(
        "escalations/escalation.html",
        escalation=shown,
        subject=presenters.subject_of(current_user, shown),
        clock=presenters.clock_of(shown, now),
        ladder=presenters.ladder_of(shown, now),
        stage_name=presenters.stage_name(shown),
        state_tag=presenters.STATE_TAG[shown.state],
        abuse_types=shown.abuse_types,
        sees_view=sees_view,
        moves=moves,
        acknowledge_form=AcknowledgeForm(version=shown.version) if "acknowledge" in moves else None,
        can_record_view=policy.can_record_escalation_adult_view(current_user, shown) and not shown.state.closed,
        can_mediate=policy.can_mediate(current_user, shown) and not shown.state.closed,
        mediates_here=_board_mediates(shown),
    )


def _board_mediates(escalation: Escalation) -> bool:
    ladder = policy.escalation_ladder(escalation.area_id)
    return escalation.stage <= ladder.top and ladder.stage(escalation.stage).board_mediates


def _audit_adult_view(escalation: Escalation) -> None:
    """The adult's view is about them: each showing is kept in the audit trail."""
    record("escalation.adult_view.view", f"read the adult's view on escalation {escalation.reference}",
           target=escalation, details={"escalation_id": escalation.id})
    db.session.commit()


# Moves -----------------------------------------------------------------------------------------


def _seen_or_abort(escalation_id: int, may) -> Escalation:
    """The escalation (404 when the person may not see it), or 403 when ``may`` says their side may not."""
    shown = policy.visible_escalation_or_404(current_user, escalation_id)
    if not may(current_user, shown):
        abort(403)
    return shown


def _move_page(shown: Escalation, move: str, form_class, template: str, run, done: str, **context):
    """A move's page: its form, the state machine's refusal shown before anything is typed, and
    the move made through ``save_form`` (a refusal or a stale version stays on the page)."""
    escalation_id = shown.id
    form = form_class(version=shown.version)
    if form.validate_on_submit():
        if _save(form, lambda: run(shown, form)):
            return _to_escalation(escalation_id, done)
    elif request.method == "GET":
        problem = operations.move_refusal(move, current_user, shown)
        if problem is not None:
            form.form_errors.append(problem)
    return render_template(template, escalation=shown, form=form, stage_name=presenters.stage_name(shown), **context)


@policy.require(Capability.RAISE_ESCALATIONS)
def acknowledge(escalation_id: int):
    shown = _seen_or_abort(escalation_id, policy.can_answer_escalation)
    form = AcknowledgeForm()
    if form.validate_on_submit() and _save(
        form, lambda: operations.acknowledge(shown, by=_me(), version=form.version.data)
    ):
        return _to_escalation(escalation_id, "You have acknowledged the escalation. The agency that raised it has been told.")
    message = " ".join(form.form_errors) or "The escalation could not be acknowledged. Try again."
    return _to_escalation(escalation_id, message, category="important")


@policy.require(Capability.RAISE_ESCALATIONS)
def respond(escalation_id: int):
    return _move_page(
        _seen_or_abort(escalation_id, policy.can_answer_escalation), "respond", RespondForm, "escalations/respond.html",
        lambda shown, form: operations.respond(shown, form.response.data, by=_me(), version=form.version.data),
        "Your response has been sent to the agency that raised the escalation.",
    )


@policy.require(Capability.RAISE_ESCALATIONS)
def resolve(escalation_id: int):
    return _move_page(
        _seen_or_abort(escalation_id, policy.can_resolve_escalation), "resolve", ResolveForm, "escalations/resolve.html",
        lambda shown, form: operations.resolve(
            shown, form.outcome.data, form.learning.data, by=_me(), version=form.version.data,
        ),
        "The escalation is resolved. Both agencies have been told the outcome.",
    )


@policy.require(Capability.RAISE_ESCALATIONS)
def escalate(escalation_id: int):
    shown = _seen_or_abort(escalation_id, policy.can_escalate_further)
    ladder = policy.escalation_ladder(shown.area_id)
    following = shown.stage + 1
    next_rule = ladder.stage(following) if following <= ladder.top else None
    return _move_page(
        shown, "escalate", EscalateForm, "escalations/escalate.html",
        lambda shown, form: operations.escalate(shown, form.reason.data, by=_me(), version=form.version.data),
        f"The escalation has moved to stage {following}. The people who answer there have been told.",
        next_rule=next_rule,
        next_people=presenters.people_at(shown, following, "receiving") if next_rule is not None else [],
        chairs=presenters.board_chair_names(shown.area_id) if next_rule is not None and next_rule.board_mediates else [],
    )


@policy.require(Capability.RAISE_ESCALATIONS)
def withdraw(escalation_id: int):
    return _move_page(
        _seen_or_abort(escalation_id, policy.can_escalate_further), "withdraw", WithdrawForm, "escalations/withdraw.html",
        lambda shown, form: operations.withdraw(shown, form.reason.data, by=_me(), version=form.version.data),
        "The escalation has been withdrawn. The other agency has been told.",
    )


def _closed_refusal(escalation: Escalation) -> str | None:
    if escalation.state.closed:
        return operations.CLOSED.format(state=escalation.state.label.lower())
    return None


@policy.require(Capability.RAISE_ESCALATIONS)
def adult_view(escalation_id: int):
    shown = _seen_or_abort(escalation_id, policy.can_record_escalation_adult_view)
    form = AdultViewForm(view=shown.adult_view, given_by=shown.adult_view_by, version=shown.version)
    if form.validate_on_submit():
        if _save(form, lambda: operations.record_adult_view(
            shown, form.view.data, form.given_by.data, by=_me(), version=form.version.data,
        )):
            return _to_escalation(escalation_id, "The adult's view has been recorded.")
    elif request.method == "GET":
        if (problem := _closed_refusal(shown)) is not None:
            form.form_errors.append(problem)
        if shown.adult_view:
            _audit_adult_view(shown)
    return render_template("escalations/adult_view.html", escalation=shown, form=form,
                           stage_name=presenters.stage_name(shown))


@policy.require(Capability.RAISE_ESCALATIONS)
def mediation_note(escalation_id: int):
    shown = _seen_or_abort(escalation_id, policy.can_mediate)
    form = MediationNoteForm()
    if form.validate_on_submit():
        if _save(form, lambda: operations.add_mediation_note(shown, form.note.data, by=_me())):
            return _to_escalation(escalation_id, "Your note has been added to the timeline. Both agencies have been told.")
    elif request.method == "GET" and (problem := _closed_refusal(shown)) is not None:
        form.form_errors.append(problem)
    return render_template("escalations/mediation_note.html", escalation=shown, form=form,
                           stage_name=presenters.stage_name(shown))


# On the page of the thing escalated ------------------------------------------------------------


@dataclass(frozen=True)
class EscalationsAbout:
    rows: list
    #: Where to raise an escalation about the thing, for a person who may (else None).
    raise_href: str | None
    raise_text: str | None


def escalations_about(*, concern=None, service=None, provider=None, meeting_action=None, agenda_item=None,
                      now: datetime | None = None) -> EscalationsAbout:
    """For a concern's, a service's, a provider's, an action's or a decision's page: the
    escalations about it that the viewer may open, and a link to escalate it."""
    if not current_user.is_authenticated:
        return EscalationsAbout([], None, None)
    now = now or utcnow()
    if concern is not None:
        subject, arg, link = {"concern_id": concern.id}, {"concern": concern.id}, "Escalate this concern"
    elif service is not None:
        subject, arg, link = {"service_id": service.id}, {"service": service.id}, "Escalate the quality of this service"
    elif provider is not None:
        subject, arg, link = {"provider_id": provider.id}, {"provider": provider.id}, "Escalate the quality of this provider"
    elif meeting_action is not None:
        subject, arg, link = {"meeting_action_id": meeting_action.id}, {"action": meeting_action.id}, "Escalate this action"
        if meeting_action.state.finished or meeting_action.due_on >= now.astimezone(LONDON).date():
            link = None  # only an unfinished action past its due date can be escalated
    elif agenda_item is not None:
        subject, arg, link = {"agenda_item_id": agenda_item.id}, {"item": agenda_item.id}, "Escalate this decision"
        if agenda_item.minute is None or not (agenda_item.minute.decisions or "").strip():
            link = None  # no decision recorded yet
    else:
        raise TypeError("escalations_about needs the thing the escalations are about")
    escalations = db.session.scalars(policy.escalations_about(current_user, **subject).options(*_ROW_LOADING)).all()
    may_raise = link is not None and policy.can(current_user, Capability.RAISE_ESCALATIONS)
    return EscalationsAbout(
        rows=presenters.rows_for(escalations, now),
        raise_href=url_for("escalations.raise_escalation", **arg) if may_raise else None,
        raise_text=link if may_raise else None,
    )

