from flask import Blueprint

from portal.pages import views

bp = Blueprint("pages", __name__, template_folder="templates")

bp.add_url_rule("/", "start", views.start)
bp.add_url_rule("/home", "home", views.home)
bp.add_url_rule("/accessibility", "accessibility", views.accessibility)
bp.add_url_rule("/privacy", "privacy", views.privacy)
