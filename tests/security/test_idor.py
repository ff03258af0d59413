"""Guessing ids finds nothing: a person of another area, or of a provider in the same area that owns
nothing here, gets for every id of the world exactly what they get for an id that does not exist
(404, or 403 for a page their role may not use at all), never a page, never a 500.

Every route with an id in its path is walked, from the URL map, with every id its table holds.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from tests.security import routes
from tests.security.helpers import undone

#: The most ids walked in one table.
SAMPLE = 3
#: Ids no table holds (the largest an integer column may hold).
MISSING_ID = 2**31 - 1
#: One person for each way the policy grants sight: administration, the area's lead, commissioning,
#: the regulator's sharing, and a provider's own services (in the same area).
WALKERS = ["ELSEWHERE_ADMINISTRATOR", "ELSEWHERE_SAFEGUARDING_LEAD", "ELSEWHERE_COMMISSIONER", "ELSEWHERE_INSPECTOR", "STRANGER_MANAGER"]


def _object_routes(app):
    return [
        (rule, method)
        for rule in routes.rules(app)
        for method in ("GET", "POST")
        if method in rule.methods and any(rule._converters[arg].__class__.__name__ == "IntegerConverter" for arg in rule.arguments)
    ]


def _foreign_ids(table: str, walker_id: int, other_area_id: int) -> list[int]:
    """Every id of the table that is not the walker's own, nor their own area's."""
    t = db.metadata.tables[table]
    query = sa.select(t.c.id)
    if table == "agency":
        query = query.where(t.c.area_id != other_area_id)
    if table in ("user_account", "membership"):
        memberships = db.metadata.tables["membership"]
        agencies = db.metadata.tables["agency"]
        own_area = sa.select(memberships.c.user_id if table == "user_account" else memberships.c.id).join(
            agencies, agencies.c.id == memberships.c.agency_id).where(agencies.c.area_id == other_area_id)
        query = query.where(t.c.id.not_in(own_area))
        query = query.where((t.c.id if table == "user_account" else t.c.user_id) != walker_id)
    if table == "agency":
        memberships = db.metadata.tables["membership"]
        query = query.where(t.c.id.not_in(sa.select(memberships.c.agency_id).where(memberships.c.user_id == walker_id)))
    found = list(db.session.scalars(query.order_by(t.c.id)))
    # Ids spread over the table: its first, last and some between (people and agencies are many).
    step = max(1, len(found) // (SAMPLE - 1))
    return sorted(set(found[::step][: SAMPLE - 1] + found[-1:]))


def _answer(response) -> int | str:
    return response.status_code


def _open(client, db_session, url, method):
    if method == "GET":
        return client.get(url)
    with undone(db_session):
        return client.open(url, method=method)


@pytest.mark.parametrize("walker", WALKERS)
def test_guessing_ids_of_another_area_or_agency_finds_nothing(walker, app, world, client, sign_in_as, db_session):
    walker_id = world.strangers[walker]
    sign_in_as(walker_id)
    leaks, walked = [], 0
    for rule, method in _object_routes(app):
        for argument in rule.arguments:
            key = routes.world_key(rule, argument)
            if key not in routes.TABLES:
                continue
            ids = _foreign_ids(routes.TABLES[key], walker_id, world.other_area_id)
            nothing = _answer(_open(client, db_session, routes.url(rule, world.ids, **{argument: MISSING_ID}), method))
            if nothing not in (403, 404):
                leaks.append(f"{method} {rule.rule} <{argument}> for a missing id: {nothing}")
            for ident in ids:
                url = routes.url(rule, world.ids, **{argument: ident})
                answer = _answer(_open(client, db_session, url, method))
                walked += 1
                if answer != nothing:
                    leaks.append(f"{method} {url}: {answer}, but {nothing} for an id that does not exist")
    assert walked > 100
    assert not leaks, f"{walker} learned something by guessing ids:\n" + "\n".join(leaks)


@pytest.mark.parametrize("walker", ["ELSEWHERE_SAFEGUARDING_LEAD", "STRANGER_MANAGER"])
def test_guessing_ids_in_the_query_string_finds_nothing(walker, world, client, sign_in_as, db_session):
    sign_in_as(world.strangers[walker])
    leaks = []
    for path, parameter, key in routes.QUERY_OBJECTS:
        nothing = client.get(f"{path}?{parameter}={MISSING_ID}").status_code
        for ident in _foreign_ids(routes.TABLES[key], world.strangers[walker], world.other_area_id):
            answer = client.get(f"{path}?{parameter}={ident}")
            if answer.status_code != nothing or answer.status_code == 200 and str(ident) in answer.text and "404" in answer.text:
                leaks.append(f"{path}?{parameter}={ident}: {answer.status_code}, but {nothing} for an id that does not exist")
    assert not leaks, "\n".join(leaks)


def test_every_route_with_an_id_is_walked(app):
    """A new route whose ids the world cannot fill fails here (add it to tests/security/routes.py)."""
    unknown = []
    for rule, _ in _object_routes(app):
        for argument in rule.arguments:
            try:
                routes.world_key(rule, argument)
            except routes.UnknownArgument as error:
                unknown.append(str(error))
    assert not unknown, "\n".join(unknown)
