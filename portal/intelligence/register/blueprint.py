"""URL rules for the risk register."""

from flask import Blueprint

from portal.intelligence.register import views

bp = Blueprint("register", __name__, template_folder="templates")

bp.add_url_rule("/register", "register", views.register)
bp.add_url_rule("/register.csv", "export_register", views.export_register)
bp.add_url_rule(
    "/services/<int:service_id>/register-entry", "edit_entry", views.edit_entry, methods=["GET", "POST"]
)
