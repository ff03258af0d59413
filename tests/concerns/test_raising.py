"""A signed-in person raises a concern through the form: what is saved, and what is refused."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.concerns.models import Concern
from portal.core.codes import RAG, AbuseType, AgencyKind, RaisedVia, RiskLocation, Role
from portal.notifications.models import Notification, NotificationEvent

REFERENCE = re.compile(r"^C-\d{4}-\d{6}$")


def form_data(service=None, **overrides):
    data = {
        "service": str(service.id) if service is not None else "",
        "what_happened": "Bruising noticed on her arm during personal care this morning.",
        "abuse_types": ["PHYSICAL", "NEGLECT"],
        "risk_location": "CARE_HOME_RESIDENTIAL",
        "risk_source": "SERVICE_PROVIDER",
        "immediate_risk": "AMBER",
        "immediate_action": "Told the manager and photographed the bruise.",
    }
    data.update(overrides)
    return data


def concerns(db_session):
    return db_session.scalars(sa.select(Concern)).all()


@pytest.fixture
def other_service(make_agency, make_service):
    return make_service(make_agency(AgencyKind.CARE_PROVIDER, name="Elsewhere Care"), name="Elsewhere Lodge")


def test_provider_staff_raise_a_concern_about_their_own_service(client, act_as, db_session, staff, lead, service, other_service):
    act_as(staff)
    page = client.get("/concerns/new")
    assert page.status_code == 200
    assert "Sunrise House (Sunrise Care)" in page.text
    assert "Elsewhere Lodge" not in page.text

    response = client.post("/concerns/new", data=form_data(service))

    assert response.status_code == 302
    [concern] = concerns(db_session)
    assert response.headers["Location"].endswith(f"/concerns/{concern.id}")
    assert REFERENCE.match(concern.reference)
    assert concern.reference.startswith(f"C-{date.today().year}-")
    assert concern.service_id == service.id and concern.provider_id == service.provider_id
    assert concern.raising_agency_id == service.provider_id
    assert concern.raised_by_id == staff.id and concern.raised_via is RaisedVia.PROVIDER
    assert concern.abuse_types == {AbuseType.PHYSICAL, AbuseType.NEGLECT}
    assert concern.risk_location is RiskLocation.CARE_HOME_RESIDENTIAL and concern.immediate_risk is RAG.AMBER
    assert concern.adult is None
    assert [event.kind for event in concern.events] == ["raised"]
    audit = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "concern.raise")).all()
    assert [(a.object_id, a.actor_id) for a in audit] == [(str(concern.id), staff.id)]
    notes = db_session.scalars(sa.select(Notification).where(Notification.concern_id == concern.id)).all()
    assert [(n.recipient_id, n.event) for n in notes] == [(lead.id, NotificationEvent.CONCERN_RAISED)]

    shown = client.get(response.headers["Location"])
    assert f"Concern {concern.reference} raised" in shown.text


def test_provider_staff_cannot_pick_another_providers_service(client, act_as, db_session, staff, other_service):
    act_as(staff)
    response = client.post("/concerns/new", data=form_data(other_service))
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "Select one of the services listed" in response.text
    assert concerns(db_session) == []


def test_provider_staff_must_choose_a_service(client, act_as, db_session, staff):
    act_as(staff)
    response = client.post("/concerns/new", data=form_data(None))
    assert "Select the service the concern is about" in response.text
    assert concerns(db_session) == []


def test_a_partner_may_raise_a_concern_about_no_particular_service(client, act_as, db_session, make_user, council, service):
    commissioner = make_user(Role.COMMISSIONER, agency=council)
    act_as(commissioner)
    page = client.get("/concerns/new")
    assert "Sunrise House (Sunrise Care)" in page.text and "Not about a particular service" in page.text

    response = client.post("/concerns/new", data=form_data(None, risk_location="OWN_HOME", risk_source="KNOWN"))

    assert response.status_code == 302
    [concern] = concerns(db_session)
    assert concern.service_id is None and concern.raised_via is RaisedVia.PARTNER
    assert concern.raising_agency_id == council.id


@pytest.mark.parametrize("role", [Role.SAB_MEMBER, Role.SAB_CHAIR, Role.ADMINISTRATOR])
def test_roles_that_do_not_raise_concerns_are_refused(client, act_as, make_user, role):
    act_as(make_user(role))
    assert client.get("/concerns/new").status_code == 403
    assert client.post("/concerns/new", data=form_data(None)).status_code == 403


def test_oversized_text_is_refused_with_a_message_and_kept(client, act_as, db_session, staff, service):
    act_as(staff)
    long_text = "word " * 2000 + "end"  # 10,003 characters
    response = client.post("/concerns/new", data=form_data(service, what_happened=long_text, adult_name="Jo Example"))
    assert response.status_code == 200
    assert "What happened must be 10,000 characters or fewer" in response.text
    assert long_text.strip() in response.text
    assert 'value="Jo Example"' in response.text
    assert concerns(db_session) == []


def test_a_date_in_the_future_is_refused(client, act_as, db_session, staff, service):
    act_as(staff)
    tomorrow = date.today() + timedelta(days=1)
    response = client.post("/concerns/new", data=form_data(service, happened_on=[str(tomorrow.day), str(tomorrow.month), str(tomorrow.year)]))
    assert "The date it happened must be today or in the past" in response.text
    assert 'href="#happened_on-day"' in response.text
    assert concerns(db_session) == []


def test_a_date_of_birth_in_the_future_is_refused(client, act_as, db_session, staff, service):
    act_as(staff)
    response = client.post("/concerns/new", data=form_data(service, adult_name="Jo Example", adult_date_of_birth=["1", "1", "2999"]))
    assert "Date of birth must be in the past" in response.text
    assert concerns(db_session) == []


def test_an_unreal_date_is_refused(client, act_as, db_session, staff, service):
    act_as(staff)
    response = client.post("/concerns/new", data=form_data(service, happened_on=["31", "2", "2026"]))
    assert "must be a real date" in response.text
    assert concerns(db_session) == []


@pytest.mark.parametrize("number", ["943 476 5918", "12345", "not a number", "９４３４７６５９１９", "943 476 591²"])
def test_an_invalid_nhs_number_is_refused(client, act_as, db_session, staff, service, number):
    act_as(staff)
    response = client.post("/concerns/new", data=form_data(service, adult_name="Jo Example", adult_nhs_number=number))
    assert response.status_code == 200
    assert "Enter a valid NHS number" in response.text
    assert concerns(db_session) == []


def test_a_valid_nhs_number_is_stored_as_ten_digits(client, act_as, db_session, staff, service):
    act_as(staff)
    response = client.post(
        "/concerns/new",
        data=form_data(
            service, adult_name="Jo Example", adult_nhs_number="943 476 5919", adult_date_of_birth=["3", "9", "1941"],
            adult_sex="FEMALE", adult_postcode="ns1 4ab", adult_preferred_language="English",
            adult_primary_support_reason="PHYSICAL", consent="GIVEN",
        ),
    )
    assert response.status_code == 302
    [concern] = concerns(db_session)
    assert concern.adult.name == "Jo Example"
    assert concern.adult.nhs_number == "9434765919"
    assert concern.adult.date_of_birth == date(1941, 9, 3)
    assert concern.adult.postcode == "NS1 4AB"
    assert concern.consent.name == "GIVEN"


def test_details_of_the_adult_need_their_name(client, act_as, db_session, staff, service):
    act_as(staff)
    response = client.post("/concerns/new", data=form_data(service, adult_nhs_number="943 476 5919"))
    assert "Enter the adult&#39;s name, or remove the other details about them" in response.text
    assert concerns(db_session) == []


def test_an_immediate_risk_needs_what_was_done(client, act_as, db_session, staff, service):
    act_as(staff)
    response = client.post("/concerns/new", data=form_data(service, immediate_risk="RED", immediate_action=""))
    assert "Enter what was done straight away" in response.text
    assert concerns(db_session) == []


def test_an_empty_form_lists_every_problem_and_keeps_what_was_typed(client, act_as, db_session, staff, service):
    act_as(staff)
    response = client.post("/concerns/new", data={"adult_name": "Jo Example", "immediate_action": "Called the GP"})
    assert response.status_code == 200
    assert "<title>Error: Raise a concern" in response.text
    for message in (
        "Select the service the concern is about",
        "Enter what happened",
        "Select at least one type of abuse or neglect",
        "Select where the risk is",
        "Select whether the adult is at immediate risk",
    ):
        assert message in response.text
    assert 'value="Jo Example"' in response.text and "Called the GP" in response.text
    assert concerns(db_session) == []


def test_forged_choices_never_give_a_server_error(client, act_as, db_session, staff, service):
    act_as(staff)
    for forged in (
        {"service": "not-a-number"}, {"service": "99999999999999999999"}, {"abuse_types": ["NOT_A_TYPE"]},
        {"risk_location": "MOON"}, {"immediate_risk": "PURPLE"}, {"consent": "\x00"}, {"happened_on": ["x", "y", "z"]},
        {"adult_primary_support_reason": "NOPE", "adult_name": "Jo"}, {"what_happened": "\x00\x01"},
    ):
        response = client.post("/concerns/new", data={**form_data(service), **forged})
        assert response.status_code == 200, forged
        assert "There is a problem" in response.text, forged
    assert concerns(db_session) == []


def test_raising_about_a_named_service_preselects_it_and_an_unknown_one_is_not_found(
    client, act_as, staff, service, make_service, make_agency, db_session
):
    from portal.core.codes import AgencyKind

    other = make_service(make_agency(AgencyKind.CARE_PROVIDER, name="Someone Else's Care"))
    act_as(staff)
    page = client.get(f"/concerns/new?service={service.id}").text
    assert f'<option value="{service.id}" selected' in page
    assert client.get(f"/concerns/new?service={other.id}").status_code == 404
    assert client.get("/concerns/new?service=999999").status_code == 404
    assert client.get("/concerns/new?service=abc").status_code == 404
