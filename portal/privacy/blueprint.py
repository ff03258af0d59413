"""URL rules for the personal-data controls."""

from flask import Blueprint

from portal.privacy import views

bp = Blueprint("privacy", __name__, template_folder="templates")

_FORM = ["GET", "POST"]

bp.add_url_rule("/concerns/<int:concern_id>/break-glass", "break_glass", views.break_glass, methods=_FORM)
bp.add_url_rule("/privacy/break-glass", "break_glass_uses", views.break_glass_uses)
bp.add_url_rule("/privacy/break-glass/<int:grant_id>/review", "review_break_glass", views.review_break_glass, methods=_FORM)
bp.add_url_rule("/adults/<int:adult_id>/access", "adult_access", views.adult_access)
bp.add_url_rule("/admin/retention", "retention", views.retention, methods=_FORM)


@bp.app_template_filter("clock")
def clock(value) -> str:
    """A time of day in England as on a 24-hour clock: 14:05."""
    from portal.core.workdays import LONDON

    return value.astimezone(LONDON).strftime("%H:%M") if value is not None else ""
