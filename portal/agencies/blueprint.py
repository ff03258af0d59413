from flask import Blueprint

from portal.agencies import views

bp = Blueprint("agencies", __name__, template_folder="templates")

bp.add_url_rule("/agency", "own_agency", views.own_agency)
bp.add_url_rule("/admin/agencies", "list_agencies", views.list_agencies)
bp.add_url_rule("/admin/agencies/new", "new_agency", views.new_agency, methods=["GET", "POST"])
bp.add_url_rule("/admin/agencies/<int:agency_id>", "show_agency", views.show_agency)
bp.add_url_rule("/admin/agencies/<int:agency_id>/edit", "edit_agency", views.edit_agency, methods=["GET", "POST"])
bp.add_url_rule("/admin/agencies/<int:agency_id>/services/new", "new_service", views.new_service, methods=["GET", "POST"])
bp.add_url_rule("/admin/services/<int:service_id>", "show_service", views.show_service)
bp.add_url_rule("/admin/services/<int:service_id>/edit", "edit_service", views.edit_service, methods=["GET", "POST"])
bp.add_url_rule("/admin/services/<int:service_id>/commissioners/new", "new_commissioning", views.new_commissioning, methods=["GET", "POST"])
bp.add_url_rule("/admin/commissioning/<int:commissioning_id>/end", "end_commissioning", views.end_commissioning, methods=["GET", "POST"])
