"""URL rules for raising concerns (signed in and public) and for the lists of concerns."""

from flask import Blueprint

from portal.auth.rate_limits import per_account, per_address, reporter_email
from portal.concerns import raising

bp = Blueprint("raising", __name__, template_folder="templates")


def public_limited(view):
    """The public form needs no account: each address, and each reporter email, may send only a few an hour."""
    by_email = per_account("PUBLIC_REPORT_EMAIL_RATE_LIMIT", "the public concern form", reporter_email)
    return per_address("PUBLIC_REPORT_RATE_LIMIT", "the public concern form")(by_email(view))


bp.add_url_rule("/concerns/new", "raise_concern", raising.raise_concern, methods=["GET", "POST"])
bp.add_url_rule("/concerns", "my_concerns", raising.my_concerns)
bp.add_url_rule("/concerns/organisation", "organisation_concerns", raising.organisation_concerns)
bp.add_url_rule("/concerns/triage", "triage_queue", raising.triage_queue)
bp.add_url_rule("/concerns/search", "search", raising.search)
bp.add_url_rule("/report-a-concern", "report", public_limited(raising.report), methods=["GET", "POST"])
bp.add_url_rule("/report-a-concern/sent", "report_sent", raising.report_sent)
