"""Every page about one object, against people who differ only in how they stand to it.

The matrix (``tests/test_permissions.py``) asks each role in the area. Here the same objects (the
provider's concern, service, items, visit, meetings, escalations, agreements) are asked by people
in the same roles whose agency stands differently to them: the council itself; another agency
with an information-sharing agreement; agencies commissioning the service with and without one;
another provider and the police in the same area (no relationship); staff of the same provider
who did not raise the concern; and the safeguarding lead of another area. Expected answers are
written by hand. A page whose URL holds an object's id with no row here fails
``test_every_object_route_is_in_the_table``.
"""

from __future__ import annotations

import pytest

from tests.permissions_world import (
    FORBIDDEN,
    MISSING,
    OK,
    REDIRECT,
    RELATIONSHIP_VIEWERS,
    build_relationship_world,
    every_route_and_method,
    module_world,
    rows_route_and_method,
    status,
)

world_connection, db_session, world = module_world(build_relationship_world)


def nobody(status=MISSING, **answers):
    """Every viewer gets ``status``, but those named."""
    return {**{viewer: status for viewer in RELATIONSHIP_VIEWERS}, **answers}


COMMISSIONERS = ("COUNCIL_COMMISSIONER", "SHARING_COMMISSIONER", "JOINT_COMMISSIONER", "UNSHARED_COMMISSIONER")
#: Agencies commissioning the service now (the council, and the two ICBs commissioning it jointly).
COMMISSIONING = ("COUNCIL_COMMISSIONER", "JOINT_COMMISSIONER", "UNSHARED_COMMISSIONER")


def commissioners(status, *, of=COMMISSIONERS, **answers):
    """``status`` for the commissioners named in ``of``, 404 for the rest, but those named."""
    return nobody(**{**{viewer: status for viewer in of}, **answers})


#: Administration: 403 to everyone here, whatever the object, since none of them administers.
ADMIN = nobody(FORBIDDEN)
#: The concern (raised by the provider's staff about its service, no consent recorded): those whose
#: agency commissions the service open it; an agreement alone opens no concern; staff of the
#: provider see only what they raised themselves; the police's designated lead, every concern in
#: the area (its adult's details only under the disclosure rule or by breaking glass).
CONCERN = commissioners(OK, of=COMMISSIONING, POLICE_LEAD=OK)
#: Case work: those who see the concern but may not work on it get 403, the rest 404.
CASEWORK = commissioners(FORBIDDEN, of=COMMISSIONING, POLICE_LEAD=FORBIDDEN)
#: The service's intelligence: commissioning agencies, and the Partner ICB through its agreement.
INTELLIGENCE = commissioners(OK)
#: Only the quality meeting's organiser, chair, minute-taker and invitees open anything in it.
NOT_INVITED = nobody()
#: The lead escalated the service's quality to the provider: at the first stage its staff answer,
#: so the provider's other staff see it and may answer it, acknowledge it and resolve it.
SERVICE_ESCALATION = nobody(OTHER_STAFF=OK)
#: The provider's manager escalated the concern to the council: at the first stage the council's
#: caseworkers answer it, the council's commissioner among them.
CONCERN_ESCALATION = nobody(COUNCIL_COMMISSIONER=OK)

TABLE = [
    # agencies and services (administrators only)
    ("GET", "/admin/agencies/{agency}", ADMIN),
    ("GET", "/admin/agencies/{agency}/edit", ADMIN),
    ("POST", "/admin/agencies/{agency}/edit", ADMIN),
    ("GET", "/admin/agencies/{provider}/services/new", ADMIN),
    ("POST", "/admin/agencies/{provider}/services/new", ADMIN),
    ("GET", "/admin/services/{service}", ADMIN),
    ("GET", "/admin/services/{service}/edit", ADMIN),
    ("POST", "/admin/services/{service}/edit", ADMIN),
    ("GET", "/admin/services/{service}/commissioners/new", ADMIN),
    ("POST", "/admin/services/{service}/commissioners/new", ADMIN),
    ("GET", "/admin/commissioning/{commissioning}/end", ADMIN),
    ("POST", "/admin/commissioning/{commissioning}/end", ADMIN),
    # people
    ("GET", "/admin/people/{person}", ADMIN),
    ("GET", "/admin/people/{person}/edit", ADMIN),
    ("POST", "/admin/people/{person}/edit", ADMIN),
    ("GET", "/admin/people/{person}/roles/new", ADMIN),
    ("POST", "/admin/people/{person}/roles/new", ADMIN),
    ("POST", "/admin/people/{person}/invitation", ADMIN),
    ("POST", "/admin/people/{person}/two-factor/reset", ADMIN),
    ("POST", "/admin/people/{person}/roles/{membership}/end", ADMIN),
    ("POST", "/admin/people/{person}/active", ADMIN),
    ("POST", "/admin/notifications/{delivery}/resend", ADMIN),
    # agreements: the parties open them, nobody else
    ("GET", "/agreements/{agreement}", nobody(COUNCIL_COMMISSIONER=OK)),
    ("GET", "/agreements/{partner_agreement}", commissioners(OK, of=("COUNCIL_COMMISSIONER", "SHARING_COMMISSIONER", "JOINT_COMMISSIONER"))),
    ("GET", "/admin/agreements/{agreement}/edit", ADMIN),
    ("POST", "/admin/agreements/{agreement}/edit", ADMIN),
    ("GET", "/admin/agreements/{agreement}/parties/{party}/sign", ADMIN),
    ("POST", "/admin/agreements/{agreement}/parties/{party}/sign", ADMIN),
    ("GET", "/admin/agreements/{agreement}/revoke", ADMIN),
    ("POST", "/admin/agreements/{agreement}/revoke", ADMIN),
    # concerns
    ("GET", "/concerns/{concern}", CONCERN),
    ("GET", "/concerns/{consented_concern}", CONCERN),
    ("POST", "/concerns/{concern}/comments", CONCERN),
    ("GET", "/concerns/{concern}/triage", CASEWORK),
    ("POST", "/concerns/{concern}/triage", CASEWORK),
    ("GET", "/concerns/{concern}/assign", CASEWORK),
    ("POST", "/concerns/{concern}/assign", CASEWORK),
    ("GET", "/concerns/{concern}/start", CASEWORK),
    ("POST", "/concerns/{concern}/start", CASEWORK),
    ("GET", "/concerns/{concern}/msp", CASEWORK),
    ("POST", "/concerns/{concern}/msp", CASEWORK),
    ("GET", "/concerns/{concern}/outcomes/new", CASEWORK),
    ("POST", "/concerns/{concern}/outcomes/new", CASEWORK),
    ("GET", "/concerns/{concern}/advocate", CASEWORK),
    ("POST", "/concerns/{concern}/advocate", CASEWORK),
    ("GET", "/concerns/{concern}/adult", CASEWORK),
    ("POST", "/concerns/{concern}/adult", CASEWORK),
    ("POST", "/concerns/{concern}/adult/link", CASEWORK),
    ("GET", "/concerns/{concern}/consent", CASEWORK),
    ("POST", "/concerns/{concern}/consent", CASEWORK),
    # Overriding a refusal: the lead, or managers of the agency that raised it (not another provider's).
    ("GET", "/concerns/{concern}/override", CASEWORK),
    ("POST", "/concerns/{concern}/override", CASEWORK),
    ("GET", "/concerns/{concern}/close", CASEWORK),
    ("POST", "/concerns/{concern}/close", CASEWORK),
    ("GET", "/concerns/{concern}/reopen", CASEWORK),
    ("POST", "/concerns/{concern}/reopen", CASEWORK),
    # Another area's concern (from its public form): its own lead alone.
    ("GET", "/concerns/{far_concern}", nobody(OTHER_AREA_LEAD=OK)),
    ("GET", "/concerns/{far_concern}/triage", nobody(OTHER_AREA_LEAD=OK)),
    # provider intelligence
    ("GET", "/providers/{provider}", INTELLIGENCE),
    # Provider Two's service is commissioned by the council: the council, and agencies it shares
    # provider intelligence with, see it; so does its own manager; not the Unshared ICB.
    ("GET", "/providers/{provider_two}", commissioners(OK, of=("COUNCIL_COMMISSIONER", "SHARING_COMMISSIONER", "JOINT_COMMISSIONER"), OTHER_PROVIDER_MANAGER=OK)),
    ("GET", "/providers/{far_provider}", nobody(OTHER_AREA_LEAD=OK)),
    ("GET", "/services/{service}", INTELLIGENCE),
    ("GET", "/services/{far_service}", nobody(OTHER_AREA_LEAD=OK)),
    ("GET", "/services/{service}/items/new", INTELLIGENCE),
    ("POST", "/services/{service}/items/new", INTELLIGENCE),
    ("GET", "/items/{item}/edit", INTELLIGENCE),
    ("GET", "/items/{secret_item}/edit", INTELLIGENCE),
    ("POST", "/items/{item}/edit", INTELLIGENCE),
    ("GET", "/items/{item}/remove", INTELLIGENCE),
    ("POST", "/items/{item}/remove", INTELLIGENCE),
    # Inspections by hand: the regulator's inspectors alone.
    ("GET", "/services/{service}/inspections/new", commissioners(FORBIDDEN)),
    ("POST", "/services/{service}/inspections/new", commissioners(FORBIDDEN)),
    # Contract-monitoring visits: agencies commissioning the service now; not the Partner ICB.
    ("GET", "/services/{service}/visits/new", commissioners(OK, of=COMMISSIONING, SHARING_COMMISSIONER=FORBIDDEN)),
    ("POST", "/services/{service}/visits/new", commissioners(OK, of=COMMISSIONING, SHARING_COMMISSIONER=FORBIDDEN)),
    ("GET", "/visits/{visit}", INTELLIGENCE),
    # The visit's plan: the agency that visited (the council) adds and completes actions; the
    # provider's manager answers them (not another provider's).
    ("GET", "/visits/{visit}/actions/new", commissioners(FORBIDDEN, COUNCIL_COMMISSIONER=OK)),
    ("POST", "/visits/{visit}/actions/new", commissioners(FORBIDDEN, COUNCIL_COMMISSIONER=OK)),
    ("GET", "/actions/{action}/respond", commissioners(FORBIDDEN)),
    ("POST", "/actions/{action}/respond", commissioners(FORBIDDEN)),
    ("POST", "/actions/{action}/complete", commissioners(FORBIDDEN, COUNCIL_COMMISSIONER=REDIRECT)),
    # The register entry: commissioners who see the service (an empty form comes back with its errors).
    ("GET", "/services/{service}/register-entry", INTELLIGENCE),
    ("POST", "/services/{service}/register-entry", INTELLIGENCE),
    # Imports: their uploader's alone.
    ("GET", "/imports/{import}", nobody()),
    ("GET", "/imports/{import}/progress.json", nobody()),
    ("POST", "/imports/{import}/cancel", nobody()),
    ("POST", "/imports/{import}/confirm", nobody()),
    # meetings: nobody here is invited to either meeting
    ("GET", "/meetings/{meeting}", NOT_INVITED),
    ("POST", "/meetings/{meeting}/reply", NOT_INVITED),
    ("GET", "/meetings/{meeting}/edit", NOT_INVITED),
    ("POST", "/meetings/{meeting}/edit", NOT_INVITED),
    ("GET", "/meetings/{meeting}/agenda", NOT_INVITED),
    ("POST", "/meetings/{meeting}/agenda", NOT_INVITED),
    ("GET", "/meetings/{meeting}/invitees", NOT_INVITED),
    ("POST", "/meetings/{meeting}/invitees", NOT_INVITED),
    ("GET", "/meetings/{meeting}/cancel", NOT_INVITED),
    ("POST", "/meetings/{meeting}/cancel", NOT_INVITED),
    ("GET", "/meetings/{meeting}/held", NOT_INVITED),
    ("POST", "/meetings/{meeting}/held", NOT_INVITED),
    ("GET", "/meetings/{meeting}/calendar.ics", NOT_INVITED),
    ("GET", "/meetings/{meeting}/pack", NOT_INVITED),
    ("POST", "/meetings/{meeting}/pack/build", NOT_INVITED),
    ("GET", "/meetings/{meeting}/minutes", NOT_INVITED),
    ("POST", "/meetings/{meeting}/minutes", NOT_INVITED),
    ("POST", "/meetings/{meeting}/minutes/approve", NOT_INVITED),
    ("GET", "/meetings/{meeting}/items/{meeting_item}/amend", NOT_INVITED),
    ("POST", "/meetings/{meeting}/items/{meeting_item}/amend", NOT_INVITED),
    ("GET", "/meetings/{meeting}/actions/new", NOT_INVITED),
    ("POST", "/meetings/{meeting}/actions/new", NOT_INVITED),
    ("GET", "/meeting-actions/{meeting_action}", NOT_INVITED),
    ("POST", "/meeting-actions/{meeting_action}", NOT_INVITED),
    ("GET", "/meetings/{adult_meeting}", NOT_INVITED),
    ("GET", "/meetings/{adult_meeting}/invitees/{guest}/reply", NOT_INVITED),
    ("POST", "/meetings/{adult_meeting}/invitees/{guest}/reply", NOT_INVITED),
    ("GET", "/meetings/{adult_meeting}/summary", NOT_INVITED),
    ("POST", "/meetings/{adult_meeting}/summary", NOT_INVITED),
    ("GET", "/meetings/{adult_meeting}/summary/shared", NOT_INVITED),
    ("POST", "/meetings/{adult_meeting}/summary/shared", NOT_INVITED),
    # escalations: raising one about something is refused (404) to those who may not see it
    ("GET", "/escalations/new?concern={concern}", CONCERN),
    ("GET", "/escalations/new?service={service}", INTELLIGENCE),
    ("GET", "/escalations/new?provider={provider}", INTELLIGENCE),
    ("GET", "/escalations/new?service={far_service}", nobody(OTHER_AREA_LEAD=OK)),
    ("GET", "/escalations/new?action={meeting_action}", NOT_INVITED),
    ("GET", "/escalations/new?item={meeting_item}", NOT_INVITED),
    ("GET", "/escalations/{escalation}", SERVICE_ESCALATION),
    ("GET", "/escalations/{escalation}/respond", SERVICE_ESCALATION),
    ("POST", "/escalations/{escalation}/respond", SERVICE_ESCALATION),
    ("POST", "/escalations/{escalation}/acknowledge", nobody(OTHER_STAFF=REDIRECT)),
    ("GET", "/escalations/{escalation}/resolve", SERVICE_ESCALATION),
    ("POST", "/escalations/{escalation}/resolve", SERVICE_ESCALATION),
    # The raising side alone takes it further or withdraws it; it is about a service, not an adult;
    # the Board's chair alone mediates.
    ("GET", "/escalations/{escalation}/escalate", nobody(OTHER_STAFF=FORBIDDEN)),
    ("POST", "/escalations/{escalation}/escalate", nobody(OTHER_STAFF=FORBIDDEN)),
    ("GET", "/escalations/{escalation}/withdraw", nobody(OTHER_STAFF=FORBIDDEN)),
    ("POST", "/escalations/{escalation}/withdraw", nobody(OTHER_STAFF=FORBIDDEN)),
    ("GET", "/escalations/{escalation}/adult-view", nobody(OTHER_STAFF=FORBIDDEN)),
    ("POST", "/escalations/{escalation}/adult-view", nobody(OTHER_STAFF=FORBIDDEN)),
    ("GET", "/escalations/{escalation}/mediation-note", nobody(OTHER_STAFF=FORBIDDEN)),
    ("POST", "/escalations/{escalation}/mediation-note", nobody(OTHER_STAFF=FORBIDDEN)),
    # The council's commissioner answers the escalation about the concern, and (as the council sees
    # the adult's details) records the adult's view; the raising side (the provider's manager
    # alone, at this stage) takes it further.
    ("GET", "/escalations/{concern_escalation}", CONCERN_ESCALATION),
    ("GET", "/escalations/{concern_escalation}/respond", CONCERN_ESCALATION),
    ("GET", "/escalations/{concern_escalation}/adult-view", CONCERN_ESCALATION),
    ("GET", "/escalations/{concern_escalation}/escalate", nobody(COUNCIL_COMMISSIONER=FORBIDDEN)),
    ("POST", "/escalations/{concern_escalation}/acknowledge", nobody(COUNCIL_COMMISSIONER=REDIRECT)),
    # MATRIX-RELATIONSHIPS-PART-A (rows for part A's object routes; keep this line)
    # An agency's sign-on settings: its area's administrators alone.
    ("GET", "/admin/agencies/{agency}/sign-on", ADMIN),
    ("POST", "/admin/agencies/{agency}/sign-on", ADMIN),
    ("POST", "/admin/agencies/{agency}/sign-on/test", ADMIN),
    # MATRIX-RELATIONSHIPS-PART-B (rows for part B's object routes; keep this line)
    # MATRIX-RELATIONSHIPS-PART-E (rows for part E's object routes; keep this line)
    # Break glass: a safeguarding lead's capability, on a concern they may open whose adult's details
    # are withheld from them. The police's lead (no agreement covering personal data) opens the page;
    # an empty reason comes back with its error (200). Those who see the concern without the
    # capability get 403; another area's lead, 404.
    ("GET", "/concerns/{concern}/break-glass", {**CASEWORK, "POLICE_LEAD": OK}),
    ("POST", "/concerns/{concern}/break-glass", {**CASEWORK, "POLICE_LEAD": OK}),
    # Reviewing a use of it: none exists here, so 404 whoever asks.
    ("GET", "/privacy/break-glass/999999/review", nobody()),
    ("POST", "/privacy/break-glass/999999/review", nobody()),
    # Who has viewed the adult's record: the area's council's leads. Anyone else 403 (the police's
    # lead included); another area's lead 404, as the adult is not in their area.
    ("GET", "/adults/{adult}/access", nobody(FORBIDDEN, OTHER_AREA_LEAD=MISSING)),
]


@pytest.mark.parametrize("viewer", RELATIONSHIP_VIEWERS)
def test_each_relationship_reaches_exactly_the_objects_it_should(viewer, world, client, act_as):
    act_as(world.users[viewer])
    wrong = []
    # Pages first, then the buttons that change things, so nothing a GET checks has been changed.
    for method, pattern, expected in sorted(TABLE, key=lambda row: row[0] != "GET"):
        url = pattern.format(**world.ids)
        got = status(client.open(url, method=method))
        if got != expected[viewer]:
            wrong.append(f"{method} {url} ({pattern}): expected {expected[viewer]}, got {got}")
    assert not wrong, f"{viewer} reached the wrong pages:\n" + "\n".join(wrong)


def test_every_object_route_is_in_the_table(app):
    """Every method of every route whose URL holds an object's id has a row here."""
    with_ids = {
        (rule, method) for rule, method in every_route_and_method(app) if "<int:" in rule
    }
    missing = with_ids - rows_route_and_method(app, TABLE)
    assert not missing, "Object routes with no row in the relationship table:\n" + "\n".join(
        f"{method} {rule}" for rule, method in sorted(missing)
    )


#: Whether each viewer sees the adult's name on each concern, or the reason it is withheld.
ADULT_DETAILS = {
    # The area's council sees them always; so does the agency that raised the concern.
    "SAFEGUARDING_LEAD": {"concern": "Matrix Adult", "consented_concern": "Consenting Adult"},
    "COUNCIL_COMMISSIONER": {"concern": "Matrix Adult", "consented_concern": "Consenting Adult"},
    "PROVIDER_STAFF": {"concern": "Matrix Adult", "consented_concern": "Consenting Adult"},
    "PROVIDER_MANAGER": {"concern": "Matrix Adult", "consented_concern": "Consenting Adult"},
    # An agreement covering personal safeguarding data with the council, and the adult's consent.
    "JOINT_COMMISSIONER": {"concern": "withheld: no consent", "consented_concern": "Consenting Adult"},
    # Without such an agreement, consent is not enough (the regulator's agreement covers provider
    # intelligence only).
    "UNSHARED_COMMISSIONER": {"concern": "withheld: no agreement", "consented_concern": "withheld: no agreement"},
    "INSPECTOR": {"concern": "withheld: no agreement", "consented_concern": "withheld: no agreement"},
    # The police's designated lead opens every concern in the area, but the police share no agreement
    # covering personal data with the council: withheld, whatever the consent (break glass aside).
    "POLICE_LEAD": {"concern": "withheld: no agreement", "consented_concern": "withheld: no agreement"},
}


@pytest.mark.parametrize("viewer", sorted(ADULT_DETAILS))
def test_the_adults_details_follow_agreement_and_consent(viewer, world, client, act_as):
    act_as(world.users[viewer])
    names = {"concern": "Matrix Adult", "consented_concern": "Consenting Adult"}
    for concern, shown in ADULT_DETAILS[viewer].items():
        page = client.get(f"/concerns/{world.ids[concern]}")
        assert page.status_code == 200, (concern, page.status_code)
        assert shown in page.text, (concern, shown)
        if shown != names[concern]:
            assert names[concern] not in page.text, concern
