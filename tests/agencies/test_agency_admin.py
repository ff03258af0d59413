"""An administrator's directory of agencies, services and commissioning, and each person's own agency page.

Refusals from the operations roll the session back, as they would in real use; so every fixture
here commits what it sets up (the outer test transaction still discards it afterwards).
"""

from __future__ import annotations

import html
from datetime import date

import pytest
import sqlalchemy as sa

from portal.agencies.models import Agency, Commissioning, Service
from portal.audit.models import AuditEvent
from portal.core.codes import AgencyKind, Role, ServiceType

CONFLICT = "Someone else changed this record"
LOCATION_ID_MESSAGE = "Enter a location ID in the regulator's format: 1- followed by numbers, like 1-123456789"
PROVIDER_ID_MESSAGE = "Enter a provider ID in the regulator's format: 1- followed by numbers, like 1-101234567"
POSTCODE_MESSAGE = "Enter a real UK postcode"


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _count(db_session, model) -> int:
    return db_session.scalar(sa.select(sa.func.count()).select_from(model))


def _events(db_session, action: str) -> list[AuditEvent]:
    return db_session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def assert_shows_typed(page: str, *values: str) -> None:
    for value in values:
        assert f'value="{value}"' in page or f">{value}</textarea>" in page, f"{value!r} is not shown again"


@pytest.fixture
def council(make_agency, db_session):
    return make_agency(AgencyKind.LOCAL_AUTHORITY, name="Testshire Council")


@pytest.fixture
def provider(make_agency):
    return make_agency(AgencyKind.CARE_PROVIDER, name="Sunrise Care Ltd", provider_ref="1-101234567")


@pytest.fixture
def admin(make_user, council, provider, db_session):
    admin = make_user(Role.ADMINISTRATOR, agency=council, name="Alex Admin")
    db_session.commit()
    return admin


@pytest.fixture
def as_admin(act_as, admin):
    return act_as(admin)


# Agencies --------------------------------------------------------------------------------------


def _new_agency(client, **overrides):
    data = {"name": "Meadow View Care", "kind": "CARE_PROVIDER", "provider_ref": "1-202345678"}
    data.update(overrides)
    return client.post("/admin/agencies/new", data=data)


def test_admin_adds_an_agency_and_it_is_audited(as_admin, db_session, council):
    response = _new_agency(as_admin)
    assert response.status_code == 302
    agency = db_session.scalar(sa.select(Agency).where(Agency.name == "Meadow View Care"))
    assert response.headers["Location"].endswith(f"/admin/agencies/{agency.id}")
    assert (agency.kind, agency.provider_ref, agency.area_id, agency.require_two_factor) == (
        AgencyKind.CARE_PROVIDER,
        "1-202345678",
        council.area_id,
        False,
    )
    [event] = _events(db_session, "agency.create")
    assert (event.object_type, event.object_id) == ("Agency", str(agency.id))
    assert "Meadow View Care added." in text_of(as_admin.get(response.headers["Location"]))


def test_agency_without_provider_id_is_added(as_admin, db_session):
    response = _new_agency(as_admin, name="Testshire Police", kind="POLICE", provider_ref="")
    assert response.status_code == 302
    assert db_session.scalar(sa.select(Agency.provider_ref).where(Agency.name == "Testshire Police")) is None


def test_same_agency_name_may_be_used_in_another_area(as_admin, make_area, make_agency, db_session):
    make_agency(AgencyKind.CARE_PROVIDER, name="Meadow View Care", area=make_area("Otherton"))
    db_session.commit()
    assert _new_agency(as_admin).status_code == 302


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"name": "sunrise care ltd", "provider_ref": ""}, "An agency with this name already exists in this area"),
        ({"provider_ref": "101234567"}, PROVIDER_ID_MESSAGE),
        ({"provider_ref": "1-12AB45"}, PROVIDER_ID_MESSAGE),
        (
            {"name": "Testshire Police", "kind": "POLICE", "provider_ref": "1-202345678"},
            "Only care providers have a regulator provider ID: leave it empty",
        ),
        ({"provider_ref": "1-101234567"}, "Another agency already has this provider ID"),
        ({"name": "M" * 201}, "Name must be 200 characters or fewer"),
        ({"kind": ""}, "Select the kind of agency"),
    ],
    ids=[
        "duplicate-name",
        "provider-id-without-prefix",
        "provider-id-with-letters",
        "provider-id-on-police",
        "duplicate-provider-id",
        "name-too-long",
        "no-kind",
    ],
)
def test_refused_agency_shows_its_message_keeps_what_was_typed_and_saves_nothing(as_admin, db_session, fields, message):
    agencies, events = _count(db_session, Agency), _count(db_session, AuditEvent)
    typed = {"name": "Meadow View Care", "kind": "CARE_PROVIDER", "provider_ref": "1-202345678", **fields}

    response = _new_agency(as_admin, **fields)

    page = text_of(response)
    assert response.status_code == 200
    assert "There is a problem" in page
    assert message in page
    assert_shows_typed(page, typed["name"], *([typed["provider_ref"]] if typed["provider_ref"] else []))
    if typed["kind"]:
        assert f'value="{typed["kind"]}" checked' in page
    assert (_count(db_session, Agency), _count(db_session, AuditEvent)) == (agencies, events)


def _edit_agency(client, agency, version, **overrides):
    data = {
        "name": agency.name,
        "kind": agency.kind.name,
        "provider_ref": agency.provider_ref or "",
        "active": "y",
        "version": str(version),
    }
    data.update(overrides)
    return client.post(f"/admin/agencies/{agency.id}/edit", data=data)


def test_agency_edit_based_on_a_stale_version_is_refused_and_the_first_save_kept(as_admin, provider, db_session):
    opened_at = provider.version
    assert _edit_agency(as_admin, provider, opened_at, name="Sunrise Care Group").status_code == 302

    second = _edit_agency(as_admin, provider, opened_at, name="Sunset Care Ltd", provider_ref="1-101234567")

    page = text_of(second)
    assert second.status_code == 200
    assert CONFLICT in page
    assert_shows_typed(page, "Sunset Care Ltd")
    assert db_session.get(Agency, provider.id).name == "Sunrise Care Group"
    assert len(_events(db_session, "agency.update")) == 1


def test_agency_edit_with_the_current_version_is_saved(as_admin, provider, db_session):
    response = _edit_agency(as_admin, provider, provider.version, name="Sunrise Care Group", require_two_factor="y")
    assert response.status_code == 302
    saved = db_session.get(Agency, provider.id)
    assert (saved.name, saved.require_two_factor) == ("Sunrise Care Group", True)


def test_admin_cannot_deactivate_the_agency_they_act_for(as_admin, council, db_session):
    response = _edit_agency(as_admin, council, council.version, active="")
    assert db_session.get(Agency, council.id).active is True
    assert as_admin.get("/admin/agencies").status_code == 200
    assert response.status_code == 200


# Services --------------------------------------------------------------------------------------


def _new_service(client, provider, **overrides):
    data = {
        "name": "Sunrise House",
        "location_ref": "1-123456789",
        "service_type": "DOMICILIARY",
        "address": "1 High Street, Newtown",
        "postcode": "NS1 4AB",
        "registered_beds": "",
    }
    data.update(overrides)
    return client.post(f"/admin/agencies/{provider.id}/services/new", data=data)


def test_admin_adds_a_service_and_the_postcode_is_tidied(as_admin, provider, db_session):
    response = _new_service(as_admin, provider, postcode="ns14ab")
    assert response.status_code == 302
    service = db_session.scalar(sa.select(Service).where(Service.location_ref == "1-123456789"))
    assert response.headers["Location"].endswith(f"/admin/services/{service.id}")
    assert (service.name, service.provider_id, service.postcode, service.registered_beds) == (
        "Sunrise House",
        provider.id,
        "NS1 4AB",
        None,
    )
    assert len(_events(db_session, "service.create")) == 1
    page = text_of(as_admin.get(response.headers["Location"]))
    assert "Sunrise House added." in page
    assert "1 High Street, Newtown, NS1 4AB" in page


def test_care_home_with_beds_is_added(as_admin, provider, db_session):
    response = _new_service(as_admin, provider, service_type="CARE_HOME_NURSING", registered_beds="42")
    assert response.status_code == 302
    assert db_session.scalar(sa.select(Service.registered_beds).where(Service.location_ref == "1-123456789")) == 42


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"location_ref": "123"}, LOCATION_ID_MESSAGE),
        ({"location_ref": "1-abc"}, LOCATION_ID_MESSAGE),
        ({"location_ref": "2-123"}, LOCATION_ID_MESSAGE),
        ({"postcode": "XYZ 123"}, POSTCODE_MESSAGE),
        (
            {"service_type": "CARE_HOME_RESIDENTIAL", "registered_beds": ""},
            "Enter the number of registered beds for a care home",
        ),
        (
            {"service_type": "DOMICILIARY", "registered_beds": "12"},
            "Only care homes have registered beds: leave it empty",
        ),
        ({"location_ref": "1-999999999"}, "Another service already has this location ID"),
        ({"name": "S" * 201}, "Service name must be 200 characters or fewer"),
        ({"service_type": "CARE_HOME_NURSING", "registered_beds": "lots"}, "Registered beds must be a whole number"),
    ],
    ids=[
        "location-digits-only",
        "location-letters",
        "location-wrong-prefix",
        "postcode-not-real",
        "care-home-without-beds",
        "domiciliary-with-beds",
        "duplicate-location",
        "name-too-long",
        "beds-not-a-number",
    ],
)
def test_refused_service_shows_its_message_keeps_what_was_typed_and_saves_nothing(
    as_admin, provider, make_service, db_session, fields, message
):
    make_service(provider, name="Existing Service", location_ref="1-999999999")
    db_session.commit()
    services, events = _count(db_session, Service), _count(db_session, AuditEvent)
    typed = {
        "name": "Sunrise House",
        "location_ref": "1-123456789",
        "address": "1 High Street, Newtown",
        "postcode": "NS1 4AB",
        "registered_beds": "",
        **fields,
    }

    response = _new_service(as_admin, provider, **fields)

    page = text_of(response)
    assert response.status_code == 200
    assert "There is a problem" in page
    assert message in page
    assert_shows_typed(page, *(value for value in typed.values() if value))
    assert (_count(db_session, Service), _count(db_session, AuditEvent)) == (services, events)


@pytest.mark.parametrize(
    "postcode",
    [
        "XYZ 123",
        "12345",
    ],
)
def test_refused_postcode_is_shown_again_as_typed(as_admin, provider, db_session, postcode):
    response = _new_service(as_admin, provider, postcode=postcode)
    page = text_of(response)
    assert "Enter a real UK postcode, like SW1A 1AA" in page
    assert f'value="{postcode}"' in page
    assert _count(db_session, Service) == 0


def test_unreal_postcode_of_digits_is_refused(as_admin, provider, db_session):
    response = _new_service(as_admin, provider, postcode="12345")
    assert "Enter a real UK postcode, like SW1A 1AA" in text_of(response)
    assert _count(db_session, Service) == 0


def test_services_are_only_added_to_care_providers(as_admin, council, db_session):
    response = as_admin.post(
        f"/admin/agencies/{council.id}/services/new", data={"name": "Council Home"}, follow_redirects=True
    )
    assert "Only care providers run services." in text_of(response)
    assert _count(db_session, Service) == 0


def _edit_service(client, service, version, **overrides):
    data = {
        "name": service.name,
        "location_ref": service.location_ref,
        "service_type": service.service_type.name,
        "address": service.address,
        "postcode": service.postcode,
        "registered_beds": "" if service.registered_beds is None else str(service.registered_beds),
        "active": "y",
        "version": str(version),
    }
    data.update(overrides)
    return client.post(f"/admin/services/{service.id}/edit", data=data)


def test_service_edit_based_on_a_stale_version_is_refused_and_the_first_save_kept(
    as_admin, provider, make_service, db_session
):
    service = make_service(
        provider, name="Sunrise House", service_type=ServiceType.CARE_HOME_RESIDENTIAL, registered_beds=20
    )
    db_session.commit()
    opened_at = service.version
    assert _edit_service(as_admin, service, opened_at, registered_beds="25").status_code == 302

    second = _edit_service(as_admin, service, opened_at, name="Sunrise Lodge", registered_beds="30")

    page = text_of(second)
    assert second.status_code == 200
    assert CONFLICT in page
    assert_shows_typed(page, "Sunrise Lodge", "30")
    saved = db_session.get(Service, service.id)
    assert (saved.name, saved.registered_beds) == ("Sunrise House", 25)


def test_service_edit_with_the_current_version_is_saved(as_admin, provider, make_service, db_session):
    service = make_service(provider, name="Sunrise House")
    db_session.commit()
    response = _edit_service(as_admin, service, service.version, name="Sunrise Lodge", postcode="ns2 5ab")
    assert response.status_code == 302
    saved = db_session.get(Service, service.id)
    assert (saved.name, saved.postcode) == ("Sunrise Lodge", "NS2 5AB")
    assert len(_events(db_session, "service.update")) == 1


# Commissioning ---------------------------------------------------------------------------------


@pytest.fixture
def service(provider, make_service, db_session):
    service = make_service(provider, name="Sunrise House")
    db_session.commit()
    return service


def test_admin_adds_a_commissioner_for_a_service(as_admin, service, council, db_session):
    response = as_admin.post(
        f"/admin/services/{service.id}/commissioners/new",
        data={"commissioner": str(council.id), "starts_on": ["1", "4", "2025"], "ends_on": ["31", "3", "2027"]},
        follow_redirects=True,
    )
    assert "Testshire Council now commissions Sunrise House." in text_of(response)
    link = db_session.scalar(sa.select(Commissioning).where(Commissioning.service_id == service.id))
    assert (link.commissioner_id, link.starts_on, link.ends_on) == (council.id, date(2025, 4, 1), date(2027, 3, 31))


def test_commissioning_ending_before_it_starts_is_refused(as_admin, service, council, db_session):
    response = as_admin.post(
        f"/admin/services/{service.id}/commissioners/new",
        data={"commissioner": str(council.id), "starts_on": ["1", "4", "2026"], "ends_on": ["31", "3", "2026"]},
    )
    page = text_of(response)
    assert response.status_code == 200
    assert "Contract end date must be the same as or after the start date" in page
    assert_shows_typed(page, "31", "3", "2026")
    assert _count(db_session, Commissioning) == 0


def test_commissioning_overlapping_an_existing_contract_is_refused(
    as_admin, service, council, make_commissioning, db_session
):
    make_commissioning(service, council, starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31))
    db_session.commit()
    response = as_admin.post(
        f"/admin/services/{service.id}/commissioners/new",
        data={"commissioner": str(council.id), "starts_on": ["1", "6", "2025"], "ends_on": ""},
    )
    assert "Testshire Council already commissions this service for part of that period" in text_of(response)
    assert _count(db_session, Commissioning) == 1


@pytest.fixture
def contract(service, council, make_commissioning, db_session):
    link = make_commissioning(service, council, starts_on=date(2025, 1, 1))
    db_session.commit()
    return link


def test_admin_ends_a_commissioning_contract(as_admin, contract, service, db_session):
    page = as_admin.get(f"/admin/commissioning/{contract.id}/end")
    assert page.status_code == 200
    assert "End Testshire Council's contract for Sunrise House" in text_of(page)

    response = as_admin.post(f"/admin/commissioning/{contract.id}/end", data={"ends_on": ["1", "4", "2026"]})

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/services/{service.id}")
    assert db_session.get(Commissioning, contract.id).ends_on == date(2026, 4, 1)
    assert len(_events(db_session, "commissioning.end")) == 1
    assert "Contract end date saved." in text_of(as_admin.get(response.headers["Location"]))


@pytest.mark.parametrize(
    "ends_on, message",
    [
        (["31", "2", "2026"], "Last day of the contract must be a real date"),
        (["1", "13", "2026"], "Last day of the contract must be a real date"),
        (["1", "4", ""], "Last day of the contract must include a year"),
        (["", "", ""], "Enter the last day of the contract"),
        (["31", "12", "2024"], "The end date must be the same as or after the start date"),
    ],
    ids=["31-february", "month-13", "no-year", "empty", "before-the-start"],
)
def test_commissioning_end_date_that_is_not_a_real_date_or_too_early_is_refused(
    as_admin, contract, db_session, ends_on, message
):
    response = as_admin.post(f"/admin/commissioning/{contract.id}/end", data={"ends_on": ends_on})
    page = text_of(response)
    assert response.status_code == 200
    assert message in page
    assert_shows_typed(page, *(part for part in ends_on if part))
    assert db_session.get(Commissioning, contract.id).ends_on is None


# The own-agency page ---------------------------------------------------------------------------


@pytest.fixture
def services_of_two_providers(provider, make_agency, make_service, council, make_commissioning, db_session):
    """Sunrise runs two services; Hillside runs one; the council commissions one of each provider."""
    other_provider = make_agency(AgencyKind.CARE_PROVIDER, name="Hillside Homes")
    icb = make_agency(AgencyKind.NHS_ICB, name="Testshire ICB")
    house = make_service(provider, name="Sunrise House", location_ref="1-100000001")
    lodge = make_service(provider, name="Sunrise Lodge", location_ref="1-100000002")
    hillside = make_service(other_provider, name="Hillside Court", location_ref="1-100000003")
    make_commissioning(house, council)
    make_commissioning(hillside, council)
    make_commissioning(lodge, icb)
    db_session.commit()
    return house, lodge, hillside


def test_provider_manager_sees_their_own_services_and_no_others(act_as, make_user, provider, services_of_two_providers):
    manager = make_user(Role.PROVIDER_MANAGER, agency=provider)
    page = text_of(act_as(manager).get("/agency"))
    assert "Your services" in page
    assert "Sunrise House" in page and "Sunrise Lodge" in page
    assert "Hillside Court" not in page
    assert "1-100000003" not in page


def test_commissioner_sees_the_services_their_agency_commissions_and_no_others(
    act_as, make_user, council, services_of_two_providers
):
    commissioner = make_user(Role.COMMISSIONER, agency=council)
    page = text_of(act_as(commissioner).get("/agency"))
    assert "Services you commission" in page
    assert "Sunrise House" in page and "Hillside Court" in page
    assert "Sunrise Lodge" not in page
    assert "1-100000002" not in page


def test_administrator_pages_are_forbidden_to_a_provider_manager(act_as, make_user, provider, db_session):
    manager = make_user(Role.PROVIDER_MANAGER, agency=provider)
    agencies = _count(db_session, Agency)
    client = act_as(manager)
    assert client.get("/admin/agencies").status_code == 403
    assert _new_agency(client).status_code == 403
    assert _count(db_session, Agency) == agencies


def test_commissioner_no_longer_sees_a_service_whose_contract_has_ended(
    act_as, make_user, council, provider, make_service, make_commissioning, db_session
):
    ended = make_service(provider, name="Sunrise Old House")
    make_commissioning(ended, council, starts_on=date(2020, 1, 1), ends_on=date(2021, 12, 31))
    db_session.commit()
    commissioner = make_user(Role.COMMISSIONER, agency=council)
    page = text_of(act_as(commissioner).get("/agency"))
    assert "Sunrise Old House" not in page


# Area boundaries -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/admin/agencies/{agency}",
        "/admin/agencies/{agency}/edit",
        "/admin/agencies/{agency}/services/new",
        "/admin/services/{service}",
        "/admin/services/{service}/edit",
        "/admin/services/{service}/commissioners/new",
        "/admin/commissioning/{contract}/end",
    ],
)
def test_admin_of_another_area_gets_not_found_for_this_areas_agencies(
    act_as, make_area, make_agency, make_user, contract, provider, service, path
):
    other_council = make_agency(AgencyKind.LOCAL_AUTHORITY, name="Otherton Council", area=make_area("Otherton"))
    other_admin = make_user(Role.ADMINISTRATOR, agency=other_council)
    client = act_as(other_admin)
    assert client.get(path.format(agency=provider.id, service=service.id, contract=contract.id)).status_code == 404
