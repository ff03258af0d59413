"""Who sees which services' intelligence and risk, for every role: through the policy queries, the
register page and its CSV export, which must all agree.

In ``intel_world`` the council commissions Sunrise House (``home``) and the ICB commissions
Moonlight Lodge (``elsewhere``); the council, the regulator and the Board share provider
intelligence under one agreement. ``home`` has an open complaint and a confidential whistleblower;
``elsewhere`` has a complaint.
"""

from __future__ import annotations

import csv
import functools
import io
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal import policy
from portal.agencies.models import Service
from portal.agreements.models import Agreement
from portal.agreements.operations import revoke_agreement
from portal.core.codes import AgencyKind, Role
from portal.extensions import db
from portal.intelligence.models import RiskSignal, Severity, SourceType
from tests.conftest import register_world, world_part
from tests.intelligence.conftest import build_intel_world, record_test_item

COMPLAINT = "Open complaint about night staffing"
WHISTLE = "Whistleblower says bruises are hidden"
MOONLIGHT = "Complaint about Moonlight medicines"


def build_risky_world(make):
    """Intelshire with a complaint and a confidential whistleblower at Sunrise House, a complaint at
    Moonlight Lodge, and a commissioner and an inspector whose agencies share nothing."""
    intel_world = build_intel_world(make)
    add_item = functools.partial(record_test_item, intel_world)
    add_item(source=SourceType.COMPLAINT, severity=Severity.HIGH, summary=COMPLAINT)
    add_item(source=SourceType.WHISTLEBLOWING, severity=Severity.SERIOUS, summary=WHISTLE)
    add_item(intel_world.elsewhere, source=SourceType.COMPLAINT, severity=Severity.MODERATE, summary=MOONLIGHT,
             supplied_by=intel_world.icb)
    other_icb = make.agency(AgencyKind.NHS_ICB, area=intel_world.area, name="Neighbouring ICB")
    other_regulator = make.agency(AgencyKind.REGULATOR, area=intel_world.area, name="Unshared Regulator")
    intel_world.users.lone_commissioner = make.user(
        Role.COMMISSIONER, agency=other_icb, email="lone@intel.example", name="Lone Commissioner")
    intel_world.users.lone_inspector = make.user(
        Role.INSPECTOR, agency=other_regulator, email="lone-inspector@intel.example", name="Lone Inspector")
    return {"intel_world": intel_world, "risky_world": intel_world}


register_world("risky_world", ("intel_world", "risky_world"), build_risky_world)
risky_world = world_part("risky_world")


#: What each person sees: the services, and whether the confidential whistleblower is among it.
EXPECTED = {
    "council_commissioner": ({"home"}, True),
    "icb_commissioner": ({"elsewhere"}, True),
    "lone_commissioner": (set(), True),
    "inspector": ({"home"}, True),
    "lone_inspector": (set(), True),
    "lead": ({"home", "elsewhere"}, True),
    "manager": ({"home"}, False),
    "other_manager": ({"elsewhere"}, False),
    "staff": (set(), False),
    "sab_member": ({"home", "elsewhere"}, False),
    "sab_chair": ({"home", "elsewhere"}, False),
    "admin": (set(), False),
}
#: Those whose role holds no view of intelligence at all: the register answers 403.
NO_REGISTER = {"staff", "admin"}


def _acting(user):
    user.membership = user.active_memberships[0]
    return user


def _names(world, keys):
    return {getattr(world, key).name for key in keys}


@pytest.mark.parametrize("person", sorted(EXPECTED))
def test_policy_queries_scope_services_and_signals_for_every_role(risky_world, person):
    user = _acting(getattr(risky_world.users, person))
    services, confidential = EXPECTED[person]
    visible = set(db.session.scalars(policy.intelligence_services_visible_to(user).with_only_columns(Service.name)))
    assert visible == _names(risky_world, services)
    signals = db.session.scalars(policy.risk_signals_visible_to(user)).all()
    assert {signal.service.name for signal in signals} == visible
    assert all(signal.includes_confidential is confidential for signal in signals)
    assert policy.sees_confidential_intelligence(user) is confidential


def _register(client, act_as, user):
    act_as(user)
    return client.get("/register", query_string={"per_page": 50})


def _csv(client, act_as, user) -> list[dict]:
    act_as(user)
    response = client.get("/register.csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


@pytest.mark.parametrize("person", sorted(EXPECTED))
def test_the_register_page_and_its_export_show_exactly_what_the_policy_allows(risky_world, client, act_as, person):
    user = getattr(risky_world.users, person)
    services, confidential = EXPECTED[person]
    page = _register(client, act_as, user)
    if person in NO_REGISTER:
        assert page.status_code == 403
        act_as(user)
        assert client.get("/register.csv").status_code == 403
        return
    assert page.status_code == 200
    shown = {name for name in _names(risky_world, {"home", "elsewhere"}) if name in page.text}
    assert shown == _names(risky_world, services)
    assert (WHISTLE in page.text) is (confidential and "home" in services)
    assert (COMPLAINT in page.text) is ("home" in services)
    assert (MOONLIGHT in page.text) is ("elsewhere" in services)

    rows = _csv(client, act_as, user)
    assert {row["Service"] for row in rows} == _names(risky_world, services)
    exported = "\n".join(row["Contributing items (largest first)"] for row in rows)
    assert (WHISTLE in exported) is (confidential and "home" in services)
    assert (MOONLIGHT in exported) is ("elsewhere" in services)


def test_confidential_only_risk_never_changes_the_score_a_provider_manager_sees(risky_world, client, act_as, add_item):
    manager = risky_world.users.manager
    before = _csv(client, act_as, manager)
    for _ in range(3):
        add_item(source=SourceType.WHISTLEBLOWING, severity=Severity.SERIOUS, summary="Another secret")
    after = _csv(client, act_as, manager)
    assert before == after
    lead_rows = _csv(client, act_as, risky_world.users.lead)
    home_for_lead = next(row for row in lead_rows if row["Service"] == risky_world.home.name)
    assert float(home_for_lead["Score"]) > float(after[0]["Score"])
    assert "Another secret" not in _register(client, act_as, manager).text


def test_a_board_members_register_leaves_out_confidential_items_and_says_so(risky_world, client, act_as):
    page = _register(client, act_as, risky_world.users.sab_member)
    assert "worked out without them" in page.text
    assert WHISTLE not in page.text and COMPLAINT in page.text


def _inspector_sees_home(world) -> bool:
    inspector = _acting(world.users.inspector)
    return world.home.id in set(db.session.scalars(
        policy.risk_signals_visible_to(inspector).with_only_columns(RiskSignal.service_id)
    ))


def test_an_expired_agreement_stops_the_inspectors_access_without_anyone_acting(risky_world, client, act_as):
    agreement = db.session.scalar(sa.select(Agreement).where(Agreement.title == "Intel agreement"))
    assert _inspector_sees_home(risky_world)
    after_end = datetime.combine(agreement.ends_on + timedelta(days=1), time(12), tzinfo=UTC)
    with time_machine.travel(after_end, tick=False):
        assert not _inspector_sees_home(risky_world)
        page = _register(client, act_as, risky_world.users.inspector)
        assert page.status_code == 200 and risky_world.home.name not in page.text
        assert _csv(client, act_as, risky_world.users.inspector) == []
        act_as(risky_world.users.inspector)
        assert client.get(f"/services/{risky_world.home.id}/register-entry").status_code == 404
        # The council's own commissioner still sees the service it commissions.
        assert risky_world.home.name in _register(client, act_as, risky_world.users.council_commissioner).text


def test_a_revoked_agreement_stops_the_inspectors_access_at_once(risky_world, client, act_as):
    agreement = db.session.scalar(sa.select(Agreement).where(Agreement.title == "Intel agreement"))
    admin = _acting(risky_world.users.admin)
    revoke_agreement(agreement, reason="The regulator left the partnership", by_user=admin)
    db.session.commit()
    assert not _inspector_sees_home(risky_world)
    assert _csv(client, act_as, risky_world.users.inspector) == []


def test_a_commissioning_that_has_ended_stops_the_commissioners_access(risky_world, client, act_as):
    link = risky_world.elsewhere.commissionings[0]
    link.ends_on = date.today() - timedelta(days=1)
    db.session.commit()
    rows = _csv(client, act_as, risky_world.users.icb_commissioner)
    assert rows == []


@pytest.mark.parametrize(
    ("person", "status"),
    [
        ("lead", 200), ("council_commissioner", 200), ("icb_commissioner", 404), ("lone_commissioner", 404),
        ("inspector", 403), ("lone_inspector", 404), ("manager", 403), ("other_manager", 404), ("staff", 404),
        ("sab_member", 403), ("sab_chair", 403), ("admin", 404),
    ],
)
def test_who_may_name_the_owner_of_a_services_risk(risky_world, client, act_as, person, status):
    act_as(getattr(risky_world.users, person))
    assert client.get(f"/services/{risky_world.home.id}/register-entry").status_code == status
