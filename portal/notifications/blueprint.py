"""URL rules for a person's in-app notifications."""

from flask import Blueprint

from portal.notifications import views

bp = Blueprint("notifications", __name__, template_folder="templates")

bp.add_url_rule("/notifications", "list_notifications", views.list_notifications)
bp.add_url_rule("/notifications/read", "mark_all_read", views.mark_all_read, methods=["POST"])
