"""URL rules for the risk register."""

from flask import Blueprint

bp = Blueprint("register", __name__, template_folder="templates")

# Placeholder until the page is built (replace this line and the one below).
bp.add_url_rule("/register", "register", lambda: ("Not built yet", 501))
