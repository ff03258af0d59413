"""URL rules for raising concerns (signed in and public) and for the lists of concerns."""

from flask import Blueprint

bp = Blueprint("raising", __name__, template_folder="templates")
