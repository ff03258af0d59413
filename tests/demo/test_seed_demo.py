"""The demo area: what `flask --app portal seed-demo` builds, and that running it twice changes nothing."""

from datetime import date

import sqlalchemy as sa

from portal.agencies.models import Agency, Service
from portal.agreements.models import Agreement, AgreementStatus
from portal.audit.models import AuditEvent
from portal.audit.operations import verify_chain
from portal.core.codes import AgencyKind, Role
from portal.demo.seed import ACCOUNTS, DEMO_PASSWORD
from portal.people.models import Membership, User


def _counts(db_session):
    return {model.__name__: db_session.scalar(sa.select(sa.func.count()).select_from(model)) for model in (Agency, Service, User, Membership, Agreement, AuditEvent)}


def test_seed_demo_builds_the_area_running_again_changes_nothing_and_its_accounts_sign_in(app, seeded_demo, db_session, client):
    # The package's fixture ran the command once on an empty database (tests/demo/conftest.py).
    first = seeded_demo.output
    assert "Demo area Northshire loaded" in first
    for account in ACCOUNTS:
        assert account.email in first
    assert DEMO_PASSWORD in first
    after_first = _counts(db_session)
    runner = app.test_cli_runner()

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "nothing changed" in second.output
    assert _counts(db_session) == after_first

    providers = db_session.scalars(sa.select(Agency).where(Agency.kind == AgencyKind.CARE_PROVIDER)).all()
    assert len(providers) >= 12
    assert after_first["Service"] >= 30
    kinds = set(db_session.scalars(sa.select(Agency.kind)))
    assert {AgencyKind.LOCAL_AUTHORITY, AgencyKind.NHS_ICB, AgencyKind.REGULATOR, AgencyKind.SAB} <= kinds
    roles = set(db_session.scalars(sa.select(Membership.role)))
    assert roles == set(Role)

    statuses = sorted(a.status_on(date.today()).name for a in db_session.scalars(sa.select(Agreement)))
    assert statuses == sorted([AgreementStatus.ACTIVE.name, AgreementStatus.ACTIVE.name, AgreementStatus.EXPIRED.name])
    assert verify_chain().intact

    # The printed password works (one seeding for both: building the demo takes seconds).
    response = client.post("/sign-in", data={"email": ACCOUNTS[0].email, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/home")


def test_seed_demo_refuses_to_run_in_production(app, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "cannot be loaded in production" in result.output
