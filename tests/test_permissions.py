"""The permission matrix: every role against every page of the portal.

Expected answers are written out here by hand, not computed from the policy module, so a change
to the policy that opens or closes a page makes this test fail. A page added to the application
without a row here fails ``test_every_route_is_in_the_matrix``.
"""

from __future__ import annotations

import pytest

from tests.permissions_world import (
    FORBIDDEN,
    MISSING,
    OK,
    REDIRECT,
    ROLES,
    TO_SIGN_IN,
    build_matrix_world,
    every_route_and_method,
    module_world,
    rows_route_and_method,
    status,
)

#: Who asks: each role in the area, an administrator of another area, and nobody signed in.
VIEWERS = ROLES + ["OTHER_AREA_ADMIN", "ANONYMOUS"]

world_connection, db_session, world = module_world(build_matrix_world)


def everyone(status=OK, anonymous=TO_SIGN_IN):
    return {**{viewer: status for viewer in VIEWERS}, "ANONYMOUS": anonymous}


def admin_only(admin=OK, other_area=MISSING):
    """Administration pages: 403 for other roles; another area's administrator gets 404 for objects."""
    return {**{role: FORBIDDEN for role in ROLES}, "ADMINISTRATOR": admin, "OTHER_AREA_ADMIN": other_area, "ANONYMOUS": TO_SIGN_IN}


NOT_ADMIN = {**{role: OK for role in ROLES}, "ADMINISTRATOR": FORBIDDEN, "OTHER_AREA_ADMIN": FORBIDDEN, "ANONYMOUS": TO_SIGN_IN}
#: The agreement's parties are the council, the regulator and the Board.
AGREEMENT_PARTIES = {
    "ADMINISTRATOR": OK, "SAFEGUARDING_LEAD": OK, "COMMISSIONER": MISSING, "PROVIDER_STAFF": MISSING,
    "PROVIDER_MANAGER": MISSING, "INSPECTOR": OK, "SAB_MEMBER": MISSING, "SAB_CHAIR": OK,
    "OTHER_AREA_ADMIN": MISSING, "ANONYMOUS": TO_SIGN_IN,
}

#: The concern was raised by the provider's staff about its service, which the council commissions.
CONCERN_READERS = {
    "ADMINISTRATOR": MISSING, "SAFEGUARDING_LEAD": OK, "COMMISSIONER": MISSING, "PROVIDER_STAFF": OK,
    "PROVIDER_MANAGER": OK, "INSPECTOR": OK, "SAB_MEMBER": MISSING, "SAB_CHAIR": MISSING,
    "OTHER_AREA_ADMIN": MISSING, "ANONYMOUS": TO_SIGN_IN,
}

#: Case work on the concern: only the area's safeguarding lead. Those who can see the concern but
#: not work on it get 403; those who cannot see it at all get 404, so its existence does not leak.
LEAD_ONLY = {**CONCERN_READERS, "SAFEGUARDING_LEAD": OK, "PROVIDER_STAFF": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN, "INSPECTOR": FORBIDDEN}
#: Overriding a refusal: the lead, or a manager of the agency that raised the concern.
OVERRIDERS = {**LEAD_ONLY, "PROVIDER_MANAGER": OK}
#: Raising a concern: providers and partners who raise, not administrators or Board members.
RAISERS = {
    **{role: OK for role in ROLES}, "ADMINISTRATOR": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN,
    "OTHER_AREA_ADMIN": FORBIDDEN, "ANONYMOUS": TO_SIGN_IN,
}
#: Pages only the area's safeguarding leads use.
LEADS = {**{viewer: FORBIDDEN for viewer in VIEWERS}, "SAFEGUARDING_LEAD": OK, "ANONYMOUS": TO_SIGN_IN}

#: (method, URL pattern, expected answer per viewer). Patterns use the world's ids.
MATRIX = [
    ("GET", "/", {**everyone(REDIRECT), "ANONYMOUS": OK}),
    ("GET", "/glossary", everyone(OK, anonymous=OK)),
    ("GET", "/accessibility", everyone(OK, anonymous=OK)),
    ("GET", "/privacy", everyone(OK, anonymous=OK)),
    ("GET", "/home", everyone(OK)),
    ("GET", "/sign-in", {**everyone(REDIRECT), "ANONYMOUS": OK}),
    # An empty sign-in form comes back with its errors; someone signed in goes home.
    ("POST", "/sign-in", {**everyone(REDIRECT), "ANONYMOUS": OK}),
    ("GET", "/sign-in/security-code", everyone(REDIRECT, anonymous=REDIRECT)),
    # Nobody is half-way through signing in: back to the sign-in page.
    ("POST", "/sign-in/security-code", everyone(REDIRECT, anonymous=REDIRECT)),
    ("POST", "/sign-out", everyone(REDIRECT, anonymous=REDIRECT)),
    ("GET", "/choose-agency", everyone(OK)),
    ("POST", "/choose-agency", everyone(OK)),
    ("GET", "/invitation/not-a-real-token", everyone(MISSING, anonymous=MISSING)),
    ("POST", "/invitation/not-a-real-token", everyone(MISSING, anonymous=MISSING)),
    ("GET", "/account", everyone(OK)),
    ("GET", "/account/password", everyone(OK)),
    ("GET", "/account/two-factor", everyone(OK)),
    ("GET", "/account/two-factor/turn-off", everyone(REDIRECT)),
    # Empty forms come back with their errors; nobody here has two-factor sign-in to turn off.
    ("POST", "/account/password", everyone(OK)),
    ("POST", "/account/two-factor", everyone(OK)),
    ("POST", "/account/two-factor/turn-off", everyone(REDIRECT)),
    ("GET", "/agency", NOT_ADMIN),
    ("GET", "/admin/agencies", admin_only(other_area=OK)),
    ("GET", "/admin/agencies/new", admin_only(other_area=OK)),
    ("POST", "/admin/agencies/new", admin_only(other_area=OK)),
    ("GET", "/admin/agencies/{agency}", admin_only()),
    ("GET", "/admin/agencies/{agency}/edit", admin_only()),
    # Forms posted empty come back with their errors and change nothing.
    ("POST", "/admin/agencies/{agency}/edit", admin_only()),
    ("GET", "/admin/agencies/{provider}/services/new", admin_only()),
    ("POST", "/admin/agencies/{provider}/services/new", admin_only()),
    ("GET", "/admin/services/{service}", admin_only()),
    ("GET", "/admin/services/{service}/edit", admin_only()),
    ("GET", "/admin/services/{service}/commissioners/new", admin_only()),
    ("GET", "/admin/commissioning/{commissioning}/end", admin_only()),
    ("POST", "/admin/services/{service}/edit", admin_only()),
    ("POST", "/admin/services/{service}/commissioners/new", admin_only()),
    ("POST", "/admin/commissioning/{commissioning}/end", admin_only()),
    ("GET", "/admin/people", admin_only(other_area=OK)),
    ("GET", "/admin/people/invite", admin_only(other_area=OK)),
    ("POST", "/admin/people/invite", admin_only(other_area=OK)),
    ("GET", "/admin/people/{person}", admin_only()),
    ("GET", "/admin/people/{person}/edit", admin_only()),
    ("GET", "/admin/people/{person}/roles/new", admin_only()),
    ("POST", "/admin/people/{person}/edit", admin_only()),
    ("POST", "/admin/people/{person}/roles/new", admin_only()),
    ("POST", "/admin/people/{person}/invitation", admin_only(admin=REDIRECT)),
    ("POST", "/admin/people/{person}/two-factor/reset", admin_only(admin=REDIRECT)),
    ("POST", "/admin/people/{person}/roles/{membership}/end", admin_only(admin=REDIRECT)),
    ("POST", "/admin/people/{person}/active", admin_only(admin=REDIRECT)),
    ("GET", "/agreements", everyone(OK)),
    ("GET", "/agreements/{agreement}", AGREEMENT_PARTIES),
    ("GET", "/admin/agreements/new", admin_only(other_area=OK)),
    ("GET", "/admin/agreements/{agreement}/edit", admin_only(admin=REDIRECT)),
    ("GET", "/admin/agreements/{agreement}/parties/{party}/sign", admin_only(admin=REDIRECT)),
    ("GET", "/admin/agreements/{agreement}/revoke", admin_only()),
    # The agreement is signed by every party: it can no longer change or be signed again (back to
    # it); revoking it needs a reason.
    ("POST", "/admin/agreements/new", admin_only(other_area=OK)),
    ("POST", "/admin/agreements/{agreement}/edit", admin_only(admin=REDIRECT)),
    ("POST", "/admin/agreements/{agreement}/parties/{party}/sign", admin_only(admin=REDIRECT)),
    ("POST", "/admin/agreements/{agreement}/revoke", admin_only()),
    ("GET", "/admin/audit", admin_only(other_area=OK)),
    ("GET", "/concerns/{concern}", CONCERN_READERS),
    ("POST", "/concerns/{concern}/comments", CONCERN_READERS),
    ("GET", "/concerns/{concern}/triage", LEAD_ONLY),
    ("GET", "/concerns/{concern}/assign", LEAD_ONLY),
    ("GET", "/concerns/{concern}/start", LEAD_ONLY),
    ("GET", "/concerns/{concern}/msp", LEAD_ONLY),
    ("GET", "/concerns/{concern}/outcomes/new", LEAD_ONLY),
    ("GET", "/concerns/{concern}/advocate", LEAD_ONLY),
    ("GET", "/concerns/{concern}/adult", LEAD_ONLY),
    ("POST", "/concerns/{concern}/adult/link", LEAD_ONLY),
    ("GET", "/concerns/{concern}/consent", LEAD_ONLY),
    ("GET", "/concerns/{concern}/override", OVERRIDERS),
    ("GET", "/concerns/{concern}/close", LEAD_ONLY),
    ("GET", "/concerns/{concern}/reopen", LEAD_ONLY),
    # The same, posted empty: the lead gets the form back with its errors (starting work, closing
    # and reopening are refused on the page: the concern is not triaged yet), and nothing changes;
    # except the MSP record and the adult's details, whose every field is optional: the form starts
    # from what is recorded, so posting it saves that again and goes back to the concern.
    ("POST", "/concerns/{concern}/triage", LEAD_ONLY),
    ("POST", "/concerns/{concern}/assign", LEAD_ONLY),
    ("POST", "/concerns/{concern}/start", LEAD_ONLY),
    ("POST", "/concerns/{concern}/msp", {**LEAD_ONLY, "SAFEGUARDING_LEAD": REDIRECT}),
    ("POST", "/concerns/{concern}/outcomes/new", LEAD_ONLY),
    ("POST", "/concerns/{concern}/advocate", LEAD_ONLY),
    ("POST", "/concerns/{concern}/adult", {**LEAD_ONLY, "SAFEGUARDING_LEAD": REDIRECT}),
    ("POST", "/concerns/{concern}/consent", LEAD_ONLY),
    ("POST", "/concerns/{concern}/override", OVERRIDERS),
    ("POST", "/concerns/{concern}/close", LEAD_ONLY),
    ("POST", "/concerns/{concern}/reopen", LEAD_ONLY),
    ("GET", "/concerns/overrides", LEADS),
    ("GET", "/concerns/new", RAISERS),
    ("POST", "/concerns/new", RAISERS),
    ("GET", "/concerns", everyone(OK)),
    ("GET", "/concerns/organisation", everyone(OK)),
    ("GET", "/concerns/search", everyone(OK)),
    ("GET", "/concerns/triage", LEADS),
    ("GET", "/report-a-concern", everyone(OK, anonymous=OK)),
    ("POST", "/report-a-concern", everyone(OK, anonymous=OK)),
    ("GET", "/report-a-concern/sent", everyone(REDIRECT, anonymous=REDIRECT)),
    ("GET", "/notifications", everyone(OK)),
    ("POST", "/notifications/read", everyone(REDIRECT)),
    ("GET", "/notifications/preferences", everyone(OK)),
    ("POST", "/notifications/preferences", everyone(OK)),
    ("GET", "/admin/notifications", admin_only(other_area=OK)),
    ("POST", "/admin/notifications/{delivery}/resend", admin_only(admin=REDIRECT)),
    # intelligence: profiles, records and standards (portal/intelligence/blueprint.py)
    # The ICB commissioner neither commissions the service nor has an agreement, so it is 404 to them;
    # those who see the service but may not do a thing get 403. Nobody here may record a visit: only
    # the council commissions the service, and the world has no council commissioner.
    ("GET", "/providers", {**everyone(FORBIDDEN), "SAFEGUARDING_LEAD": OK, "COMMISSIONER": OK, "PROVIDER_MANAGER": OK, "INSPECTOR": OK, "SAB_MEMBER": OK, "SAB_CHAIR": OK}),
    ("GET", "/providers/{provider}", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK, "PROVIDER_MANAGER": OK, "INSPECTOR": OK, "SAB_MEMBER": OK, "SAB_CHAIR": OK}),
    ("GET", "/services/{service}", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK, "PROVIDER_MANAGER": OK, "INSPECTOR": OK, "SAB_MEMBER": OK, "SAB_CHAIR": OK}),
    ("GET", "/services/{service}/items/new", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK, "INSPECTOR": OK, "PROVIDER_MANAGER": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("POST", "/services/{service}/items/new", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK, "INSPECTOR": OK, "PROVIDER_MANAGER": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("GET", "/items/{item}/edit", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK, "INSPECTOR": OK, "PROVIDER_MANAGER": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("GET", "/items/{secret_item}/edit", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK, "INSPECTOR": OK}),
    ("GET", "/items/{item}/remove", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK, "INSPECTOR": OK, "PROVIDER_MANAGER": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("GET", "/items/{secret_item}/remove", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK, "INSPECTOR": OK}),
    # Changing or removing an item, posted empty: the form comes back with its errors.
    ("POST", "/items/{item}/edit", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK, "INSPECTOR": OK, "PROVIDER_MANAGER": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("POST", "/items/{item}/remove", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK, "INSPECTOR": OK, "PROVIDER_MANAGER": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("GET", "/services/{service}/inspections/new", {**everyone(MISSING), "INSPECTOR": OK, "SAFEGUARDING_LEAD": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("GET", "/services/{service}/visits/new", {**everyone(MISSING), "SAFEGUARDING_LEAD": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN, "INSPECTOR": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("POST", "/services/{service}/inspections/new", {**everyone(MISSING), "INSPECTOR": OK, "SAFEGUARDING_LEAD": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("POST", "/services/{service}/visits/new", {**everyone(MISSING), "SAFEGUARDING_LEAD": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN, "INSPECTOR": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("GET", "/visits/{visit}", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK, "PROVIDER_MANAGER": OK, "INSPECTOR": OK, "SAB_MEMBER": OK, "SAB_CHAIR": OK}),
    ("GET", "/visits/{visit}/actions/new", {**everyone(MISSING), "SAFEGUARDING_LEAD": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN, "INSPECTOR": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("GET", "/actions/{action}/respond", {**everyone(MISSING), "PROVIDER_MANAGER": OK, "SAFEGUARDING_LEAD": FORBIDDEN, "INSPECTOR": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("POST", "/visits/{visit}/actions/new", {**everyone(MISSING), "SAFEGUARDING_LEAD": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN, "INSPECTOR": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("POST", "/actions/{action}/respond", {**everyone(MISSING), "PROVIDER_MANAGER": OK, "SAFEGUARDING_LEAD": FORBIDDEN, "INSPECTOR": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("POST", "/actions/{action}/complete", {**everyone(MISSING), "SAFEGUARDING_LEAD": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN, "INSPECTOR": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("GET", "/intelligence/risk-rules", {**everyone(FORBIDDEN), "SAFEGUARDING_LEAD": OK, "COMMISSIONER": OK, "PROVIDER_MANAGER": OK, "INSPECTOR": OK, "SAB_MEMBER": OK, "SAB_CHAIR": OK}),
    ("GET", "/admin/quality-standards", admin_only(other_area=OK)),
    ("POST", "/admin/quality-standards", admin_only(other_area=OK)),
    # intelligence: risk register (portal/intelligence/register/blueprint.py)
    # The register and its export: every role that views intelligence, Board and provider managers included.
    ("GET", "/register", (REGISTER_READERS := {
        "ADMINISTRATOR": FORBIDDEN, "SAFEGUARDING_LEAD": OK, "COMMISSIONER": OK, "PROVIDER_STAFF": FORBIDDEN,
        "PROVIDER_MANAGER": OK, "INSPECTOR": OK, "SAB_MEMBER": OK, "SAB_CHAIR": OK,
        "OTHER_AREA_ADMIN": FORBIDDEN, "ANONYMOUS": TO_SIGN_IN,
    })),
    ("GET", "/register.csv", REGISTER_READERS),
    # A register entry: 404 to those who may not see the service (the ICB commissioner neither
    # commissions it nor shares an agreement), 403 to those who see it but may not name its owner.
    # Posting an empty form shows the lead the form again with its errors, and saves nothing.
    ("GET", "/services/{service}/register-entry", (REGISTER_ENTRY := {
        "ADMINISTRATOR": MISSING, "SAFEGUARDING_LEAD": OK, "COMMISSIONER": MISSING, "PROVIDER_STAFF": MISSING,
        "PROVIDER_MANAGER": FORBIDDEN, "INSPECTOR": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN,
        "OTHER_AREA_ADMIN": MISSING, "ANONYMOUS": TO_SIGN_IN,
    })),
    ("POST", "/services/{service}/register-entry", REGISTER_ENTRY),
    # intelligence: imports (portal/intelligence/imports/blueprint.py)
    ("GET", "/imports", {**everyone(FORBIDDEN), "COMMISSIONER": OK, "INSPECTOR": OK, "SAFEGUARDING_LEAD": OK}),
    ("GET", "/imports/new/regulator-ratings", {**everyone(FORBIDDEN), "COMMISSIONER": OK, "INSPECTOR": OK}),
    ("POST", "/imports/new/regulator-ratings", {**everyone(FORBIDDEN), "COMMISSIONER": OK, "INSPECTOR": OK}),
    ("GET", "/imports/new/monitoring-visits", {**everyone(FORBIDDEN), "COMMISSIONER": OK}),
    ("POST", "/imports/new/monitoring-visits", {**everyone(FORBIDDEN), "COMMISSIONER": OK}),
    ("GET", "/imports/new/items", {**everyone(FORBIDDEN), "COMMISSIONER": OK, "INSPECTOR": OK, "SAFEGUARDING_LEAD": OK}),
    ("POST", "/imports/new/items", {**everyone(FORBIDDEN), "COMMISSIONER": OK, "INSPECTOR": OK, "SAFEGUARDING_LEAD": OK}),
    ("GET", "/imports/templates/monitoring-visits.csv", {**everyone(FORBIDDEN), "COMMISSIONER": OK}),
    ("GET", "/imports/templates/items.csv", {**everyone(FORBIDDEN), "COMMISSIONER": OK, "INSPECTOR": OK, "SAFEGUARDING_LEAD": OK}),
    ("GET", "/imports/{import}", {**everyone(MISSING), "INSPECTOR": OK}),
    ("GET", "/imports/{import}/progress.json", {**everyone(MISSING), "INSPECTOR": OK}),
    ("POST", "/imports/{import}/cancel", {**everyone(MISSING), "INSPECTOR": REDIRECT}),
    ("POST", "/imports/{import}/confirm", {**everyone(MISSING), "INSPECTOR": REDIRECT}),
    # meetings: scheduling, invitations and replies (portal/meetings/views.py)
    # The quality meeting: organised and chaired by the commissioner, minuted by the lead, the provider's
    # manager and the Board's chair invited. Those invited see it; only its organiser and chair manage it
    # (403 to the other invitees, 404 to everyone else). Administrators hold no meetings capability (403).
    # Empty posts come back as the page with its errors (200) and change nothing.
    ("GET", "/meetings", NOT_ADMIN),
    ("GET", "/meetings/new", (SCHEDULERS := {
        **everyone(FORBIDDEN), "SAFEGUARDING_LEAD": OK, "COMMISSIONER": OK, "SAB_CHAIR": OK,
    })),
    ("POST", "/meetings/new", SCHEDULERS),
    ("GET", "/meetings/{meeting}", (MEETING_INVITEES := {
        **everyone(MISSING), "ADMINISTRATOR": FORBIDDEN, "OTHER_AREA_ADMIN": FORBIDDEN,
        "COMMISSIONER": OK, "SAFEGUARDING_LEAD": OK, "PROVIDER_MANAGER": OK, "SAB_CHAIR": OK,
    })),
    ("POST", "/meetings/{meeting}/reply", MEETING_INVITEES),
    ("GET", "/meetings/{meeting}/edit", (MEETING_MANAGERS := {
        **MEETING_INVITEES, "SAFEGUARDING_LEAD": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN,
    })),
    # An empty change, agenda item or invitation comes back with its errors.
    ("POST", "/meetings/{meeting}/edit", MEETING_MANAGERS),
    ("POST", "/meetings/{meeting}/agenda", MEETING_MANAGERS),
    ("POST", "/meetings/{meeting}/invitees", MEETING_MANAGERS),
    ("GET", "/meetings/{meeting}/agenda", MEETING_MANAGERS),
    ("GET", "/meetings/{meeting}/invitees", MEETING_MANAGERS),
    ("GET", "/meetings/{meeting}/cancel", MEETING_MANAGERS),
    ("POST", "/meetings/{meeting}/cancel", MEETING_MANAGERS),
    ("GET", "/meetings/{meeting}/held", MEETING_MANAGERS),
    ("POST", "/meetings/{meeting}/held", MEETING_MANAGERS),
    # The meeting about the adult: only the lead who organises it sees it, and records the guest's reply.
    ("GET", "/meetings/{adult_meeting}", (ADULT_MEETING_LEAD := {
        **everyone(MISSING), "ADMINISTRATOR": FORBIDDEN, "OTHER_AREA_ADMIN": FORBIDDEN, "SAFEGUARDING_LEAD": OK,
    })),
    ("GET", "/meetings/{adult_meeting}/invitees/{guest}/reply", ADULT_MEETING_LEAD),
    ("POST", "/meetings/{adult_meeting}/invitees/{guest}/reply", ADULT_MEETING_LEAD),
    # meetings: calendar file (portal/meetings/calendar_views.py)
    ("GET", "/meetings/{meeting}/calendar.ics", {**everyone(MISSING), "COMMISSIONER": OK, "SAFEGUARDING_LEAD": OK, "PROVIDER_MANAGER": OK, "SAB_CHAIR": OK}),
    ("GET", "/meetings/{adult_meeting}/calendar.ics", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK}),
    # meetings: agenda pack (portal/meetings/pack_views.py)
    # The quality meeting's pack: those invited (the ICB commissioner organises and chairs it) see
    # the page, "not built yet" until someone builds it; only the organiser and chair may build it.
    ("GET", "/meetings/{meeting}/pack", {**everyone(MISSING), "COMMISSIONER": OK, "SAFEGUARDING_LEAD": OK, "PROVIDER_MANAGER": OK, "SAB_CHAIR": OK}),
    ("POST", "/meetings/{meeting}/pack/build", {**everyone(MISSING), "COMMISSIONER": REDIRECT, "SAFEGUARDING_LEAD": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN}),
    ("GET", "/meetings/{adult_meeting}/pack", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK}),
    ("POST", "/meetings/{adult_meeting}/pack/build", {**everyone(MISSING), "SAFEGUARDING_LEAD": REDIRECT}),
    # meetings: minutes and actions (portal/meetings/minutes_views.py)
    # The quality meeting is seen by its chair (the ICB's commissioner), its minute-taker (the lead)
    # and its invitees (the provider's manager, the Board's chair). The chair and the minute-taker
    # record; the meeting is not held, so the chair's approval is refused (back to the minutes), and
    # there is nothing approved to amend. The agenda item is about the provider, which the ICB's
    # commissioner may not see: its amendment page and its action are 404 to them.
    ("GET", "/meetings/{meeting}/minutes", (MEETING_SEEN := {
        **everyone(MISSING), "COMMISSIONER": OK, "SAFEGUARDING_LEAD": OK, "PROVIDER_MANAGER": OK, "SAB_CHAIR": OK,
    })),
    ("POST", "/meetings/{meeting}/minutes", (MINUTES_RECORDED := {
        **MEETING_SEEN, "COMMISSIONER": REDIRECT, "SAFEGUARDING_LEAD": REDIRECT, "PROVIDER_MANAGER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN,
    })),
    ("POST", "/meetings/{meeting}/minutes/approve", {**MINUTES_RECORDED, "SAFEGUARDING_LEAD": FORBIDDEN}),
    ("GET", "/meetings/{meeting}/items/{meeting_item}/amend", {**MINUTES_RECORDED, "COMMISSIONER": MISSING}),
    ("POST", "/meetings/{meeting}/items/{meeting_item}/amend", {**MINUTES_RECORDED, "COMMISSIONER": MISSING}),
    ("GET", "/meetings/{meeting}/actions/new", {**MINUTES_RECORDED, "COMMISSIONER": OK, "SAFEGUARDING_LEAD": OK}),
    ("POST", "/meetings/{meeting}/actions/new", {**MINUTES_RECORDED, "COMMISSIONER": OK, "SAFEGUARDING_LEAD": OK}),
    ("GET", "/meeting-actions", {**everyone(OK), "ADMINISTRATOR": FORBIDDEN, "OTHER_AREA_ADMIN": FORBIDDEN}),
    ("GET", "/meeting-actions/{meeting_action}", {**MEETING_SEEN, "COMMISSIONER": MISSING}),
    ("POST", "/meeting-actions/{meeting_action}", {**MEETING_SEEN, "COMMISSIONER": MISSING, "SAB_CHAIR": FORBIDDEN}),
    ("GET", "/meetings/{adult_meeting}/minutes", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK}),
    # meetings: summary for the adult (portal/meetings/summary_views.py)
    # Only the lead is invited to the adult's meeting, and writes the summary: the rest do not see the
    # meeting. Posting an empty summary shows the form again with its error; recording a share before
    # a summary is saved goes back to the summary page.
    ("GET", "/meetings/{adult_meeting}/summary", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK}),
    ("POST", "/meetings/{adult_meeting}/summary", {**everyone(MISSING), "SAFEGUARDING_LEAD": OK}),
    ("GET", "/meetings/{adult_meeting}/summary/shared", {**everyone(MISSING), "SAFEGUARDING_LEAD": REDIRECT}),
    ("POST", "/meetings/{adult_meeting}/summary/shared", {**everyone(MISSING), "SAFEGUARDING_LEAD": REDIRECT}),
    # A provider quality meeting is not about an adult: no summary, even for those invited.
    ("GET", "/meetings/{meeting}/summary", everyone(MISSING)),
    # escalations: raising, each escalation's page and moves (portal/escalations/views.py)
    # MATRIX-PART-A (rows for views.py; keep this line)
    # The list and raising a professional disagreement: every role that raises escalations, the Board
    # included; administrators hold no escalation capability (403). An empty raise form comes back
    # with its errors (200) and raises nothing.
    ("GET", "/escalations", NOT_ADMIN),
    ("GET", "/escalations/new", NOT_ADMIN),
    ("POST", "/escalations/new", NOT_ADMIN),
    # Escalating something one cannot see is a 404. The concern: its readers (the lead, the staff who
    # raised it, their manager, the inspector since it is about a service).
    ("GET", "/escalations/new?concern={concern}", {**CONCERN_READERS, "ADMINISTRATOR": FORBIDDEN, "OTHER_AREA_ADMIN": FORBIDDEN}),
    # The service and its provider: those who see its intelligence (not the ICB's commissioner, who
    # neither commissions it nor shares an agreement; not provider staff).
    ("GET", "/escalations/new?service={service}", (ESCALATE_PROVIDER := {
        **everyone(MISSING), "ADMINISTRATOR": FORBIDDEN, "OTHER_AREA_ADMIN": FORBIDDEN,
        "SAFEGUARDING_LEAD": OK, "PROVIDER_MANAGER": OK, "INSPECTOR": OK, "SAB_MEMBER": OK, "SAB_CHAIR": OK,
    })),
    ("GET", "/escalations/new?provider={provider}", ESCALATE_PROVIDER),
    # The meeting action: those who see it (its item is about the provider, hidden from the ICB's
    # commissioner). It is not overdue: the page opens, and posting it would say so.
    ("GET", "/escalations/new?action={meeting_action}", {
        **everyone(MISSING), "ADMINISTRATOR": FORBIDDEN, "OTHER_AREA_ADMIN": FORBIDDEN,
        "SAFEGUARDING_LEAD": OK, "PROVIDER_MANAGER": OK, "SAB_CHAIR": OK,
    }),
    # A decision under the agenda item: only those who read its minutes, a draft that only the lead
    # (the minute-taker) reads here, since the item is about a provider the ICB's commissioner may not see.
    ("GET", "/escalations/new?item={meeting_item}", {
        **everyone(MISSING), "ADMINISTRATOR": FORBIDDEN, "OTHER_AREA_ADMIN": FORBIDDEN, "SAFEGUARDING_LEAD": OK,
    }),
    # {escalation}: the lead raised it (the raising side at stage 1); the provider's staff and manager
    # receive it (stage 1 is practitioner to practitioner); the Board sees every escalation in its area
    # but makes no move; the ICB's commissioner and the inspector are party to none of it (404).
    ("GET", "/escalations/{escalation}", (SEES_ESCALATION := {
        **everyone(MISSING), "ADMINISTRATOR": FORBIDDEN, "OTHER_AREA_ADMIN": FORBIDDEN,
        "SAFEGUARDING_LEAD": OK, "PROVIDER_STAFF": OK, "PROVIDER_MANAGER": OK, "SAB_MEMBER": OK, "SAB_CHAIR": OK,
    })),
    # The receiving side acknowledges and responds (the respond page opens, saying to acknowledge
    # first; an empty response comes back with its error).
    ("GET", "/escalations/{escalation}/respond", (ANSWERS_ESCALATION := {
        **SEES_ESCALATION, "SAFEGUARDING_LEAD": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN,
    })),
    ("POST", "/escalations/{escalation}/respond", ANSWERS_ESCALATION),
    ("POST", "/escalations/{escalation}/acknowledge", {**ANSWERS_ESCALATION, "PROVIDER_STAFF": REDIRECT, "PROVIDER_MANAGER": REDIRECT}),
    # Either side resolves (refused on the page until there is a response); the Board does not decide.
    ("GET", "/escalations/{escalation}/resolve", (RESOLVES_ESCALATION := {
        **SEES_ESCALATION, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN,
    })),
    ("POST", "/escalations/{escalation}/resolve", RESOLVES_ESCALATION),
    # The raising side escalates further (refused on the page before a response or a breach) or withdraws.
    ("GET", "/escalations/{escalation}/escalate", (RAISER_OF_ESCALATION := {
        **SEES_ESCALATION, "PROVIDER_STAFF": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN, "SAB_MEMBER": FORBIDDEN,
        "SAB_CHAIR": FORBIDDEN,
    })),
    ("POST", "/escalations/{escalation}/escalate", RAISER_OF_ESCALATION),
    ("GET", "/escalations/{escalation}/withdraw", RAISER_OF_ESCALATION),
    ("POST", "/escalations/{escalation}/withdraw", RAISER_OF_ESCALATION),
    # About a service, not an adult: there is no adult's view to record. The Board's chair mediates
    # only at the last stage.
    ("GET", "/escalations/{escalation}/adult-view", (SEES_BUT_MAY_NOT := {
        **SEES_ESCALATION, "SAFEGUARDING_LEAD": FORBIDDEN, "PROVIDER_STAFF": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN,
        "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN,
    })),
    ("POST", "/escalations/{escalation}/adult-view", SEES_BUT_MAY_NOT),
    ("GET", "/escalations/{escalation}/mediation-note", SEES_BUT_MAY_NOT),
    ("POST", "/escalations/{escalation}/mediation-note", SEES_BUT_MAY_NOT),
    # {concern_escalation}: the provider's manager raised it; the council's lead receives it; the Board
    # sees it. The staff who raised the concern are not party to the escalation (404).
    ("GET", "/escalations/{concern_escalation}", (SEES_CONCERN_ESCALATION := {
        **everyone(MISSING), "ADMINISTRATOR": FORBIDDEN, "OTHER_AREA_ADMIN": FORBIDDEN,
        "SAFEGUARDING_LEAD": OK, "PROVIDER_MANAGER": OK, "SAB_MEMBER": OK, "SAB_CHAIR": OK,
    })),
    ("GET", "/escalations/{concern_escalation}/respond", (ANSWERS_CONCERN_ESCALATION := {
        **SEES_CONCERN_ESCALATION, "PROVIDER_MANAGER": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN,
    })),
    ("POST", "/escalations/{concern_escalation}/acknowledge", {**ANSWERS_CONCERN_ESCALATION, "SAFEGUARDING_LEAD": REDIRECT}),
    ("GET", "/escalations/{concern_escalation}/resolve", {
        **SEES_CONCERN_ESCALATION, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN,
    }),
    ("GET", "/escalations/{concern_escalation}/escalate", (RAISER_OF_CONCERN_ESCALATION := {
        **SEES_CONCERN_ESCALATION, "SAFEGUARDING_LEAD": FORBIDDEN, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN,
    })),
    ("GET", "/escalations/{concern_escalation}/withdraw", RAISER_OF_CONCERN_ESCALATION),
    # The adult's view: either side, both of which see the adult's details (the council; the agency
    # that raised the concern), never the Board. An empty view comes back with its errors.
    ("GET", "/escalations/{concern_escalation}/adult-view", (RECORDS_ADULT_VIEW := {
        **SEES_CONCERN_ESCALATION, "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN,
    })),
    ("POST", "/escalations/{concern_escalation}/adult-view", RECORDS_ADULT_VIEW),
    ("GET", "/escalations/{concern_escalation}/mediation-note", {
        **SEES_CONCERN_ESCALATION, "SAFEGUARDING_LEAD": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN,
        "SAB_MEMBER": FORBIDDEN, "SAB_CHAIR": FORBIDDEN,
    }),
    # escalations: the partnership's ladder (portal/escalations/ladder_views.py)
    # MATRIX-PART-A-LADDER (rows for ladder_views.py; keep this line)
    # The ladder is the partnership's own: its administrators set it (another area's administrator
    # sees and sets theirs, never this one's); nobody else, not even the Board, changes it. An
    # empty form is shown again with its messages, so the administrators' POST answers 200.
    ("GET", "/escalations/ladder", admin_only(other_area=OK)),
    ("POST", "/escalations/ladder", admin_only(other_area=OK)),
    # escalations: the Board's oversight (portal/escalations/oversight_views.py)
    # MATRIX-PART-C (rows for oversight_views.py; keep this line)
    # The Board's oversight page and its CSV of the annual figures: the SAB member and chair alone
    # (every escalation in their area, without adults' details). Everyone else gets 403, the
    # safeguarding lead and the people on either side of the world's escalations included: they
    # see their own escalations on /escalations, not the area's figures.
    ("GET", "/escalations/oversight", (OVERSIGHT_READERS := {
        **everyone(FORBIDDEN), "SAB_MEMBER": OK, "SAB_CHAIR": OK,
    })),
    ("GET", "/escalations/oversight.csv", OVERSIGHT_READERS),
    # reports: MSP and outcome figures (portal/reports/views.py)
    # MATRIX-PART-D (rows for reports/views.py; keep this line)
    # The figures (counts only) are for the area's safeguarding lead (the council's) and the Board: its
    # member (here in the police) and its chair. Everyone else, the administrator and another area's
    # administrator included, is refused; with no period given, both cover the financial year to date.
    ("GET", "/reports/msp", (MSP_REPORT_READERS := {
        **everyone(FORBIDDEN), "SAFEGUARDING_LEAD": OK, "SAB_MEMBER": OK, "SAB_CHAIR": OK,
    })),
    ("GET", "/reports/msp.csv", MSP_REPORT_READERS),
    # sign-on: agencies' identity providers, email-first sign-in (part A)
    # MATRIX-PART-A-SSO (rows for part A's routes; keep this line)
    # The provider's answer comes back to anyone's browser: with no sign-in in progress it is refused
    # (400) for the anonymous; a person already signed in is sent home. The page a provider's
    # end-session sends people back to is open to all.
    ("GET", "/sign-in/callback", everyone(REDIRECT, anonymous=400)),
    ("GET", "/signed-out", everyone(OK, anonymous=OK)),
    # An agency's sign-on settings: the administrator of its area alone (another area's gets 404, so
    # the agency's existence does not leak). An empty form comes back with its errors (200); testing
    # a connection before any is saved goes back to the settings page.
    ("GET", "/admin/agencies/{agency}/sign-on", admin_only()),
    ("POST", "/admin/agencies/{agency}/sign-on", admin_only()),
    ("POST", "/admin/agencies/{agency}/sign-on/test", admin_only(admin=REDIRECT)),
    # sessions, password reset and rate limits (part B)
    # MATRIX-PART-B (rows for part B's routes; keep this line)
    # Asking for a password reset link is open to anyone (the answer never says whether an account
    # exists); an empty form comes back with its error. A link that is not a real one is 404 for all.
    ("GET", "/sign-in/forgot-password", everyone(OK, anonymous=OK)),
    ("POST", "/sign-in/forgot-password", everyone(OK, anonymous=OK)),
    ("GET", "/sign-in/reset-password/not-a-real-token", everyone(MISSING, anonymous=MISSING)),
    ("POST", "/sign-in/reset-password/not-a-real-token", everyone(MISSING, anonymous=MISSING)),
    # personal-data controls: break glass, who viewed an adult, retention (part E)
    # MATRIX-PART-E (rows for part E's routes; keep this line)
    # Break glass on the concern: those who cannot see it get 404; those who see it without the
    # capability (provider staff and manager, the inspector) 403; the council's lead already sees the
    # adult's details and is sent back to the concern (an empty POST too, before any reason is read).
    ("GET", "/concerns/{concern}/break-glass", (BREAKS_GLASS := {
        **CONCERN_READERS, "SAFEGUARDING_LEAD": REDIRECT, "PROVIDER_STAFF": FORBIDDEN, "PROVIDER_MANAGER": FORBIDDEN,
        "INSPECTOR": FORBIDDEN,
    })),
    ("POST", "/concerns/{concern}/break-glass", BREAKS_GLASS),
    # The uses to review: safeguarding leads only. Reviewing one: a use nobody may see answers 404
    # (the world holds none; tests/privacy reviews a real one).
    ("GET", "/privacy/break-glass", LEADS),
    ("GET", "/privacy/break-glass/999999/review", {**everyone(MISSING)}),
    ("POST", "/privacy/break-glass/999999/review", {**everyone(MISSING)}),
    # Who has viewed an adult's record: the area's (council's) leads; anyone else 403; an adult
    # outside the lead's area 404 (tests/privacy opens a real one).
    ("GET", "/adults/999999/access", {**LEADS, "SAFEGUARDING_LEAD": MISSING}),
    # Retention: the area's administrators (another area's sets its own); an empty POST shows its errors.
    ("GET", "/admin/retention", admin_only(other_area=OK)),
    ("POST", "/admin/retention", admin_only(other_area=OK)),
]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_each_role_reaches_exactly_the_pages_it_should(viewer, world, client, act_as):
    if viewer != "ANONYMOUS":
        act_as(world.users[viewer])
    wrong = []
    # Pages first, then the buttons that change things, so nothing a GET checks has been changed.
    for method, pattern, expected in sorted(MATRIX, key=lambda row: row[0] != "GET"):
        url = pattern.format(**world.ids)
        response = client.open(url, method=method)
        if status(response) != expected[viewer]:
            wrong.append(f"{method} {url}: expected {expected[viewer]}, got {status(response)}")
        if method == "POST" and url == "/sign-out" and viewer != "ANONYMOUS":
            act_as(world.users[viewer])
    assert not wrong, f"{viewer} reached the wrong pages:\n" + "\n".join(wrong)


def test_every_route_is_in_the_matrix(app):
    """Every method of every route has a row: a new route, or a new method on a route, fails here."""
    missing = every_route_and_method(app) - rows_route_and_method(app, MATRIX)
    assert not missing, "Routes with no row in the permission matrix:\n" + "\n".join(
        f"{method} {rule}" for rule, method in sorted(missing)
    )


def test_lists_never_show_what_the_detail_page_refuses(world, client, act_as):
    """The agreements list shows the agreement to exactly those who may open it."""
    for viewer in ROLES + ["OTHER_AREA_ADMIN"]:
        act_as(world.users[viewer])
        listed = "Matrix agreement" in client.get("/agreements").text
        may_open = AGREEMENT_PARTIES[viewer] == OK
        assert listed == may_open, viewer


def test_administrators_lists_hold_only_their_own_area(world, client, act_as):
    act_as(world.users["OTHER_AREA_ADMIN"])
    people = client.get("/admin/people").text
    agencies = client.get("/admin/agencies").text
    assert "matrix.example" not in people
    assert "Provider One" not in agencies and "Council</a>" not in agencies
    assert "matrix.example" not in client.get("/admin/notifications").text
    act_as(world.users["ADMINISTRATOR"])
    assert "spare@matrix.example" in client.get("/admin/people").text
    assert "safeguarding_lead@matrix.example" in client.get("/admin/notifications").text
    assert "admin@elsewhere.example" not in client.get("/admin/people").text


def test_audit_trail_of_one_area_is_hidden_from_another(world, client, act_as):
    act_as(world.users["ADMINISTRATOR"])
    client.post("/admin/agencies/new", data={"name": "Secret Care Ltd", "kind": "CARE_PROVIDER"})
    assert "Secret Care Ltd" in client.get("/admin/audit").text
    act_as(world.users["OTHER_AREA_ADMIN"])
    assert "Secret Care Ltd" not in client.get("/admin/audit").text
