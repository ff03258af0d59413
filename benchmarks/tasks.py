"""A no-op Celery task for measuring a bare drain, loaded by the worker with ``-I benchmarks.tasks``.

It runs on the portal's Celery app with its task class (so each run enters a Flask application
context, as ``workers.tasks.notifications.ping`` does) and records its completion in Redis: one
INCR per task, and the time the last of ``total`` finished. Nothing in ``portal/`` or
``workers/`` imports it.
"""

from __future__ import annotations

import os
import time

import redis

from workers.celery_app import celery

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ["REDIS_URL"])
    return _client


@celery.task(name="benchmarks.tasks.tick")
def tick(counter: str, total: int) -> None:
    """Count one finished task; the one that makes ``total`` writes the time it finished."""
    client = _redis()
    done = client.incr(counter)
    if done == total:
        client.set(f"{counter}:finished_at", repr(time.time()))


# Profiling (only with BENCHMARK_PROFILE_DIR, set by ``notifications.py --profile DIR``) -------

_PROFILE_DIR = os.environ.get("BENCHMARK_PROFILE_DIR")

if _PROFILE_DIR:
    import cProfile
    import json
    from collections import Counter, defaultdict

    import sqlalchemy as sa
    from celery import signals

    _profile = cProfile.Profile() if os.environ.get("BENCHMARK_CPROFILE") else None
    _current = {"task": "(none)", "started": 0.0, "cpu": 0.0}
    _stats = defaultdict(Counter)
    _last_dump = [0.0]

    @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
    def _count_statement(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split(None, 1)[0].upper()
        _stats[_current["task"]][f"sql {verb}"] += 1
        _stats[_current["task"]]["sql statements"] += 1

    @sa.event.listens_for(sa.engine.Engine, "commit")
    def _count_commit(conn):
        _stats[_current["task"]]["commits"] += 1

    @signals.worker_process_init.connect
    def _start_profile(**_):
        if _profile:
            _profile.enable()

    @signals.task_prerun.connect
    def _task_started(task=None, **_):
        _current.update(task=task.name, started=time.perf_counter(), cpu=time.process_time())

    @signals.task_postrun.connect
    def _task_finished(task=None, **_):
        stats = _stats[task.name]
        stats["runs"] += 1
        stats["microseconds"] += int((time.perf_counter() - _current["started"]) * 1e6)
        stats["cpu microseconds"] += int((time.process_time() - _current["cpu"]) * 1e6)
        _current["task"] = "(none)"
        if time.monotonic() - _last_dump[0] > 2:
            _dump()

    @signals.worker_process_shutdown.connect
    def _stop_profile(**_):
        _dump()

    def _dump() -> None:
        _last_dump[0] = time.monotonic()
        pid = os.getpid()
        if _profile:
            _profile.disable()
            _profile.dump_stats(os.path.join(_PROFILE_DIR, f"worker-{pid}.prof"))
            _profile.enable()
        with open(os.path.join(_PROFILE_DIR, f"worker-{pid}.json"), "w") as out:
            json.dump({name: dict(counts) for name, counts in _stats.items()}, out, indent=1, sort_keys=True)
