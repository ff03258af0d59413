"""What every template can use: the service name, the navigation for the acting role, dates."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, g, has_request_context, request, url_for
from flask_login import current_user

from portal.notifications.operations import unread_count
from portal.policy import Capability, can, can_view_msp_report

LONDON = ZoneInfo("Europe/London")

#: Navigation entries: label, endpoint, the capability needed (None: anyone signed in).
NAVIGATION = [
    ("Home", "pages.home", None),
    ("My agency", "agencies.own_agency", Capability.VIEW_OWN_AGENCY),
    ("Concerns", "raising.my_concerns", Capability.RAISE_CONCERN),
    ("Triage", "raising.triage_queue", Capability.WORK_ON_CONCERNS),
    ("Consent overrides", "concerns.list_overrides", Capability.WORK_ON_CONCERNS),
    ("Providers", "intelligence.list_providers", Capability.VIEW_INTELLIGENCE),
    ("Risk register", "register.register", Capability.VIEW_INTELLIGENCE),
    ("Imports", "imports.list_imports", Capability.IMPORT_INTELLIGENCE),
    ("Meetings", "meetings.list_meetings", Capability.VIEW_MEETINGS),
    ("Escalations", "escalations.list_escalations", Capability.RAISE_ESCALATIONS),
    ("Board oversight", "escalations.oversight", Capability.OVERSEE_ESCALATIONS),
    ("MSP report", "reports.msp_report", can_view_msp_report),
    ("Break glass", "privacy.break_glass_uses", Capability.BREAK_GLASS),
    ("Agencies", "agencies.list_agencies", Capability.MANAGE_AGENCIES),
    ("People", "people.list_people", Capability.MANAGE_PEOPLE),
    ("Escalation ladder", "escalations.ladder", Capability.CONFIGURE_LADDER),
    ("Retention", "privacy.retention", Capability.CONFIGURE_RETENTION),
    ("Agreements", "agreements.list_agreements", None),
    ("Audit trail", "audit.list_events", Capability.READ_AUDIT),
    ("Email deliveries", "notifications.operations", Capability.OPERATE_NOTIFICATIONS),
    ("Glossary", "glossary.index", None),
]


def _allowed(user, rule) -> bool:
    """A navigation entry's rule: none, a capability, or a policy function of the person."""
    if rule is None:
        return True
    return can(user, rule) if isinstance(rule, Capability) else rule(user)


def navigation_for(user) -> list[dict]:
    if not user.is_authenticated:
        items = [("Glossary", "glossary.index"), ("Sign in", "auth.sign_in")]
    elif user.membership is None:
        items = [("Glossary", "glossary.index")]
    else:
        items = [(label, endpoint) for label, endpoint, rule in NAVIGATION if _allowed(user, rule)]
    entries = [{"text": label, "href": url_for(endpoint)} for label, endpoint in items]
    matching = [e for e in entries if request.path == e["href"] or request.path.startswith(e["href"] + "/")]
    # Only the closest match is marked, so /concerns/triage lights up "Triage", not "Concerns" too.
    closest = max(matching, key=lambda e: len(e["href"]), default=None)
    for entry in entries:
        entry["active"] = entry is closest
    return entries


def format_date(value: date | datetime | None) -> str:
    """GOV.UK style: 5 January 2026."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(LONDON)
    return f"{value.day} {value:%B %Y}"


def format_datetime(value: datetime | None) -> str:
    """GOV.UK style in London time: 5 January 2026 at 2:30pm."""
    if value is None:
        return ""
    local = value.astimezone(LONDON)
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    return f"{format_date(local)} at {hour}:{local.minute:02d}{suffix}"


def error_summary(form) -> dict:
    """Parameters for govukErrorSummary: each field's first error, linked to the field."""
    errors = []
    for message in form.form_errors:
        errors.append({"text": message, "href": "#main-content"})
    for field in form:
        if field.errors and field.name not in {"csrf_token"}:
            anchor = f"{field.id}-day" if field.type == "DateField" else field.id
            errors.append({"text": field.errors[0], "href": f"#{anchor}"})
    if "csrf_token" in getattr(form, "_fields", {}) and form.csrf_token.errors:
        errors.insert(0, {"text": "The form had expired. Try again.", "href": "#main-content"})
    return {"titleText": "There is a problem", "errorList": errors}


def register(app: Flask) -> None:
    app.add_template_global(error_summary)
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")

    @app.context_processor
    def layout_context():
        if not has_request_context():
            # An email rendered by a worker: no page layout, no signed-in person.
            return {"service_name": app.config["SERVICE_NAME"]}
        # Worked out once per request: form widgets render templates of their own, many per page.
        context = g.get("layout_context")
        if context is None:
            unread = None
            if current_user.is_authenticated:
                unread = g.get("unread_on_page")
                if unread is None:
                    unread = unread_count(current_user)
            context = g.layout_context = {
                "service_name": app.config["SERVICE_NAME"],
                "navigation": navigation_for(current_user),
                "acting": getattr(current_user, "membership", None),
                "unread_notifications": unread,
            }
        return context
