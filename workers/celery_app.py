"""The Celery application. Tasks run inside a Flask application context of their own."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask, has_app_context

from config import load_config


class FlaskTask(Task):
    """Runs the task body inside the portal's application context."""

    def __call__(self, *args, **kwargs):
        if has_app_context():
            return self.run(*args, **kwargs)
        with _worker_flask_app().app_context():
            return self.run(*args, **kwargs)


celery = Celery("portal", task_cls=FlaskTask, include=["workers.tasks.notifications", "workers.tasks.intelligence", "workers.tasks.imports",
                                                  "workers.tasks.escalations", "workers.tasks.privacy"])
# A worker or beat process reads the same settings from the environment as the portal does.
celery.conf.update(load_config().CELERY)

_flask_app: Flask | None = None


def _worker_flask_app() -> Flask:
    """The Flask application a worker process builds once from the environment."""
    global _flask_app
    if _flask_app is None:
        from portal import create_app

        _flask_app = create_app()
    return _flask_app


def init_celery(app: Flask) -> Celery:
    """Configure Celery from the Flask application's settings (called by ``create_app``)."""
    global _flask_app
    celery.conf.update(app.config["CELERY"])
    if _flask_app is None:
        _flask_app = app
    app.extensions["celery"] = celery
    return celery


def is_eager() -> bool:
    return bool(celery.conf.task_always_eager)
