"""The risk register and a provider profile under load, against a bare page on the same database.

Run from the project root::

    .venv/bin/python benchmarks/register.py                  # PostgreSQL, 2,000 services, then a tenth
    .venv/bin/python benchmarks/register.py --sqlite
    .venv/bin/python benchmarks/register.py --scale 0.2 --duration 5 --skip-small

For each size (full, then a tenth unless ``--skip-small``):

1. A fresh database (PostgreSQL ``bench_register_<pid>_<size>`` on 127.0.0.1:5432, user ``postgres``,
   dropped afterwards unless ``--keep``; or a SQLite file), migrated with Alembic.
2. A large area, seeded with bulk Core inserts (executemany in batches, no ORM object or audit
   event per row): ``2,000 × scale`` services across ``400 × scale`` providers, ``500,000 × scale``
   intelligence items (inspections, contract-monitoring visits with 16 scores each and their
   improvement actions, ``100,000 × scale`` safeguarding concerns with their items, and
   complaints, incidents, feedback, workforce figures, whistleblowing and review findings),
   spread over three years with a skewed number per service; the concerns' adults (``70,000 ×
   scale``), triage decisions and closing answers for the MSP and outcome report (``SacFields``);
   then every service's risk signal through
   :func:`portal.intelligence.operations.refresh_signals`, in chunks.
3. A commissioner whose council commissions every service, so the register and profiles are at
   full size for them; they sign in through ``/sign-in`` (with the form's CSRF token) for a
   session cookie.
4. The portal under gunicorn (2 sync workers, production settings, rate limits off) and the bare
   page (``benchmarks/bare_app.py``: 50 rows from the ``service`` table by primary key, one Jinja
   template) under gunicorn the same way.
5. autocannon (``node_modules/.bin/autocannon``) at ``--connections`` for ``--duration`` seconds
   per page after a warm-up: the bare page, ``/register`` (page 1, default sort), a provider
   profile (a provider with ten services and some 2,500 items at any scale), and the bare page
   again; the ratio is each page's requests per second over the mean of the two bare runs.

Printed: seeding time, a table of req/s, p50 and p99 per page with the ratio to the bare page
(target at least 0.50), and each page's p50 at full size over its p50 at a tenth (target at most
1.3×).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402  (after the project root is importable)

from benchmarks.notifications import free_port, start_process  # noqa: E402

AUTOCANNON = ROOT / "node_modules" / ".bin" / "autocannon"
GUNICORN = Path(sys.executable).with_name("gunicorn")
TARGET_RATIO = 0.5
TARGET_SLOWDOWN = 1.3
BATCH = 10_000
PASSWORD = "benchmark-commissioner-password"
EMAIL = "commissioner@bench.example"
#: The provider whose profile is measured: the same size at every scale, so the times compare.
PROFILE_SERVICES = 10
#: Sent with every request: the portal's "strong" session protection ties a session to it.
USER_AGENT = "bench-register/1"
#: Tables the seed fills with ids of its own, whose sequences are moved past them afterwards.
EXPLICIT_IDS = ("agency", "service", "commissioning", "user_account", "membership", "inspection", "monitoring_visit",
                "visit_score", "improvement_action", "adult", "concern", "intelligence_item", "register_entry")


def add_area_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the seeded area's databases, shared with the other benchmarks that seed it."""
    parser.add_argument("--skip-small", action="store_true", help="measure the full size only")
    parser.add_argument("--keep", action="store_true", help="keep the databases (their URLs are printed)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="server (and maintenance database) to create the databases on")
    parser.add_argument("--seed", type=int, default=20261122, help="random seed for the data")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Risk register and provider profile against a bare page.")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (2,000 services)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of measurement (medians are reported)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of load per page before measuring")
    add_area_arguments(parser)
    parser.add_argument("--worker-class", default="gthread",
                        help="gunicorn worker class: gthread (one thread per worker, keep-alive) or sync")
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.duration < 1 or args.connections < 1:
        parser.error("--scale, --duration and --connections must be positive")
    return args


# Sizes ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    label: str
    services: int
    providers: int
    items: int
    concerns: int

    @classmethod
    def at(cls, label: str, scale: float) -> Size:
        return cls(label, max(PROFILE_SERVICES + 2, round(2000 * scale)), max(2, round(400 * scale)),
                   round(500_000 * scale), round(100_000 * scale))


# The database --------------------------------------------------------------------------------


def _on_server(url, statement: str) -> None:
    server = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with server.connect() as connection:
        connection.exec_driver_sql(statement)
    server.dispose()


def create_database(stack: contextlib.ExitStack, args, size: Size, workdir: Path) -> str:
    """This size's database, dropped when the size is done unless ``--keep``."""
    if args.sqlite:
        return f"sqlite:///{workdir / f'register-{size.label}.sqlite3'}"
    base = sa.engine.make_url(args.postgres_url)
    name = f"bench_register_{os.getpid()}_{size.label}"
    _on_server(base, f'CREATE DATABASE "{name}"')
    if not args.keep:
        stack.callback(_on_server, base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return base.set(database=name).render_as_string(hide_password=False)


def portal_environment(database_url: str, secret_key: str) -> dict:
    """The settings both this process and the gunicorn workers run the portal with."""
    return {
        "PORTAL_ENV": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        "RATELIMIT_ENABLED": "false",
        "SESSION_IDLE_MINUTES": str(24 * 60),
        "SESSION_MAX_HOURS": "24",
        "EMBEDDED_SCHEDULER": "false",
    }


# Seeding -------------------------------------------------------------------------------------


@contextlib.contextmanager
def environment(env: dict):
    """Set these environment variables while the block runs (the portal reads its settings from
    the environment), then put back what was there."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def compare_sizes(args, run_size, prefix: str) -> int:
    """Run a benchmark at full size and (unless ``--skip-small``) at a tenth, and print each figure
    at full size over a tenth: ``run_size(args, size, workdir)`` returns ``{"figures": {...}}``."""
    sizes = [Size.at("full", args.scale)]
    if not args.skip_small:
        sizes.append(Size.at("tenth", args.scale / 10))
    with tempfile.TemporaryDirectory(prefix=prefix) as workdir:
        runs = [run_size(args, size, Path(workdir)) for size in sizes]
    if len(runs) == 2:
        print("\nfull ÷ tenth:")
        for name, value in runs[0]["figures"].items():
            small = runs[1]["figures"][name]
            print(f"  {name}: {value:,.1f} ÷ {small:,.1f} = {value / small if small else float('nan'):.2f}×")
    return 0


def insert(connection, table: sa.Table, rows) -> int:
    """Insert rows (an iterable of dicts with the same keys) in batches of executemany."""
    count, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            connection.execute(table.insert(), batch)
            count, batch = count + len(batch), []
    if batch:
        connection.execute(table.insert(), batch)
        count += len(batch)
    return count


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return lambda k=1: rng.choices(values, weights, k=k)


@dataclass
class World:
    area_id: int
    council_id: int
    icb_id: int
    regulator_id: int
    password_hash: str
    user_id: int = 1
    profile_provider_id: int = 0
    service_ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class Seeder:
    """Realistic shapes, cheaply: skewed services per provider and items per service, three
    years of dates, mostly low-severity items, concerns mostly closed."""

    def __init__(self, size: Size, seed: int):
        from portal.core.codes import AbuseType, KeyQuestion, Rating, ServiceType
        from portal.intelligence.models import QualityScore, Severity, SourceType

        self.size = size
        self.world: World | None = None
        self.rng = random.Random(seed)
        self.today = date.today()
        self.now = datetime.now(UTC)
        #: The national return's fields (adults, triage, closing) draw from their own generator, so
        #: that every other row is the same as before they were seeded.
        self.sac = SacFields(random.Random(seed + 1), self.now)
        self.ids: dict[str, int] = {}
        rng = self.rng
        self.service_type = weighted(rng, [
            (ServiceType.CARE_HOME_NURSING, 18), (ServiceType.CARE_HOME_RESIDENTIAL, 30),
            (ServiceType.DOMICILIARY, 32), (ServiceType.SUPPORTED_LIVING, 12), (ServiceType.EXTRA_CARE_HOUSING, 4),
            (ServiceType.DAY_SERVICE, 2), (ServiceType.SHARED_LIVES, 2),
        ])
        self.other_source = weighted(rng, [
            (SourceType.COMPLAINT, 24), (SourceType.INCIDENT, 36), (SourceType.FEEDBACK, 18),
            (SourceType.WORKFORCE, 18), (SourceType.WHISTLEBLOWING, 3), (SourceType.SAR_FINDING, 1),
        ])
        self.severity = weighted(rng, [
            (Severity.POSITIVE, 22), (Severity.LOW, 45), (Severity.MODERATE, 24), (Severity.HIGH, 7),
            (Severity.SERIOUS, 2),
        ])
        self.rating = weighted(rng, [
            (Rating.OUTSTANDING, 5), (Rating.GOOD, 70), (Rating.REQUIRES_IMPROVEMENT, 21), (Rating.INADEQUATE, 4),
        ])
        self.score = weighted(rng, [
            (QualityScore.EXCELLENT, 15), (QualityScore.GOOD, 72), (QualityScore.REQUIRES_IMPROVEMENT, 11),
            (QualityScore.POOR, 2),
        ])
        self.abuse = list(AbuseType)
        self.questions = list(KeyQuestion)
        self.Rating, self.Severity, self.SourceType, self.QualityScore = Rating, Severity, SourceType, QualityScore

    def next_id(self, table: str) -> int:
        self.ids[table] = self.ids.get(table, 0) + 1
        return self.ids[table]

    def days_ago(self, most: int = 1095) -> date:
        return self.today - timedelta(days=self.rng.randint(0, most))

    def question_bits(self) -> int:
        return sum(q.bit for q in self.rng.sample(self.questions, self.rng.choice((1, 1, 2, 2, 3))))

    # The rows ----------------------------------------------------------------------------------

    def seed(self, connection, tables: dict[str, sa.Table], standards: list[tuple[int, int]]) -> World:
        """Everything except the area, partners and quality standards (made by the operations)."""
        from portal.core.codes import AgencyKind, RaisedVia, Role, ServiceType

        rng, size, world = self.rng, self.size, self.world
        t = tables
        provider_ids = [self.next_id("agency") for _ in range(size.providers)]
        insert(connection, t["agency"], ({
            "id": pid, "area_id": world.area_id, "name": f"Provider {pid:05d} Care Ltd",
            "kind": AgencyKind.CARE_PROVIDER, "provider_ref": f"1-{1_000_000_000 + pid}", "require_two_factor": False,
            "active": True,
        } for pid in provider_ids))

        # Services per provider: one each, the rest to providers by a heavy-tailed weight; the
        # profile's provider has exactly PROFILE_SERVICES.
        profile_provider = provider_ids[0]
        others = provider_ids[1:]
        weights = [rng.paretovariate(1.6) for _ in others]
        owners = [profile_provider] * PROFILE_SERVICES + list(others)
        owners += rng.choices(others, weights, k=size.services - len(owners))
        rng.shuffle(owners)
        services = []
        for owner in owners:
            sid = self.next_id("service")
            kind = self.service_type()[0]
            home = kind in (ServiceType.CARE_HOME_NURSING, ServiceType.CARE_HOME_RESIDENTIAL)
            services.append({
                "id": sid, "provider_id": owner, "name": f"Service {sid:05d}", "location_ref": f"1-{2_000_000_000 + sid}",
                "service_type": kind, "address": f"{sid % 97 + 1} High Street, Benchtown", "postcode": f"BT{sid % 9 + 1} {sid % 9}AB",
                "registered_beds": rng.randint(10, 90) if home else None, "active": True,
            })
        insert(connection, t["service"], services)
        world.service_ids = [s["id"] for s in services]
        world.profile_provider_id = profile_provider
        nursing = {s["id"] for s in services if s["service_type"] is ServiceType.CARE_HOME_NURSING}

        commissioning = [{"id": i, "commissioner_id": world.council_id, "service_id": sid,
                          "starts_on": self.today - timedelta(days=800), "ends_on": None}
                         for i, sid in enumerate(world.service_ids, start=1)]
        commissioning += [{"id": len(commissioning) + i, "commissioner_id": world.icb_id, "service_id": sid,
                           "starts_on": self.today - timedelta(days=600), "ends_on": None}
                          for i, sid in enumerate(sorted(nursing), start=1)]
        insert(connection, t["commissioning"], commissioning)

        insert(connection, t["user_account"], [{
            "id": world.user_id, "email": EMAIL, "name": "Bench Commissioner", "job_title": "Quality lead",
            "active": True, "password_hash": world.password_hash, "password_changed_at": self.now, "failed_sign_ins": 0,
        }])
        insert(connection, t["membership"], [{"id": 1, "user_id": world.user_id, "agency_id": world.council_id,
                                              "role": Role.COMMISSIONER, "active": True}])

        # Items per service: lognormal weights, the profile's services at the mean so the profile
        # is the same size at every scale.
        service_weight = {sid: rng.lognormvariate(0, 0.9) for sid in world.service_ids}
        mean = sum(service_weight.values()) / len(service_weight)
        for s in services:
            if s["provider_id"] == profile_provider:
                service_weight[s["id"]] = mean
        ids, wts = list(service_weight), list(service_weight.values())
        pick = lambda k: rng.choices(ids, wts, k=k)  # noqa: E731

        items = t["intelligence_item"]
        n_inspections = insert(connection, t["inspection"], self.inspections(world.service_ids))
        insert(connection, items, self.inspection_items())
        visits_per_service = 6
        n_visits = insert(connection, t["monitoring_visit"], self.visits(world.service_ids, visits_per_service, nursing))
        insert(connection, t["visit_score"], self.visit_scores(standards))
        insert(connection, t["improvement_action"], self.actions())
        insert(connection, items, self.visit_items(standards))
        adult_ids = list(range(1, round(size.concerns * 0.7) + 1))
        insert(connection, t["adult"], self.sac.adults(world.area_id, adult_ids))
        concern_rows = list(self.concerns(pick(size.concerns), {s["id"]: s["provider_id"] for s in services},
                                          RaisedVia))
        for row in concern_rows:
            row.update(self.sac.concern(row, adult_ids))
        insert(connection, t["concern"], concern_rows)
        insert(connection, t["concern_abuse_type"], self.concern_types(concern_rows))
        n_concern_items = insert(connection, items, self.concern_items(concern_rows))
        remaining = max(0, size.items - n_inspections - n_visits - n_concern_items)
        insert(connection, items, self.other_items(pick(remaining)))
        register = [{"id": i, "service_id": sid, "owner_id": world.user_id,
                     "review_on": self.today + timedelta(days=rng.randint(-30, 90)), "note": None,
                     "updated_by_id": world.user_id}
                    for i, sid in enumerate(rng.sample(world.service_ids, len(world.service_ids) // 10), start=1)]
        insert(connection, t["register_entry"], register)
        world.counts = {"providers": size.providers, "services": len(services), "inspections": n_inspections,
                        "visits": n_visits, "concerns": len(concern_rows), "items": self.ids.get("intelligence_item", 0)}
        return world

    def inspections(self, service_ids):
        self.inspection_rows = []
        for sid in service_ids:
            for n in range(self.rng.choice((1, 2, 2, 3, 3, 4))):
                overall = self.rating()[0]
                ratings = {q.name.lower(): (overall if self.rng.random() < 0.7 else self.rating()[0])
                           for q in self.questions}
                row = {"id": self.next_id("inspection"), "service_id": sid, "published_on": self.days_ago(1460),
                       "report_type": "Comprehensive", "inherited": False, "url": None, "overall": overall,
                       "fingerprint": f"bench-{sid}-{n}", **ratings}
                self.inspection_rows.append(row)
                yield row

    def inspection_items(self):
        Rating, Severity = self.Rating, self.Severity
        for row in self.inspection_rows:
            poor = [q for q in self.questions if row[q.name.lower()] in (Rating.INADEQUATE, Rating.REQUIRES_IMPROVEMENT)]
            worst = (Severity.SERIOUS if Rating.INADEQUATE in (row["overall"], *(row[q.name.lower()] for q in poor))
                     else Severity.MODERATE if poor or row["overall"] is Rating.REQUIRES_IMPROVEMENT else Severity.POSITIVE)
            yield self.item(row["service_id"], row["published_on"], self.SourceType.INSPECTION, worst,
                            sum(q.bit for q in poor) or 31, f"Rated {row['overall'].label} overall",
                            self.world.regulator_id, inspection_id=row["id"], rating=row["overall"])
        del self.inspection_rows

    def visits(self, service_ids, per_service: int, nursing: set[int]):
        self.visit_rows = []
        for sid in service_ids:
            for _ in range(per_service):
                by_icb = sid in nursing and self.rng.random() < 0.4
                row = {"id": self.next_id("monitoring_visit"), "service_id": sid, "visited_on": self.days_ago(),
                       "commissioner_id": self.world.icb_id if by_icb else self.world.council_id,
                       "officer_name": "Quality monitoring officer", "findings": "Findings of the visit.",
                       "fingerprint": None}
                self.visit_rows.append(row)
                yield row

    def visit_scores(self, standards):
        self.visit_worst = {}
        for visit in self.visit_rows:
            worst, bits = None, 0
            for (standard_id, bit), score in zip(standards, self.score(len(standards)), strict=True):
                if score in (self.QualityScore.POOR, self.QualityScore.REQUIRES_IMPROVEMENT):
                    bits |= bit
                    if worst is not self.QualityScore.POOR:
                        worst = score
                yield {"id": self.next_id("visit_score"), "visit_id": visit["id"], "standard_id": standard_id, "score": score}
            self.visit_worst[visit["id"]] = (worst, bits)

    def actions(self):
        from portal.intelligence.models import ActionStatus

        for visit in self.visit_rows:
            worst, _bits = self.visit_worst[visit["id"]]
            if worst is None:
                continue
            due = visit["visited_on"] + timedelta(days=42)
            yield {"id": self.next_id("improvement_action"), "visit_id": visit["id"],
                   "description": "Improve the standards scored below Good.", "owner": "Registered manager",
                   "due_on": due, "status": ActionStatus.OPEN if due >= self.today else ActionStatus.COMPLETED}

    def visit_items(self, standards):
        severity = {None: self.Severity.POSITIVE, self.QualityScore.REQUIRES_IMPROVEMENT: self.Severity.MODERATE,
                    self.QualityScore.POOR: self.Severity.HIGH}
        for visit in self.visit_rows:
            worst, bits = self.visit_worst[visit["id"]]
            yield self.item(visit["service_id"], visit["visited_on"], self.SourceType.CONTRACT_MONITORING,
                            severity[worst], bits or 31, f"Contract-monitoring visit {visit['id']}",
                            visit["commissioner_id"], visit_id=visit["id"])
        del self.visit_rows, self.visit_worst

    def concerns(self, service_ids, provider_of: dict[int, int], RaisedVia):
        from portal.core.codes import RAG, ConcernStatus

        rng, counters = self.rng, {}
        raised = sorted(self.now - timedelta(days=rng.uniform(0.1, 1095)) for _ in service_ids)
        for sid, raised_at in zip(service_ids, raised, strict=True):
            sid = sid if rng.random() < 0.85 else None
            age = (self.now - raised_at).days
            status = (ConcernStatus.CLOSED if age > 120 or rng.random() < 0.5 else
                      rng.choice((ConcernStatus.SUBMITTED, ConcernStatus.TRIAGED, ConcernStatus.IN_PROGRESS)))
            via = rng.choice((RaisedVia.PROVIDER, RaisedVia.PARTNER, RaisedVia.PARTNER, RaisedVia.PUBLIC))
            if sid is None and via is RaisedVia.PROVIDER:
                via = RaisedVia.PARTNER
            year = raised_at.year
            counters[year] = counters.get(year, 0) + 1
            provider = provider_of.get(sid)
            closed_at = raised_at + timedelta(days=30) if status is ConcernStatus.CLOSED else None
            yield {
                "id": self.next_id("concern"), "reference": f"C-{year}-{counters[year]:06d}", "area_id": self.world.area_id,
                "status": status, "raised_via": via, "raised_at": raised_at,
                "raising_agency_id": provider if via is RaisedVia.PROVIDER else (
                    self.world.council_id if via is RaisedVia.PARTNER else None),
                "service_id": sid, "provider_id": provider, "what_happened": "What happened, in the raiser's words.",
                "immediate_risk": rng.choice((None, RAG.GREEN, RAG.GREEN, RAG.AMBER, RAG.RED)),
                "closed_at": closed_at,
                # Last changed when it was closed, or a few days after it was raised: not at seeding.
                "created_at": raised_at, "updated_at": closed_at or raised_at + timedelta(days=min(age, 5)),
            }

    def concern_types(self, concern_rows):
        for row in concern_rows:
            for abuse in self.rng.sample(self.abuse, self.rng.choice((1, 1, 1, 2))):
                yield {"concern_id": row["id"], "abuse_type": abuse}

    def concern_items(self, concern_rows):
        from portal.core.codes import RAG

        severity = {RAG.RED: self.Severity.SERIOUS, RAG.AMBER: self.Severity.HIGH}
        for row in concern_rows:
            if row["service_id"] is None:
                continue
            yield self.item(row["service_id"], row["raised_at"].date(), self.SourceType.SAFEGUARDING_CONCERN,
                            severity.get(row["immediate_risk"], self.Severity.MODERATE), 1,
                            f"Safeguarding concern {row['reference']}", row["raising_agency_id"] or self.world.council_id,
                            concern_id=row["id"], confidential=row["raising_agency_id"] != row["provider_id"])

    def other_items(self, service_ids):
        sources = self.other_source(len(service_ids))
        for sid, source in zip(service_ids, sources, strict=True):
            severity = self.severity()[0]
            yield self.item(sid, self.days_ago(), source, severity, self.question_bits(),
                            f"{source.label}: a summary of what was reported, about eighty characters long.",
                            self.world.council_id, confidential=source is self.SourceType.WHISTLEBLOWING)

    def item(self, service_id, occurred_on, source, severity, bits, summary, supplied_by, *, confidential=False,
             inspection_id=None, visit_id=None, concern_id=None, rating=None) -> dict:
        from portal.core.codes import DataCategory

        return {
            "id": self.next_id("intelligence_item"), "service_id": service_id, "occurred_on": occurred_on,
            "source": source, "key_question_bits": bits, "severity": severity, "rating": rating, "summary": summary,
            "supplied_by_id": supplied_by, "recorded_by_id": None, "confidential": confidential,
            "sharing_category": DataCategory.PROVIDER_INTELLIGENCE, "concern_id": concern_id,
            "inspection_id": inspection_id, "visit_id": visit_id, "import_id": None, "fingerprint": None,
            "is_deleted": False,
        }


class SacFields:
    """What the MSP and outcome report counts: adults (age, sex, primary support reason), triage
    decisions and, for concluded enquiries, the closing answers, each sometimes left unrecorded."""

    FIELDS = ("adult_id", "triage_decision", "triaged_at", "triage_reason", "msp_asked", "mental_capacity",
              "appropriate_person", "advocate_name", "risk_location", "risk_source", "action_result", "risk_outcome",
              "outcomes_achieved")

    def __init__(self, rng: random.Random, now: datetime):
        from portal.core import codes

        self.rng, self.now, self.codes = rng, now, codes
        self.sex = weighted(rng, [(codes.Sex.FEMALE, 60), (codes.Sex.MALE, 37), (codes.Sex.NOT_KNOWN, 1), (None, 2)])
        self.reason = weighted(rng, [(reason, weight) for reason, weight in zip(
            list(codes.PrimarySupportReason) + [None], (40, 6, 18, 8, 12, 4, 3, 4, 5), strict=True)])
        self.age = weighted(rng, [((18, 64), 30), ((65, 74), 15), ((75, 84), 25), ((85, 94), 24), ((95, 104), 4),
                                  (None, 2)])
        self.decision = weighted(rng, [(codes.TriageDecision.S42_ENQUIRY, 35), (codes.TriageDecision.OTHER_ENQUIRY, 10),
                                       (codes.TriageDecision.QUALITY_CONCERN, 15),
                                       (codes.TriageDecision.NO_FURTHER_ACTION, 30), (codes.TriageDecision.SIGNPOSTED, 10)])

    def maybe(self, values, unrecorded: float = 0.05):
        return None if self.rng.random() < unrecorded else self.rng.choice(values)

    def adults(self, area_id: int, ids: list[int]):
        today = self.now.date()
        for adult_id in ids:
            ages = self.age()[0]
            born = None if ages is None else today - timedelta(days=round(365.25 * self.rng.uniform(ages[0], ages[1] + 1)))
            yield {"id": adult_id, "area_id": area_id, "name": f"Bench Adult {adult_id}", "date_of_birth": born,
                   "sex": self.sex()[0], "primary_support_reason": self.reason()[0], "nhs_number": None}

    def concern(self, row: dict, adult_ids: list[int]) -> dict:
        """A seeded concern's adult, triage and closing fields."""
        codes, rng = self.codes, self.rng
        # Every row has every key: the rows are inserted with executemany.
        fields = dict.fromkeys(self.FIELDS)
        fields["adult_id"] = rng.choice(adult_ids) if rng.random() < 0.9 else None
        if row["status"] is codes.ConcernStatus.SUBMITTED:
            return fields
        decision = self.decision()[0]
        triaged_at = min(row["raised_at"] + timedelta(hours=rng.uniform(1, 72)), self.now)
        if row["closed_at"] is not None:
            triaged_at = min(triaged_at, row["closed_at"])
        fields.update(triage_decision=decision, triaged_at=triaged_at,
                      triage_reason="Seeded" if decision.needs_reason else None)
        if decision not in (codes.TriageDecision.S42_ENQUIRY, codes.TriageDecision.OTHER_ENQUIRY):
            return fields
        fields["msp_asked"] = self.maybe(list(codes.MspAsked))
        fields["mental_capacity"] = self.maybe(list(codes.MentalCapacity))
        if fields["mental_capacity"] is codes.MentalCapacity.LACKED:
            fields["appropriate_person"] = rng.random() < 0.6
            fields["advocate_name"] = None if fields["appropriate_person"] or rng.random() < 0.3 else "An advocate"
        if row["closed_at"] is None:
            return fields
        action = self.maybe(list(codes.ActionResult))
        risk_found = action is not None and action.name.startswith(("RISK_", "INCONCLUSIVE_"))
        fields.update(
            risk_location=self.maybe(list(codes.RiskLocation)), risk_source=self.maybe(list(codes.RiskSource)),
            action_result=action, risk_outcome=self.maybe(list(codes.RiskOutcome)) if risk_found else None,
            outcomes_achieved=self.maybe(list(codes.OutcomesAchieved))
            if fields["msp_asked"] is codes.MspAsked.ASKED_EXPRESSED else None,
        )
        return fields


def seed_area(app, size: Size, seed: int) -> tuple[World, dict[str, float]]:
    """The area, partners and standards through the operations; the bulk through Core; then signals."""
    from portal.agencies import operations as agency_ops
    from portal.agencies.models import Area
    from portal.auth.passwords import hash_password
    from portal.core.codes import AgencyKind
    from portal.extensions import db
    from portal.intelligence import operations as intel

    timings = {}
    with app.app_context():
        started = time.perf_counter()
        area = Area(name=f"Benchshire {size.label}")
        db.session.add(area)
        partners = {kind: agency_ops.create_agency(area=area, name=f"Bench {kind.label}", kind=kind, provider_ref=None,
                                                   require_two_factor=False)
                    for kind in (AgencyKind.LOCAL_AUTHORITY, AgencyKind.NHS_ICB, AgencyKind.REGULATOR, AgencyKind.SAB)}
        standards = [(s.id, s.quality_area.key_question.bit) for s in intel.ensure_default_standards(area.id)]
        db.session.commit()
        seeder = Seeder(size, seed)
        seeder.world = world = World(
            area_id=area.id, council_id=partners[AgencyKind.LOCAL_AUTHORITY].id, icb_id=partners[AgencyKind.NHS_ICB].id,
            regulator_id=partners[AgencyKind.REGULATOR].id, password_hash=hash_password(PASSWORD),
        )
        seeder.ids["agency"] = max(p.id for p in partners.values())
        tables = db.metadata.tables
        # Reading the ids above began a transaction: end it, or on SQLite its read lock would keep
        # the bulk inserts' connection waiting for good.
        db.session.close()
        with db.engine.begin() as connection:
            seeder.seed(connection, tables, standards)
            if connection.dialect.name == "postgresql":
                for name in EXPLICIT_IDS:
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
        timings["bulk inserts"] = time.perf_counter() - started

        started = time.perf_counter()
        ids = world.service_ids
        for start in range(0, len(ids), 400):
            intel.refresh_signals(ids[start:start + 400])
            db.session.commit()
        timings["risk signals"] = time.perf_counter() - started

        started = time.perf_counter()
        with db.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                connection.exec_driver_sql("VACUUM ANALYZE")
            else:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
        timings["analyze"] = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return world, timings


# Serving and measuring ------------------------------------------------------------------------


def start_gunicorn(stack: contextlib.ExitStack, target: str, env: dict, log: Path, worker_class: str) -> str:
    """gunicorn with 2 workers, one request at a time each, stopped (by its process group) at the end.

    The sync worker closes every connection after its response, and autocannon then counts the
    wait for its next connection as latency (a hello-world page at 900 req/s on one connection
    shows a p50 of 590 ms): one-thread gthread workers serve the same two requests at a time
    over kept-alive connections, so the latencies are real.
    """
    port = free_port()
    process = start_process(stack, [str(GUNICORN), "-w", "2", "-k", worker_class, "--threads", "1",
                                    "-b", f"127.0.0.1:{port}", "--timeout", "120", target], log, env)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn {target} stopped:\n{log.read_text()[-4000:]}")
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return f"http://127.0.0.1:{port}"
        if time.monotonic() > deadline:
            raise SystemExit(f"gunicorn {target} did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _request(url: str, *, cookie: str | None = None, data: dict | None = None):
    """One request without following redirects: (status, body, the session cookie it set)."""
    headers = {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        response = opener.open(urllib.request.Request(url, data=body, headers=headers), timeout=60)
    except urllib.error.HTTPError as error:
        response = error
    set_cookies = response.headers.get_all("Set-Cookie") or []
    session = next((c.split(";", 1)[0] for c in set_cookies if c.startswith("portal_session=")), None)
    return response.status, response.read().decode(errors="replace"), session


def sign_in(base: str) -> str:
    """Sign the benchmark commissioner in through the form; returns the Cookie header value."""
    status, page, cookie = _request(f"{base}/sign-in")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    if status != 200 or token is None or cookie is None:
        raise SystemExit(f"The sign-in form did not load ({status})")
    status, _page, signed_in = _request(f"{base}/sign-in", cookie=cookie,
                                        data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD})
    if status != 302 or signed_in is None:
        raise SystemExit(f"Sign-in failed ({status})")
    # Signing in starts a new session without a form token; the first page gives it one, as a
    # browser would keep it. Without it every request would make a token of its own, and no two
    # requests would ever share a page in the store (its key holds the session's token).
    status, _page, with_token = _request(f"{base}/home", cookie=signed_in)
    if status != 200 or with_token is None:
        raise SystemExit(f"The home page did not load after signing in ({status})")
    return with_token


def check_page(url: str, cookie: str | None) -> int:
    status, body, _ = _request(url, cookie=cookie)
    if status != 200:
        raise SystemExit(f"{url} answered {status}, not 200:\n{body[:2000]}")
    return len(body)


def autocannon(url: str, cookie: str | None, connections: int, duration: int) -> dict:
    command = [str(AUTOCANNON), "-c", str(connections), "-d", str(duration), "-j", "-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    result = subprocess.run(command + [url], capture_output=True, text=True, check=True)
    data = json.loads(result.stdout)
    return {
        "rps": data["requests"]["average"], "p50": data["latency"]["p50"], "p99": data["latency"]["p99"],
        "requests": data["requests"]["total"], "non2xx": data.get("non2xx", 0), "errors": data.get("errors", 0),
        "timeouts": data.get("timeouts", 0),
    }


def measure_once(args, name: str, url: str, cookie: str | None) -> dict:
    if args.warmup:
        autocannon(url, cookie, args.connections, args.warmup)
    result = autocannon(url, cookie, args.connections, args.duration)
    if result["non2xx"] or result["errors"] or result["timeouts"]:
        print(f"  ! {name}: {result['non2xx']} non-2xx, {result['errors']} errors, {result['timeouts']} timeouts",
              file=sys.stderr)
    print(f"  {name:<34} {result['rps']:8.1f} req/s  p50 {result['p50']:6.1f} ms  p99 {result['p99']:7.1f} ms",
          flush=True)
    return result


def measure(args, bare: tuple[str, str, None], pages: list[tuple[str, str, str | None]], rounds: int) -> dict[str, dict]:
    """Rounds of bare page, then each page, closed by a last bare page; a page's ratio in a round is
    to the mean of the bare runs either side of it, and each figure reported is the median of the
    rounds, so that a noisy moment on a shared machine moves one round, not the result."""
    bare_runs = []
    page_runs: dict[str, list[dict]] = {name: [] for name, _, _ in pages}
    for round_number in range(rounds):
        print(f"  round {round_number + 1} of {rounds}", flush=True)
        bare_runs.append(measure_once(args, *bare))
        for name, url, cookie in pages:
            page_runs[name].append(measure_once(args, name, url, cookie))
    bare_runs.append(measure_once(args, *bare))
    results = {"bare page": _median_run(bare_runs)}
    for name, runs in page_runs.items():
        summary = _median_run(runs)
        summary["ratio"] = statistics.median(
            run["rps"] / ((bare_runs[index]["rps"] + bare_runs[index + 1]["rps"]) / 2) for index, run in enumerate(runs)
        )
        results[name] = summary
    results["bare page"]["ratio"] = 1.0
    return results


def _median_run(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in ("rps", "p50", "p99")}


def profile_provider(app, world: World) -> tuple[int, int, int]:
    """The measured provider's id, its services and its items."""
    from portal.agencies.models import Service
    from portal.extensions import db
    from portal.intelligence.models import IntelligenceItem

    with app.app_context():
        services = db.session.scalar(sa.select(sa.func.count()).select_from(Service)
                                     .where(Service.provider_id == world.profile_provider_id))
        items = db.session.scalar(
            sa.select(sa.func.count()).select_from(IntelligenceItem).join(Service, IntelligenceItem.service_id == Service.id)
            .where(Service.provider_id == world.profile_provider_id))
        db.session.remove()
        db.engine.dispose()
    return world.profile_provider_id, services, items


def run_size(args, size: Size, workdir: Path) -> dict:
    from portal import create_app

    print(f"\n== {size.label}: {size.services:,} services, {size.providers:,} providers, "
          f"{size.items:,} items, {size.concerns:,} concerns ==", flush=True)
    with contextlib.ExitStack() as stack:
        database_url = create_database(stack, args, size, workdir)
        env = portal_environment(database_url, secrets.token_urlsafe(48))
        with environment(env):
            import flask_migrate

            app = create_app()
            started = time.perf_counter()
            with app.app_context():
                flask_migrate.upgrade()
            migrated = time.perf_counter() - started
            started = time.perf_counter()
            world, timings = seed_area(app, size, args.seed)
            seeding = time.perf_counter() - started
            provider_id, provider_services, provider_items = profile_provider(app, world)
        print(f"  migrated in {migrated:.1f} s; seeded in {seeding:.1f} s ("
              + ", ".join(f"{part} {seconds:.1f} s" for part, seconds in timings.items()) + ")")
        print("  rows: " + ", ".join(f"{name} {count:,}" for name, count in world.counts.items()))
        print(f"  profile: provider {provider_id} with {provider_services} services and {provider_items:,} items")

        child_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        portal = start_gunicorn(stack, "portal:create_app()", child_env, workdir / f"portal-{size.label}.log",
                                args.worker_class)
        bare = start_gunicorn(stack, "benchmarks.bare_app:app", child_env, workdir / f"bare-{size.label}.log",
                              args.worker_class)
        # The same portal with the page store off: what a first view costs (reported, not the target).
        cold = start_gunicorn(stack, "portal:create_app()", {**child_env, "PAGE_CACHE_ENTRIES": "0"},
                              workdir / f"portal-cold-{size.label}.log", args.worker_class)
        cookie = sign_in(portal)
        cold_cookie = sign_in(cold)
        bare_page = ("bare page", f"{bare}/", None)
        pages = [
            ("GET /register", f"{portal}/register", cookie),
            (f"GET /providers/{provider_id}", f"{portal}/providers/{provider_id}", cookie),
        ]
        for name, url, page_cookie in [bare_page, *pages]:
            length = check_page(url, page_cookie)
            print(f"  {name}: 200, {length:,} bytes")
        results = measure(args, bare_page, pages, args.rounds)
        cold_pages = [
            ("GET /register, page store off", f"{cold}/register", cold_cookie),
            (f"GET /providers/{provider_id}, page store off", f"{cold}/providers/{provider_id}", cold_cookie),
        ]
        for name, result in measure(args, bare_page, cold_pages, 1).items():
            if name != "bare page":
                results[name] = result
        if args.keep:
            print(f"  kept: {database_url}")
    return {"size": size, "seeding": seeding, "results": results, "rounds": args.rounds}


def report(runs: list[dict]) -> None:
    for run in runs:
        size, results = run["size"], run["results"]
        print(f"\n{size.label}: {size.services:,} services, {size.items:,} items, {size.concerns:,} concerns "
              f"(seeded in {run['seeding']:.0f} s); medians of {run['rounds']} rounds, each page's ratio to the "
              f"bare page runs either side of it")
        print(f"  {'page':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7}  target ≥ {TARGET_RATIO:.2f}")
        for name, result in results.items():
            ratio = result["ratio"]
            if name.startswith("bare") or name.endswith("page store off"):
                verdict = ""
            else:
                verdict = "  ok" if ratio >= TARGET_RATIO else "  BELOW TARGET"
            print(f"  {name:<34} {result['rps']:8.1f} {result['p50']:8.1f} {result['p99']:8.1f} {ratio:7.2f}{verdict}")
    if len(runs) == 2:
        full, small = runs
        print(f"\np50 at full size ÷ p50 at a tenth (target ≤ {TARGET_SLOWDOWN}×)")
        for (name, big), (_, little) in zip(full["results"].items(), small["results"].items(), strict=True):
            slowdown = big["p50"] / little["p50"] if little["p50"] else math.nan
            label = re.sub(r"/providers/\d+", "/providers/<id>", name)
            verdict = "ok" if slowdown <= TARGET_SLOWDOWN else "SLOWER THAN TARGET"
            print(f"  {label:<34} {little['p50']:6.1f} ms → {big['p50']:6.1f} ms  {slowdown:5.2f}×  {verdict}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if not AUTOCANNON.exists():
        raise SystemExit(f"autocannon is missing: run `npm ci` ({AUTOCANNON})")
    sizes = [Size.at("full", args.scale)]
    if not args.skip_small:
        sizes.append(Size.at("tenth", args.scale / 10))
    workdir = Path(tempfile.mkdtemp(prefix="bench-register-"))
    try:
        runs = [run_size(args, size, workdir) for size in sizes]
        report(runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
