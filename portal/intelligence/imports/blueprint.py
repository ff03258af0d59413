"""URL rules for imports."""

from flask import Blueprint

from portal.intelligence.imports import views

bp = Blueprint("imports", __name__, template_folder="templates")

bp.add_url_rule("/imports", "list_imports", views.list_imports)
bp.add_url_rule("/imports/new/<kind>", "new_import", views.new_import, methods=["GET", "POST"])
bp.add_url_rule("/imports/templates/<kind>.csv", "download_template", views.download_template)
bp.add_url_rule("/imports/<int:import_id>", "show_import", views.show_import)
bp.add_url_rule("/imports/<int:import_id>/progress.json", "import_progress", views.import_progress)
bp.add_url_rule("/imports/<int:import_id>/confirm", "confirm_import", views.confirm_import, methods=["POST"])
bp.add_url_rule("/imports/<int:import_id>/cancel", "cancel_import", views.cancel_import, methods=["POST"])
bp.register_error_handler(413, views.file_too_large)
