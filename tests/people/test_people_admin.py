"""An administrator looking after people: roles, access, details, searching, and area boundaries."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.core.codes import AgencyKind, Role
from portal.people.models import Membership, User

CONFLICT = "Someone else changed this record"
REFUSED_SIGN_IN = "Enter the email address and password for your account"


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _actions(db_session, person: User) -> list[str]:
    return list(
        db_session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.object_type == "User", AuditEvent.object_id == str(person.id))
            .order_by(AuditEvent.seq)
        )
    )


@pytest.fixture
def person(make_user, provider, db_session):
    person = make_user(
        Role.PROVIDER_STAFF,
        agency=provider,
        email="priya.shah@sunrise.example.org",
        name="Priya Shah",
        job_title="Care Assistant",
    )
    db_session.commit()
    return person


# Roles -----------------------------------------------------------------------------------------


def test_admin_adds_a_role_to_a_person(as_admin, person, provider, db_session):
    response = as_admin.post(
        f"/admin/people/{person.id}/roles/new",
        data={"agency": str(provider.id), "role": "PROVIDER_MANAGER"},
        follow_redirects=True,
    )
    page = text_of(response)
    assert "Role added." in page
    assert "Provider manager" in page
    roles = db_session.scalars(
        sa.select(Membership.role).where(Membership.user_id == person.id, Membership.active)
    ).all()
    assert sorted(role.name for role in roles) == ["PROVIDER_MANAGER", "PROVIDER_STAFF"]
    assert "person.role_added" in _actions(db_session, person)


def test_role_that_does_not_fit_the_agency_is_not_added(as_admin, person, provider, db_session):
    response = as_admin.post(
        f"/admin/people/{person.id}/roles/new", data={"agency": str(provider.id), "role": "COMMISSIONER"}
    )
    assert response.status_code == 200
    assert "must belong to one of these kinds of agency: local authority, nhs integrated care board" in text_of(
        response
    )
    assert len(db_session.scalars(sa.select(Membership).where(Membership.user_id == person.id)).all()) == 1


def test_role_the_person_already_holds_is_not_added_twice(as_admin, person, provider, db_session):
    response = as_admin.post(
        f"/admin/people/{person.id}/roles/new", data={"agency": str(provider.id), "role": "PROVIDER_STAFF"}
    )
    assert "Priya Shah already holds this role at Sunrise Care Ltd" in text_of(response)
    assert len(db_session.scalars(sa.select(Membership).where(Membership.user_id == person.id)).all()) == 1


def test_admin_ends_a_persons_role(as_admin, person, db_session):
    membership = person.memberships[0]
    response = as_admin.post(f"/admin/people/{person.id}/roles/{membership.id}/end", follow_redirects=True)
    page = text_of(response)
    assert "Role ended." in page
    assert "– ended" in page
    ended = db_session.get(Membership, membership.id)
    assert ended.active is False
    assert ended.ended_at is not None
    assert "person.role_ended" in _actions(db_session, person)


def test_admin_cannot_end_the_role_they_are_using_now(as_admin, admin, db_session):
    own = admin.memberships[0]
    response = as_admin.post(f"/admin/people/{admin.id}/roles/{own.id}/end", follow_redirects=True)
    assert "You cannot end the role you are using now. Ask another administrator." in text_of(response)
    assert db_session.get(Membership, own.id).active is True


def test_ending_a_role_of_someone_else_is_not_found(as_admin, person, make_user, provider):
    other = make_user(Role.PROVIDER_STAFF, agency=provider)
    response = as_admin.post(f"/admin/people/{person.id}/roles/{other.memberships[0].id}/end")
    assert response.status_code == 404


# Access ----------------------------------------------------------------------------------------


def test_deactivated_person_cannot_sign_in_until_reactivated(
    as_admin, person, signed_out, sign_in, act_as, admin, db_session
):
    response = as_admin.post(f"/admin/people/{person.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "Priya Shah can no longer sign in." in text_of(response)
    assert "No: deactivated" in text_of(response)
    assert db_session.get(User, person.id).active is False

    signed_out()
    assert REFUSED_SIGN_IN in text_of(sign_in("priya.shah@sunrise.example.org"))

    response = act_as(admin).post(f"/admin/people/{person.id}/active", data={"active": "1"}, follow_redirects=True)
    assert "Priya Shah can now sign in." in text_of(response)
    assert db_session.get(User, person.id).active is True

    signed_out()
    response = sign_in("priya.shah@sunrise.example.org")
    assert response.status_code == 302
    actions = _actions(db_session, person)
    assert actions.index("person.deactivate") < actions.index("person.reactivate")


def test_admin_cannot_deactivate_themselves(as_admin, admin, db_session):
    response = as_admin.post(f"/admin/people/{admin.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "You cannot deactivate your own account." in text_of(response)
    assert db_session.get(User, admin.id).active is True


def test_reset_two_factor_clears_the_persons_secret(as_admin, make_user, provider, db_session):
    person = make_user(
        Role.PROVIDER_STAFF, agency=provider, name="Tom Twofactor", totp_secret="JBSWY3DPEHPK3PXP", totp_last_step=123
    )
    db_session.commit()
    page = text_of(as_admin.get(f"/admin/people/{person.id}"))
    assert "Reset two-factor sign-in" in page

    response = as_admin.post(f"/admin/people/{person.id}/two-factor/reset", follow_redirects=True)

    assert "Two-factor sign-in reset for Tom Twofactor." in text_of(response)
    reset = db_session.get(User, person.id)
    assert reset.totp_secret is None
    assert reset.totp_last_step is None
    assert "auth.two_factor_reset" in _actions(db_session, person)


# Details and concurrent edits ------------------------------------------------------------------


def _edit(client, person, version, **overrides):
    data = {
        "name": "Priya Patel",
        "email": "priya.patel@sunrise.example.org",
        "job_title": "Senior Carer",
        "version": str(version),
    }
    data.update(overrides)
    return client.post(f"/admin/people/{person.id}/edit", data=data)


def test_edit_with_the_current_version_saves_the_details(as_admin, person, db_session):
    response = _edit(as_admin, person, person.version)
    assert response.status_code == 302
    saved = db_session.get(User, person.id)
    assert (saved.name, saved.email, saved.job_title) == (
        "Priya Patel",
        "priya.patel@sunrise.example.org",
        "Senior Carer",
    )
    assert "person.update" in _actions(db_session, person)


def test_edit_form_carries_the_version_it_was_opened_at(as_admin, person):
    page = text_of(as_admin.get(f"/admin/people/{person.id}/edit"))
    assert f'name="version" type="hidden" value="{person.version}"' in page


def test_edit_based_on_a_stale_version_is_refused_and_the_first_save_kept(as_admin, person, db_session):
    opened_at = person.version
    first = _edit(as_admin, person, opened_at, name="Priya Patel", job_title="Senior Carer")
    assert first.status_code == 302

    second = _edit(
        as_admin,
        person,
        opened_at,
        name="Priya Jones",
        email="priya.jones@sunrise.example.org",
        job_title="Night Carer",
    )

    page = text_of(second)
    assert second.status_code == 200
    assert CONFLICT in page
    assert 'value="Priya Jones"' in page and 'value="Night Carer"' in page
    saved = db_session.get(User, person.id)
    assert (saved.name, saved.email, saved.job_title) == (
        "Priya Patel",
        "priya.patel@sunrise.example.org",
        "Senior Carer",
    )


def test_edit_to_another_persons_email_is_refused(as_admin, person, make_user, provider, db_session):
    make_user(Role.PROVIDER_STAFF, agency=provider, email="taken@sunrise.example.org")
    db_session.commit()
    response = _edit(as_admin, person, person.version, email="TAKEN@sunrise.example.org")
    assert "A person with this email address already has an account" in text_of(response)
    assert db_session.get(User, person.id).email == "priya.shah@sunrise.example.org"


# The people list and area boundaries -----------------------------------------------------------


@pytest.fixture
def other_area(make_area, make_agency, make_user, db_session):
    """A second area with its own administrator and a person of the same first name."""
    area = make_area("Otherton")
    council = make_agency(AgencyKind.LOCAL_AUTHORITY, name="Otherton Council", area=area)
    provider = make_agency(AgencyKind.CARE_PROVIDER, name="Otherton Homes", area=area)
    other_admin = make_user(
        Role.ADMINISTRATOR, agency=council, name="Olive Otheradmin", email="olive@otherton.example.org"
    )
    other_person = make_user(
        Role.PROVIDER_STAFF, agency=provider, name="Priya Otherton", email="priya@otherton.example.org"
    )
    db_session.commit()
    return other_admin, other_person


def test_people_search_finds_by_name(as_admin, person, make_user, provider, other_area):
    make_user(Role.PROVIDER_STAFF, agency=provider, name="Ben Brown", email="ben@sunrise.example.org")
    page = text_of(as_admin.get("/admin/people?q=priya"))
    assert "Priya Shah" in page
    assert "Ben Brown" not in page
    assert "Priya Otherton" not in page
    assert "1 person" in page


def test_people_search_finds_by_email(as_admin, person, make_user, provider, other_area):
    make_user(Role.PROVIDER_STAFF, agency=provider, name="Ben Brown", email="ben@elsewhere.example.org")
    page = text_of(as_admin.get("/admin/people?q=Sunrise.Example"))
    assert "Priya Shah" in page
    assert "Ben Brown" not in page


def test_people_list_never_shows_people_from_another_area(as_admin, person, admin, other_area):
    page = text_of(as_admin.get("/admin/people"))
    assert "Priya Shah" in page and "Alex Admin" in page
    assert "Priya Otherton" not in page and "Olive Otheradmin" not in page
    assert "otherton.example.org" not in text_of(as_admin.get("/admin/people?q=otherton"))


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/admin/people/{id}"),
        ("get", "/admin/people/{id}/edit"),
        ("get", "/admin/people/{id}/roles/new"),
        ("post", "/admin/people/{id}/roles/{membership}/end"),
        ("post", "/admin/people/{id}/invitation"),
        ("post", "/admin/people/{id}/active"),
        ("post", "/admin/people/{id}/two-factor/reset"),
    ],
)
def test_admin_of_another_area_gets_not_found_for_this_areas_people(
    act_as, person, other_area, db_session, method, path
):
    other_admin, _ = other_area
    client = act_as(other_admin)
    url = path.format(id=person.id, membership=person.memberships[0].id)
    response = getattr(client, method)(url, data={"active": "0"} if method == "post" else None)
    assert response.status_code == 404
    unchanged = db_session.get(User, person.id)
    assert unchanged.active is True
    assert unchanged.memberships[0].active is True
