"""The safeguarding partnership portal: a Flask application factory."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

from config import Config, load_config
from portal.core.headers import init_headers
from portal.extensions import csrf, db, limiter, login_manager, migrate, talisman


def create_app(config: Config | str | None = None) -> Flask:
    """Build the portal for a settings object, a settings name, or the environment's settings."""
    if not isinstance(config, Config):
        config = load_config(config)
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config)
    if app.config["TRUSTED_PROXY_HOPS"]:
        # Behind a proxy, rate limits and the audit trail need the person's address, not the proxy's.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    app.jinja_loader = ChoiceLoader(
        [
            PackageLoader("portal"),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    _init_extensions(app)
    _register_blueprints(app)
    _register_commands(app)

    from portal.core import errors, templating

    errors.register(app)
    templating.register(app)

    from portal.notifications import scheduler

    scheduler.install(app)
    return app


def _init_extensions(app: Flask) -> None:
    import portal.models  # noqa: F401  (the whole schema, for SQLAlchemy and Alembic)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    init_headers(app, talisman)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to see this page."
    login_manager.session_protection = "strong"
    WTFormsHelpers(app)
    with app.app_context():
        _tune_engine(db.engine)

    from workers.celery_app import init_celery

    init_celery(app)


def _tune_engine(engine: sa.Engine) -> None:
    """SQLite: enforce foreign keys, wait for locks, and let SQLAlchemy own transactions.

    pysqlite's own transaction handling breaks SAVEPOINTs and transactional DDL; the recipe from
    SQLAlchemy's SQLite documentation hands BEGIN to SQLAlchemy instead.
    """
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN")


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _register_blueprints(app: Flask) -> None:
    from portal.agencies.blueprint import bp as agencies_bp
    from portal.agreements.blueprint import bp as agreements_bp
    from portal.audit.blueprint import bp as audit_bp
    from portal.auth.blueprint import bp as auth_bp
    from portal.concerns.blueprint import bp as concerns_bp
    from portal.concerns.raising_blueprint import bp as raising_bp
    from portal.escalations.blueprint import bp as escalations_bp
    from portal.glossary.blueprint import bp as glossary_bp
    from portal.intelligence.blueprint import bp as intelligence_bp
    from portal.intelligence.imports.blueprint import bp as imports_bp
    from portal.intelligence.register.blueprint import bp as register_bp
    from portal.meetings.blueprint import bp as meetings_bp
    from portal.notifications.blueprint import bp as notifications_bp
    from portal.pages.blueprint import bp as pages_bp
    from portal.people.blueprint import bp as people_bp
    from portal.privacy.blueprint import bp as privacy_bp
    from portal.reports.blueprint import bp as reports_bp

    for blueprint in (
        pages_bp,
        glossary_bp,
        auth_bp,
        agencies_bp,
        people_bp,
        agreements_bp,
        concerns_bp,
        raising_bp,
        notifications_bp,
        intelligence_bp,
        register_bp,
        meetings_bp,
        escalations_bp,
        reports_bp,
        privacy_bp,
        imports_bp,
        audit_bp,
    ):
        app.register_blueprint(blueprint)


def _register_commands(app: Flask) -> None:
    from portal.audit.cli import audit_cli
    from portal.demo.cli import seed_demo_command
    from portal.people.cli import create_admin_command

    app.cli.add_command(audit_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_admin_command)
