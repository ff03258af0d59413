from flask import Blueprint

from portal.audit import views

bp = Blueprint("audit", __name__, template_folder="templates", url_prefix="/admin/audit")

bp.add_url_rule("", "list_events", views.list_events)
