"""Signed-in sessions held by the portal, and agencies' own identity providers (OpenID Connect)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency
from portal.core.codes import Role
from portal.core.crypto import EncryptedText
from portal.core.db import TimestampMixin, UTCDateTime, VersionedMixin, enum_column, utcnow
from portal.extensions import db


class UserSession(db.Model):
    """One signed-in session. The cookie carries a random id; the portal keeps only its hash.

    A new row (a new id) is made at sign-in and on switching agency, and the old one ended, so an
    id copied before either no longer works; signing out or an expired session ends the row.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    #: SHA-256 of the random session id in the person's cookie.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: "password", "password+totp" or "oidc".
    method: Mapped[str] = mapped_column(sa.String(20))
    identity_provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("identity_provider.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why it ended: signed out, idle, too long, rotated on agency switch, deactivated.
    end_reason: Mapped[str | None] = mapped_column(sa.String(100))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))


class IdentityProvider(TimestampMixin, VersionedMixin, db.Model):
    """An agency's own OpenID Connect provider, through which its people sign in."""

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), unique=True)
    #: The provider's discovery document (``…/.well-known/openid-configuration``).
    discovery_url: Mapped[str] = mapped_column(sa.String(500))
    #: The issuer the discovery document names; ID tokens must carry exactly this ``iss``.
    issuer: Mapped[str | None] = mapped_column(sa.String(500))
    client_id: Mapped[str] = mapped_column(sa.String(200))
    #: Encrypted at rest with ENCRYPTION_KEYS; never shown again once saved.
    client_secret: Mapped[str | None] = mapped_column(EncryptedText)
    scopes: Mapped[str] = mapped_column(sa.String(300), default="openid email profile")
    #: The claim that carries the person's email address.
    email_claim: Mapped[str] = mapped_column(sa.String(100), default="email")
    #: Lower-case email domains that belong to this agency (home-realm discovery).
    allowed_domains: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: Whether the agency's people may still sign in with a portal password.
    local_passwords_allowed: Mapped[bool] = mapped_column(default=True)
    #: Create a person on first sign-in (with ``jit_role``) when no account exists yet.
    jit_enabled: Mapped[bool] = mapped_column(default=False)
    jit_role: Mapped[Role | None] = mapped_column(enum_column(Role))
    enabled: Mapped[bool] = mapped_column(default=False)
    last_tested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_test_ok: Mapped[bool | None]
    last_test_message: Mapped[str | None] = mapped_column(sa.Text)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    agency: Mapped[Agency] = relationship()


class ExternalIdentity(TimestampMixin, db.Model):
    """The provider's subject (``sub``) a person signed in with, so a reassigned email cannot take over."""

    __table_args__ = (sa.UniqueConstraint("identity_provider_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_provider_id: Mapped[int] = mapped_column(sa.ForeignKey("identity_provider.id"), index=True)
    subject: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    last_signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
