from flask import Blueprint

from portal.people import views

bp = Blueprint("people", __name__, template_folder="templates", url_prefix="/admin/people")

bp.add_url_rule("", "list_people", views.list_people)
bp.add_url_rule("/invite", "invite", views.invite, methods=["GET", "POST"])
bp.add_url_rule("/<int:person_id>", "show_person", views.show_person)
bp.add_url_rule("/<int:person_id>/edit", "edit_person", views.edit_person, methods=["GET", "POST"])
bp.add_url_rule("/<int:person_id>/roles/new", "add_role", views.add_role, methods=["GET", "POST"])
bp.add_url_rule("/<int:person_id>/roles/<int:membership_id>/end", "end_role", views.end_role, methods=["POST"])
bp.add_url_rule("/<int:person_id>/invitation", "resend_invitation", views.resend_invitation, methods=["POST"])
bp.add_url_rule("/<int:person_id>/active", "set_active", views.set_active, methods=["POST"])
bp.add_url_rule("/<int:person_id>/two-factor/reset", "reset_two_factor", views.reset_two_factor, methods=["POST"])
