"""URL rules for provider and service profiles, the records behind them, and the risk rules page."""

from flask import Blueprint

from portal.intelligence import views

bp = Blueprint("intelligence", __name__, template_folder="templates")

_FORM = ["GET", "POST"]

bp.add_url_rule("/providers", "list_providers", views.list_providers)
bp.add_url_rule("/providers/<int:provider_id>", "provider_profile", views.provider_profile)
bp.add_url_rule("/services/<int:service_id>", "service_profile", views.service_profile)
bp.add_url_rule("/services/<int:service_id>/items/new", "new_item", views.new_item, methods=_FORM)
bp.add_url_rule("/items/<int:item_id>/edit", "edit_item", views.edit_item, methods=_FORM)
bp.add_url_rule("/items/<int:item_id>/remove", "remove_item", views.remove_item, methods=_FORM)
bp.add_url_rule("/services/<int:service_id>/inspections/new", "new_inspection", views.new_inspection, methods=_FORM)
bp.add_url_rule("/services/<int:service_id>/visits/new", "new_visit", views.new_visit, methods=_FORM)
bp.add_url_rule("/visits/<int:visit_id>", "visit", views.visit)
bp.add_url_rule("/visits/<int:visit_id>/actions/new", "new_action", views.new_action, methods=_FORM)
bp.add_url_rule("/actions/<int:action_id>/respond", "respond_action", views.respond_action, methods=_FORM)
bp.add_url_rule("/actions/<int:action_id>/complete", "complete_action", views.complete_action, methods=["POST"])
bp.add_url_rule("/intelligence/risk-rules", "risk_rules", views.risk_rules)
bp.add_url_rule("/admin/quality-standards", "quality_standards", views.quality_standards, methods=_FORM)
