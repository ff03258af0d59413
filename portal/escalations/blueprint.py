"""URL rules for escalations: raising one, its page and moves, the ladder's settings, and the
Board's oversight page."""

from flask import Blueprint

from portal.escalations import ladder_views, oversight_views, views

bp = Blueprint("escalations", __name__, template_folder="templates")

_FORM = ["GET", "POST"]

# Raising, the list and each escalation's page and moves (views.py)
bp.add_url_rule("/escalations", "list_escalations", views.list_escalations)
bp.add_url_rule("/escalations/new", "raise_escalation", views.raise_escalation, methods=_FORM)
bp.add_url_rule("/escalations/<int:escalation_id>", "escalation", views.escalation)
bp.add_url_rule("/escalations/<int:escalation_id>/acknowledge", "acknowledge", views.acknowledge, methods=["POST"])
bp.add_url_rule("/escalations/<int:escalation_id>/respond", "respond", views.respond, methods=_FORM)
bp.add_url_rule("/escalations/<int:escalation_id>/resolve", "resolve", views.resolve, methods=_FORM)
bp.add_url_rule("/escalations/<int:escalation_id>/escalate", "escalate", views.escalate, methods=_FORM)
bp.add_url_rule("/escalations/<int:escalation_id>/withdraw", "withdraw", views.withdraw, methods=_FORM)
bp.add_url_rule("/escalations/<int:escalation_id>/adult-view", "adult_view", views.adult_view, methods=_FORM)
bp.add_url_rule("/escalations/<int:escalation_id>/mediation-note", "mediation_note", views.mediation_note,
                methods=_FORM)
# The escalations about a concern, a service, a provider, an action or a meeting decision, listed
# on that thing's page (escalations/escalations_about.html).
bp.add_app_template_global(views.escalations_about, "escalations_about")

# The partnership's ladder (ladder_views.py)
bp.add_url_rule("/escalations/ladder", "ladder", ladder_views.ladder, methods=_FORM)

# The Board's oversight page and the annual report's escalation figures (oversight_views.py)
bp.add_url_rule("/escalations/oversight", "oversight", oversight_views.oversight)
bp.add_url_rule("/escalations/oversight.csv", "oversight_csv", oversight_views.oversight_csv)
