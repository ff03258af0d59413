"""Case-work pages on one concern: triage, the MSP record, the advocacy gate, consent, closing, comments.

Each test drives the real pages through the test client, as a person with a role would, and
checks what was saved, what the person was told, and who may reach each page.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.auth.operations import open_session_row
from portal.concerns import operations
from portal.concerns.models import Comment, Concern
from portal.concerns.operations import AdultDetails
from portal.core.codes import (
    ActionResult,
    AgencyKind,
    ConcernStatus,
    ConsentToShare,
    MspAsked,
    OutcomesAchieved,
    OverrideReason,
    RiskOutcome,
    Role,
    TriageDecision,
)
from portal.core.concurrency import CONFLICT_MESSAGE
from portal.core.db import utcnow
from portal.extensions import db
from portal.notifications.models import Notification, NotificationEvent
from tests.conftest import FreshGlobalsClient

S = ConcernStatus

#: Every case-work page of one concern, with the methods it answers.
PAGES = [
    ("GET", "/concerns/{id}"),
    ("POST", "/concerns/{id}/comments"),
    ("GET", "/concerns/{id}/triage"),
    ("POST", "/concerns/{id}/triage"),
    ("GET", "/concerns/{id}/assign"),
    ("POST", "/concerns/{id}/assign"),
    ("GET", "/concerns/{id}/start"),
    ("POST", "/concerns/{id}/start"),
    ("GET", "/concerns/{id}/msp"),
    ("POST", "/concerns/{id}/msp"),
    ("GET", "/concerns/{id}/outcomes/new"),
    ("POST", "/concerns/{id}/outcomes/new"),
    ("GET", "/concerns/{id}/advocate"),
    ("POST", "/concerns/{id}/advocate"),
    ("GET", "/concerns/{id}/adult"),
    ("POST", "/concerns/{id}/adult"),
    ("POST", "/concerns/{id}/adult/link"),
    ("GET", "/concerns/{id}/consent"),
    ("POST", "/concerns/{id}/consent"),
    ("GET", "/concerns/{id}/override"),
    ("POST", "/concerns/{id}/override"),
    ("GET", "/concerns/{id}/close"),
    ("POST", "/concerns/{id}/close"),
    ("GET", "/concerns/{id}/reopen"),
    ("POST", "/concerns/{id}/reopen"),
]
#: The pages only the area's safeguarding leads may use (everything but the detail page, comments and override).
LEAD_ONLY_PAGES = [(method, url) for method, url in PAGES if not url.endswith(("{id}", "/comments", "/override"))]


# People and helpers ---------------------------------------------------------------------------


def sign_in_client(app, client, user):
    """Put a signed-in session for ``user`` into ``client``, the way ``act_as`` does for the main client."""
    from flask_login.utils import _create_identifier

    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    now = utcnow().timestamp()
    session_id = open_session_row(user)
    db.session.commit()
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = str(user.id)
        session["session_id"] = session_id
        session["_fresh"] = True
        session["_id"] = identifier
        session["signed_in_at"] = now
        session["last_seen"] = now
        session["membership_id"] = user.active_memberships[0].id
    return client


@pytest.fixture
def second_client(app, db_session):
    """Another browser: its own cookies, the same application and database."""
    app.test_client_class = FreshGlobalsClient
    return app.test_client()


def acting(user):
    user.membership = user.active_memberships[0]
    return user


@pytest.fixture
def second_lead(make_user, council):
    return acting(make_user(Role.SAFEGUARDING_LEAD, agency=council, email="lead2@council.example", name="Alex Lead"))


@pytest.fixture
def manager(make_user, provider):
    return acting(make_user(Role.PROVIDER_MANAGER, agency=provider, email="manager@sunrise.example", name="Morgan Manager"))


@pytest.fixture
def commissioner(make_agency, make_user, make_commissioning, service):
    icb = make_agency(AgencyKind.NHS_ICB, name="Testshire ICB")
    make_commissioning(service, icb)
    return acting(make_user(Role.COMMISSIONER, agency=icb, email="quality@icb.example", name="Quinn Commissioner"))


@pytest.fixture
def other_area_lead(make_area, make_agency, make_user):
    elsewhere = make_area("Elsewhere")
    other_council = make_agency(AgencyKind.LOCAL_AUTHORITY, area=elsewhere, name="Elsewhere Council")
    return acting(make_user(Role.SAFEGUARDING_LEAD, agency=other_council, email="lead@elsewhere.example", name="Eli Elsewhere"))


def date_parts(day: date) -> list[str]:
    return [str(day.day), str(day.month), str(day.year)]


def msp_values(**overrides) -> dict:
    values = dict(
        msp_asked=MspAsked.ASKED_NOT_EXPRESSED, adult_views=None, preferred_contact=None, preferred_meeting_place=None,
        wants_to_attend_meetings=None, mental_capacity=None, best_interests_decision=None, past_present_wishes=None,
        substantial_difficulty=None, appropriate_person=None,
    )
    values.update(overrides)
    return values


@pytest.fixture
def concern_at(make_concern, lead, db_session):
    """A concern moved through the lifecycle by the operations, up to ``status``."""

    def at(status: ConcernStatus, *, msp_asked: MspAsked | None = MspAsked.ASKED_NOT_EXPRESSED, **raise_with):
        concern = make_concern(**raise_with)
        if msp_asked is not None:
            operations.record_msp(concern, by=lead, **msp_values(msp_asked=msp_asked))
        if msp_asked is MspAsked.ASKED_EXPRESSED:
            operations.add_desired_outcome(concern, words="I want to feel safe at home", by=lead)
        if status is not S.SUBMITTED:
            operations.triage_concern(concern, decision=TriageDecision.S42_ENQUIRY, reason=None, by=lead)
        if status in (S.IN_PROGRESS, S.CLOSED):
            operations.start_work(concern, by=lead)
        if status is S.CLOSED:
            operations.close_concern(
                concern, action_result=ActionResult.RISK_ACTION, risk_outcome=RiskOutcome.REDUCED,
                outcomes_achieved=OutcomesAchieved.PARTIALLY if msp_asked is MspAsked.ASKED_EXPRESSED else None,
                adult_feedback=None, by=lead,
            )
        db_session.commit()
        return concern

    return at


def audit_actions(db_session, concern) -> list[str]:
    query = sa.select(AuditEvent.action).where(AuditEvent.object_type == "Concern", AuditEvent.object_id == str(concern.id))
    return list(db_session.scalars(query.order_by(AuditEvent.seq)))


def error_summary(html: str) -> str:
    match = re.search(r'<div class="govuk-error-summary".*?</ul>', html, re.S)
    assert match, "no error summary on the page"
    return match.group(0)


# Triage ---------------------------------------------------------------------------------------


def test_a_lead_triages_a_concern_through_the_page(client, act_as, lead, second_lead, staff, make_concern, db_session):
    concern = make_concern()
    act_as(lead)
    page = client.get(f"/concerns/{concern.id}/triage")
    assert page.status_code == 200
    assert "Section 42 enquiry" in page.text and "Alex Lead" in page.text

    response = client.post(
        f"/concerns/{concern.id}/triage", data={"decision": "S42_ENQUIRY", "reason": "", "assign_to": str(second_lead.id)}
    )

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/concerns/{concern.id}")
    db_session.refresh(concern)
    assert concern.status is S.TRIAGED
    assert concern.triage_decision is TriageDecision.S42_ENQUIRY
    assert concern.triaged_by_id == lead.id and concern.assigned_to_id == second_lead.id
    assert [event.kind for event in concern.events][-2:] == ["triaged", "assigned"]
    assert "concern.triage" in audit_actions(db_session, concern)
    told = {
        (note.recipient_id, note.event)
        for note in db_session.scalars(sa.select(Notification).where(Notification.concern_id == concern.id))
    }
    assert (staff.id, NotificationEvent.CONCERN_TRIAGED) in told
    assert (second_lead.id, NotificationEvent.CONCERN_ASSIGNED) in told
    assert (lead.id, NotificationEvent.CONCERN_TRIAGED) not in told, "the person who acted is not told about it"
    shown = client.get(f"/concerns/{concern.id}").text
    assert "Triage decision recorded: Section 42 enquiry." in shown
    assert "Triaged: Section 42 enquiry" in shown


@pytest.mark.parametrize(("decision", "words"), [("NO_FURTHER_ACTION", "no further action"), ("SIGNPOSTED", "signposted elsewhere")])
def test_no_further_action_or_signposting_without_a_reason_is_refused(decision, words, client, act_as, lead, make_concern, db_session):
    concern = make_concern()
    act_as(lead)

    response = client.post(f"/concerns/{concern.id}/triage", data={"decision": decision, "reason": "  ", "assign_to": ""})

    assert response.status_code == 200
    assert f"Enter why the decision is {words}" in error_summary(response.text)
    assert response.text.startswith("<!DOCTYPE html>") and "<title>Error: " in response.text
    db_session.refresh(concern)
    assert concern.status is S.SUBMITTED and concern.triage_decision is None


def test_triage_without_a_decision_is_refused_and_the_reason_typed_is_kept(client, act_as, lead, make_concern):
    concern = make_concern()
    act_as(lead)
    response = client.post(f"/concerns/{concern.id}/triage", data={"reason": "Spoke to the manager"})
    assert "Select the triage decision" in error_summary(response.text)
    assert "Spoke to the manager</textarea>" in response.text


def test_a_second_triage_of_the_same_concern_is_refused_and_explained(client, act_as, lead, make_concern):
    concern = make_concern()
    act_as(lead)
    client.post(f"/concerns/{concern.id}/triage", data={"decision": "QUALITY_CONCERN"})
    response = client.post(f"/concerns/{concern.id}/triage", data={"decision": "S42_ENQUIRY"})
    assert "This concern is triaged, so it cannot move to triaged. From here it can only move to: in progress." in response.text


# The advocacy gate ------------------------------------------------------------------------------


def test_work_cannot_start_until_an_advocate_is_recorded_through_the_advocate_page(client, act_as, lead, concern_at, db_session):
    concern = concern_at(S.TRIAGED)
    act_as(lead)
    client.post(
        f"/concerns/{concern.id}/msp",
        data={"version": concern.version, "msp_asked": "ASKED_EXPRESSED", "substantial_difficulty": "yes", "appropriate_person": "no"},
    )
    db_session.refresh(concern)
    assert concern.advocate_required

    shown = client.get(f"/concerns/{concern.id}").text
    assert "Start work" in shown and "Work cannot start until an independent advocate is recorded" in shown

    refused = client.post(f"/concerns/{concern.id}/start")
    assert refused.status_code == 200
    assert "An independent advocate must be arranged first" in error_summary(refused.text)
    db_session.refresh(concern)
    assert concern.status is S.TRIAGED

    arranged = date.today() - timedelta(days=1)
    recorded = client.post(
        f"/concerns/{concern.id}/advocate",
        data={"advocate_name": "Robin Advocate", "advocate_organisation": "Testshire Advocacy", "advocate_arranged_on": date_parts(arranged)},
    )
    assert recorded.status_code == 302
    started = client.post(f"/concerns/{concern.id}/start")
    assert started.status_code == 302
    db_session.refresh(concern)
    assert concern.status is S.IN_PROGRESS
    assert (concern.advocate_name, concern.advocate_organisation, concern.advocate_arranged_on) == ("Robin Advocate", "Testshire Advocacy", arranged)
    assert [event.kind for event in concern.events][-2:] == ["advocate", "started"]


def test_an_advocate_arranged_in_the_future_is_refused_on_the_page(client, act_as, lead, concern_at):
    concern = concern_at(S.TRIAGED)
    act_as(lead)
    response = client.post(
        f"/concerns/{concern.id}/advocate",
        data={"advocate_name": "Robin Advocate", "advocate_arranged_on": date_parts(date.today() + timedelta(days=3))},
    )
    assert "Date arranged must be today or in the past" in error_summary(response.text)
    assert 'value="Robin Advocate"' in response.text


def test_a_closed_concern_cannot_be_restarted_from_the_start_page(client, act_as, lead, concern_at, db_session):
    concern = concern_at(S.CLOSED)
    act_as(lead)
    response = client.post(f"/concerns/{concern.id}/start")
    assert "This concern is closed, so it cannot be started: from here it can only be reopened." in error_summary(response.text)
    db_session.refresh(concern)
    assert concern.status is S.CLOSED


# The MSP record and a second person's stale save -----------------------------------------------


def test_the_msp_record_is_saved_from_the_page(client, act_as, lead, concern_at, db_session):
    concern = concern_at(S.IN_PROGRESS, msp_asked=None)
    act_as(lead)
    page = client.get(f"/concerns/{concern.id}/msp")
    assert page.status_code == 200 and "Not yet known" in page.text

    response = client.post(
        f"/concerns/{concern.id}/msp",
        data={
            "version": concern.version, "msp_asked": "ASKED_EXPRESSED", "adult_views": "I want it to stop",
            "preferred_contact": "My District Nurse", "preferred_meeting_place": "GP surgery", "wants_to_attend_meetings": "yes",
            "mental_capacity": "NOT_LACKED", "substantial_difficulty": "no", "appropriate_person": "unknown",
        },
    )

    assert response.status_code == 302
    db_session.refresh(concern)
    assert concern.msp_asked is MspAsked.ASKED_EXPRESSED
    assert (concern.adult_views, concern.preferred_contact, concern.preferred_meeting_place) == ("I want it to stop", "My District Nurse", "GP surgery")
    assert concern.wants_to_attend_meetings is True and concern.substantial_difficulty is False and concern.appropriate_person is None
    assert "concern.msp" in audit_actions(db_session, concern)


def test_an_adult_lacking_capacity_needs_a_best_interests_decision_on_the_page(client, act_as, lead, concern_at, db_session):
    concern = concern_at(S.IN_PROGRESS)
    act_as(lead)
    response = client.post(
        f"/concerns/{concern.id}/msp",
        data={"version": concern.version, "msp_asked": "ASKED_EXPRESSED", "mental_capacity": "LACKED", "past_present_wishes": "Always wanted to stay at home"},
    )
    assert "Enter the best-interests decision" in error_summary(response.text)
    assert "Always wanted to stay at home</textarea>" in response.text
    db_session.refresh(concern)
    assert concern.mental_capacity is None


def test_a_second_persons_stale_msp_save_is_refused_and_the_first_save_is_kept(
    app, client, second_client, act_as, lead, second_lead, concern_at, db_session
):
    concern = concern_at(S.IN_PROGRESS)
    act_as(lead)
    sign_in_client(app, second_client, second_lead)
    url = f"/concerns/{concern.id}/msp"
    versions = [re.search(r'name="version" type="hidden" value="(\d+)"', c.get(url).text).group(1) for c in (client, second_client)]
    assert versions[0] == versions[1] == str(concern.version)

    first = client.post(url, data={"version": versions[0], "msp_asked": "ASKED_EXPRESSED", "adult_views": "Jo wants her money back"})
    second = second_client.post(url, data={"version": versions[1], "msp_asked": "NO", "adult_views": "Written over by the second person"})

    assert first.status_code == 302
    assert second.status_code == 200
    assert "Someone else changed this record" in error_summary(second.text)
    assert CONFLICT_MESSAGE.split(":")[0] in second.text
    assert "Written over by the second person</textarea>" in second.text, "what the second person typed is still there"
    db_session.expire_all()
    saved = db_session.get(Concern, concern.id)
    assert saved.adult_views == "Jo wants her money back"
    assert saved.msp_asked is MspAsked.ASKED_EXPRESSED


def test_desired_outcomes_are_added_in_the_adults_own_words(client, act_as, lead, concern_at, db_session):
    concern = concern_at(S.IN_PROGRESS)
    act_as(lead)
    assert "Enter the outcome the adult wants" in error_summary(client.post(f"/concerns/{concern.id}/outcomes/new", data={"words": ""}).text)
    client.post(f"/concerns/{concern.id}/outcomes/new", data={"words": "I want my money back"})
    client.post(f"/concerns/{concern.id}/outcomes/new", data={"words": "I want my daughter to still visit"})
    db_session.refresh(concern)
    assert [o.words for o in concern.desired_outcomes] == ["I want my money back", "I want my daughter to still visit"]
    assert "“I want my money back”" in client.get(f"/concerns/{concern.id}").text


# Closing and reopening --------------------------------------------------------------------------


def test_closing_without_action_and_risk_outcome_is_refused_with_both_messages_and_the_feedback_kept(
    client, act_as, lead, concern_at, db_session
):
    concern = concern_at(S.IN_PROGRESS)
    act_as(lead)
    page = client.get(f"/concerns/{concern.id}/close")
    assert "Were the outcomes the adult wanted achieved?" not in page.text, "not asked when no outcomes were expressed"

    response = client.post(f"/concerns/{concern.id}/close", data={"adult_feedback": "They listened to me this time"})

    assert response.status_code == 200
    summary = error_summary(response.text)
    assert "Select the action taken and its result" in summary
    assert "Select whether the risk was removed, reduced or remained" in summary
    assert "They listened to me this time</textarea>" in response.text
    db_session.refresh(concern)
    assert concern.status is S.IN_PROGRESS


def test_closing_when_outcomes_were_expressed_needs_whether_they_were_achieved(client, act_as, lead, concern_at, staff, db_session):
    concern = concern_at(S.IN_PROGRESS, msp_asked=MspAsked.ASKED_EXPRESSED)
    act_as(lead)
    url = f"/concerns/{concern.id}/close"
    assert "Were the outcomes the adult wanted achieved?" in client.get(url).text
    data = {"action_result": "RISK_ACTION", "risk_outcome": "REDUCED", "adult_feedback": "I felt listened to"}

    refused = client.post(url, data=data)
    assert "Select whether the outcomes the adult wanted were achieved" in error_summary(refused.text)

    closed = client.post(url, data={**data, "outcomes_achieved": "PARTIALLY"})
    assert closed.status_code == 302
    db_session.refresh(concern)
    assert concern.status is S.CLOSED
    assert (concern.action_result, concern.risk_outcome, concern.outcomes_achieved) == (
        ActionResult.RISK_ACTION, RiskOutcome.REDUCED, OutcomesAchieved.PARTIALLY,
    )
    assert concern.adult_feedback == "I felt listened to"
    assert "concern.close" in audit_actions(db_session, concern)
    assert db_session.scalar(
        sa.select(Notification).where(Notification.concern_id == concern.id, Notification.recipient_id == staff.id, Notification.event == NotificationEvent.CONCERN_CLOSED)
    )


def test_closing_a_submitted_concern_is_refused_with_the_explanation(client, act_as, lead, concern_at, db_session):
    concern = concern_at(S.SUBMITTED)
    act_as(lead)
    response = client.post(f"/concerns/{concern.id}/close", data={"action_result": "NO_RISK_NO_ACTION", "risk_outcome": "REMOVED"})
    assert "This concern is submitted, so it cannot move to closed. From here it can only move to: triaged." in error_summary(response.text)
    db_session.refresh(concern)
    assert concern.status is S.SUBMITTED


def test_reopening_needs_a_reason(client, act_as, lead, concern_at, db_session):
    concern = concern_at(S.CLOSED)
    act_as(lead)
    url = f"/concerns/{concern.id}/reopen"
    assert "Enter why the concern is being reopened" in error_summary(client.post(url, data={"reason": ""}).text)
    db_session.refresh(concern)
    assert concern.status is S.CLOSED

    assert client.post(url, data={"reason": "Jo told her nurse the money is going missing again"}).status_code == 302
    db_session.refresh(concern)
    assert concern.status is S.IN_PROGRESS and concern.closed_at is None
    assert "Reopened: Jo told her nurse the money is going missing again" in client.get(f"/concerns/{concern.id}").text


def test_a_triaged_concern_cannot_be_reopened_past_the_advocacy_gate(client, act_as, lead, concern_at, db_session):
    concern = concern_at(S.TRIAGED)
    act_as(lead)
    response = client.post(f"/concerns/{concern.id}/reopen", data={"reason": "Trying to skip ahead"})
    assert "This concern is triaged, so it cannot be reopened: from here it can only be started." in error_summary(response.text)
    db_session.refresh(concern)
    assert concern.status is S.TRIAGED


# The buttons a person is offered ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "offered", "not_offered"),
    [
        (S.SUBMITTED, "Triage this concern", ["Start work", "Close this concern", "Reopen this concern"]),
        (S.TRIAGED, "Start work", ["Triage this concern", "Close this concern", "Reopen this concern"]),
        (S.IN_PROGRESS, "Close this concern", ["Triage this concern", "Start work", "Reopen this concern"]),
        (S.CLOSED, "Reopen this concern", ["Triage this concern", "Start work", "Close this concern", "Edit the Making Safeguarding Personal record"]),
    ],
)
def test_a_lead_is_offered_the_next_move_for_the_status(status, offered, not_offered, client, act_as, lead, concern_at):
    concern = concern_at(status)
    act_as(lead)
    page = client.get(f"/concerns/{concern.id}").text
    assert offered in page
    assert not [words for words in not_offered if words in page]


def test_provider_staff_are_offered_no_case_work(client, act_as, staff, concern_at):
    concern = concern_at(S.SUBMITTED, consent=ConsentToShare.REFUSED)
    act_as(staff)
    page = client.get(f"/concerns/{concern.id}").text
    assert "Triage this concern" not in page and "Override the refusal" not in page
    assert f"/concerns/{concern.id}/msp" not in page
    assert "Add comment" in page


# Who may use which page ------------------------------------------------------------------------


def test_every_page_of_another_areas_concern_is_not_found(client, act_as, other_area_lead, concern_at):
    concern = concern_at(S.IN_PROGRESS, consent=ConsentToShare.REFUSED)
    act_as(other_area_lead)
    answers = {f"{method} {url}": client.open(url.format(id=concern.id), method=method).status_code for method, url in PAGES}
    assert set(answers.values()) == {404}, answers


@pytest.mark.parametrize(("method", "url"), LEAD_ONLY_PAGES)
def test_provider_staff_may_not_use_the_case_work_pages(method, url, client, act_as, staff, concern_at, db_session):
    concern = concern_at(S.IN_PROGRESS)
    act_as(staff)
    assert client.get(f"/concerns/{concern.id}").status_code == 200, "staff see the concern they raised"
    assert client.open(url.format(id=concern.id), method=method).status_code == 403
    db_session.refresh(concern)
    assert concern.status is S.IN_PROGRESS


def test_signing_in_is_needed_for_every_page(client, concern_at):
    concern = concern_at(S.SUBMITTED)
    for method, url in PAGES + [("GET", "/concerns/overrides")]:
        response = client.open(url.format(id=concern.id), method=method)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], f"{method} {url}"


# Consent and its override ----------------------------------------------------------------------


def test_consent_to_share_is_recorded_from_the_page(client, act_as, lead, concern_at, db_session):
    concern = concern_at(S.TRIAGED)
    act_as(lead)
    assert "Select whether the adult gave consent to share" in error_summary(client.post(f"/concerns/{concern.id}/consent", data={}).text)
    assert client.post(f"/concerns/{concern.id}/consent", data={"consent": "REFUSED"}).status_code == 302
    db_session.refresh(concern)
    assert concern.consent is ConsentToShare.REFUSED
    assert "Override the refusal of consent" in client.get(f"/concerns/{concern.id}").text


def test_a_manager_of_the_raising_agency_can_override_a_refusal_and_a_commissioner_cannot(
    client, act_as, manager, commissioner, concern_at, db_session
):
    concern = concern_at(S.TRIAGED, consent=ConsentToShare.REFUSED)
    url = f"/concerns/{concern.id}/override"

    act_as(commissioner)
    assert client.get(f"/concerns/{concern.id}").status_code == 200, "the commissioner sees the concern"
    assert client.get(url).status_code == 403
    assert client.post(url, data={"reason": "RISK_TO_OTHERS", "explanation": "x", "adult_told": "yes"}).status_code == 403

    act_as(manager)
    assert "Override the refusal of consent" in client.get(f"/concerns/{concern.id}").text
    assert client.get(url).status_code == 200
    untold = client.post(url, data={"reason": "COERCION", "explanation": "Her daughter controls her money", "adult_told": "no"})
    assert "Enter why the adult has not been told" in error_summary(untold.text)
    assert "Her daughter controls her money</textarea>" in untold.text

    done = client.post(
        url,
        data={"reason": "COERCION", "explanation": "Her daughter controls her money", "adult_told": "no", "not_told_reason": "Telling her now would put her at risk"},
    )
    assert done.status_code == 302
    db_session.refresh(concern)
    [override] = concern.overrides
    assert override.reason is OverrideReason.COERCION and override.decided_by_id == manager.id
    assert override.adult_told is False and override.not_told_reason == "Telling her now would put her at risk"
    assert "concern.override" in audit_actions(db_session, concern)


def test_the_overrides_list_shows_each_override_to_the_areas_leads_only(
    client, act_as, lead, manager, staff, other_area_lead, concern_at, db_session
):
    concern = concern_at(S.TRIAGED, consent=ConsentToShare.REFUSED)
    operations.override_consent(
        concern, reason=OverrideReason.RISK_TO_OTHERS, explanation="Other residents are at risk", adult_told=True, not_told_reason=None, by=lead
    )
    db_session.commit()

    act_as(lead)
    listed = client.get("/concerns/overrides")
    assert listed.status_code == 200
    assert concern.reference in listed.text and f'href="/concerns/{concern.id}"' in listed.text
    assert "Risk to other people" in listed.text and "Sam Lead" in listed.text and "Yes" in listed.text

    act_as(other_area_lead)
    elsewhere = client.get("/concerns/overrides")
    assert elsewhere.status_code == 200 and concern.reference not in elsewhere.text

    for person in (manager, staff):
        act_as(person)
        assert client.get("/concerns/overrides").status_code == 403


# Comments --------------------------------------------------------------------------------------


def test_local_authority_only_comments_are_hidden_from_other_agencies_and_only_offered_to_the_local_authority(
    client, act_as, lead, staff, concern_at, db_session
):
    concern = concern_at(S.TRIAGED)
    act_as(lead)
    assert 'name="local_authority_only"' in client.get(f"/concerns/{concern.id}").text
    client.post(f"/concerns/{concern.id}/comments", data={"body": "Police have been told", "local_authority_only": "y"})
    shared = client.post(f"/concerns/{concern.id}/comments", data={"body": "Please send the care plan"})
    assert shared.status_code == 302 and shared.headers["Location"].endswith("#comments")
    lead_page = client.get(f"/concerns/{concern.id}").text
    assert "Police have been told" in lead_page and "Please send the care plan" in lead_page

    act_as(staff)
    staff_page = client.get(f"/concerns/{concern.id}").text
    assert "Please send the care plan" in staff_page
    assert "Police have been told" not in staff_page
    assert 'name="local_authority_only"' not in staff_page
    client.post(f"/concerns/{concern.id}/comments", data={"body": "Care plan attached", "local_authority_only": "y"})
    reply = db_session.scalar(sa.select(Comment).where(Comment.concern_id == concern.id, Comment.body == "Care plan attached"))
    assert reply is not None and reply.local_authority_only is False


def test_an_empty_comment_is_refused_on_the_concern_page(client, act_as, staff, concern_at):
    concern = concern_at(S.SUBMITTED)
    act_as(staff)
    response = client.post(f"/concerns/{concern.id}/comments", data={"body": "   "})
    assert response.status_code == 200
    assert "Enter a comment" in error_summary(response.text)
    assert concern.reference in response.text


# The adult -------------------------------------------------------------------------------------


def test_the_adults_details_are_corrected_with_nhs_number_validation(client, act_as, lead, concern_at, db_session):
    concern = concern_at(S.TRIAGED)
    act_as(lead)
    url = f"/concerns/{concern.id}/adult"
    assert 'value="Jo Example"' in client.get(url).text
    assert "concern.view_personal" in audit_actions(db_session, concern)

    bad = client.post(url, data={"version": concern.adult.version, "name": "Jo Example", "nhs_number": "943 476 5918"})
    assert "Enter a valid NHS number" in error_summary(bad.text)
    assert 'value="943 476 5918"' in bad.text

    good = client.post(
        url,
        data={"version": concern.adult.version, "name": "Jo Example", "nhs_number": "943 476 5919", "date_of_birth": ["2", "3", "1941"], "postcode": "ns1 4ab"},
    )
    assert good.status_code == 302
    db_session.refresh(concern.adult)
    assert (concern.adult.nhs_number, concern.adult.date_of_birth, concern.adult.postcode) == ("9434765919", date(1941, 3, 2), "NS1 4AB")
    assert "concern.adult" in audit_actions(db_session, concern)


@pytest.mark.parametrize("number", ["943476591\u00b2", "\u0669\u0664\u0663\u0664\u0667\u0666\u0665\u0669\u0661\u0669"], ids=["superscript", "arabic_indic"])
def test_an_nhs_number_in_digits_of_another_script_is_explained_not_stored(number, client, act_as, lead, concern_at, db_session):
    concern = concern_at(S.TRIAGED)
    act_as(lead)
    response = client.post(f"/concerns/{concern.id}/adult", data={"version": concern.adult.version, "name": "Jo Example", "nhs_number": number})
    assert response.status_code == 200
    assert "Enter a valid NHS number" in error_summary(response.text)
    db_session.refresh(concern.adult)
    assert concern.adult.nhs_number is None


def test_a_lead_links_a_concern_to_the_same_adult_found_by_nhs_number(client, act_as, lead, concern_at, db_session):
    earlier = concern_at(S.CLOSED, adult_name=None, adult=AdultDetails(name="Jo Example", nhs_number="9434765919"))
    later = concern_at(S.SUBMITTED, adult_name=None, adult=AdultDetails(name="Joanne Example", nhs_number="9434765919"))
    act_as(lead)
    page = client.get(f"/concerns/{later.id}/adult").text
    assert earlier.reference in page and "Same NHS number" in page

    response = client.post(f"/concerns/{later.id}/adult/link", data={"adult_id": str(earlier.adult_id)})

    assert response.status_code == 302
    db_session.refresh(later)
    assert later.adult_id == earlier.adult_id
    assert "concern.link_adult" in audit_actions(db_session, later)
    assert earlier.reference in client.get(f"/concerns/{later.id}/adult").text


def test_only_a_listed_match_can_be_linked(client, act_as, lead, concern_at, db_session):
    stranger = concern_at(S.SUBMITTED, adult_name="Someone Else")
    concern = concern_at(S.SUBMITTED)
    act_as(lead)
    response = client.post(f"/concerns/{concern.id}/adult/link", data={"adult_id": str(stranger.adult_id)})
    assert "Choose one of the possible matches" in error_summary(response.text)
    db_session.refresh(concern)
    assert concern.adult_id != stranger.adult_id
