from flask import Blueprint

from portal.agreements import views

bp = Blueprint("agreements", __name__, template_folder="templates")

bp.add_url_rule("/agreements", "list_agreements", views.list_agreements)
bp.add_url_rule("/agreements/<int:agreement_id>", "show_agreement", views.show_agreement)
bp.add_url_rule("/admin/agreements/new", "new_agreement", views.new_agreement, methods=["GET", "POST"])
bp.add_url_rule("/admin/agreements/<int:agreement_id>/edit", "edit_agreement", views.edit_agreement, methods=["GET", "POST"])
bp.add_url_rule(
    "/admin/agreements/<int:agreement_id>/parties/<int:party_id>/sign", "sign_party", views.sign_party, methods=["GET", "POST"]
)
bp.add_url_rule("/admin/agreements/<int:agreement_id>/revoke", "revoke_agreement", views.revoke_agreement, methods=["GET", "POST"])
