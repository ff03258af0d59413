"""Settings for the portal, read from environment variables prefixed ``PORTAL_`` or named plainly.

The embedded default (no environment at all) is SQLite in ``instance/portal.sqlite3`` with Celery
running tasks eagerly, so that the portal runs on a fresh machine with nothing else installed.
``DATABASE_URL`` and ``REDIS_URL`` switch on the production shape.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Secret keys that are known to the world and must never run a production portal.
KNOWN_WEAK_SECRETS = {"", "dev", "changeme", "change-me", "secret", "development", "test"}
MIN_SECRET_KEY_LENGTH = 32
TEST_SECRET_KEY = "test-secret-key-that-is-only-used-by-the-test-suite"


class ConfigurationError(RuntimeError):
    """Raised when the settings would make an unsafe or broken portal."""


def env_str(name: str, default: str | None = None) -> str | None:
    """Return ``PORTAL_<name>`` or ``<name>`` from the environment, else the default."""
    for key in (f"PORTAL_{name}", name):
        value = os.environ.get(key)
        if value is not None and value != "":
            return value
    return default


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, not {value!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {value!r}")


def normalise_database_url(url: str) -> str:
    """Point plain ``postgres://`` and ``postgresql://`` URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _development_secret_key(instance_dir: Path) -> str:
    """A random key kept in the instance folder, so a development portal keeps its sessions."""
    path = instance_dir / "secret-key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def celery_settings(
    redis_url: str | None,
    *,
    visibility_timeout: int = 1800,
    sweep_seconds: int = 60,
    digest_hour: int = 7,
    risk_refresh_hour: int = 2,
    redaction_hour: int = 3,
) -> dict:
    """Celery's settings: Redis when configured, otherwise tasks run eagerly in the caller."""
    from celery.schedules import crontab

    return {
        "broker_url": redis_url or "memory://",
        "result_backend": None,
        "task_always_eager": redis_url is None,
        "task_eager_propagates": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        # A task is acknowledged only when it has finished, so one lost with its worker runs again;
        # the deliveries' own claims and idempotency keys make running again harmless.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "timezone": "Europe/London",
        "enable_utc": True,
        "task_default_queue": "portal",
        "broker_connection_retry_on_startup": True,
        # Publishing after a commit must not hang a page when Redis is down: the sweep catches up.
        "broker_connection_timeout": 2,
        "task_publish_retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5},
        "broker_transport_options": {"visibility_timeout": visibility_timeout, "socket_connect_timeout": 2, "socket_timeout": 5},
        "beat_schedule": {
            "notifications-sweep": {"task": "workers.tasks.notifications.sweep", "schedule": float(sweep_seconds)},
            "notifications-digest": {
                "task": "workers.tasks.notifications.send_digests",
                "schedule": crontab(hour=digest_hour, minute=0),
            },
            # Escalations left unanswered past their grace period move up, as often as the sweep runs.
            "escalations-overdue": {"task": "workers.tasks.escalations.escalate_overdue", "schedule": float(sweep_seconds)},
            "intelligence-risk-refresh": {
                "task": "workers.tasks.intelligence.refresh_risk_signals",
                "schedule": crontab(hour=risk_refresh_hour, minute=15),
            },
            # Personal details of closed concerns past their area's retention, at a quiet hour.
            "privacy-redact-expired": {
                "task": "workers.tasks.privacy.redact_expired",
                "schedule": crontab(hour=redaction_hour, minute=30),
            },
        },
    }


class Config:
    """Settings shared by every environment, read from the environment when built.

    Each setting is documented in README.md. A subclass fixes values in ``FIXED`` that the
    environment cannot change (production always has secure cookies, say).
    """

    ENV_NAME = "development"
    FIXED: dict = {}
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SESSION_COOKIE_NAME = "portal_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 0
    RATELIMIT_HEADERS_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the session's own lifetime bounds the token

    def __init__(self) -> None:
        instance_dir = Path(os.environ.get("PORTAL_INSTANCE_DIR", PROJECT_ROOT / "instance"))
        self.SERVICE_NAME = env_str("SERVICE_NAME", "Safeguarding partnership portal")
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            env_str("DATABASE_URL", f"sqlite:///{instance_dir / 'portal.sqlite3'}")
        )
        #: Redis for the Celery broker and rate-limit counters; unset means tasks run eagerly.
        self.REDIS_URL = env_str("REDIS_URL")
        #: Minutes without activity before a signed-in session ends.
        self.SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
        #: Hours after sign-in when a session ends whatever the activity.
        self.SESSION_MAX_HOURS = env_int("SESSION_MAX_HOURS", 10)
        self.SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
        #: Failed sign-ins in a row before an account is paused.
        self.SIGN_IN_MAX_FAILURES = env_int("SIGN_IN_MAX_FAILURES", 5)
        #: Minutes an account stays paused after too many failures.
        self.SIGN_IN_LOCK_MINUTES = env_int("SIGN_IN_LOCK_MINUTES", 15)
        #: Sign-in attempts allowed from one address (Flask-Limiter syntax).
        self.SIGN_IN_RATE_LIMIT = env_str("SIGN_IN_RATE_LIMIT", "20 per 10 minutes")
        self.RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
        #: Reports through the public form allowed from one address.
        self.PUBLIC_REPORT_RATE_LIMIT = env_str("PUBLIC_REPORT_RATE_LIMIT", "5 per hour")
        #: Reverse proxies in front of the portal whose X-Forwarded-For to trust (0: none).
        self.TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0)
        #: Hours an invitation link stays valid.
        self.INVITATION_VALID_HOURS = env_int("INVITATION_VALID_HOURS", 72)
        self.PASSWORD_MIN_LENGTH = env_int("PASSWORD_MIN_LENGTH", 12)
        #: Key for the audit trail's hash chain; defaults to the secret key.
        self.AUDIT_KEY = env_str("AUDIT_KEY")
        self.MAIL_SERVER = env_str("MAIL_SERVER")
        self.MAIL_PORT = env_int("MAIL_PORT", 25)
        self.MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
        self.MAIL_USE_SSL = env_bool("MAIL_USE_SSL", False)
        self.MAIL_USERNAME = env_str("MAIL_USERNAME")
        self.MAIL_PASSWORD = env_str("MAIL_PASSWORD")
        self.MAIL_DEFAULT_SENDER = env_str("MAIL_DEFAULT_SENDER", "portal@safeguarding.invalid")
        self.MAIL_TIMEOUT_SECONDS = env_int("MAIL_TIMEOUT_SECONDS", 30)
        #: GOV.UK Notify: with an API key, emails go through Notify instead of SMTP.
        self.NOTIFY_API_KEY = env_str("NOTIFY_API_KEY")
        #: A Notify email template whose subject is ((subject)) and body ((body)).
        self.NOTIFY_TEMPLATE_ID = env_str("NOTIFY_TEMPLATE_ID")
        self.NOTIFY_BASE_URL = env_str("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")
        #: Attempts at one email before it is marked failed (transient errors only).
        self.DELIVERY_MAX_ATTEMPTS = env_int("DELIVERY_MAX_ATTEMPTS", 8)
        #: First retry after this many seconds, doubling each time up to an hour.
        self.DELIVERY_RETRY_SECONDS = env_int("DELIVERY_RETRY_SECONDS", 30)
        #: Seconds a worker holds an email it is sending before another may take it over.
        self.DELIVERY_LEASE_SECONDS = env_int("DELIVERY_LEASE_SECONDS", 300)
        #: The sweep's period, and how long an intent or email waits before the sweep takes it.
        self.SWEEP_SECONDS = env_int("SWEEP_SECONDS", 60)
        self.SWEEP_GRACE_SECONDS = env_int("SWEEP_GRACE_SECONDS", 30)
        #: Hour (Europe/London) the daily summary emails go out.
        self.DIGEST_HOUR = env_int("DIGEST_HOUR", 7)
        #: Seconds Redis waits for a task's acknowledgement before giving it to another worker.
        self.BROKER_VISIBILITY_TIMEOUT = env_int("BROKER_VISIBILITY_TIMEOUT", 1800)
        #: The rules of the provider risk signal (weights, decay, bands): a TOML file, documented inside.
        self.RISK_RULES_FILE = env_str("RISK_RULES_FILE", str(Path(__file__).with_name("risk_rules.toml")))
        #: Hour (Europe/London) the nightly task refreshes every risk signal's time decay.
        self.RISK_REFRESH_HOUR = env_int("RISK_REFRESH_HOUR", 2)
        #: Files with more data rows than this are checked and imported by a Celery task, with progress.
        self.IMPORT_BACKGROUND_ROWS = env_int("IMPORT_BACKGROUND_ROWS", 2000)
        #: The largest file an import accepts, in megabytes.
        self.IMPORT_MAX_MEGABYTES = env_int("IMPORT_MAX_MEGABYTES", 40)
        #: Pages (the risk register, provider profiles) kept per process for people who open them again;
        #: 0 turns the page store off. See portal/core/pagecache.py.
        self.PAGE_CACHE_ENTRIES = env_int("PAGE_CACHE_ENTRIES", 200)
        #: The address people reach the portal at, for links in emails.
        self.PUBLIC_URL = env_str("PUBLIC_URL", "http://127.0.0.1:5000")
        # CONFIG-PART-A (sign-on settings; keep this line)
        #: Seconds the portal waits for an agency's identity provider before saying it is not answering.
        self.OIDC_HTTP_TIMEOUT_SECONDS = env_int("OIDC_HTTP_TIMEOUT_SECONDS", 10)
        #: Seconds of clock difference allowed between the portal and a provider on ID tokens' exp and iat.
        self.OIDC_CLOCK_LEEWAY_SECONDS = env_int("OIDC_CLOCK_LEEWAY_SECONDS", 60)
        #: Seconds a provider's discovery document and signing keys are kept before being read again.
        self.OIDC_METADATA_CACHE_SECONDS = env_int("OIDC_METADATA_CACHE_SECONDS", 3600)
        # CONFIG-PART-B (sessions, headers, password reset, rate limits; keep this line)
        #: Sign-in attempts allowed for one email address, from any address (Flask-Limiter syntax).
        self.SIGN_IN_ACCOUNT_RATE_LIMIT = env_str("SIGN_IN_ACCOUNT_RATE_LIMIT", "10 per 10 minutes")
        #: Security codes (two-factor sign-in) allowed from one address, and for one person.
        self.SECURITY_CODE_RATE_LIMIT = env_str("SECURITY_CODE_RATE_LIMIT", "20 per 10 minutes")
        self.SECURITY_CODE_ACCOUNT_RATE_LIMIT = env_str("SECURITY_CODE_ACCOUNT_RATE_LIMIT", "10 per 10 minutes")
        #: Password reset requests and new passwords sent from one address, and for one person.
        self.PASSWORD_RESET_RATE_LIMIT = env_str("PASSWORD_RESET_RATE_LIMIT", "10 per hour")
        self.PASSWORD_RESET_ACCOUNT_RATE_LIMIT = env_str("PASSWORD_RESET_ACCOUNT_RATE_LIMIT", "5 per hour")
        #: Passwords sent through invitation links from one address, and for one invited person.
        self.INVITATION_RATE_LIMIT = env_str("INVITATION_RATE_LIMIT", "20 per 10 minutes")
        self.INVITATION_ACCOUNT_RATE_LIMIT = env_str("INVITATION_ACCOUNT_RATE_LIMIT", "10 per 10 minutes")
        #: Reports through the public form allowed with one reporter email address, from any address.
        self.PUBLIC_REPORT_EMAIL_RATE_LIMIT = env_str("PUBLIC_REPORT_EMAIL_RATE_LIMIT", "5 per hour")
        #: Minutes a password reset link stays valid (it also dies once used or once the password changes).
        self.PASSWORD_RESET_VALID_MINUTES = env_int("PASSWORD_RESET_VALID_MINUTES", 60)
        #: Redirect plain-HTTP requests to HTTPS in the portal itself (off: TLS usually ends at the proxy).
        self.FORCE_HTTPS = env_bool("FORCE_HTTPS", False)
        #: Strict-Transport-Security max-age in seconds on HTTPS responses (production only; 0 sends none).
        self.HSTS_SECONDS = env_int("HSTS_SECONDS", 31536000)
        # CONFIG-PART-E (break glass, retention; keep this line)
        #: Minutes a safeguarding lead sees an adult's withheld details after breaking glass.
        self.BREAK_GLASS_MINUTES = env_int("BREAK_GLASS_MINUTES", 60)
        #: Hour (Europe/London) the daily task redacts closed concerns past their area's retention.
        self.REDACTION_HOUR = env_int("REDACTION_HOUR", 3)

        for name, value in self.FIXED.items():
            setattr(self, name, value)
        self.SECRET_KEY = env_str("SECRET_KEY") or self.default_secret_key(instance_dir)
        #: Fernet keys for secrets stored at rest (comma-separated; the first encrypts, all decrypt).
        self.ENCRYPTION_KEYS = self.encryption_keys(env_str("ENCRYPTION_KEYS"))
        self.CELERY = celery_settings(
            self.REDIS_URL, visibility_timeout=self.BROKER_VISIBILITY_TIMEOUT, sweep_seconds=self.SWEEP_SECONDS,
            digest_hour=self.DIGEST_HOUR, risk_refresh_hour=self.RISK_REFRESH_HOUR,
            redaction_hour=self.REDACTION_HOUR,
        )
        self.MAX_CONTENT_LENGTH = self.IMPORT_MAX_MEGABYTES * 1024 * 1024
        #: With no Redis, a thread in the web process runs the sweep, reminders and digests.
        self.EMBEDDED_SCHEDULER = env_bool("EMBEDDED_SCHEDULER", self.REDIS_URL is None and self.ENV_NAME == "development")
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.validate()

    def default_secret_key(self, instance_dir: Path) -> str:
        return _development_secret_key(instance_dir)

    def encryption_keys(self, configured: str | None) -> list[str]:
        """The configured keys, or one derived from the secret key outside production."""
        if configured:
            return [key.strip() for key in configured.split(",") if key.strip()]
        from portal.core.crypto import derive_key

        return [derive_key(self.SECRET_KEY)]

    def validate(self) -> None:
        """Refuse settings that would be unsafe; the base class accepts anything."""


class DevelopmentConfig(Config):
    """The embedded default: SQLite, eager tasks, a generated secret key kept in ``instance/``."""


class TestConfig(Config):
    """The test suite's settings; the suite sets DATABASE_URL itself."""

    ENV_NAME = "test"
    TESTING = True
    WTF_CSRF_ENABLED = False
    #: High enough that ordinary tests never meet it; the throttling test lowers it.
    FIXED = {"SIGN_IN_RATE_LIMIT": "10000 per minute", "PUBLIC_REPORT_RATE_LIMIT": "10000 per minute", "MAIL_SERVER": None,
             "NOTIFY_API_KEY": None,
             **{f"{name}_RATE_LIMIT": "10000 per minute" for name in (
                 "SIGN_IN_ACCOUNT", "SECURITY_CODE", "SECURITY_CODE_ACCOUNT", "PASSWORD_RESET", "PASSWORD_RESET_ACCOUNT",
                 "INVITATION", "INVITATION_ACCOUNT", "PUBLIC_REPORT_EMAIL")}}

    def default_secret_key(self, instance_dir: Path) -> str:
        return TEST_SECRET_KEY


class ProductionConfig(Config):
    """PostgreSQL, Redis and a strong secret key, or the portal will not start."""

    ENV_NAME = "production"
    PREFERRED_URL_SCHEME = "https"
    FIXED = {"SESSION_COOKIE_SECURE": True}

    def default_secret_key(self, instance_dir: Path) -> str:
        raise ConfigurationError(
            "SECRET_KEY is not set. Set it to a long random value, for example the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'."
        )

    def encryption_keys(self, configured: str | None) -> list[str]:
        """Never derived in production: rotating the secret key must not lose the stored secrets."""
        return super().encryption_keys(configured) if configured else []

    def validate(self) -> None:
        key = self.SECRET_KEY
        if key.lower() in KNOWN_WEAK_SECRETS or len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigurationError(
                f"SECRET_KEY is too weak: use at least {MIN_SECRET_KEY_LENGTH} random characters."
            )
        if key == TEST_SECRET_KEY:
            raise ConfigurationError("SECRET_KEY is the test suite's key: set your own.")
        if not self.ENCRYPTION_KEYS:
            raise ConfigurationError(
                "ENCRYPTION_KEYS is not set. Set it to a Fernet key, for example the output of "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'."
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None) -> Config:
    """Build the settings object for ``name`` or for ``PORTAL_ENV`` (development by default)."""
    name = name or env_str("ENV", "development")
    try:
        return CONFIGS[name]()
    except KeyError as exc:
        raise ConfigurationError(
            f"PORTAL_ENV must be one of {', '.join(CONFIGS)}, not {name!r}"
        ) from exc
