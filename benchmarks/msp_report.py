"""The MSP and outcome report on a large area: build time and SQL statements, at full size and a tenth.

Run from the project root::

    .venv/bin/python benchmarks/msp_report.py                      # PostgreSQL: 100,000 concerns, then 10,000
    .venv/bin/python benchmarks/msp_report.py --sqlite --scale 0.2 --skip-small

For each size (full, then a tenth unless ``--skip-small``), on a fresh database seeded as
``benchmarks/register.py`` does (``100,000 × scale`` concerns over three years, with their adults,
triage decisions and, for concluded enquiries, the national return's closing answers):

1. :func:`portal.reports.msp.build_report` for two periods, ``--rounds`` times each: the financial
   year to date and the last three years (every concern): median and best time, and the SQL
   statements one build runs (all of them, and the ``SELECT`` queries among them).
2. The report page (``GET /reports/msp``, the financial year to date) through the test client for
   a safeguarding lead of the council, ``--rounds`` times: median time and size; and the CSV.

Printed: the figures per size, and each time at full size over a tenth (how the work grows with
the number of concerns: the queries read every concern of the period, so about 10× is expected
for the three-year period; the statement count must not grow at all).
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import statistics
import sys
import time
from datetime import timedelta
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
    parser = argparse.ArgumentParser(description="The MSP and outcome report on a large area.")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (100,000 concerns)")
    parser.add_argument("--rounds", type=int, default=5, help="builds per period (medians are reported)")
    add_area_arguments(parser)
    return parser.parse_args(argv)


def add_lead(app, world) -> tuple[int, int]:
    """A safeguarding lead of the seeded council: (user id, membership id)."""
    from portal.core.codes import Role
    from portal.extensions import db
    from portal.people.models import Membership, User

    with app.app_context():
        user = User(email="lead@bench.example", name="Bench Lead", job_title="Safeguarding lead", password_hash="x")
        db.session.add(user)
        db.session.flush()
        membership = Membership(user_id=user.id, agency_id=world.council_id, role=Role.SAFEGUARDING_LEAD)
        db.session.add(membership)
        db.session.commit()
        ids = user.id, membership.id
        db.session.remove()
    return ids


def time_builds(app, area_id: int, periods: dict, rounds: int) -> dict:
    from portal.extensions import db
    from portal.reports.msp import build_report

    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    results = {}
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            for name, period in periods.items():
                times = []
                for _ in range(rounds):
                    statements.clear()
                    started = time.perf_counter()
                    report = build_report(area_id, period)
                    times.append(time.perf_counter() - started)
                    db.session.rollback()
                sg1 = report.tables[0].rows[0].counts
                concluded = report.tables[4].total.counts[2]
                queries = sum(statement.lstrip().upper().startswith("SELECT") for statement in statements)
                results[name] = {"times": times, "statements": len(statements), "queries": queries, "concerns": sg1[0],
                                 "s42": sg1[1], "other": sg1[2], "concluded": concluded}
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        db.session.remove()
    return results


def time_page(app, user_id: int, membership_id: int, rounds: int) -> dict:
    from flask_login.utils import _create_identifier

    from portal.extensions import db

    with app.app_context():
        db.session.remove()
        client = app.test_client()
        with app.test_request_context(base_url="https://localhost", environ_base=client.environ_base):
            identifier = _create_identifier()
        with client.session_transaction(base_url="https://localhost") as session:
            session.update({"_user_id": str(user_id), "_fresh": True, "_id": identifier, "signed_in_at": time.time(),
                            "last_seen": time.time(), "membership_id": membership_id})
        results = {}
        for name, url in (("page", "https://localhost/reports/msp"), ("CSV", "https://localhost/reports/msp.csv")):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200
            results[name] = {"times": times, "bytes": len(response.data)}
        db.session.remove()
    return results


def run_size(args, size: Size, workdir: Path) -> dict:
    from portal import create_app
    from portal.core.workdays import london_today
    from portal.reports.msp import Period, financial_year_start

    print(f"\n== {size.label}: {size.concerns:,} concerns ({size.services:,} services, {size.items:,} items) ==",
          flush=True)
    today = london_today()
    periods = {
        "financial year to date": Period(financial_year_start(today), today),
        "last three years": Period(today - timedelta(days=3 * 365 + 1), today),
    }
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
            user_id, membership_id = add_lead(app, world)
            builds = time_builds(app, world.area_id, periods, args.rounds)
            pages = time_page(app, user_id, membership_id, args.rounds)
            with app.app_context():
                from portal.extensions import db

                db.engine.dispose()
        if args.keep:
            print(f"  kept: {database_url}")
    figures = {}
    for name, result in builds.items():
        print(f"  build, {name}: median {statistics.median(result['times']) * 1000:,.0f} ms, best "
              f"{min(result['times']) * 1000:,.0f} ms, {result['statements']} statements ({result['queries']} queries); "
              f"{result['concerns']:,} concerns, {result['s42']:,} s42 and {result['other']:,} other enquiries "
              f"started, {result['concluded']:,} concluded", flush=True)
        figures[f"build, {name} (ms)"] = statistics.median(result["times"]) * 1000
        figures[f"statements, {name}"] = result["statements"]
    for name, result in pages.items():
        print(f"  GET /reports/msp{'.csv' if name == 'CSV' else ''} (financial year to date): median "
              f"{statistics.median(result['times']) * 1000:,.0f} ms, {result['bytes'] / 1024:,.0f} KB", flush=True)
        figures[f"{name} (ms)"] = statistics.median(result["times"]) * 1000
    return {"size": size, "figures": figures}


def main(argv=None) -> int:
    return compare_sizes(parse_args(argv), run_size, "bench-msp-")


if __name__ == "__main__":
    raise SystemExit(main())
