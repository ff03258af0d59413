"""URL rules for reports: the Making Safeguarding Personal and outcome figures in the national
return's shape, as tables and CSV."""

from flask import Blueprint

from portal.reports import views

bp = Blueprint("reports", __name__, template_folder="templates")

bp.add_url_rule("/reports/msp", "msp_report", views.msp_report)
bp.add_url_rule("/reports/msp.csv", "msp_report_csv", views.msp_report_csv)
