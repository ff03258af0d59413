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
