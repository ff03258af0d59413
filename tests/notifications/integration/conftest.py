"""The notification pipeline with its real parts: worker processes, Redis, SMTP and a shared database.

The other notification tests run the tasks eagerly inside a transaction that is rolled back; a
worker process could never see that. Here the portal commits for real (in this process), publishes
to Redis, and separate ``celery -A workers worker`` processes fan out and send to an aiosmtpd
server in this process, which can refuse, hold or delay what it is sent.

- Redis: the machine's server at 127.0.0.1:6379, in a database number (1-15) claimed for this run
  alone. When Redis cannot be reached these tests are skipped, or fail under ``CI=true``.
- Database: a fresh one, as for the rest of the suite (a SQLite file, or a PostgreSQL database
  when ``DATABASE_URL`` names a PostgreSQL server), built by the migrations.
- Workers: started with the environment a deployment gives them (``PORTAL_ENV=development``,
  ``DATABASE_URL``, ``REDIS_URL``, ``MAIL_SERVER``...) and short retry and lease times. One worker
  is shared by the tests; a test that kills it starts the next. A failing test prints the workers'
  logs.

Each test builds its own small world (an area, a council with safeguarding leads, a provider with a
member of staff) under names of its own, so it only ever looks at its own people's emails and rows.
After each test whatever is still waiting to be sent is settled, so it cannot arrive in a later one.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import flask_migrate
import kombu.pools
import pytest
import redis
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from celery import Celery
from flask import Flask

import workers.celery_app as celery_app
from config import celery_settings
from portal import create_app
from portal.agencies.models import Agency, Area, Service
from portal.concerns import operations
from portal.concerns.operations import AdultDetails
from portal.core.codes import AbuseType, AgencyKind, Role, ServiceType
from portal.core.db import utcnow
from portal.extensions import db
from portal.notifications.models import DeliveryState, EmailDelivery, NotificationIntent
from portal.people.models import Membership, User
from tests.conftest import IN_CI, fresh_database, make_test_config
from tests.redis_claim import claim_redis_database, release_redis_database

PROJECT_ROOT = Path(__file__).resolve().parents[3]
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
#: The queue the portal publishes to and the workers consume.
QUEUE = celery_settings(None)["task_default_queue"]

# Settings shared by this process and the workers: short enough for tests to wait out.
PUBLIC_URL = "https://portal.integration.example"
SECRET_KEY = "integration-tests-only-" + "k" * 32
SENDER = "portal@safeguarding.invalid"
LEASE_SECONDS = 5
RETRY_SECONDS = 1
MAX_ATTEMPTS = 3
VISIBILITY_TIMEOUT = 5
#: How long a test waits for something a worker should do, before failing.
WAIT_SECONDS = 30

#: The adult's personal details: no email may carry any of them.
ADULT = AdultDetails(
    name="Jo Integrationadult", date_of_birth=date(1941, 3, 2), nhs_number="9434765919",
    address="14 Larch Close, Testford", postcode="TF1 2AB",
)
PERSONAL_DETAILS = ("Integrationadult", "9434765919", "943 476 5919", "Larch Close", "TF1 2AB", "1941")


def unavailable(message: str):
    """A missing service fails the run in CI, and skips these tests loudly elsewhere."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip("!" * 10 + " WORKER TESTS SKIPPED: " + message + " " + "!" * 10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_this_process() -> None:
    """Run in a child before it starts: its own session (so Ctrl-C reaches only pytest, which then
    ends it) and, on Linux, SIGKILL when this process dies, so no worker outlives an aborted run
    and takes a later run's tasks from a reused Redis database."""
    os.setsid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def wait_until(predicate, timeout: float = WAIT_SECONDS, interval: float = 0.05, what: str | None = None):
    """Poll ``predicate`` until it returns something true, and return that; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Gave up after {timeout} s waiting for {what or getattr(predicate, '__name__', 'it')}")
        time.sleep(interval)


# SMTP -------------------------------------------------------------------------------------------


@dataclass
class Hold:
    """Keeps the next RCPT command waiting: ``reached`` is set when it arrives, ``release()`` lets it go."""

    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


class MailServer:
    """An aiosmtpd handler that keeps each message it accepts, and can be told to misbehave.

    - ``refuse[address] = "550 ..."``: every RCPT for that address gets that reply;
    - ``delay_rcpt[address] = n`` / ``delay_data[address] = n``: the next ``n`` RCPT (or DATA)
      commands for that address get ``451`` (try again later);
    - ``hold_next_rcpt()``: the next RCPT waits until released (a client that dies meanwhile never
      sends DATA, so nothing is kept).
    """

    TEMPORARY = "451 4.3.0 Mailbox temporarily unavailable, try again later"

    def __init__(self):
        self.lock = threading.Lock()
        self.port: int | None = None
        self.reset()

    def reset(self) -> None:
        with self.lock:
            hold = getattr(self, "hold", None)
            if hold is not None:
                hold.release()
            self.messages: list[email.message.EmailMessage] = []
            #: (time.monotonic(), address, the reply's code) for every RCPT refused or DATA answered.
            self.history: list[tuple[float, str, str]] = []
            self.refuse: dict[str, str] = {}
            self.delay_rcpt: dict[str, int] = {}
            self.delay_data: dict[str, int] = {}
            self.hold: Hold | None = None

    def hold_next_rcpt(self) -> Hold:
        with self.lock:
            self.hold = Hold()
            return self.hold

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            hold, self.hold = self.hold, None
        if hold is not None:
            hold.reached.set()
            while not hold.released.is_set():
                await asyncio.sleep(0.02)
        with self.lock:
            reply = self.refuse.get(address)
            if reply is None and self.delay_rcpt.get(address, 0) > 0:
                self.delay_rcpt[address] -= 1
                reply = self.TEMPORARY
            if reply is not None:
                self.history.append((time.monotonic(), address, reply[:3]))
                return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            for address in envelope.rcpt_tos:
                if self.delay_data.get(address, 0) > 0:
                    self.delay_data[address] -= 1
                    self.history.append((time.monotonic(), address, self.TEMPORARY[:3]))
                    return self.TEMPORARY
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            self.history.extend((time.monotonic(), address, "250") for address in envelope.rcpt_tos)
        return "250 2.0.0 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self.lock:
            return [message for message in self.messages if message["To"] == address]

    def replies_to(self, address: str) -> list[tuple[float, str]]:
        """(when, reply code) for each attempt at this address the server answered for good or ill."""
        with self.lock:
            return [(when, code) for when, to, code in self.history if to == address]

    def with_id(self, key: str) -> list[email.message.EmailMessage]:
        """Messages whose Message-ID carries this delivery key (the idempotency key)."""
        message_id = f"<{key}@{SENDER.rsplit('@', 1)[1]}>"
        with self.lock:
            return [message for message in self.messages if message["Message-ID"] == message_id]


@pytest.fixture(scope="package")
def mail_server():
    server = MailServer()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    server.port = controller.port
    try:
        yield server
    finally:
        server.reset()  # lets a held command go, so the server's loop can stop
        controller.stop()


def subject_of(message) -> str:
    """The subject as a mail client shows it: Python folds a long one onto the next line whole
    ("Subject:\r\n Safeguarding..."), which its parser then reads back with the leading space."""
    return message["Subject"].strip()


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def assert_no_personal_details(message) -> None:
    whole = "\n".join([subject_of(message), text_of(message), html_of(message)])
    for detail in PERSONAL_DETAILS:
        assert detail not in whole, f"the email to {message['To']} gives away {detail!r}"


# Redis ------------------------------------------------------------------------------------------


@dataclass
class RedisDatabase:
    url: str
    client: redis.Redis

    def idle(self) -> bool:
        """No task waiting in the queue and none taken but unacknowledged (running or due later)."""
        queues = [key for key in self.client.scan_iter(match=f"{QUEUE}*", _type="list")
                  if key == QUEUE.encode() or key.startswith(QUEUE.encode() + b"\x06\x16")]
        return not any(self.client.llen(key) for key in queues) and not self.client.hlen("unacked")

    def wait_idle(self, timeout: float = WAIT_SECONDS, quiet_for: float = 0.3) -> None:
        """Wait until the workers have finished everything published so far (idle for a moment,
        since a task is briefly in neither place while a worker takes it)."""
        since = None

        def settled():
            nonlocal since
            if not self.idle():
                since = None
                return False
            since = since or time.monotonic()
            return time.monotonic() - since >= quiet_for

        wait_until(settled, timeout, what="the workers to finish every task")


@pytest.fixture(scope="package")
def redis_database():
    probe = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2, socket_timeout=5)
    try:
        probe.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_HOST}:{REDIS_PORT} cannot be reached ({exc}); start it (see /work/shared/RECIPES.md)")
    finally:
        probe.close()
    token = uuid.uuid4().hex
    client = claim_redis_database(REDIS_HOST, REDIS_PORT, token)
    if client is None:
        unavailable(f"every Redis database 1-15 at {REDIS_HOST}:{REDIS_PORT} is claimed by another test run")
    number = client.connection_pool.connection_kwargs["db"]
    try:
        yield RedisDatabase(url=f"redis://{REDIS_HOST}:{REDIS_PORT}/{number}", client=client)
    finally:
        release_redis_database(client, token)


class PrivateRedis:
    """A ``redis-server`` of one test's own on a free port, which the test may stop and start."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.directory / "redis.log", "ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self.directory)],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_this_process,
        )
        log.close()
        client = redis.Redis(port=self.port, socket_connect_timeout=1)

        def answers():
            if self.process.poll() is not None:
                raise AssertionError(f"redis-server exited: {(self.directory / 'redis.log').read_text()}")
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

        wait_until(answers, 10, what=f"redis-server on port {self.port}")
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture
def private_redis(tmp_path):
    if not any((Path(p) / "redis-server").exists() for p in os.environ.get("PATH", "").split(os.pathsep)):
        unavailable("redis-server is not installed, so the broker cannot be stopped and started")
    server = PrivateRedis(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def restore_unacknowledged(broker_url: str) -> None:
    """Put tasks taken but never acknowledged for longer than the visibility timeout back in the
    queue, as Redis's consumers do. Workers do it on a timer throttled to about every 100 s, too
    slow to wait for; this runs the same kombu code now."""
    with Celery("portal-test-restore", set_as_current=False, broker=broker_url) as app:
        app.conf.update(broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT})
        with app.connection_for_write() as connection:
            connection.default_channel.qos.restore_visible(num=100)


# This process's Celery app ----------------------------------------------------------------------


def _forget_broker_connections() -> None:
    """Drop this process's pooled broker connections, so the next publish uses the broker now set."""
    kombu.pools.reset()
    celery = celery_app.celery
    celery._pool = None
    amqp = celery.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@contextmanager
def publishing_to(redis_url: str):
    """Point this process's Celery app (``workers.celery_app.celery``) at Redis, and put back its
    previous settings afterwards: eager, as the rest of the suite expects. The fixtures here are
    package-scoped, so that happens when this directory's tests end, not when the session does."""
    celery = celery_app.celery
    settings = celery_settings(redis_url, visibility_timeout=VISIBILITY_TIMEOUT)
    previous = {key: celery.conf.get(key) for key in settings}
    celery.conf.update(settings)
    _forget_broker_connections()
    try:
        yield settings
    finally:
        celery.conf.update(previous)
        _forget_broker_connections()


# The portal in this process ---------------------------------------------------------------------


@dataclass
class Portal:
    app: Flask
    database_url: str
    redis: RedisDatabase
    mail: MailServer
    instance_dir: Path

    @contextmanager
    def session(self):
        """An application context and its own database session, removed afterwards."""
        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()

    def before_writing(self) -> None:
        """On SQLite, wait for the workers to go idle before this process reads and then writes.

        The portal's SQLite connections begin deferred transactions, and SQLite will not let a
        transaction that has read go on to write while another connection is writing: it fails at
        once with "database is locked", without waiting out its busy timeout (that could deadlock).
        Raising a concern here while a worker records a send would fail that way, as a page would.
        Writes that start with their UPDATE (the workers' claims) wait their turn instead.
        PostgreSQL has no such limit, so nothing waits there.
        """
        if self.database_url.startswith("sqlite"):
            self.redis.wait_idle()

    def worker_environment(self, redis_url: str | None = None) -> dict[str, str]:
        """What a deployment would give a worker: the same database, Redis, mail server and URL."""
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("PORTAL_", "CELERY_")) and key not in WORKER_SETTINGS}
        env.update(
            PORTAL_ENV="development",  # the test settings turn the mail server off
            PORTAL_INSTANCE_DIR=str(self.instance_dir),
            SECRET_KEY=SECRET_KEY,
            DATABASE_URL=self.database_url,
            REDIS_URL=redis_url or self.redis.url,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(self.mail.port),
            MAIL_DEFAULT_SENDER=SENDER,
            PUBLIC_URL=PUBLIC_URL,
            DELIVERY_RETRY_SECONDS=str(RETRY_SECONDS),
            DELIVERY_LEASE_SECONDS=str(LEASE_SECONDS),
            DELIVERY_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
            SWEEP_GRACE_SECONDS="0",
            BROKER_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
            EMBEDDED_SCHEDULER="false",
            PYTHONUNBUFFERED="1",
        )
        return env


#: Settings the workers are given; the test process's app has the same values.
WORKER_SETTINGS = (
    "DATABASE_URL", "REDIS_URL", "MAIL_SERVER", "MAIL_PORT", "MAIL_DEFAULT_SENDER", "PUBLIC_URL", "SECRET_KEY",
    "DELIVERY_RETRY_SECONDS", "DELIVERY_LEASE_SECONDS", "DELIVERY_MAX_ATTEMPTS", "SWEEP_GRACE_SECONDS",
    "BROKER_VISIBILITY_TIMEOUT", "EMBEDDED_SCHEDULER", "NOTIFY_API_KEY",
)


@pytest.fixture(scope="package")
def portal(tmp_path_factory, redis_database, mail_server):
    """The portal in this process, committing for real and publishing to this run's Redis database."""
    instance_dir = tmp_path_factory.mktemp("worker-instance")
    previous_flask_app = celery_app._flask_app
    with fresh_database(tmp_path_factory, "worker") as url, publishing_to(redis_database.url) as celery_config:
        config = make_test_config(
            url, MAIL_SERVER="127.0.0.1", MAIL_PORT=mail_server.port, MAIL_DEFAULT_SENDER=SENDER,
            REDIS_URL=redis_database.url, CELERY=celery_config, PUBLIC_URL=PUBLIC_URL,
            DELIVERY_RETRY_SECONDS=RETRY_SECONDS, DELIVERY_LEASE_SECONDS=LEASE_SECONDS,
            DELIVERY_MAX_ATTEMPTS=MAX_ATTEMPTS, SWEEP_GRACE_SECONDS=0, BROKER_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT,
            EMBEDDED_SCHEDULER=False,
        )
        app = create_app(config)
        try:
            assert not celery_app.is_eager(), "this process must publish to Redis, not run tasks itself"
            with app.app_context():
                flask_migrate.upgrade()
                db.session.remove()
            yield Portal(app=app, database_url=url, redis=redis_database, mail=mail_server, instance_dir=instance_dir)
        finally:
            celery_app._flask_app = previous_flask_app
            with app.app_context():
                db.engine.dispose()


# Workers ----------------------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    hostname: str
    process: subprocess.Popen
    log: Path
    broker_url: str

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Workers:
    """Starts ``celery -A workers worker`` processes, and always ends them."""

    def __init__(self, portal: Portal, directory: Path):
        self.portal = portal
        self.directory = directory
        self.started: list[Worker] = []
        self.shared: Worker | None = None
        self.killed: list[Worker] = []
        self._count = 0

    def start(self, redis_url: str | None = None, wait: bool = True) -> Worker:
        self._count += 1
        name = f"w{self._count}-{uuid.uuid4().hex[:6]}"
        hostname = f"{name}@{socket.gethostname()}"
        broker_url = redis_url or self.portal.redis.url
        log = self.directory / f"{name}.log"
        with open(log, "wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers", "worker", "-P", "solo", "-c", "1",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
                 "-Q", QUEUE, "-n", hostname],
                cwd=PROJECT_ROOT, env=self.portal.worker_environment(broker_url), stdout=output,
                stderr=subprocess.STDOUT, preexec_fn=_die_with_this_process,
            )
        worker = Worker(name=name, hostname=hostname, process=process, log=log, broker_url=broker_url)
        self.started.append(worker)
        if wait:
            self.wait_ready(worker)
        return worker

    def wait_ready(self, worker: Worker, timeout: float = 30) -> None:
        """Wait until the worker answers a ping through the broker (it is then consuming tasks)."""
        control = Celery("portal-test-control", set_as_current=False, broker=worker.broker_url)
        control.conf.update(accept_content=["json"], broker_connection_timeout=2)
        try:
            def answers():
                if not worker.alive:
                    raise AssertionError(f"worker {worker.name} exited with {worker.process.returncode}:\n{worker.output()}")
                return control.control.ping(destination=[worker.hostname], timeout=0.5)

            wait_until(answers, timeout, interval=0.1, what=f"worker {worker.name} to answer a ping")
        finally:
            control.close()

    def running(self) -> Worker:
        """The worker the tests share, started if there is none."""
        if self.shared is None or not self.shared.alive:
            self.shared = self.start()
        return self.shared

    def kill(self, worker: Worker) -> None:
        """SIGKILL: the worker gets no chance to finish or acknowledge anything."""
        self.killed.append(worker)
        if worker.alive:
            os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait(10)

    def stop(self, worker: Worker) -> None:
        """A warm shutdown (SIGTERM), killed if it takes too long."""
        if worker.alive:
            worker.process.terminate()
            try:
                worker.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill(worker)

    def stop_all(self) -> None:
        for worker in self.started:
            self.stop(worker)


@pytest.fixture(scope="package")
def workers(portal, tmp_path_factory):
    manager = Workers(portal, tmp_path_factory.mktemp("workers"))
    try:
        yield manager
    finally:
        manager.stop_all()


@pytest.fixture
def worker(workers):
    """The shared worker, running."""
    return workers.running()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"_report_{report.when}", report)


@pytest.fixture(autouse=True)
def _each_test(request, portal, workers):
    """A clean mail server; afterwards the workers' logs if the test failed, and nothing left to send."""
    portal.mail.reset()
    logs_from = {worker.name: len(worker.output()) for worker in workers.started}
    yield
    failed = any(getattr(getattr(request.node, f"_report_{when}", None), "failed", False) for when in ("setup", "call"))
    if failed:
        for worker in workers.started:
            print(f"\n----- log of worker {worker.name} ({'running' if worker.alive else 'ended'}) -----")
            print(worker.output()[logs_from.get(worker.name, 0):] or "(empty)")
    portal.mail.reset()
    settle_leftovers(portal)
    if workers.killed:
        # A killed worker's unacknowledged task would hold up every later wait for idle workers.
        time.sleep(VISIBILITY_TIMEOUT)
        for worker in workers.killed:
            restore_unacknowledged(worker.broker_url)
        workers.killed.clear()


def settle_leftovers(portal: Portal) -> None:
    """Whatever a test left waiting is marked failed (and its intents taken), so no later test sees it sent."""
    with portal.session() as session:
        session.execute(
            sa.update(EmailDelivery)
            .where(EmailDelivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.IN_DIGEST_QUEUE]))
            .values(state=DeliveryState.FAILED, claimed_until=None, last_error="Left over by an earlier test")
        )
        session.execute(
            sa.update(NotificationIntent).where(NotificationIntent.fanned_out_at.is_(None)).values(fanned_out_at=utcnow())
        )
        session.commit()


# A small world of one's own ---------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    name: str


@dataclass
class World:
    """An area with its council's safeguarding leads and a provider's member of staff (ids only)."""

    area_id: int
    council_id: int
    service_id: int
    leads: list[Person]
    staff: Person


@dataclass(frozen=True)
class RaisedConcern:
    id: int
    reference: str


def build_world(portal: Portal, leads: int = 2) -> World:
    tag = uuid.uuid4().hex[:8]
    with portal.session() as session:
        area = Area(name=f"Integrationshire {tag}")
        council = Agency(area=area, kind=AgencyKind.LOCAL_AUTHORITY, name=f"Integrationshire Council {tag}")
        provider = Agency(area=area, kind=AgencyKind.CARE_PROVIDER, name=f"Integration Care {tag}")
        service = Service(
            provider=provider, name=f"Integration House {tag}", location_ref=f"1-{uuid.uuid4().int % 10**9:09d}",
            service_type=ServiceType.DOMICILIARY, address="1 Test Street", postcode="NS1 4AB",
        )

        def person(role: Role, agency: Agency, local: str, name: str) -> User:
            user = User(email=f"{local}-{tag}@{'council' if agency is council else 'care'}.example", name=name)
            session.add(Membership(user=user, agency=agency, role=role))
            return user

        lead_users = [person(Role.SAFEGUARDING_LEAD, council, f"lead{n}", f"Lead Number{n}") for n in range(1, leads + 1)]
        staff = person(Role.PROVIDER_STAFF, provider, "staff", "Pat Staff")
        session.add_all([area, council, provider, service])
        session.commit()
        return World(
            area_id=area.id, council_id=council.id, service_id=service.id,
            leads=[Person(u.id, u.email, u.name) for u in lead_users], staff=Person(staff.id, staff.email, staff.name),
        )


def acting(user: User) -> User:
    user.membership = user.active_memberships[0]
    return user


def raise_concern(portal: Portal, world: World) -> RaisedConcern:
    """A member of the provider's staff raises a concern about the adult, committed (so handed over)."""
    portal.before_writing()
    with portal.session() as session:
        concern = operations.raise_concern(
            area=session.get(Area, world.area_id), raised_by=acting(session.get(User, world.staff.id)),
            service=session.get(Service, world.service_id), what_happened="Medication missed on three evenings.",
            abuse_types={AbuseType.NEGLECT}, adult=ADULT,
        )
        session.commit()
        return RaisedConcern(concern.id, concern.reference)


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    key: str
    kind: object
    state: DeliveryState
    attempts: int
    last_error: str | None
    recipient_id: int
    intent_id: int | None
    digest_id: int | None


def deliveries(portal: Portal, *people: Person) -> list[DeliveryRow]:
    """The email deliveries to these people, read afresh from the database."""
    with portal.session() as session:
        rows = session.scalars(
            sa.select(EmailDelivery).where(EmailDelivery.recipient_id.in_([p.id for p in people])).order_by(EmailDelivery.id)
        ).all()
        return [
            DeliveryRow(row.id, row.key, row.kind, row.state, row.attempts, row.last_error, row.recipient_id,
                        row.intent_id, row.digest_id)
            for row in rows
        ]


def wait_for_states(portal: Portal, people, states, timeout: float = WAIT_SECONDS) -> list[DeliveryRow]:
    """Wait until every delivery to these people is in one of ``states`` (and there is at least one)."""
    states = set(states)

    def settled():
        rows = deliveries(portal, *people)
        return rows if rows and all(row.state in states for row in rows) else None

    try:
        return wait_until(settled, timeout)
    except AssertionError:
        rows = "\n".join(f"  {row}" for row in deliveries(portal, *people)) or "  (none)"
        raise AssertionError(f"Gave up after {timeout} s waiting for every delivery to be "
                             f"{' or '.join(s.name for s in states)}; they are:\n{rows}") from None
