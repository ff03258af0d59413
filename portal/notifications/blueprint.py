"""URL rules for a person's in-app notifications and choices, and the administrators' email deliveries."""

from flask import Blueprint

from portal.notifications import views

bp = Blueprint("notifications", __name__, template_folder="templates")

bp.add_url_rule("/notifications", "list_notifications", views.list_notifications)
bp.add_url_rule("/notifications/read", "mark_all_read", views.mark_all_read, methods=["POST"])
bp.add_url_rule("/notifications/preferences", "preferences", views.preferences, methods=["GET", "POST"])
bp.add_url_rule("/admin/notifications", "operations", views.operations)
bp.add_url_rule(
    "/admin/notifications/<int:delivery_id>/resend", "resend_delivery", views.resend_delivery, methods=["POST"]
)
