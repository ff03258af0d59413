"""No input a person can type (or forge) gives a 500: every form answers with a page or a redirect."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from portal.core.codes import AgencyKind, Role
from tests.conftest import make_test_config

GARBAGE = [
    "",
    " ",
    "x" * 20_000,
    "\x00\x01",
    "<script>alert(1)</script>",
    "'; DROP TABLE agency; --",
    "-1",
    "99999999999999999999999",
    "NaN",
    "😀" * 50,
]

FIELD = re.compile(r'name="([a-z_]+)"')


@pytest.fixture
def admin_world(make_agency, make_service, make_commissioning, make_user, make_agreement):
    council = make_agency(AgencyKind.LOCAL_AUTHORITY, name="Fuzz council")
    provider = make_agency(AgencyKind.CARE_PROVIDER, name="Fuzz provider")
    service = make_service(provider, registered_beds=None)
    link = make_commissioning(service, council)
    admin = make_user(Role.ADMINISTRATOR, agency=council)
    person = make_user(Role.PROVIDER_STAFF, agency=provider)
    agreement = make_agreement([council, provider], signed=False)
    forms = [
        "/admin/agencies/new",
        f"/admin/agencies/{provider.id}/edit",
        f"/admin/agencies/{provider.id}/services/new",
        f"/admin/services/{service.id}/edit",
        f"/admin/services/{service.id}/commissioners/new",
        f"/admin/commissioning/{link.id}/end",
        "/admin/people/invite",
        f"/admin/people/{person.id}/edit",
        f"/admin/people/{person.id}/roles/new",
        "/admin/agreements/new",
        f"/admin/agreements/{agreement.id}/edit",
        f"/admin/agreements/{agreement.id}/parties/{agreement.parties[0].id}/sign",
        f"/admin/agreements/{agreement.id}/revoke",
        "/account/password",
        "/account/two-factor",
        "/choose-agency",
    ]
    return admin, forms


def test_no_form_gives_a_server_error_whatever_is_typed(admin_world, client, act_as):
    admin, forms = admin_world
    act_as(admin)
    failures = []
    for url in forms:
        names = sorted(set(FIELD.findall(client.get(url).text)) - {"csrf_token"})
        assert names, f"no fields found on {url}"
        for value in GARBAGE:
            for payload in ({name: value for name in names}, {name: [value, value, value, value] for name in names}):
                response = client.post(url, data=payload)
                if response.status_code >= 500:
                    failures.append(f"{url} with {value[:20]!r}: {response.status_code}")
        response = client.post(url, data={})
        if response.status_code >= 500:
            failures.append(f"{url} with nothing: {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("url", ["/sign-in", "/sign-in/security-code", "/glossary?q=" + "%00" * 300, "/admin/audit?from=2026-02-31&to=x", "/admin/audit?to=9999-12-31&page=99999999999999999999",
     "/admin/people?q=%00&page=-5", "/admin/agencies?kind=%00&page=1e9", "/agreements?status=%00"])
def test_public_and_query_pages_survive_garbage(url, client, make_user, act_as):
    act_as(make_user(Role.ADMINISTRATOR))
    for value in GARBAGE:
        assert client.post(url, data={"email": value, "password": value, "code": value}).status_code < 500
    assert client.get(url).status_code < 500


def test_unexpected_failure_shows_the_service_error_page(database_url):
    app: Flask = __import__("portal").create_app(make_test_config(database_url))
    app.testing = False  # let the error handler answer, as in production

    @app.route("/explode")
    def explode():
        raise RuntimeError("boom")

    response = app.test_client().get("/explode")
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "boom" not in response.text


def test_unknown_page_and_wrong_method_get_plain_pages(client):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert "Page not found" in missing.text
    assert client.delete("/glossary").status_code == 405
