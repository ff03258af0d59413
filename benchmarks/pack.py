"""Building an agenda pack on a large area, and showing it: time, queries and size per attendee.

Run from the project root::

    .venv/bin/python benchmarks/pack.py                      # PostgreSQL, 2,000 services, then a tenth
    .venv/bin/python benchmarks/pack.py --sqlite --scale 0.2 --skip-small

For each size (full, then a tenth unless ``--skip-small``), on a fresh database seeded as
``benchmarks/register.py`` does (2,000 × scale services, 500,000 × scale items, 100,000 × scale
concerns, the signals computed):

1. A provider quality meeting whose agenda has the ``--providers`` providers with the most
   services (at any scale the largest has ten), with ``--attendees`` people invited in a mix of
   roles: the council's commissioner (sees everything), a provider manager of each provider on the
   agenda (sees only their own section), the regulator's inspector, the ICB's commissioner and
   Board members; and a previous meeting of the series 30 days earlier, so the pack covers a month.
2. The pack built ``--rounds`` times through :func:`portal.meetings.pack.build_pack` (each a new
   version, committed): total time, time per copy, SQL statements per copy, and the JSON size of
   the largest copy.
3. The pack page (``GET /meetings/<id>/pack``) for the council's commissioner through the test
   client, ``--rounds`` × 5 times: median time.

Printed: the figures per size, and each figure at full size over a tenth (how the work grows
with the area). The largest providers are larger in a larger area, so the pack has more services to
cover: the time per copy and service is the figure that should stay flat.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402  (after the project root is importable)

from benchmarks.register import (  # noqa: E402
    Size,
    add_area_arguments,
    compare_sizes,
    create_database,
    environment,
    portal_environment,
    seed_area,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Agenda pack building and showing on a large area.")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (2,000 services)")
    parser.add_argument("--providers", type=int, default=6, help="providers on the agenda")
    parser.add_argument("--attendees", type=int, default=14, help="people invited (at least providers + 3)")
    parser.add_argument("--rounds", type=int, default=3, help="builds (medians are reported)")
    add_area_arguments(parser)
    args = parser.parse_args(argv)
    if args.attendees < args.providers + 3:
        parser.error("--attendees must be at least --providers + 3")
    return args


def _person(db, agency_id: int, role, name: str):
    from portal.people.models import Membership, User

    user = User(email=f"{uuid.uuid4().hex[:10]}@bench.example", name=name, job_title="Bench", password_hash="x")
    db.session.add(user)
    db.session.flush()
    membership = Membership(user_id=user.id, agency_id=agency_id, role=role)
    db.session.add(membership)
    db.session.flush()
    return user, membership


def set_up_meeting(app, world, args) -> tuple[int, int, int]:
    """The meeting and its previous one in a series; returns (meeting id, commissioner's user id, services on the agenda)."""
    from portal.agencies.models import Agency, Service
    from portal.core.codes import AgencyKind, Role
    from portal.extensions import db
    from portal.meetings.models import (
        AgendaItem,
        Attendee,
        Meeting,
        MeetingKind,
        MeetingSeries,
        MeetingStatus,
        PlaceKind,
    )
    from portal.people.models import Membership

    with app.app_context():
        providers = db.session.execute(
            sa.select(Service.provider_id, sa.func.count()).group_by(Service.provider_id)
            .order_by(sa.func.count().desc(), Service.provider_id).limit(args.providers)
        ).all()
        commissioner_membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == world.user_id))
        people = [(world.user_id, commissioner_membership.id)]
        for provider_id, _ in providers:
            user, membership = _person(db, provider_id, Role.PROVIDER_MANAGER, "Bench Manager")
            people.append((user.id, membership.id))
        for agency_id, role in ((world.regulator_id, Role.INSPECTOR), (world.icb_id, Role.COMMISSIONER)):
            user, membership = _person(db, agency_id, role, "Bench Partner")
            people.append((user.id, membership.id))
        board = db.session.scalar(sa.select(Agency.id).where(Agency.area_id == world.area_id, Agency.kind == AgencyKind.SAB))
        while len(people) < args.attendees:
            user, membership = _person(db, board, Role.SAB_MEMBER, "Bench Board Member")
            people.append((user.id, membership.id))
        series = MeetingSeries(area_id=world.area_id, kind=MeetingKind.PROVIDER_QUALITY, title="Bench quality meeting",
                               rule="FREQ=MONTHLY;COUNT=2", created_by_id=world.user_id)
        db.session.add(series)
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
        meetings = []
        for offset, status in ((-30, MeetingStatus.HELD), (0, MeetingStatus.SCHEDULED)):
            meeting = Meeting(
                uid=f"{uuid.uuid4()}@bench", kind=MeetingKind.PROVIDER_QUALITY, title="Bench quality meeting",
                purpose="Benchmark", area_id=world.area_id, starts_at=starts + timedelta(days=offset),
                ends_at=starts + timedelta(days=offset, hours=2), place_kind=PlaceKind.ONLINE,
                online_link="https://meet.example/bench", status=status, organiser_id=world.user_id,
                organiser_agency_id=world.council_id, chair_id=world.user_id, series=series,
            )
            db.session.add(meeting)
            db.session.flush()
            for user_id, membership_id in people:
                db.session.add(Attendee(meeting_id=meeting.id, user_id=user_id, membership_id=membership_id))
            for position, (provider_id, _) in enumerate(providers, start=1):
                db.session.add(AgendaItem(meeting_id=meeting.id, position=position, title=f"Provider {provider_id}",
                                          provider_id=provider_id))
            meetings.append(meeting)
        db.session.commit()
        meeting_id = meetings[-1].id
        services = sum(count for _, count in providers)
        db.session.remove()
    return meeting_id, world.user_id, services


def measure(app, meeting_id: int, user_id: int, rounds: int) -> dict:
    from flask_login.utils import _create_identifier

    from portal.extensions import db
    from portal.meetings import pack
    from portal.meetings.models import Meeting
    from portal.people.models import User

    statements = []

    def count(*_):
        statements.append(1)

    results = {"build": [], "per_copy": [], "statements_per_copy": [], "largest_copy_bytes": 0, "copies": 0}
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            for _ in range(rounds):
                db.session.expire_all()
                meeting = db.session.get(Meeting, meeting_id)
                by = db.session.get(User, user_id)
                by.membership = by.active_memberships[0]
                statements.clear()
                started = time.perf_counter()
                built = pack.build_pack(meeting, by=by)
                db.session.commit()
                elapsed = time.perf_counter() - started
                copies = len(built.copies)
                results["build"].append(elapsed)
                results["per_copy"].append(elapsed / copies)
                results["statements_per_copy"].append(len(statements) / copies)
                results["copies"] = copies
                results["largest_copy_bytes"] = max(len(json.dumps(copy.content)) for copy in built.copies)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        db.session.remove()

    with app.app_context():
        user = db.session.get(User, user_id)
        membership_id = user.active_memberships[0].id
        # Nothing of this context may hold the database while the requests write their audit events.
        db.session.remove()
        page_times = []
        # Signed in as the tests' act_as does: the session the sign-in page would leave.
        client = app.test_client()
        with app.test_request_context(base_url="https://localhost", environ_base=client.environ_base):
            identifier = _create_identifier()
        with client.session_transaction(base_url="https://localhost") as session:
            session.update({"_user_id": str(user_id), "_fresh": True, "_id": identifier,
                            "signed_in_at": time.time(), "last_seen": time.time(),
                            "membership_id": membership_id})
        url = f"https://localhost/meetings/{meeting_id}/pack"
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        results["page_bytes"] = len(response.data)
        for _ in range(rounds * 5):
            started = time.perf_counter()
            response = client.get(url)
            page_times.append(time.perf_counter() - started)
            assert response.status_code == 200
        results["page"] = page_times
        db.session.remove()
    return results


def run_size(args, size: Size, workdir: Path) -> dict:
    from portal import create_app

    print(f"\n== {size.label}: {size.services:,} services, {size.items:,} items, {size.concerns:,} concerns ==", flush=True)
    with contextlib.ExitStack() as stack:
        database_url = create_database(stack, args, size, workdir)
        env = portal_environment(database_url, secrets.token_urlsafe(48))
        with environment(env):
            import flask_migrate

            app = create_app()
            with app.app_context():
                flask_migrate.upgrade()
            started = time.perf_counter()
            world, _ = seed_area(app, size, args.seed)
            print(f"  seeded in {time.perf_counter() - started:.1f} s", flush=True)
            meeting_id, user_id, services = set_up_meeting(app, world, args)
            print(f"  agenda: {args.providers} providers with {services} services; {args.attendees} invited", flush=True)
            results = measure(app, meeting_id, user_id, args.rounds)
            with app.app_context():
                from portal.extensions import db

                db.engine.dispose()
        if args.keep:
            print(f"  kept: {database_url}")
    median = statistics.median
    figures = {
        "build (s)": median(results["build"]),
        "per copy (ms)": median(results["per_copy"]) * 1000,
        "per copy and service (ms)": median(results["per_copy"]) * 1000 / services,
        "statements per copy": median(results["statements_per_copy"]),
        "largest copy (KB)": results["largest_copy_bytes"] / 1024,
        "pack page p50 (ms)": median(results["page"]) * 1000,
        "pack page (KB)": results["page_bytes"] / 1024,
    }
    print(f"  {results['copies']} copies; " + "; ".join(f"{name} {value:,.1f}" for name, value in figures.items()))
    return {"size": size, "figures": figures}


def main(argv=None) -> int:
    return compare_sizes(parse_args(argv), run_size, "bench-pack-")


if __name__ == "__main__":
    raise SystemExit(main())
