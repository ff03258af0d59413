"""The schema comes only from migrations: one head, and an upgraded database matches the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import Migrate

from portal.extensions import db


def _script(app) -> ScriptDirectory:
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        return ScriptDirectory.from_config(config)


def test_migrations_have_one_head(app):
    assert len(_script(app).get_heads()) == 1


def test_upgraded_database_matches_the_models(app, db_session):
    """The session's database was built by ``flask db upgrade`` (see conftest): compare it."""
    context = MigrationContext.configure(db_session.connection(), opts={"compare_type": True})
    differences = compare_metadata(context, db.metadata)
    assert differences == [], f"Models and migrations differ; run flask db migrate: {differences}"


def test_database_is_at_the_head_revision(app, db_session):
    context = MigrationContext.configure(db_session.connection())
    assert context.get_current_revision() == _script(app).get_current_head()


def test_migrate_extension_is_configured(app):
    assert isinstance(app.extensions["migrate"].migrate, Migrate)


def test_upgrading_encrypts_totp_secrets_kept_in_plain_and_downgrading_restores_them(tmp_path_factory):
    """Migration 0008sec: people who turned on two-factor sign-in before it keep working."""
    import flask_migrate
    import sqlalchemy as sa

    from portal import create_app
    from portal.core import crypto
    from tests.conftest import fresh_database, make_test_config

    with fresh_database(tmp_path_factory, "totp") as url:
        app = create_app(make_test_config(url))
        with app.app_context():
            flask_migrate.upgrade(revision="0007esc")
            with db.engine.begin() as connection:
                connection.execute(sa.text(
                    "INSERT INTO user_account (email, name, active, failed_sign_ins, totp_secret, created_at, updated_at, version)"
                    " VALUES ('old@example.org', 'Old', :yes, 0, 'JBSWY3DPEHPK3PXP', :now, :now, 1)"
                ), {"yes": True, "now": "2026-01-01 00:00:00"})
            flask_migrate.upgrade()
            stored = db.session.execute(sa.text("SELECT totp_secret FROM user_account")).scalar_one()
            assert stored.startswith(crypto.PREFIX) and crypto.decrypt(stored) == "JBSWY3DPEHPK3PXP"
            db.session.rollback()
            flask_migrate.downgrade(revision="0007esc")
            assert db.session.execute(sa.text("SELECT totp_secret FROM user_account")).scalar_one() == "JBSWY3DPEHPK3PXP"
            db.session.remove()
            db.engine.dispose()
