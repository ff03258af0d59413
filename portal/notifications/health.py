"""The health line on the operations page: where email goes, and whether the workers can be reached.

Every check is bounded in time (about two seconds for the broker, one for the workers) and
reports a failure as text: an administrator looking at a broken system needs the page most.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from kombu import Connection

from portal.notifications.backends import backend_name

#: Seconds to wait for the broker to answer, per attempt; two attempts at most.
BROKER_TIMEOUT = 1
#: Seconds to wait for a worker to answer a ping.
WORKER_TIMEOUT = 1


@dataclass(frozen=True)
class Health:
    """What sends the emails, how tasks run, and (with Redis) whether broker and a worker answer."""

    backend: str
    #: Tasks run in the web process as pages save their changes (no REDIS_URL is set).
    eager: bool
    broker_ok: bool | None = None
    broker: str | None = None
    worker_ok: bool | None = None
    worker: str | None = None

    @property
    def healthy(self) -> bool:
        return self.eager or bool(self.broker_ok and self.worker_ok)

    @property
    def tasks(self) -> str:
        if self.eager:
            return "In the web process, as each change is saved (no REDIS_URL is set, so there is no broker or worker)"
        return "By Celery workers, through Redis"


def _error(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:200]


def _broker(app) -> tuple[bool, str]:
    options = dict(app.conf.broker_transport_options or {})
    options.update(socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT)
    try:
        with Connection(app.conf.broker_url, connect_timeout=BROKER_TIMEOUT, transport_options=options) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2 * BROKER_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, shown on the page
        return False, f"Redis does not answer: {_error(exc)}. Emails wait until it is back; the sweep then sends them."
    return True, "Redis answers"


def _workers(app) -> tuple[bool, str]:
    try:
        replies = app.control.ping(timeout=WORKER_TIMEOUT, limit=1)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, shown on the page
        return False, f"Could not ask the workers: {_error(exc)}"
    names = sorted(name for reply in replies or () for name in reply)
    if not names:
        return False, (f"No worker answered within {WORKER_TIMEOUT} second. Emails wait in Redis until a worker "
                       "starts: check that the worker service is running.")
    return True, f"A worker answers ({names[0]})"


def check(config=None, app=None) -> Health:
    """The health line for the configured portal (or the given settings and Celery app)."""
    from workers.celery_app import celery

    config = config if config is not None else current_app.config
    app = app if app is not None else celery
    backend = backend_name(config)
    if app.conf.task_always_eager:
        return Health(backend=backend, eager=True)
    broker_ok, broker = _broker(app)
    if not broker_ok:
        return Health(backend=backend, eager=False, broker_ok=False, broker=broker, worker_ok=None,
                      worker="Not asked: the workers are reached through Redis")
    worker_ok, worker = _workers(app)
    return Health(backend=backend, eager=False, broker_ok=True, broker=broker, worker_ok=worker_ok, worker=worker)
