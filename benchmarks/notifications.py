"""End-to-end throughput and latency of notification emails, against a bare Celery drain.

Run from the project root::

    .venv/bin/python benchmarks/notifications.py                    # PostgreSQL, 5,000 intents
    .venv/bin/python benchmarks/notifications.py --database sqlite
    .venv/bin/python benchmarks/notifications.py --intents 1000 --leads 5 --per-commit 10

Everything is real and of this run's own: a PostgreSQL database created on 127.0.0.1:5432 (user
``postgres``, trust auth) and dropped afterwards, or a SQLite file; a free Redis database number
(1..15) claimed with SET NX and flushed afterwards; an SMTP server (aiosmtpd, in a process of its
own, see ``smtp_sink.py``) that records when each message arrives and its Message-ID; and one
Celery worker subprocess (``python -m celery -A workers worker``, prefork ``-c 2`` by default)
used for both measurements.

1. A small world is seeded through the real operations: an area, a council with ``--leads``
   safeguarding leads, a provider with a service and a staff member, and one concern raised by
   that staff member (``raise_concern``).
2. Warm-up: a few ticks and a few intents, so that both worker children have built the app,
   opened their connections and compiled the email templates before anything is timed.
3. Bare drain: ``--intents`` no-op tasks (``benchmarks.tasks.tick``, which INCRs a Redis counter
   and writes the time the last one finished) are published, then drained by the worker.
4. Notifications: ``--intents`` intents about the concern, to all the leads, are recorded and
   committed here, ``--per-commit`` to a transaction; after each commit the portal's own session
   hands them to Celery (through Redis, not eagerly). Each intent's commit time is taken from
   the session's ``after_commit`` event, before the hand-over. Every email is matched to its
   intent by its Message-ID, ``<intent-{intent_id}-to-{user_id}@...>``.
5. A second bare drain, to show how noisy the machine is; the ratio uses the mean of the two.

Printed: emails/s (first commit to last arrival), p50/p99/max latency from an intent's commit to
its email's arrival, bare tasks/s, and emails/s divided by bare tasks/s against the 50% target;
duplicates, missing emails and the deliveries' states in the database; and CPU seconds by part
(from ``/proc``). The machines are shared, and other people's test runs slow a long phase more
than a short one, so the CPU our own parts spend per email and per bare task is printed too:
their quotient estimates the ratio on an otherwise idle machine. The exit status is 1 when an
email is missing or arrived twice.

``--profile DIR`` makes each worker child count runs, wall and CPU time, SQL statements and
commits per task name, printed as a table after the run; ``--cprofile`` adds a cProfile of each
child (see ``benchmarks/tasks.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402  (after the project root is importable)
import sqlalchemy as sa  # noqa: E402

from tests.redis_claim import CLAIM_KEY, claim_redis_database, release_redis_database  # noqa: E402

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
QUEUE = "portal"
MESSAGE_ID = re.compile(r"^<intent-(\d+)-to-(\d+)@")
TARGET_RATIO = 0.5


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Notification emails per second against a bare Celery drain.")
    parser.add_argument("--intents", type=int, default=5000, help="intents to record (and no-op tasks to drain)")
    parser.add_argument("--leads", type=int, default=3, help="safeguarding leads, so recipients per intent")
    parser.add_argument("--per-commit", type=int, default=1, help="intents committed in one transaction")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="intents per second to record at (0: as fast as the database allows)")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="server (and maintenance database) to create this run's database on")
    parser.add_argument("--pool", default="prefork", help="Celery worker pool")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker concurrency")
    parser.add_argument("--warmup", type=int, default=20, help="intents sent before measuring")
    parser.add_argument("--stall-timeout", type=float, default=60.0,
                        help="give up when no email or task has finished for this many seconds")
    parser.add_argument("--grace", type=float, default=3.0,
                        help="seconds to keep listening after the last expected email, for duplicates")
    parser.add_argument("--profile", metavar="DIR", help="write each worker child's SQL and task counts here")
    parser.add_argument("--cprofile", action="store_true", help="with --profile, also a cProfile of each child")
    parser.add_argument("--skip-drain", action="store_true", help="measure the notifications only")
    parser.add_argument("--log-level", default="warning", help="the worker's log level")
    parser.add_argument("--keep-logs", action="store_true", help="keep the worker's and SMTP server's logs (printed)")
    args = parser.parse_args(argv)
    if args.intents < 1 or args.leads < 1 or args.per_commit < 1:
        parser.error("--intents, --leads and --per-commit must be at least 1")
    return args


# The parts of this run ------------------------------------------------------------------------


def claim_redis_db(stack: contextlib.ExitStack) -> int:
    """A Redis database number of this run's own, claimed as the integration tests do (see
    ``tests/redis_claim.py``), released afterwards."""
    token = f"benchmark:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
    client = claim_redis_database(REDIS_HOST, REDIS_PORT, token, ttl=2 * 3600, socket_timeout=10)
    if client is None:
        raise SystemExit("No free Redis database among 1..15 (each is claimed or holds keys)")
    stack.callback(release_redis_database, client, token)
    return client.connection_pool.connection_kwargs["db"]


def clear_except_claim(client: redis.Redis) -> None:
    keys = [key for key in client.scan_iter(count=1000) if key != CLAIM_KEY.encode()]
    if keys:
        client.delete(*keys)


def create_database(stack: contextlib.ExitStack, args, workdir: Path) -> str:
    if args.database == "sqlite":
        return f"sqlite:///{workdir / 'benchmark.sqlite3'}"
    base = sa.engine.make_url(args.postgres_url)
    name = f"portal_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()

    stack.callback(drop)
    return base.set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_process(stack: contextlib.ExitStack, command: list[str], log: Path, env: dict) -> subprocess.Popen:
    """A child in a process group of its own, stopped (by its id) when the run ends."""
    handle = open(log, "ab")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                               start_new_session=True)

    def stop():
        if handle.closed:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        with contextlib.suppress(ProcessLookupError):  # children left behind by a killed parent
            os.killpg(process.pid, signal.SIGKILL)
        handle.close()

    stack.callback(stop)
    process.stop = stop
    return process


def start_smtp_sink(stack, workdir: Path, env: dict) -> tuple[subprocess.Popen, int, Path]:
    port, out = free_port(), workdir / "arrivals.tsv"
    out.touch()
    log = workdir / "smtp.log"
    process = start_process(stack, [sys.executable, "-m", "benchmarks.smtp_sink", "--port", str(port), "--out", str(out)],
                            log, env)
    deadline = time.monotonic() + 15
    while b"ready" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"The SMTP server did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return process, port, out


def start_worker(stack, args, workdir: Path, env: dict) -> tuple[subprocess.Popen, Path]:
    log = workdir / "worker.log"
    command = [
        sys.executable, "-m", "celery", "-A", "workers", "worker", "-P", args.pool, "-c", str(args.concurrency),
        "-Q", QUEUE, "-I", "benchmarks.tasks", "-n", f"benchmark-{os.getpid()}@%h", "-l", args.log_level,
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]
    return start_process(stack, command, log, env), log


class Arrivals:
    """What the SMTP server has recorded so far, read incrementally from its file."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.times: dict[str, list[float]] = {}
        self.count = 0

    def poll(self) -> list[str]:
        """Read what arrived since the last call; returns those Message-IDs."""
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        new = []
        for line in lines:
            arrived, message_id = line.decode().split("\t")
            self.times.setdefault(message_id, []).append(float(arrived))
            new.append(message_id)
        self.count += len(new)
        return new


def queue_idle(client: redis.Redis) -> bool:
    """No task waiting in the queue (or its priority lists) and none taken but unacknowledged."""
    queues = [key for key in client.scan_iter(match=f"{QUEUE}*", _type="list")
              if key == QUEUE.encode() or key.startswith(QUEUE.encode() + b"\x06\x16")]
    return not any(client.llen(key) for key in queues) and not client.hlen("unacked")


def wait_idle(client: redis.Redis, args, worker, worker_log, quiet_for: float = 0.3) -> float:
    """Wait until the worker has finished every task published so far; returns when that was.

    Idle for a moment, since a task is briefly in neither place while the worker takes it."""
    since = None

    def settled() -> bool:
        nonlocal since
        if not queue_idle(client):
            since = None
            return False
        since = since or time.time()
        return time.time() - since >= quiet_for

    wait_until(settled, lambda: (client.llen(QUEUE), client.hlen("unacked")), "the worker to finish its tasks",
               args.stall_timeout, worker, worker_log)
    return since or time.time()


def wait_until(done, progress, what: str, stall_timeout: float, worker: subprocess.Popen, worker_log: Path) -> bool:
    """Poll until ``done()``; give up when ``progress()`` has not changed for ``stall_timeout``."""
    last, last_change = progress(), time.monotonic()
    while not done():
        if worker.poll() is not None:
            raise SystemExit(f"The worker stopped while waiting for {what}:\n{worker_log.read_text()[-4000:]}")
        time.sleep(0.02)
        now_progress = progress()
        if now_progress != last:
            last, last_change = now_progress, time.monotonic()
        elif time.monotonic() - last_change > stall_timeout:
            print(f"  ! gave up waiting for {what}: nothing happened for {stall_timeout:.0f} s", file=sys.stderr)
            return False
    return True


# Where the CPU goes ---------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


#: The parts of a run that are this benchmark's own (Redis is shared, but nearly idle otherwise).
OURS = ("worker main", "worker children", "postgresql", "benchmark (publisher)", "smtp server", "redis")


class CpuMeter:
    """CPU seconds by part (this process, the worker's and SMTP server's process groups, this
    run's PostgreSQL backends, Redis, everything else) and the machine's busy time, from /proc.

    The machine is shared: other people's test runs take CPU too, which slows a long phase more
    than a short one. CPU seconds per email or task of our own parts do not depend on that.
    """

    def __init__(self, groups: dict[str, int], leaders: dict[str, int] | None = None, database_url: str | None = None):
        self.groups = {pgrp: name for name, pgrp in groups.items()}
        self.leaders = {pid: name for name, pid in (leaders or {}).items()}
        self.engine = None
        if database_url and database_url.startswith("postgresql"):
            self.engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)

    def _our_backends(self) -> set[int]:
        if self.engine is None:
            return set()
        with self.engine.connect() as connection:
            return set(connection.scalars(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def snapshot(self) -> tuple[dict[int, tuple[str, float]], float, float]:
        me, processes, backends = os.getpid(), {}, self._our_backends()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as handle:
                    data = handle.read()
            except OSError:
                continue
            comm, fields = data[data.index("(") + 1:data.rindex(")")], data[data.rindex(")") + 2:].split()
            pid, pgrp = int(entry.name), int(fields[2])
            if pid == me:
                name = "benchmark (publisher)"
            elif pid in self.leaders:
                name = self.leaders[pid]
            elif pgrp in self.groups:
                name = self.groups[pgrp]
            elif pid in backends:
                name = "postgresql"
            elif comm.startswith("redis-server"):
                name = "redis"
            else:
                name = "other processes"
            processes[pid] = (name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
        with open("/proc/stat") as handle:
            ticks = [int(value) for value in handle.readline().split()[1:9]]
        total = sum(ticks) / CLOCK_TICKS
        return processes, total - (ticks[3] + ticks[4]) / CLOCK_TICKS, total

    @staticmethod
    def usage(before, after) -> dict[str, float]:
        (start, busy0, total0), (end, busy1, total1) = before, after
        parts: dict[str, float] = {}
        for pid, (name, seconds) in end.items():
            previous = start.get(pid)
            parts[name] = parts.get(name, 0.0) + seconds - (previous[1] if previous and previous[0] == name else 0.0)
        # Processes that ended in the meantime (other people's test runs, say) are missing from
        # the table but not from the machine's busy time: "other" is everything not ours.
        ours = sum(seconds for name, seconds in parts.items() if name != "other processes")
        parts["other processes"] = max(0.0, busy1 - busy0 - ours)
        parts["machine busy"] = busy1 - busy0
        parts["machine capacity"] = total1 - total0
        return parts


# Measurements ---------------------------------------------------------------------------------


def bare_drain(client: redis.Redis, total: int, label: str, args, worker, worker_log, meter=None) -> dict:
    """Publish ``total`` no-op tasks and time them until the last has finished."""
    from benchmarks.tasks import tick

    cpu_before = meter.snapshot() if meter else None
    counter = f"benchmark:drain:{label}:{uuid.uuid4().hex[:6]}"
    started = time.time()
    for _ in range(total):
        tick.delay(counter, total)
    published = time.time()

    def count():
        return int(client.get(counter) or 0)

    finished = wait_until(lambda: client.exists(f"{counter}:finished_at"), count, f"the {label} drain",
                          args.stall_timeout, worker, worker_log)
    if not finished:
        return {"tasks": total, "done": count(), "seconds": float("nan"), "rate": float("nan")}
    ended = float(client.get(f"{counter}:finished_at"))
    seconds = ended - started
    return {"tasks": total, "done": count(), "publish_seconds": published - started, "seconds": seconds,
            "rate": total / seconds, "cpu": meter.usage(cpu_before, meter.snapshot()) if meter else None}


def record_intents(count: int, per_commit: int, rate: float, concern, leads, staff) -> dict[int, float]:
    """Record and commit ``count`` intents; returns each intent's id and commit time."""
    from portal.extensions import db
    from portal.notifications.models import NotificationEvent
    from portal.notifications.operations import record_intent

    committed_at: list[float] = []

    def on_commit(_session):
        committed_at.append(time.time())

    # Plain objects with an id: the session expires its instances at each commit, and reloading
    # the people for every intent would time this loop rather than the delivery.
    recipients = [SimpleNamespace(id=lead_id) for lead_id in leads]
    actor = SimpleNamespace(id=staff)
    event = NotificationEvent.CONCERN_COMMENT
    summary, link = f"{event.label}: {concern['reference']}", f"/concerns/{concern['id']}"
    commits: dict[int, float] = {}
    sa.event.listen(sa.orm.Session, "after_commit", on_commit)
    try:
        start = time.monotonic()
        made = 0
        while made < count:
            if rate:
                delay = start + made / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            batch = []
            for _ in range(min(per_commit, count - made)):
                batch.append(record_intent(event, subject_type="concern", subject_id=concern["id"], summary=summary,
                                           link=link, recipients=recipients, actor=actor))
            db.session.flush()
            ids = [intent.id for intent in batch]
            db.session.commit()
            for intent_id in ids:
                commits[intent_id] = committed_at[-1]
            made += len(batch)
    finally:
        sa.event.remove(sa.orm.Session, "after_commit", on_commit)
    return commits


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[rank - 1]


def _local_part(message_id: str) -> str:
    return message_id.split("@", 1)[0] + "@"


def deliver(commits: dict[int, float], leads: list[int], arrivals: Arrivals, client: redis.Redis, args, worker,
            worker_log, meter=None, cpu_before=None) -> dict:
    """Wait for every email of these intents; match each to its intent's commit."""
    expected = {f"<intent-{intent_id}-to-{lead}@" for intent_id in commits for lead in leads}
    seen = {key for key in map(_local_part, arrivals.times) if key in expected}

    def done():
        seen.update(key for key in map(_local_part, arrivals.poll()) if key in expected)
        return len(seen) >= len(expected)

    complete = wait_until(done, lambda: arrivals.count, "the emails", args.stall_timeout, worker, worker_log)
    cpu = meter.usage(cpu_before, meter.snapshot()) if meter else None
    # Tasks may be left once the last email has arrived (ones whose work another task did).
    idle = wait_idle(client, args, worker, worker_log)
    if complete:
        time.sleep(args.grace)
        arrivals.poll()
    latencies, duplicates, last = [], 0, 0.0
    got = set()
    for message_id, times in arrivals.times.items():
        match = MESSAGE_ID.match(message_id)
        if not match:
            continue
        intent_id = int(match.group(1))
        if intent_id not in commits:
            continue
        got.add(_local_part(message_id))
        duplicates += len(times) - 1
        first = min(times)
        latencies.append(first - commits[intent_id])
        last = max(last, first)
    first_commit = min(commits.values())
    seconds = last - first_commit
    return {
        "emails": len(expected),
        "arrived": len(got),
        "missing": len(expected - got),
        "duplicates": duplicates,
        "seconds": seconds,
        "rate": len(got) / seconds if seconds > 0 else float("nan"),
        "p50": percentile(latencies, 0.50) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99) if latencies else float("nan"),
        "max": max(latencies) if latencies else float("nan"),
        "publish_seconds": max(commits.values()) - first_commit,
        "drain_after_last_commit": last - max(commits.values()),
        "cpu": cpu,
        "idle_after": idle - first_commit,
    }


# The world ------------------------------------------------------------------------------------


def seed(leads: int) -> dict:
    """An area, a council with its leads, a provider with a service and staff, and one concern."""
    from portal.agencies.models import Agency, Area, Service
    from portal.concerns.operations import raise_concern
    from portal.core.codes import AbuseType, AgencyKind, Role, ServiceType
    from portal.extensions import db
    from portal.people.models import Membership, User

    area = Area(name="Benchmarkshire")
    council = Agency(area=area, kind=AgencyKind.LOCAL_AUTHORITY, name="Benchmarkshire Council")
    provider = Agency(area=area, kind=AgencyKind.CARE_PROVIDER, name="Benchmark Care")
    service = Service(provider=provider, name="Benchmark House", location_ref="1-000000001",
                      service_type=ServiceType.DOMICILIARY, address="1 Benchmark Street", postcode="BM1 1AA")
    people = [User(email=f"lead{number}@council.benchmark.invalid", name=f"Lead {number}") for number in range(1, leads + 1)]
    staff = User(email="staff@care.benchmark.invalid", name="Pat Staff")
    memberships = [Membership(user=user, agency=council, role=Role.SAFEGUARDING_LEAD) for user in people]
    staff_membership = Membership(user=staff, agency=provider, role=Role.PROVIDER_STAFF)
    db.session.add_all([area, council, provider, service, *people, staff, *memberships, staff_membership])
    db.session.commit()
    staff.membership = staff_membership
    concern = raise_concern(area=area, raised_by=staff, service=service,
                            what_happened="Bruising noticed during personal care (benchmark).",
                            abuse_types={AbuseType.PHYSICAL})
    db.session.commit()
    return {"concern": {"id": concern.id, "reference": concern.reference}, "leads": [user.id for user in people],
            "staff": staff.id}


def delivery_states(intent_ids: list[int]) -> dict[str, int]:
    from portal.extensions import db
    from portal.notifications.models import EmailDelivery, Notification

    low, high = min(intent_ids), max(intent_ids)
    rows = db.session.execute(
        sa.select(EmailDelivery.state, sa.func.count()).where(EmailDelivery.intent_id.between(low, high))
        .group_by(EmailDelivery.state)
    ).all()
    states = {state.name: count for state, count in rows}
    states["notifications"] = db.session.scalar(
        sa.select(sa.func.count()).select_from(Notification).where(Notification.intent_id.between(low, high))
    )
    db.session.rollback()
    return states


# The run --------------------------------------------------------------------------------------


def environment(args, workdir: Path, database_url: str, redis_url: str, smtp_port: int | None) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    for name in ("DATABASE_URL", "REDIS_URL", "MAIL_SERVER", "MAIL_PORT", "SECRET_KEY", "NOTIFY_API_KEY", "EMBEDDED_SCHEDULER"):
        env.pop(name, None)
    env.update({
        "PORTAL_ENV": "development",
        "PORTAL_INSTANCE_DIR": str(workdir / "instance"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "EMBEDDED_SCHEDULER": "false",
        "PYTHONPATH": str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
    })
    if smtp_port is not None:
        env.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port)})
    if args.profile:
        env["BENCHMARK_PROFILE_DIR"] = str(Path(args.profile).resolve())
        env["BENCHMARK_CPROFILE"] = "1" if args.cprofile else ""
    return env


def machine_facts(args) -> dict:
    import celery
    import sqlalchemy

    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "load": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        "python": sys.version.split()[0],
        "celery": celery.__version__,
        "sqlalchemy": sqlalchemy.__version__,
    }


def run(args) -> int:
    facts = machine_facts(args)
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="portal-benchmark-"))
        if args.keep_logs:
            stack.callback(print, f"logs kept in {workdir}")
        else:
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
        redis_db = claim_redis_db(stack)
        redis_url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}"
        client = redis.Redis.from_url(redis_url)
        stack.callback(client.close)
        database_url = create_database(stack, args, workdir)

        smtp_env = environment(args, workdir, database_url, redis_url, None)
        smtp, smtp_port, arrivals_file = start_smtp_sink(stack, workdir, smtp_env)
        env = environment(args, workdir, database_url, redis_url, smtp_port)
        os.environ.clear()
        os.environ.update(env)

        import flask_migrate

        from portal import create_app
        from portal.extensions import db

        app = create_app()
        context = app.app_context()
        context.push()
        stack.callback(context.pop)
        stack.callback(lambda: db.engine.dispose())
        stack.callback(db.session.remove)
        flask_migrate.upgrade()
        if db.engine.dialect.name == "postgresql":
            facts["database"] = "PostgreSQL " + db.session.scalar(sa.text("SHOW server_version"))
            facts["database"] += f" (synchronous_commit={db.session.scalar(sa.text('SHOW synchronous_commit'))}, " \
                                 f"fsync={db.session.scalar(sa.text('SHOW fsync'))})"
        else:
            facts["database"] = "SQLite " + db.session.scalar(sa.text("SELECT sqlite_version()"))
        db.session.rollback()
        world = seed(args.leads)
        clear_except_claim(client)  # the seed's own intent was handed over before any worker ran

        started = time.monotonic()
        worker, worker_log = start_worker(stack, args, workdir, env)
        meter = CpuMeter({"worker children": worker.pid, "smtp server": smtp.pid}, {"worker main": worker.pid},
                         database_url)
        stack.callback(meter.close)
        warm = bare_drain(client, 50, "warm-up", args, worker, worker_log)
        if warm["done"] < 50:
            raise SystemExit(f"The worker did not drain its warm-up tasks:\n{worker_log.read_text()[-4000:]}")
        print(f"worker ready after {time.monotonic() - started:.1f} s "
              f"({args.pool} -c {args.concurrency}, Redis db {redis_db}, SMTP 127.0.0.1:{smtp_port})", flush=True)

        arrivals = Arrivals(arrivals_file)
        if args.warmup:
            warm_commits = record_intents(args.warmup, 1, 0.0, world["concern"], world["leads"], world["staff"])
            warm_result = deliver(warm_commits, world["leads"], arrivals, client, args, worker, worker_log)
            if warm_result["missing"]:
                raise SystemExit(f"Warm-up emails went missing:\n{worker_log.read_text()[-4000:]}")

        drains = []
        if not args.skip_drain:
            drains.append(bare_drain(client, args.intents, "bare-1", args, worker, worker_log, meter))
            print(f"bare drain 1: {drains[-1]['rate']:.0f} tasks/s", flush=True)

        cpu_before = meter.snapshot()
        commits = record_intents(args.intents, args.per_commit, args.rate, world["concern"], world["leads"], world["staff"])
        print(f"committed {len(commits)} intents in {max(commits.values()) - min(commits.values()):.1f} s; "
              "waiting for the emails", flush=True)
        result = deliver(commits, world["leads"], arrivals, client, args, worker, worker_log, meter, cpu_before)

        if not args.skip_drain:
            drains.append(bare_drain(client, args.intents, "bare-2", args, worker, worker_log, meter))
            print(f"bare drain 2: {drains[-1]['rate']:.0f} tasks/s", flush=True)

        states = delivery_states(list(commits))
        leftover = client.llen(QUEUE)
        report(args, facts, world, result, drains, states, leftover)
        if args.profile:
            worker.stop()  # its children write their figures as they exit
            report_profile(Path(args.profile), args.intents)
        ok = not result["missing"] and not result["duplicates"]
    return 0 if ok else 1


def report(args, facts, world, result, drains, states, leftover) -> None:
    bare = statistics.mean(d["rate"] for d in drains) if drains else float("nan")
    ratio = result["rate"] / bare if drains else float("nan")
    rows = [
        ("intents", f"{args.intents:,}"),
        ("recipients per intent", f"{len(world['leads'])}"),
        ("intents per commit", f"{args.per_commit}" + (f" at {args.rate:g}/s" if args.rate else ", as fast as possible")),
        ("emails expected", f"{result['emails']:,}"),
        ("emails arrived (unique)", f"{result['arrived']:,}"),
        ("missing", f"{result['missing']:,}"),
        ("duplicates", f"{result['duplicates']:,}"),
        ("publishing (first to last commit)", f"{result['publish_seconds']:.2f} s"),
        ("first commit to last arrival", f"{result['seconds']:.2f} s"),
        ("first commit to worker idle", f"{result['idle_after']:.2f} s (every task finished)"),
        ("emails/s", f"{result['rate']:.1f}"),
        ("latency p50", f"{result['p50'] * 1000:,.0f} ms"),
        ("latency p99", f"{result['p99'] * 1000:,.0f} ms"),
        ("latency max", f"{result['max'] * 1000:,.0f} ms"),
    ]
    for number, drain in enumerate(drains, 1):
        rows.append((f"bare drain {number} ({drain['tasks']:,} tasks)", f"{drain['rate']:.1f} tasks/s in {drain['seconds']:.2f} s"))
    if drains:
        rows.append(("bare drain, mean", f"{bare:.1f} tasks/s"))
        verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
        rows.append(("emails/s / bare tasks/s", f"{ratio:.1%}  ({verdict} the target of >= {TARGET_RATIO:.0%})"))
    rows.append(("deliveries in the database", ", ".join(f"{k} {v:,}" for k, v in sorted(states.items()))))
    rows.append(("tasks left in the queue", f"{leftover}"))
    rows.append(("CPU seconds, notifications", cpu_line(result["cpu"])))
    for number, drain in enumerate(drains, 1):
        rows.append((f"CPU seconds, bare drain {number}", cpu_line(drain["cpu"])))
    if result["cpu"] and drains and all(d["cpu"] for d in drains):
        per_email = sum(result["cpu"].get(name, 0.0) for name in OURS) / max(1, result["arrived"]) * 1000
        per_task = statistics.mean(sum(d["cpu"].get(name, 0.0) for name in OURS) / d["tasks"] for d in drains) * 1000
        rows.append(("our CPU per email / per bare task", f"{per_email:.2f} ms / {per_task:.2f} ms"))
        rows.append(("  so on an idle machine, roughly", f"emails/s = {per_task / per_email:.0%} of bare tasks/s "
                     "(CPU-bound estimate, unaffected by other load)"))
    rows += [
        ("CPUs", f"{facts['cpus']} (load average before the run {facts['load']})"),
        ("database", facts["database"]),
        ("worker", f"celery {facts['celery']}, -P {args.pool} -c {args.concurrency}, prefetch 1, acks late"),
        ("python / SQLAlchemy", f"{facts['python']} / {facts['sqlalchemy']}"),
    ]
    width = max(len(name) for name, _ in rows)
    line = "-" * (width + 2 + max(len(value) for _, value in rows))
    print()
    print("Notification emails end to end, against a bare Celery drain")
    print(line)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(line)


def report_profile(directory: Path, intents: int) -> None:
    """Per task: runs, wall and CPU time, statements and commits, summed over the worker's children."""
    import json

    totals: dict[str, dict[str, int]] = {}
    for path in directory.glob("worker-*.json"):
        for task, counts in json.loads(path.read_text()).items():
            into = totals.setdefault(task, {})
            for name, value in counts.items():
                into[name] = into.get(name, 0) + value
    print(f"\nWorker children, per task (whole run, warm-up included; {intents:,} intents measured)")
    print(f"{'task':<44} {'runs':>7} {'wall ms':>8} {'cpu ms':>7} {'stmts':>6} {'commits':>7}  statements by kind")
    for task, counts in sorted(totals.items()):
        runs = counts.get("runs") or 1
        kinds = ", ".join(f"{name[4:]} {value / runs:.1f}" for name, value in sorted(counts.items())
                          if name.startswith("sql ") and name != "sql statements")
        print(f"{task:<44} {counts.get('runs', 0):>7,} {counts.get('microseconds', 0) / runs / 1000:>8.2f} "
              f"{counts.get('cpu microseconds', 0) / runs / 1000:>7.2f} {counts.get('sql statements', 0) / runs:>6.1f} "
              f"{counts.get('commits', 0) / runs:>7.2f}  {kinds}")


def cpu_line(parts: dict[str, float] | None) -> str:
    if not parts:
        return "-"
    capacity = parts["machine capacity"]
    order = [*OURS, "other processes"]
    shown = ", ".join(f"{name} {parts.get(name, 0.0):.1f}" for name in order)
    return f"{shown}; machine busy {parts['machine busy']:.1f} of {capacity:.1f} ({parts['machine busy'] / capacity:.0%})"


def main(argv=None) -> int:
    args = parse_args(argv)
    # A SIGTERM unwinds like Ctrl-C, so the worker, the database and the Redis db are cleaned up.
    signal.signal(signal.SIGTERM, _interrupt)
    return run(args)


def _interrupt(*_):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
