"""Settings come from the environment; production refuses to start with a weak secret key."""

import pytest

from config import TEST_SECRET_KEY, ConfigurationError, load_config, normalise_database_url
from portal import create_app


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("ENCRYPTION_KEYS", "PORTAL_ENCRYPTION_KEYS", "SECRET_KEY", "PORTAL_SECRET_KEY", "DATABASE_URL", "PORTAL_DATABASE_URL", "REDIS_URL", "PORTAL_REDIS_URL", "PORTAL_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_INSTANCE_DIR", "/nonexistent-should-not-be-used")
    return monkeypatch


@pytest.mark.parametrize("secret", [None, "", "changeme", "short-but-random-7f3a", TEST_SECRET_KEY])
def test_production_refuses_a_missing_short_or_default_secret(clean_env, secret):
    if secret is not None:
        clean_env.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_config("production")


def test_production_starts_with_a_strong_secret(clean_env):
    clean_env.setenv("SECRET_KEY", "x" * 16 + "a-long-random-value-from-a-vault")
    clean_env.setenv("DATABASE_URL", "postgresql://portal@db.internal/portal")
    clean_env.setenv("ENCRYPTION_KEYS", "8Jx0s1bO3oH1o8cX9hB1r0Y5yR7d6kq2pQ3wXk7cUeA=")
    config = load_config("production")
    assert config.SESSION_COOKIE_SECURE is True
    assert config.SESSION_COOKIE_HTTPONLY is True
    assert config.SESSION_COOKIE_SAMESITE == "Lax"
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://portal@db.internal/portal"


def test_embedded_default_is_sqlite_with_eager_tasks(clean_env, tmp_path):
    clean_env.setenv("PORTAL_INSTANCE_DIR", str(tmp_path))
    settings = load_config("development")
    assert settings.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert settings.CELERY["task_always_eager"] is True
    assert settings.RATELIMIT_STORAGE_URI == "memory://"
    assert settings.SECRET_KEY == (tmp_path / "secret-key").read_text().strip()
    assert load_config("development").SECRET_KEY == settings.SECRET_KEY  # kept between runs


def test_redis_url_switches_on_the_broker_and_limiter_storage(clean_env):
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    settings = load_config("test")
    assert settings.CELERY["task_always_eager"] is False
    assert settings.CELERY["broker_url"] == "redis://127.0.0.1:6379/3"
    assert settings.RATELIMIT_STORAGE_URI == "redis://127.0.0.1:6379/3"


def test_settings_are_typed(clean_env):
    clean_env.setenv("PORTAL_SESSION_IDLE_MINUTES", "45")
    assert load_config("test").SESSION_IDLE_MINUTES == 45
    clean_env.setenv("PORTAL_SESSION_IDLE_MINUTES", "soon")
    with pytest.raises(ConfigurationError, match="whole number"):
        load_config("test")


def test_unknown_environment_name_is_refused(clean_env):
    with pytest.raises(ConfigurationError, match="PORTAL_ENV"):
        load_config("staging-ish")


def test_postgres_urls_use_psycopg_three():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_production_app_cannot_be_built_without_a_secret(clean_env):
    with pytest.raises(ConfigurationError):
        create_app("production")


def test_production_refuses_to_start_without_an_encryption_key(clean_env):
    clean_env.setenv("SECRET_KEY", "x" * 16 + "a-long-random-value-from-a-vault")
    with pytest.raises(ConfigurationError, match="ENCRYPTION_KEYS"):
        load_config("production")


def test_limits_reset_links_and_https_settings_come_from_the_environment(clean_env):
    settings = load_config("development")
    assert settings.SIGN_IN_ACCOUNT_RATE_LIMIT == "10 per 10 minutes"
    assert settings.PASSWORD_RESET_VALID_MINUTES == 60
    assert settings.FORCE_HTTPS is False
    clean_env.setenv("PORTAL_SIGN_IN_ACCOUNT_RATE_LIMIT", "3 per hour")
    clean_env.setenv("PASSWORD_RESET_VALID_MINUTES", "30")
    clean_env.setenv("FORCE_HTTPS", "yes")
    settings = load_config("development")
    assert (settings.SIGN_IN_ACCOUNT_RATE_LIMIT, settings.PASSWORD_RESET_VALID_MINUTES, settings.FORCE_HTTPS) == ("3 per hour", 30, True)


def test_the_test_settings_keep_every_rate_limit_out_of_ordinary_tests_way(clean_env):
    settings = load_config("test")
    limits = {name: value for name, value in vars(settings).items() if name.endswith("_RATE_LIMIT")}
    assert len(limits) == 10
    assert set(limits.values()) == {"10000 per minute"}
