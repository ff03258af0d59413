"""URL rules for raising concerns (signed in and public) and for the lists of concerns."""

from flask import Blueprint, current_app

from portal.concerns import raising
from portal.extensions import limiter

bp = Blueprint("raising", __name__, template_folder="templates")


def _public_report_limit() -> str:
    return current_app.config.get("PUBLIC_REPORT_RATE_LIMIT", "5 per hour")


#: The public form needs no account, so each address may send only a few reports an hour.
public_limited = limiter.limit(_public_report_limit, methods=["POST"])

bp.add_url_rule("/concerns/new", "raise_concern", raising.raise_concern, methods=["GET", "POST"])
bp.add_url_rule("/concerns", "my_concerns", raising.my_concerns)
bp.add_url_rule("/concerns/organisation", "organisation_concerns", raising.organisation_concerns)
bp.add_url_rule("/concerns/triage", "triage_queue", raising.triage_queue)
bp.add_url_rule("/concerns/search", "search", raising.search)
bp.add_url_rule("/report-a-concern", "report", public_limited(raising.report), methods=["GET", "POST"])
bp.add_url_rule("/report-a-concern/sent", "report_sent", raising.report_sent)
