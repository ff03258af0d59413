"""URL rules for concerns. Case work lives in views.py; raising and lists in raising.py."""

from flask import Blueprint

from portal.concerns import views

bp = Blueprint("concerns", __name__, template_folder="templates")

_FORM = ["GET", "POST"]

bp.add_url_rule("/concerns/<int:concern_id>", "show_concern", views.show_concern)
bp.add_url_rule("/concerns/<int:concern_id>/comments", "add_comment", views.add_comment, methods=["POST"])
bp.add_url_rule("/concerns/<int:concern_id>/triage", "triage", views.triage, methods=_FORM)
bp.add_url_rule("/concerns/<int:concern_id>/assign", "assign", views.assign, methods=_FORM)
bp.add_url_rule("/concerns/<int:concern_id>/start", "start", views.start, methods=_FORM)
bp.add_url_rule("/concerns/<int:concern_id>/msp", "msp", views.msp, methods=_FORM)
bp.add_url_rule("/concerns/<int:concern_id>/outcomes/new", "new_outcome", views.new_outcome, methods=_FORM)
bp.add_url_rule("/concerns/<int:concern_id>/advocate", "advocate", views.advocate, methods=_FORM)
bp.add_url_rule("/concerns/<int:concern_id>/adult", "adult", views.adult, methods=_FORM)
bp.add_url_rule("/concerns/<int:concern_id>/adult/link", "link_adult", views.link_adult, methods=["POST"])
bp.add_url_rule("/concerns/<int:concern_id>/consent", "consent", views.consent, methods=_FORM)
bp.add_url_rule("/concerns/<int:concern_id>/override", "override", views.override, methods=_FORM)
bp.add_url_rule("/concerns/<int:concern_id>/close", "close", views.close, methods=_FORM)
bp.add_url_rule("/concerns/<int:concern_id>/reopen", "reopen", views.reopen, methods=_FORM)
bp.add_url_rule("/concerns/overrides", "list_overrides", views.list_overrides)
