"""URL rules for imports."""

from flask import Blueprint

bp = Blueprint("imports", __name__, template_folder="templates")

# Placeholder until the page is built (replace this line and the one below).
bp.add_url_rule("/imports", "list_imports", lambda: ("Not built yet", 501))
