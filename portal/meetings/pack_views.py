"""The agenda pack page: the viewer's own copy (or its printer-friendly version), and building it.

The meeting is found through the policy layer (404 when the person may not see it); building needs
``can_manage_meeting`` (403 otherwise). Each showing of a copy is audited.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import policy
from portal.audit.operations import record
from portal.core.templating import format_date, format_datetime
from portal.extensions import db
from portal.meetings import pack as packs
from portal.meetings.models import Meeting
from portal.people.models import User


def _me() -> User:
    """The signed-in person as a model instance, for operations to store."""
    return current_user._get_current_object()


def _day(value: str | None) -> str:
    """A date kept in a copy (ISO text) as pages show dates."""
    return format_date(date.fromisoformat(value)) if value else ""


def _moment(value: str | None) -> str:
    """A time kept in a copy (ISO text, UTC) as pages show times, in London."""
    return format_datetime(datetime.fromisoformat(value)) if value else ""


@login_required
def pack(meeting_id: int):
    meeting: Meeting = policy.visible_meeting_or_404(current_user, meeting_id)
    latest = packs.latest_pack(meeting)
    copy = packs.pack_copy_for(meeting, current_user)
    if copy is not None:
        record(
            "meeting.pack.view", f"viewed the agenda pack of meeting {meeting.id}", target=copy,
            details={
                "meeting_id": meeting.id, "version": latest.version, "redacted": copy.redacted,
                # What the adult wants is about them: say whether this showing included it.
                "adult_wishes_shown": bool(copy.content.get("adult", {}).get("disclosed")),
            },
        )
    db.session.commit()  # the copy built for a late invitee, and the audit event of this showing
    printing = request.args.get("print") == "1" and copy is not None
    return render_template(
        "meetings/pack_print.html" if printing else "meetings/pack.html",
        meeting=meeting,
        latest=latest,
        built_by=db.session.get(User, latest.built_by_id) if latest and latest.built_by_id else None,
        copy=copy,
        content=copy.content if copy else None,
        can_build=policy.can_manage_meeting(current_user, meeting) and (latest is None or latest.frozen_at is None),
        day=_day,
        moment=_moment,
    )


@login_required
def build_pack(meeting_id: int):
    meeting: Meeting = policy.visible_meeting_or_404(current_user, meeting_id)
    if not policy.can_manage_meeting(current_user, meeting):
        abort(403)
    try:
        built = packs.build_pack(meeting, by=_me())
        db.session.commit()
    except packs.PackError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("meetings.pack", meeting_id=meeting.id))
    people = len(built.copies)
    flash(f"Agenda pack version {built.version} built for {people} attendee{'' if people == 1 else 's'}", "success")
    return redirect(url_for("meetings.pack", meeting_id=meeting.id))
