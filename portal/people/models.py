"""People, the roles they hold in agencies, and invitations to join."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.agencies.models import Agency
from portal.core.codes import Role
from portal.core.crypto import EncryptedText
from portal.core.db import TimestampMixin, UTCDateTime, VersionedMixin, enum_column, utcnow
from portal.extensions import db


class User(TimestampMixin, VersionedMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored in lower case, so uniqueness holds regardless of case.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    job_title: Mapped[str | None] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    #: Argon2id hash; empty until the person accepts their invitation.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Failed sign-ins since the last success; reset by a successful sign-in.
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_signed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Base32 TOTP secret, encrypted at rest; set once the person has confirmed a code from their app.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    #: The last TOTP time-step accepted, so a code cannot be replayed.
    totp_last_step: Mapped[int | None]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", order_by="Membership.id"
    )

    #: The membership chosen for this request (not stored); set by the auth module.
    membership = None

    @validates("email")
    def _normalise_email(self, key, value: str) -> str:
        return normalise_email(value)

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None

    @property
    def active_memberships(self) -> list[Membership]:
        return [m for m in self.memberships if m.active and m.agency.active]

    @property
    def two_factor_required(self) -> bool:
        return any(m.agency.require_two_factor for m in self.active_memberships)

    @property
    def role(self) -> Role | None:
        return self.membership.role if self.membership else None

    @property
    def agency(self) -> Agency | None:
        return self.membership.agency if self.membership else None

    # Flask-Login
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


def normalise_email(value: str) -> str:
    return value.strip().lower()


class Membership(TimestampMixin, db.Model):
    """A role a person holds in one agency."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    active: Mapped[bool] = mapped_column(default=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="memberships")
    agency: Mapped[Agency] = relationship()

    def __repr__(self) -> str:
        return f"<Membership {self.user_id} {self.role.name} in {self.agency_id}>"


class Invitation(TimestampMixin, db.Model):
    """A single-use link that lets an invited person set their password."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    #: Random value carried inside the signed link; a new invitation gets a new one.
    nonce: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set when a newer invitation replaces this one.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    def is_usable(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.accepted_at is None and self.withdrawn_at is None and now < self.expires_at
