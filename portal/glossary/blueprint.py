from flask import Blueprint

from portal.glossary import views

bp = Blueprint("glossary", __name__, template_folder="templates")
bp.add_url_rule("/glossary", "index", views.index)
