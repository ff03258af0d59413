"""URL rules for concerns. Case work lives in views.py; raising and lists in raising.py."""

from flask import Blueprint

from portal.concerns import views

bp = Blueprint("concerns", __name__, template_folder="templates")

bp.add_url_rule("/concerns/<int:concern_id>", "show_concern", views.show_concern)
