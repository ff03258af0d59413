"""The meeting's calendar file, to download from the meeting page and open in a calendar program."""

from __future__ import annotations

from flask import Response
from flask_login import current_user, login_required

from portal import policy
from portal.meetings.calendar import PUBLISH, build_calendar


@login_required
def download_calendar(meeting_id: int):
    """METHOD:PUBLISH with the meeting's UID and SEQUENCE, so a calendar that already holds the
    invitation updates it rather than adding a copy. It names guests nowhere (not even the
    adult's): only attendees with an account."""
    meeting = policy.visible_meeting_or_404(current_user, meeting_id)
    return Response(
        build_calendar(meeting, method=PUBLISH),
        content_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f"attachment; filename=meeting-{meeting.id}.ics",
            "Cache-Control": "private, no-store",
        },
    )
