"""URL rules for a person's in-app notifications."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, template_folder="templates")
