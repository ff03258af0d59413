"""Minutes, attendance and actions: the minutes page, the chair's approval, amendments, new actions,
a person's own actions and one action with its updates.

Each page finds the meeting or action through the policy layer (404 when the person may not see
it, 403 when they may see it but not do this) and shows only the agenda items they may see; every
change goes through ``portal.meetings.minutes`` by ``save_form``, so a refusal shows on the form
with nothing typed lost.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.audit.operations import record
from portal.core.db import utcnow
from portal.core.rules import save_form
from portal.core.workdays import london_today
from portal.extensions import db
from portal.meetings import minutes as operations
from portal.meetings.minutes_forms import (
    ActionForm,
    ActionUpdateForm,
    AmendForm,
    ApproveForm,
    attendance_name,
    decisions_name,
    discussion_name,
    minutes_form_class,
    version_name,
)
from portal.meetings.models import Attendee, Meeting, MeetingAction
from portal.meetings.queries import WITH_PEOPLE_AND_MINUTES
from portal.people.models import User
from portal.policy import Capability

#: An agenda item with this title (in any case) is where actions from earlier meetings are listed.
CARRIED_ITEM_TITLE = "actions from previous meeting"


def _me() -> User:
    return current_user._get_current_object()


def _to_minutes(meeting: Meeting, message: str, anchor: str | None = None, category: str = "success"):
    flash(message, category)
    return redirect(url_for("meetings.minutes", meeting_id=meeting.id, _anchor=anchor))


def _audit_reading(meeting: Meeting, what: str, target=None) -> None:
    """Minutes and actions of a meeting about an adult hold personal data: each reading is kept."""
    if meeting.kind.about_an_adult and request.method == "GET":
        record(f"meeting.{what}.view", f"read the {what} of a meeting about an adult", target=target or meeting,
               details={"meeting_id": meeting.id})
        db.session.commit()


def _attendee_label(attendee: Attendee, names_guests: bool) -> str:
    if attendee.user is not None:
        agency = attendee.membership.agency.name if attendee.membership is not None else None
        return f"{attendee.user.name} ({agency})" if agency else attendee.user.name
    relationship = attendee.guest_relationship.label if attendee.guest_relationship is not None else "A guest"
    return f"{attendee.guest_name} ({relationship.lower()})" if names_guests else relationship


def _meeting_actions(meeting: Meeting) -> list[MeetingAction]:
    return list(db.session.scalars(
        policy.meeting_actions_visible_to(current_user).where(MeetingAction.meeting_id == meeting.id)
        .order_by(MeetingAction.due_on, MeetingAction.id)
    ))


def _openable(actions) -> set[int]:
    """The actions among these the person may open (the link to each)."""
    ids = [action.id for action in actions]
    if not ids:
        return set()
    return set(db.session.scalars(
        policy.meeting_actions_visible_to(current_user).with_only_columns(MeetingAction.id).where(MeetingAction.id.in_(ids))
    ))


# The minutes page ----------------------------------------------------------------------------------


def _initial(attendees, items) -> dict:
    data = {attendance_name(attendee.id): attendee.attendance for attendee in attendees}
    for item in items:
        entry = item.minute
        data[discussion_name(item.id)] = entry.discussion if entry else None
        data[decisions_name(item.id)] = entry.decisions if entry else None
        data[version_name(item.id)] = entry.version if entry else 0
    return data


@login_required
def minutes(meeting_id: int):
    meeting = policy.visible_meeting_or_404(current_user, meeting_id, *WITH_PEOPLE_AND_MINUTES)
    can_record = policy.can_record_minutes(current_user, meeting)
    if request.method == "POST" and not can_record:
        abort(403)
    items = policy.agenda_items_visible_to(current_user, meeting)
    attendees = [attendee for attendee in meeting.attendees if attendee.removed_at is None]
    names_guests = policy.meeting_guest_names_visible(current_user, meeting)
    labels = {attendee.id: _attendee_label(attendee, names_guests) for attendee in attendees}
    started = meeting.starts_at <= utcnow()
    # After approval the page is read-only; a save posted from a page opened before it is refused
    # on the form, with what was typed still there to copy into an amendment.
    editing = can_record and (not meeting.minutes_locked or request.method == "POST")
    form = None
    if editing:
        form_class = minutes_form_class([(a.id, labels[a.id]) for a in attendees] if started else [], items)
        form = form_class(data=_initial(attendees, items))
        if form.validate_on_submit():
            me = _me()

            def change():
                if started:
                    operations.record_attendance(
                        meeting, {a.id: form[attendance_name(a.id)].data for a in attendees}, by=me
                    )
                for item in items:
                    operations.save_minute(
                        item, discussion=form[discussion_name(item.id)].data, decisions=form[decisions_name(item.id)].data,
                        by=me, version=form[version_name(item.id)].data,
                    )

            if save_form(form, change):
                return _to_minutes(meeting, "The minutes have been saved.")

    actions = _meeting_actions(meeting)
    item_ids = {item.id for item in items}
    by_item: dict[int | None, list[MeetingAction]] = {}
    for action in actions:
        by_item.setdefault(action.agenda_item_id if action.agenda_item_id in item_ids else None, []).append(action)
    carried = policy.carried_actions_visible_to(current_user, operations.actions_carried_into(meeting))
    carried_item = next((item for item in items if item.title.strip().lower().startswith(CARRIED_ITEM_TITLE)), None)
    reads = policy.can_read_minutes(current_user, meeting)
    if reads:
        _audit_reading(meeting, "minutes")
    return render_template(
        "meetings/minutes.html",
        meeting=meeting,
        items=items,
        form=form,
        editing=editing,
        reads=reads,
        can_record=can_record,
        started=started,
        attendees=attendees,
        labels=labels,
        by_item=by_item,
        carried=carried,
        carried_item=carried_item,
        openable=_openable([*actions, *carried]),
        can_approve=policy.can_approve_minutes(current_user, meeting),
        approve_form=ApproveForm(),
        today=london_today(),
    )


@login_required
def approve_minutes(meeting_id: int):
    meeting = policy.visible_meeting_or_404(current_user, meeting_id)
    if not policy.can_approve_minutes(current_user, meeting):
        abort(403)
    form = ApproveForm()
    if form.validate_on_submit() and save_form(form, lambda: operations.approve_minutes(meeting, by=_me())):
        return _to_minutes(meeting, "The minutes are approved. Corrections from now on are added as amendments.")
    message = " ".join(form.form_errors) or "The minutes could not be approved. Try again."
    return _to_minutes(meeting, message, category="important")


def _visible_item_or_404(meeting: Meeting, item_id: int):
    item = next((item for item in policy.agenda_items_visible_to(current_user, meeting) if item.id == item_id), None)
    if item is None:
        abort(404)
    return item


@login_required
def amend_minutes(meeting_id: int, item_id: int):
    meeting = policy.visible_meeting_or_404(current_user, meeting_id)
    item = _visible_item_or_404(meeting, item_id)
    if not policy.can_record_minutes(current_user, meeting):
        abort(403)
    if not meeting.minutes_locked:
        return _to_minutes(meeting, "The minutes have not been approved yet: change them on this page.",
                           anchor=f"item-{item.id}", category="important")
    form = AmendForm()
    if form.validate_on_submit() and save_form(
        form, lambda: operations.amend_minutes(item, text=form.text.data, reason=form.reason.data, by=_me())
    ):
        return _to_minutes(meeting, "The amendment has been added below the approved minutes.", anchor=f"item-{item.id}")
    _audit_reading(meeting, "minutes")
    return render_template("meetings/minutes_amend.html", meeting=meeting, item=item, form=form)


# Actions -------------------------------------------------------------------------------------------


@login_required
def new_action(meeting_id: int):
    meeting = policy.visible_meeting_or_404(current_user, meeting_id)
    if not policy.can_record_minutes(current_user, meeting):
        abort(403)
    owners = operations.action_owner_choices(meeting, _me())
    items = policy.agenda_items_visible_to(current_user, meeting)
    form = ActionForm()
    form.owner.choices = [("", "Choose the owner")] + [
        (membership.id, f"{membership.user.name} – {membership.role.label}, {membership.agency.name}") for membership in owners
    ]
    form.agenda_item.choices = [("", "Not under a particular item")] + [(item.id, f"{item.position}. {item.title}") for item in items]
    if request.method == "GET" and request.args.get("item", type=int) in {item.id for item in items}:
        form.agenda_item.data = request.args.get("item", type=int)
    if form.validate_on_submit():
        owner = next(membership for membership in owners if membership.id == form.owner.data)
        item = next((item for item in items if item.id == form.agenda_item.data), None)
        if save_form(form, lambda: operations.add_action(
            meeting, description=form.description.data, owner_membership=owner, due_on=form.due_on.data,
            agenda_item=item, by=_me(),
        )):
            return _to_minutes(meeting, f"The action has been added and {owner.user.name} has been told.",
                               anchor=f"item-{item.id}" if item is not None else "other-actions")
    return render_template("meetings/action_form.html", meeting=meeting, form=form)


@policy.require(Capability.VIEW_MEETINGS)
def my_actions():
    me = _me()
    return render_template(
        "meetings/action_list.html",
        mine=operations.actions_owned_by(me),
        chairs=operations.chairs_meetings(me),
        overdue=operations.overdue_actions_chaired_by(me),
        today=london_today(),
    )


@login_required
def action(action_id: int):
    shown = policy.visible_meeting_action_or_404(current_user, action_id)
    may_update = policy.can_update_meeting_action(current_user, shown)
    if request.method == "POST" and not may_update:
        abort(403)
    form = ActionUpdateForm(version=shown.version) if may_update else None
    if form is not None and form.validate_on_submit():
        if save_form(form, lambda: operations.update_action(
            shown, text=form.text.data, state=form.state.data, due_on=form.due_on.data, by=_me(), version=form.version.data,
        )):
            flash("Your update has been saved.", "success")
            return redirect(url_for("meetings.action", action_id=shown.id))
    meeting = shown.meeting
    meeting_visible = db.session.scalar(
        policy.meetings_visible_to(current_user).with_only_columns(sa.literal(True)).where(Meeting.id == meeting.id)
    ) is not None
    _audit_reading(meeting, "action", target=shown)
    return render_template(
        "meetings/action.html", action=shown, meeting=meeting, meeting_visible=meeting_visible, form=form,
        today=london_today(),
    )
