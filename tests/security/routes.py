"""Every route of the application as a URL into the attack tests' world.

A route whose arguments are not known here fails the tests that enumerate the URL map (CSRF,
IDOR, reflected input), so a new route is attacked as soon as it exists.
"""

from __future__ import annotations

from werkzeug.routing import Rule

#: Argument name -> the world's id it takes, on every route that uses it.
ARGUMENTS = {
    "agency_id": "agency", "agreement_id": "agreement", "party_id": "party", "commissioning_id": "commissioning",
    "delivery_id": "delivery", "person_id": "person", "membership_id": "membership", "concern_id": "concern",
    "escalation_id": "escalation", "import_id": "import", "meeting_id": "meeting", "attendee_id": "guest",
    "service_id": "service", "provider_id": "provider", "visit_id": "visit", "adult_id": "adult", "grant_id": "grant",
}
#: Where an argument means something else on one route.
BY_ENDPOINT = {
    ("intelligence.complete_action", "action_id"): "improvement_action",
    ("intelligence.respond_action", "action_id"): "improvement_action",
    ("meetings.action", "action_id"): "meeting_action",
    ("intelligence.edit_item", "item_id"): "item",
    ("intelligence.remove_item", "item_id"): "item",
    ("meetings.amend_minutes", "item_id"): "meeting_item",
    ("meetings.adult_summary", "meeting_id"): "adult_meeting",
    ("meetings.record_summary_shared", "meeting_id"): "adult_meeting",
    ("meetings.record_reply_for", "meeting_id"): "adult_meeting",
    ("agencies.new_service", "agency_id"): "provider",
    # Only a draft agreement is edited or signed.
    ("agreements.edit_agreement", "agreement_id"): "draft_agreement",
    ("agreements.sign_party", "agreement_id"): "draft_agreement",
    ("agreements.sign_party", "party_id"): "draft_party",
    # An escalation about a service has no adult whose view to record.
    ("escalations.adult_view", "escalation_id"): "concern_escalation",
}
#: Arguments that are words, not ids: the world holds them too.
WORDS = {
    ("imports.new_import", "kind"): "import_kind",
    ("imports.download_template", "kind"): "template_kind",
    ("auth.accept_invitation", "token"): "invitation_token",
    ("auth.reset_password", "token"): "reset_token",
}
#: The table each of the world's ids is a row of.
TABLES = {
    "agency": "agency", "provider": "agency", "agreement": "agreement", "party": "agreement_party",
    "draft_agreement": "agreement", "draft_party": "agreement_party",
    "commissioning": "commissioning", "delivery": "email_delivery", "person": "user_account", "membership": "membership",
    "concern": "concern", "escalation": "escalation", "concern_escalation": "escalation", "import": "import_batch",
    "meeting": "meeting", "adult_meeting": "meeting", "guest": "attendee", "service": "service",
    "visit": "monitoring_visit", "improvement_action": "improvement_action", "meeting_action": "meeting_action",
    "item": "intelligence_item", "secret_item": "intelligence_item", "meeting_item": "agenda_item",
    "adult": "adult", "grant": "break_glass_grant",
}
#: Objects named in the query string rather than the path: (path, parameter, world key).
QUERY_OBJECTS = [
    ("/escalations/new", "concern", "concern"),
    ("/escalations/new", "service", "service"),
    ("/escalations/new", "provider", "provider"),
    ("/escalations/new", "action", "meeting_action"),
    ("/escalations/new", "item", "meeting_item"),
    ("/meetings/new", "concern", "concern"),
    ("/concerns/new", "service", "service"),
]


class UnknownArgument(LookupError):
    pass


def world_key(rule: Rule, argument: str) -> str:
    """The world's id (or word) an argument of this route takes."""
    key = WORDS.get((rule.endpoint, argument)) or BY_ENDPOINT.get((rule.endpoint, argument)) or ARGUMENTS.get(argument)
    if key is None:
        raise UnknownArgument(f"{rule.endpoint}: no world id for <{argument}>; add it to tests/security/routes.py")
    return key


def url(rule: Rule, ids: dict, **overrides) -> str:
    """The route's URL with the world's ids, or the ids given for some arguments."""
    values = {}
    for argument in rule.arguments:
        if argument in overrides:
            values[argument] = overrides[argument]
            continue
        values[argument] = ids[world_key(rule, argument)]
    return rule.build(values, append_unknown=False)[1]


def rules(app, method: str | None = None) -> list[Rule]:
    """Every rule (answering ``method``, if given), but the static files."""
    return sorted(
        (rule for rule in app.url_map.iter_rules() if (method is None or method in rule.methods) and rule.endpoint != "static"),
        key=lambda rule: (rule.rule, rule.endpoint),
    )
