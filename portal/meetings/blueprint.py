"""URL rules for meetings: scheduling and invitations, the calendar file, the agenda pack,
minutes and actions, and the summary for the adult."""

from flask import Blueprint

from portal.meetings import calendar_views, minutes_views, pack_views, summary_views, views

bp = Blueprint("meetings", __name__, template_folder="templates")

_FORM = ["GET", "POST"]

# Scheduling, invitations and replies (views.py)
bp.add_url_rule("/meetings", "list_meetings", views.list_meetings)
bp.add_url_rule("/meetings/new", "schedule_meeting", views.schedule_meeting, methods=_FORM)
bp.add_url_rule("/meetings/<int:meeting_id>", "meeting", views.meeting)
bp.add_url_rule("/meetings/<int:meeting_id>/edit", "edit_meeting", views.edit_meeting, methods=_FORM)
bp.add_url_rule("/meetings/<int:meeting_id>/agenda", "edit_agenda", views.edit_agenda, methods=_FORM)
bp.add_url_rule("/meetings/<int:meeting_id>/invitees", "invitees", views.invitees, methods=_FORM)
bp.add_url_rule("/meetings/<int:meeting_id>/reply", "reply", views.reply, methods=["POST"])
bp.add_url_rule("/meetings/<int:meeting_id>/invitees/<int:attendee_id>/reply", "record_reply_for",
                views.record_reply_for, methods=_FORM)
bp.add_url_rule("/meetings/<int:meeting_id>/cancel", "cancel_meeting", views.cancel_meeting, methods=_FORM)
bp.add_url_rule("/meetings/<int:meeting_id>/held", "mark_held", views.mark_held, methods=_FORM)
# The meetings about a concern, listed on its page (meetings/meetings_for_concern.html).
bp.add_app_template_global(views.meetings_about_concern, "meetings_about_concern")

# The calendar file (calendar_views.py)
bp.add_url_rule("/meetings/<int:meeting_id>/calendar.ics", "download_calendar", calendar_views.download_calendar)

# The agenda pack (pack_views.py)
bp.add_url_rule("/meetings/<int:meeting_id>/pack", "pack", pack_views.pack)
bp.add_url_rule("/meetings/<int:meeting_id>/pack/build", "build_pack", pack_views.build_pack, methods=["POST"])

# Minutes, attendance and actions (minutes_views.py)
bp.add_url_rule("/meetings/<int:meeting_id>/minutes", "minutes", minutes_views.minutes, methods=_FORM)
bp.add_url_rule("/meetings/<int:meeting_id>/minutes/approve", "approve_minutes", minutes_views.approve_minutes,
                methods=["POST"])
bp.add_url_rule("/meetings/<int:meeting_id>/items/<int:item_id>/amend", "amend_minutes", minutes_views.amend_minutes,
                methods=_FORM)
bp.add_url_rule("/meetings/<int:meeting_id>/actions/new", "new_action", minutes_views.new_action, methods=_FORM)
bp.add_url_rule("/meeting-actions", "my_actions", minutes_views.my_actions)
bp.add_url_rule("/meeting-actions/<int:action_id>", "action", minutes_views.action, methods=_FORM)

# The plain-language summary for the adult (summary_views.py)
bp.add_url_rule("/meetings/<int:meeting_id>/summary", "adult_summary", summary_views.adult_summary, methods=_FORM)
bp.add_url_rule("/meetings/<int:meeting_id>/summary/shared", "record_summary_shared",
                summary_views.record_summary_shared, methods=_FORM)
