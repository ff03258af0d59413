"""URL rules for provider and service profiles, the records behind them, and the risk rules page."""

from flask import Blueprint

bp = Blueprint("intelligence", __name__, template_folder="templates")

# Placeholder until the page is built (replace this line and the one below).
bp.add_url_rule("/providers", "list_providers", lambda: ("Not built yet", 501))
