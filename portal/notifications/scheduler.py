"""The embedded scheduler: with no Redis (``make run``), a thread in the web process does what
Celery beat does in production: the sweep (with reminders) every ``SWEEP_SECONDS``, and the
daily summaries once the ``DIGEST_HOUR`` has passed in England, the nightly refresh of risk
signals once ``RISK_REFRESH_HOUR`` has, the redaction of closed concerns past their retention once
``REDACTION_HOUR`` has, and the move up the ladder of escalations left unanswered
past their grace period."""

from __future__ import annotations

import threading
from datetime import datetime

from flask import Flask

from portal.core.workdays import LONDON

_started = threading.Lock()
_thread: threading.Thread | None = None


def tick(app: Flask) -> None:
    """One round of scheduled work (building summaries twice in a day is harmless)."""
    from portal.escalations.operations import escalate_overdue
    from portal.extensions import db
    from portal.intelligence.operations import refresh_outdated_signals
    from portal.notifications.dispatch import run_digests, run_sweep
    from portal.privacy.operations import redact_expired

    with app.app_context():
        try:
            escalate_overdue()
            run_sweep()
            hour = datetime.now(LONDON).hour
            if hour >= app.config["DIGEST_HOUR"]:
                run_digests()
            if hour >= app.config["RISK_REFRESH_HOUR"]:
                refresh_outdated_signals()
            if hour >= app.config["REDACTION_HOUR"]:
                redact_expired()
        except Exception:  # noqa: BLE001 - the next tick tries again
            app.logger.exception("Scheduled notification work failed; trying again next time")
            db.session.rollback()
        finally:
            db.session.remove()


def start(app: Flask) -> None:
    """Start the thread once per process."""
    global _thread
    with _started:
        if _thread is not None:
            return
        stop = threading.Event()

        def loop():
            while not stop.wait(app.config["SWEEP_SECONDS"]):
                tick(app)

        _thread = threading.Thread(target=loop, name="notification-scheduler", daemon=True)
        _thread.start()


def install(app: Flask) -> None:
    """Start the scheduler with the first request, so commands such as ``flask db`` never do."""
    if not app.config.get("EMBEDDED_SCHEDULER"):
        return

    @app.before_request
    def _start_scheduler():
        start(app)
