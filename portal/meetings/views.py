"""Meetings a person is invited to, scheduling them, their agendas, invitations and replies.

Each page finds its meeting through the policy layer (404 when the person may not see it, 403
when they may see it but not do this) and hands every change to an operation through
``save_form``, so a refusal shows on the form with nothing typed lost.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import policy
from portal.agencies.models import Agency
from portal.audit.operations import record
from portal.concerns.models import Concern
from portal.core.db import utcnow
from portal.core.pagination import paginate
from portal.core.rules import save_form
from portal.core.workdays import LONDON
from portal.extensions import db
from portal.meetings import operations
from portal.meetings.calendar import when_text
from portal.meetings.forms import (
    AgendaChangeForm,
    AgendaItemForm,
    CancelForm,
    GuestForm,
    HeldForm,
    InviteAgencyForm,
    InvitePeopleForm,
    MeetingForm,
    RemoveAttendeeForm,
    ReplyForForm,
    ReplyForm,
    ScheduleForm,
)
from portal.meetings.models import Attendee, Meeting, MeetingKind, MeetingStatus, PlaceKind
from portal.meetings.operations import MeetingDetails, Repeat, ScheduleDetails
from portal.meetings.queries import WITH_PEOPLE_AND_MINUTES
from portal.people.models import Membership, User
from portal.policy import Capability

#: Past and cancelled meetings listed per page, newest first.
PAST_PER_PAGE = 25


def _me() -> User:
    """The signed-in person as a model instance, for operations to store."""
    return current_user._get_current_object()


def _back_to_meeting(meeting: Meeting, message: str, anchor: str | None = None):
    flash(message, "success")
    return redirect(url_for("meetings.meeting", meeting_id=meeting.id, _anchor=anchor))


def _manageable_or_abort(meeting_id: int) -> Meeting:
    meeting = policy.visible_meeting_or_404(current_user, meeting_id, *WITH_PEOPLE_AND_MINUTES)
    if not policy.can_manage_meeting(current_user, meeting):
        abort(403)
    return meeting


def _not_changeable(meeting: Meeting):
    """A held or cancelled meeting no longer changes: back to its page, saying why."""
    if meeting.status is MeetingStatus.SCHEDULED:
        return None
    flash(f"This meeting has been {meeting.status.label.lower()}, so it can no longer be changed.", "important")
    return redirect(url_for("meetings.meeting", meeting_id=meeting.id))


def place_text(meeting: Meeting) -> str:
    if meeting.place_kind is PlaceKind.ADDRESS:
        return meeting.place or ""
    return meeting.place_kind.label


def attendee_label(attendee: Attendee, *, guest_names: bool) -> str:
    """Who an attendee is, as the viewer may see it: a guest's name only where the adult's details may be seen."""
    if attendee.user is not None:
        agency = attendee.membership.agency.name if attendee.membership is not None else None
        return f"{attendee.user.name}, {agency}" if agency else attendee.user.name
    if guest_names:
        return f"{attendee.guest_name} ({attendee.guest_relationship.label.lower()})"
    return attendee.guest_relationship.label


def roles_text(meeting: Meeting, attendee: Attendee) -> str:
    """' (organiser and chair)': what the person does at the meeting, if anything."""
    roles = [
        role for role, user_id in (
            ("organiser", meeting.organiser_id), ("chair", meeting.chair_id), ("minute-taker", meeting.minute_taker_id),
        ) if attendee.user_id is not None and attendee.user_id == user_id
    ]
    return f" ({' and '.join(roles)})" if roles else ""


# The list ---------------------------------------------------------------------------------------


@policy.require(Capability.VIEW_MEETINGS)
def list_meetings():
    visible = policy.meetings_visible_to(current_user)
    now = utcnow()
    upcoming = db.session.scalars(
        visible.where(Meeting.status == MeetingStatus.SCHEDULED, Meeting.ends_at >= now).order_by(Meeting.starts_at, Meeting.id)
    ).all()
    past = paginate(
        visible.where(sa.or_(Meeting.status != MeetingStatus.SCHEDULED, Meeting.ends_at < now))
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc()),
        per_page=PAST_PER_PAGE,
    )
    shown_ids = [meeting.id for meeting in [*upcoming, *past.items]]
    replies = {
        attendee.meeting_id: attendee for attendee in db.session.scalars(
            sa.select(Attendee).where(Attendee.user_id == current_user.id, Attendee.meeting_id.in_(shown_ids))
        )
    } if shown_ids else {}
    return render_template(
        "meetings/list.html", upcoming=upcoming, past=past, replies=replies, place_text=place_text, when_text=when_text,
        can_schedule=policy.can_schedule_meeting(current_user),
    )


# Scheduling -------------------------------------------------------------------------------------


def _candidates() -> list[Membership]:
    return db.session.scalars(policy.meeting_invitee_candidates(current_user)).all()


def _person_choices(candidates: list[Membership]) -> list[tuple[int, str]]:
    return [(m.id, f"{m.user.name} – {m.role.label}, {m.agency.name}") for m in candidates]


def _membership(membership_id: int | None) -> Membership | None:
    return db.session.get(Membership, membership_id) if membership_id else None


def _membership_of(meeting: Meeting, user_id: int | None, candidates: list[Membership]) -> int | None:
    """The membership someone was invited in (or their first that may be invited), for the form's select."""
    if user_id is None:
        return None
    invited = next((a.membership_id for a in meeting.attendees if a.user_id == user_id and a.membership_id), None)
    offered = {m.id for m in candidates}
    if invited in offered:
        return invited
    return next((m.id for m in candidates if m.user_id == user_id), None)


def _set_people_choices(form: MeetingForm, candidates: list[Membership]) -> None:
    choices = _person_choices(candidates)
    form.chair.choices = choices
    form.minute_taker.choices = [("", "Nobody yet")] + choices


def _place_choices(kind_about_adult: bool) -> list[tuple[str, str]]:
    return [(p.name, p.label) for p in PlaceKind if kind_about_adult or p is not PlaceKind.ADULTS_HOME]


def _details(form: MeetingForm, cls=MeetingDetails, **extra) -> MeetingDetails:
    return cls(
        title=form.title.data or "", purpose=form.purpose.data, day=form.day.data, starts=form.starts.data,
        ends=form.ends.data, place_kind=form.place_kind.data, place=form.place.data, online_link=form.online_link.data,
        chair=_membership(form.chair.data), minute_taker=_membership(form.minute_taker.data), **extra,
    )


def _preferred_place(concern: Concern | None) -> str | None:
    """Where the adult said they would like to meet, for those who may see the adult's details."""
    if concern is None or not concern.preferred_meeting_place:
        return None
    if not policy.adult_details_disclosure(current_user, concern).allowed:
        return None
    return concern.preferred_meeting_place


@policy.require(Capability.SCHEDULE_MEETINGS)
def schedule_meeting():
    if not policy.can_schedule_meeting(current_user):
        abort(403)
    concern = None
    concern_id = request.args.get("concern", type=int)
    if concern_id is not None:
        concern = policy.visible_concern_or_404(current_user, concern_id)
        if not policy.can_schedule_meeting(current_user, MeetingKind.ADULT_SAFEGUARDING, concern):
            abort(403)
    kinds = [kind for kind in policy.schedulable_meeting_kinds(current_user) if kind.about_an_adult == (concern is not None)]
    if not kinds:
        abort(403)
    candidates = _candidates()
    form = ScheduleForm()
    del form.version
    form.submit.label.text = "Schedule the meeting"
    _set_people_choices(form, candidates)
    form.place_kind.choices = _place_choices(concern is not None)
    if concern is not None:
        del form.kind
    else:
        form.kind.choices = [(kind.name, kind.label) for kind in kinds]
    if any(kind.about_providers for kind in kinds):
        form.providers.choices = [
            (provider.id, provider.name)
            for provider in db.session.scalars(policy.intelligence_providers_visible_to(current_user).order_by(Agency.name))
        ]
    else:
        del form.providers
    if request.method == "GET":
        wanted = request.args.get("kind")
        if concern is None and (len(kinds) == 1 or wanted in {kind.name for kind in kinds}):
            form.kind.data = MeetingKind[wanted] if len(kinds) > 1 else kinds[0]
        form.chair.data = current_user.membership.id
        form.repeat.data = Repeat.NONE
    if form.validate_on_submit():
        details = _details(
            form, ScheduleDetails, kind=form.kind.data if concern is None else kinds[0], concern=concern, repeat=form.repeat.data or Repeat.NONE,
            occurrences=form.occurrences.data,
            providers=[db.session.get(Agency, pid) for pid in (form.providers.data or [])] if "providers" in form else [],
        )
        scheduled: list[Meeting] = []
        if save_form(form, lambda: scheduled.extend(operations.schedule_meeting(details, by=_me()))):
            first = scheduled[0]
            flash(
                f"{len(scheduled)} meetings scheduled, from {when_text(first)}. Now invite people."
                if len(scheduled) > 1 else "The meeting is scheduled. Now invite people.", "success",
            )
            return redirect(url_for("meetings.invitees", meeting_id=first.id))
    return render_template(
        "meetings/schedule_form.html", form=form, concern=concern, preferred_place=_preferred_place(concern),
    )


# A meeting --------------------------------------------------------------------------------------


def _series_position(meeting: Meeting) -> dict | None:
    """'Meeting 3 of 6', with the nearest earlier and later meetings of the series the viewer may open."""
    if meeting.series is None:
        return None
    meetings = list(meeting.series.meetings)
    visible = set(db.session.scalars(
        policy.meetings_visible_to(current_user).where(Meeting.series_id == meeting.series_id).with_only_columns(Meeting.id)
    ))
    index = next(i for i, other in enumerate(meetings) if other.id == meeting.id)
    earlier = [other for other in meetings[:index] if other.id in visible]
    later = [other for other in meetings[index + 1:] if other.id in visible]
    return {
        "number": index + 1, "of": len(meetings), "rule": meeting.series.rule,
        "previous": earlier[-1] if earlier else None, "next": later[0] if later else None,
    }


def _render_meeting(meeting: Meeting, reply_form: ReplyForm | None = None):
    me = next((a for a in meeting.attendees if a.user_id == current_user.id and a.removed_at is None), None)
    may_reply = (
        me is not None and meeting.status is MeetingStatus.SCHEDULED and policy.can_record_reply(current_user, me)
    )
    if may_reply and reply_form is None:
        reply_form = ReplyForm(formdata=None, reply=me.reply if me.replied_at else None, note=me.reply_note)
    items = policy.agenda_items_visible_to(current_user, meeting)
    attendees = [a for a in meeting.attendees if a.removed_at is None]
    guests = [a for a in attendees if a.user_id is None]
    guest_names = meeting.kind.about_an_adult and policy.meeting_guest_names_visible(current_user, meeting)
    if guest_names and guests:
        record(
            "meetings.meeting.view_guests", f"names of the guests of '{meeting.title}' seen", target=meeting,
            actor=current_user, details={"concern_id": meeting.concern_id, "guests": [a.id for a in guests]},
        )
        db.session.commit()
    concern_visible = meeting.concern_id is not None and db.session.scalar(
        sa.select(sa.exists(policy.concerns_visible_to(current_user).where(Concern.id == meeting.concern_id)
                            .with_only_columns(Concern.id)))
    )
    manage = policy.can_manage_meeting(current_user, meeting)
    return render_template(
        "meetings/meeting.html",
        meeting=meeting,
        when=when_text(meeting),
        place=place_text(meeting),
        items=items,
        hidden_items=len(meeting.agenda) - len(items),
        attendees=[(a, attendee_label(a, guest_names=guest_names) + roles_text(meeting, a)) for a in attendees],
        me=me,
        reply_form=reply_form if may_reply else None,
        form=reply_form if may_reply else None,
        manage=manage,
        changeable=manage and meeting.status is MeetingStatus.SCHEDULED,
        may_hold=manage and meeting.status is MeetingStatus.SCHEDULED and meeting.starts_at <= utcnow(),
        may_record_minutes=policy.can_record_minutes(current_user, meeting),
        summary_link=meeting.kind.about_an_adult and (
            policy.can_read_adult_summary(current_user, meeting) or policy.can_write_adult_summary(current_user, meeting)
        ),
        concern_visible=concern_visible,
        series=_series_position(meeting),
    )


@policy.require(Capability.VIEW_MEETINGS)
def meeting(meeting_id: int):
    return _render_meeting(policy.visible_meeting_or_404(current_user, meeting_id, *WITH_PEOPLE_AND_MINUTES))


@policy.require(Capability.VIEW_MEETINGS)
def reply(meeting_id: int):
    shown = policy.visible_meeting_or_404(current_user, meeting_id, *WITH_PEOPLE_AND_MINUTES)
    me = next((a for a in shown.attendees if a.user_id == current_user.id and a.removed_at is None), None)
    if me is None or not policy.can_record_reply(current_user, me):
        abort(403)
    if (held := _not_changeable(shown)) is not None:
        return held
    form = ReplyForm()
    if form.validate_on_submit():
        if save_form(form, lambda: operations.record_reply(me, form.reply.data, note=form.note.data, by=_me())):
            return _back_to_meeting(shown, f"Your reply is recorded: {form.reply.data.label}.", anchor="your-reply")
    return _render_meeting(shown, form)


# Changing a meeting -----------------------------------------------------------------------------


@policy.require(Capability.VIEW_MEETINGS)
def edit_meeting(meeting_id: int):
    shown = _manageable_or_abort(meeting_id)
    if (held := _not_changeable(shown)) is not None:
        return held
    candidates = _candidates()
    starts, ends = shown.starts_at.astimezone(LONDON), shown.ends_at.astimezone(LONDON)
    form = MeetingForm(
        title=shown.title, purpose=shown.purpose, day=starts.date(), starts=starts.time(), ends=ends.time(),
        place_kind=shown.place_kind, place=shown.place, online_link=shown.online_link, version=shown.version,
        chair=_membership_of(shown, shown.chair_id, candidates),
        minute_taker=_membership_of(shown, shown.minute_taker_id, candidates),
    )
    _set_people_choices(form, candidates)
    form.place_kind.choices = _place_choices(shown.kind.about_an_adult)
    if form.validate_on_submit():
        details = _details(form)
        changed = []

        def change():
            changed.append(operations.update_meeting(shown, details, by=_me(), version=form.version.data))

        if save_form(form, change):
            return _back_to_meeting(
                shown, "The meeting is changed. Everyone invited has been sent the update for their calendar."
                if changed[0] else "The meeting is changed.",
            )
    return render_template("meetings/schedule_edit.html", form=form, meeting=shown,
                           preferred_place=_preferred_place(shown.concern))


@policy.require(Capability.VIEW_MEETINGS)
def edit_agenda(meeting_id: int):
    shown = _manageable_or_abort(meeting_id)
    if (held := _not_changeable(shown)) is not None:
        return held
    providers = db.session.scalars(policy.intelligence_providers_visible_to(current_user).order_by(Agency.name)).all()
    add_form = AgendaItemForm(prefix="add")
    add_form.provider.choices = [("", "No provider")] + [(provider.id, provider.name) for provider in providers]
    failed = None
    if request.method == "POST" and "item-change" in request.form:
        failed = AgendaChangeForm(prefix="item")
        if failed.validate_on_submit():
            item = next((item for item in shown.agenda if item.id == failed.item.data), None)
            if item is None:
                abort(404)
            change = failed.change.data

            def changing():
                if change == "remove":
                    operations.remove_agenda_item(item, by=_me())
                else:
                    operations.move_agenda_item(item, up=change == "up", by=_me())

            if save_form(failed, changing):
                flash(f"'{item.title}' is removed from the agenda." if change == "remove" else "The agenda's order is changed.",
                      "success")
                return redirect(url_for("meetings.edit_agenda", meeting_id=shown.id))
    elif add_form.validate_on_submit():
        provider = db.session.get(Agency, add_form.provider.data) if add_form.provider.data else None
        added = []

        def adding():
            added.append(operations.add_agenda_item(shown, title=add_form.title.data, provider=provider, by=_me()))

        if save_form(add_form, adding):
            flash(f"'{added[0].title}' is added to the agenda.", "success")
            return redirect(url_for("meetings.edit_agenda", meeting_id=shown.id))
        failed = add_form
    elif request.method == "POST":
        failed = add_form
    visible = {item.id for item in policy.agenda_items_visible_to(current_user, shown)}
    return render_template("meetings/agenda.html", meeting=shown, form=failed or add_form, add_form=add_form, visible=visible)


# Invitations ------------------------------------------------------------------------------------


def _agencies_of(candidates: list[Membership]) -> list[tuple[Agency, list[Membership]]]:
    grouped: dict[int, tuple[Agency, list[Membership]]] = {}
    for membership in sorted(candidates, key=lambda m: (m.agency.name, m.user.name, m.id)):
        grouped.setdefault(membership.agency_id, (membership.agency, []))[1].append(membership)
    return list(grouped.values())


@policy.require(Capability.VIEW_MEETINGS)
def invitees(meeting_id: int):
    shown = _manageable_or_abort(meeting_id)
    if (held := _not_changeable(shown)) is not None:
        return held
    candidates = _candidates()
    invited = {a.user_id for a in shown.attendees if a.user_id is not None and a.removed_at is None}
    offered = [m for m in candidates if m.user_id not in invited]
    people_form = InvitePeopleForm(prefix="people")
    people_form.people.choices = _person_choices(offered)
    agency_form = InviteAgencyForm(prefix="agency")
    agencies = _agencies_of(candidates)
    agency_form.agency.choices = [("", "Select an agency")] + [(agency.id, agency.name) for agency, _ in agencies]
    guest_form = GuestForm(prefix="guest") if shown.kind.about_an_adult else None
    remove_form = RemoveAttendeeForm(prefix="remove")
    later_too = request.form.get("later_too") == "yes" and shown.series_id is not None
    submitted = next((name for name in ("people", "agency", "guest", "remove") if f"{name}-submitted" in request.form), None)
    failed = None
    if request.method == "POST" and submitted is not None:
        form = {"people": people_form, "agency": agency_form, "guest": guest_form, "remove": remove_form}[submitted]
        if form is None:
            abort(404)
        if form.validate_on_submit():
            outcome = _invitation_change(shown, submitted, form, later_too)
            if outcome is not None:
                return outcome
        failed = form
    candidates_by_agency = [(agency, [m for m in members if m.user_id not in invited]) for agency, members in agencies]
    guest_names = policy.meeting_guest_names_visible(current_user, shown)
    return render_template(
        "meetings/invitees.html", meeting=shown, form=failed or people_form, people_form=people_form,
        agency_form=agency_form, guest_form=guest_form, groups=[(a, ms) for a, ms in candidates_by_agency if ms],
        attendees=[
            (a, attendee_label(a, guest_names=guest_names) + roles_text(shown, a)) for a in shown.attendees if a.removed_at is None
        ],
        removed=[(a, attendee_label(a, guest_names=guest_names)) for a in shown.attendees if a.removed_at is not None],
        staying={a.id for a in shown.attendees if operations.why_attendee_stays(shown, a) is not None},
        in_series=shown.series_id is not None and bool(operations.later_in_series(shown)),
        chosen=set(people_form.people.data or ()),
    )


def _invitation_change(shown: Meeting, submitted: str, form, later_too: bool):
    """Run the change the submitted form asks for; a redirect when it is saved, None when refused."""
    message = []
    if submitted == "people":
        chosen = [_membership(mid) for mid in form.people.data]

        def change():
            added = operations.invite_people(shown, [m for m in chosen if m is not None], by=_me(), later_in_series_too=later_too)
            message.append(f"{len(added)} {'person' if len(added) == 1 else 'people'} invited." if added else
                           "Everyone selected was already invited.")
    elif submitted == "agency":
        agency = db.session.get(Agency, form.agency.data)

        def change():
            added = operations.invite_agency(shown, agency, by=_me(), later_in_series_too=later_too)
            message.append(f"{len(added)} {'person' if len(added) == 1 else 'people'} at {agency.name} invited." if added
                           else f"Everyone at {agency.name} who may be invited already was.")
    elif submitted == "guest":
        def change():
            operations.invite_guest(shown, name=form.name.data, email=form.email.data,
                                    relationship=form.relationship.data, by=_me())
            message.append("The guest is invited: the invitation has been emailed to them.")
    else:
        attendee = next((a for a in shown.attendees if a.id == form.attendee.data and a.removed_at is None), None)
        if attendee is None:
            abort(404)

        def change():
            operations.remove_attendee(shown, attendee, by=_me())
            message.append("They have been taken off the list and sent a cancellation for their calendar.")
    if save_form(form, change):
        flash(message[0], "success")
        return redirect(url_for("meetings.invitees", meeting_id=shown.id))
    return None


@policy.require(Capability.VIEW_MEETINGS)
def record_reply_for(meeting_id: int, attendee_id: int):
    shown = policy.visible_meeting_or_404(current_user, meeting_id)
    attendee = next((a for a in shown.attendees if a.id == attendee_id and a.removed_at is None), None)
    if attendee is None:
        abort(404)
    if attendee.user_id is not None or not policy.can_record_reply(current_user, attendee):
        abort(403)
    if (held := _not_changeable(shown)) is not None:
        return held
    form = ReplyForForm(reply=attendee.reply if attendee.replied_at else None, note=attendee.reply_note)
    label = attendee_label(attendee, guest_names=policy.meeting_guest_names_visible(current_user, shown))
    if form.validate_on_submit():
        if save_form(form, lambda: operations.record_reply(attendee, form.reply.data, note=form.note.data, by=_me())):
            flash(f"Reply recorded for {label}: {form.reply.data.label}.", "success")
            return redirect(url_for("meetings.invitees", meeting_id=shown.id))
    return render_template("meetings/reply_for.html", form=form, meeting=shown, attendee=attendee, label=label)


# Cancelling and holding -------------------------------------------------------------------------


@policy.require(Capability.VIEW_MEETINGS)
def cancel_meeting(meeting_id: int):
    shown = _manageable_or_abort(meeting_id)
    if (held := _not_changeable(shown)) is not None:
        return held
    form = CancelForm(version=shown.version)
    if form.validate_on_submit():
        if save_form(form, lambda: operations.cancel_meeting(shown, reason=form.reason.data, by=_me(),
                                                               version=form.version.data)):
            return _back_to_meeting(shown, "The meeting is cancelled. Everyone invited has been sent the cancellation.")
    return render_template("meetings/cancel.html", form=form, meeting=shown, when=when_text(shown))


@policy.require(Capability.VIEW_MEETINGS)
def mark_held(meeting_id: int):
    shown = _manageable_or_abort(meeting_id)
    if (held := _not_changeable(shown)) is not None:
        return held
    form = HeldForm()
    if form.validate_on_submit():
        if save_form(form, lambda: operations.hold_meeting(shown, by=_me())):
            return _back_to_meeting(shown, "The meeting is marked as held. The agenda pack is kept as it was sent.")
    return render_template("meetings/held.html", form=form, meeting=shown, when=when_text(shown),
                           started=shown.starts_at <= utcnow())


# On a concern's page ----------------------------------------------------------------------------


def meetings_about_concern(concern: Concern) -> dict:
    """For the concern's page: its meetings the viewer may open, and whether they may schedule one."""
    if not current_user.is_authenticated:
        return {"meetings": [], "can_schedule": False}
    meetings = db.session.scalars(
        policy.meetings_visible_to(current_user).where(Meeting.concern_id == concern.id).order_by(Meeting.starts_at.desc())
    ).all()
    return {
        "meetings": meetings,
        "can_schedule": policy.can_schedule_meeting(current_user, MeetingKind.ADULT_SAFEGUARDING, concern),
        "when_text": when_text,
    }
