"""Signing in and out, second factors, and choosing the agency to act for."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa
from flask import current_app, has_request_context, request, session
from flask_login import current_user, login_user, logout_user

from portal.audit.operations import record
from portal.auth.models import UserSession
from portal.auth.passwords import hash_password, needs_rehash, verify_password
from portal.core.db import utcnow
from portal.extensions import db
from portal.people.models import Membership, User, normalise_email

SESSION_SIGNED_IN_AT = "signed_in_at"
SESSION_LAST_SEEN = "last_seen"
SESSION_MEMBERSHIP = "membership_id"
SESSION_PENDING_USER = "pending_user_id"
SESSION_PENDING_SINCE = "pending_since"
#: The random id of the person's session, whose SHA-256 names its live ``UserSession`` row.
SESSION_ID = "session_id"
#: Minutes a person has to enter their code after their password.
PENDING_MINUTES = 5
TOTP_ISSUER = "Safeguarding partnership portal"


class SignInRefused(Exception):
    """The email, password or code was not accepted; the reason is not told to the person."""


def _lock_if_needed(user: User, now: datetime) -> None:
    user.failed_sign_ins += 1
    if user.failed_sign_ins >= current_app.config["SIGN_IN_MAX_FAILURES"]:
        user.locked_until = now + timedelta(minutes=current_app.config["SIGN_IN_LOCK_MINUTES"])
        user.failed_sign_ins = 0
        record("auth.locked", f"Sign-in paused for {user.email} after repeated failures", target=user, actor=user)


def check_password(email: str, password: str) -> User:
    """The person whose email and password these are, or :class:`SignInRefused`.

    Unknown email, wrong password, paused account, deactivated person and no password yet all give
    the same refusal, after the same work, so the response tells an attacker nothing.
    """
    now = utcnow()
    email = normalise_email(email)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    password_ok = verify_password(user.password_hash if user else None, password)

    if user is None:
        record("auth.sign_in_failed", "Failed sign-in for an unknown email", details={"email": email})
        db.session.commit()
        raise SignInRefused
    if user.locked_until is not None and user.locked_until > now:
        record("auth.sign_in_failed", f"Sign-in refused for {email}: paused", target=user, actor=user, details={"reason": "locked"})
        db.session.commit()
        raise SignInRefused
    if not password_ok or not user.active:
        reason = "inactive" if password_ok else "wrong password"
        _lock_if_needed(user, now)
        record("auth.sign_in_failed", f"Failed sign-in for {email}", target=user, actor=user, details={"reason": reason})
        db.session.commit()
        raise SignInRefused
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def begin_second_factor(user: User) -> None:
    """Remember who has passed the password step while they enter their code."""
    session.clear()
    session[SESSION_PENDING_USER] = user.id
    session[SESSION_PENDING_SINCE] = utcnow().timestamp()
    db.session.commit()


def pending_user() -> User | None:
    user_id = session.get(SESSION_PENDING_USER)
    since = session.get(SESSION_PENDING_SINCE, 0)
    if user_id is None or utcnow().timestamp() - since > PENDING_MINUTES * 60:
        return None
    return db.session.get(User, user_id)


def totp_for(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


def matching_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time-step a code belongs to (allowing one step of clock drift), unless already used."""
    code = "".join(code.split())
    if not code.isdigit() or len(code) != 6:
        return None
    totp = totp_for(secret)
    now = utcnow()
    for drift in (0, -1, 1):
        moment = now + timedelta(seconds=drift * totp.interval)
        step = totp.timecode(moment)
        if totp.at(moment) == code and (last_step is None or step > last_step):
            return step
    return None


def check_second_factor(user: User, code: str) -> None:
    step = matching_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        _lock_if_needed(user, utcnow())
        record("auth.two_factor_failed", f"Wrong or reused security code for {user.email}", target=user, actor=user)
        db.session.commit()
        raise SignInRefused
    user.totp_last_step = step


def session_id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session_row(user: User, *, method: str = "password", identity_provider_id: int | None = None) -> str:
    """A new live session for the person (the caller commits); returns the id for their cookie."""
    session_id = secrets.token_urlsafe(32)
    address = agent = None
    if has_request_context():
        address = (request.remote_addr or "")[:45] or None
        agent = request.user_agent.string[:300] or None
    db.session.add(UserSession(
        user_id=user.id, token_hash=session_id_hash(session_id), method=method,
        identity_provider_id=identity_provider_id, ip_address=address, user_agent=agent,
    ))
    return session_id


def current_session_id() -> str | None:
    """The id of this request's session, if it has one."""
    return session.get(SESSION_ID) if has_request_context() else None


def _current_row() -> UserSession | None:
    session_id = current_session_id()
    if not session_id:
        return None
    return db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == session_id_hash(session_id)))


def _end_row(row: UserSession | None, reason: str) -> None:
    if row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = utcnow(), reason[:100]


def start_session(user: User, *, method: str = "password", identity_provider=None) -> None:
    """Sign the person in: a fresh session, their agency chosen when they have only one.

    ``method`` is "password", "password+totp" or "oidc" (with the agency's ``identity_provider``).
    Whatever the browser held before is cleared and any session it carried ended, and the new
    session gets a new id, so an id planted or seen before sign-in is worth nothing after it.
    """
    now = utcnow()
    _end_row(_current_row(), "replaced by a new sign-in")
    session.clear()
    login_user(user)
    session[SESSION_ID] = open_session_row(
        user, method=method, identity_provider_id=identity_provider.id if identity_provider is not None else None
    )
    session[SESSION_SIGNED_IN_AT] = now.timestamp()
    session[SESSION_LAST_SEEN] = now.timestamp()
    memberships = user.active_memberships
    if len(memberships) == 1:
        session[SESSION_MEMBERSHIP] = memberships[0].id
        user.membership = memberships[0]
    user.failed_sign_ins = 0
    user.locked_until = None
    user.last_signed_in_at = now
    record("auth.sign_in", f"{user.email} signed in", target=user, actor=user, details={"method": method})
    db.session.commit()


def end_session(user: User | None, reason: str = "signed out") -> None:
    """Sign out: the session's row ends (a copy of the cookie stops working) and the cookie is emptied."""
    _end_row(_current_row(), reason)
    if user is not None and user.is_authenticated:
        record("auth.sign_out", f"{user.email} {reason}", target=user, actor=user, details={"reason": reason})
    db.session.commit()
    logout_user()
    session.clear()


def rotate_session(user: User, reason: str = "rotated") -> None:
    """Give the signed-in person's session a new id and end the old one (the caller commits)."""
    old = _current_row()
    _end_row(old, reason)
    session[SESSION_ID] = open_session_row(
        user, method=old.method if old is not None else "password",
        identity_provider_id=old.identity_provider_id if old is not None else None,
    )


def end_sessions_of(user: User, reason: str, keep: str | None = None) -> int:
    """End every live session of the person but ``keep`` (a session id); returns how many ended.

    The caller commits; each of those browsers is signed out at its next request.
    """
    live = [UserSession.user_id == user.id, UserSession.ended_at.is_(None)]
    if keep:
        live.append(UserSession.token_hash != session_id_hash(keep))
    ended = db.session.execute(
        sa.update(UserSession).where(*live).values(ended_at=utcnow(), end_reason=reason[:100])
        .execution_options(synchronize_session=False)
    ).rowcount
    if ended:
        record(
            "auth.sessions_ended", f"{ended} session(s) of {user.email} ended: {reason}", target=user,
            details={"reason": reason, "sessions": ended},
        )
    return ended


def resolve_membership(user: User) -> Membership | None:
    """The membership the person acts in for this request, from the session."""
    wanted = session.get(SESSION_MEMBERSHIP)
    for membership in user.active_memberships:
        if membership.id == wanted:
            return membership
    return None


def switch_agency(user: User, membership_id: int) -> Membership:
    membership = next((m for m in user.active_memberships if m.id == membership_id), None)
    if membership is None:
        raise ValueError("not one of this person's active memberships")
    session[SESSION_MEMBERSHIP] = membership.id
    user.membership = membership
    # A new session id for the new role: a copy of the cookie taken before the switch stops working.
    rotate_session(user)
    record(
        "auth.switch_agency",
        f"{user.email} now acting as {membership.role.label} for {membership.agency.name}",
        target=membership,
        agency_id=membership.agency_id,
    )
    db.session.commit()
    return membership


def session_expired(now: datetime) -> str | None:
    """Why the signed-in session has ended, or None while it is still valid."""
    config = current_app.config
    signed_in = session.get(SESSION_SIGNED_IN_AT)
    last_seen = session.get(SESSION_LAST_SEEN)
    if signed_in is None or last_seen is None:
        return "session incomplete"
    if now.timestamp() - signed_in > config["SESSION_MAX_HOURS"] * 3600:
        return f"signed out after {config['SESSION_MAX_HOURS']} hours"
    if now.timestamp() - last_seen > config["SESSION_IDLE_MINUTES"] * 60:
        return f"signed out after {config['SESSION_IDLE_MINUTES']} minutes without activity"
    return None


#: Seconds between updates of a session's last activity. Rewriting the signed cookie on every
#: request costs more than a page kept in the page store; the idle limit may end a session up to
#: this much early, never late.
TOUCH_EVERY_SECONDS = 30


def touch_session(now: datetime) -> None:
    last_seen = session.get(SESSION_LAST_SEEN)
    if last_seen is None or now.timestamp() - last_seen >= TOUCH_EVERY_SECONDS:
        session[SESSION_LAST_SEEN] = now.timestamp()


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return totp_for(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def enable_two_factor(user: User, secret: str, code: str) -> bool:
    step = matching_step(secret, code, None)
    if step is None:
        return False
    user.totp_secret = secret
    user.totp_last_step = step
    record("auth.two_factor_enabled", f"{user.email} turned on two-factor sign-in", target=user)
    db.session.commit()
    return True


def disable_two_factor(user: User, actor: User | None = None) -> None:
    user.totp_secret = None
    user.totp_last_step = None
    by_admin = actor is not None and actor.id != user.id
    record(
        "auth.two_factor_reset" if by_admin else "auth.two_factor_disabled",
        f"Two-factor sign-in turned off for {user.email}" + (" by an administrator" if by_admin else ""),
        target=user,
    )
    db.session.commit()


def _set_password(user: User, new_password: str) -> None:
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.failed_sign_ins = 0
    user.locked_until = None


def change_password(user: User, new_password: str, reason: str = "changed") -> None:
    _set_password(user, new_password)
    record("auth.password_" + reason, f"Password {reason} for {user.email}", target=user, actor=user)
    # Every other browser is signed out, and this one gets a new session id.
    end_sessions_of(user, f"password {reason}", keep=current_session_id())
    if has_request_context() and current_user.is_authenticated and current_user.id == user.id:
        rotate_session(user)
    db.session.commit()


def request_password_reset(email: str) -> None:
    """Email the person with this address a reset link (or why they cannot have one).

    An unknown address is audited and sent nothing; the page says the same in both cases, and
    the email itself is written and sent by a worker after the commit.
    """
    from portal.core.session import send_after_commit
    from portal.notifications.models import DeliveryKind, DeliveryState, EmailDelivery

    email = normalise_email(email)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        record("auth.password_reset_requested", "Password reset asked for an unknown email", details={"email": email})
    else:
        record("auth.password_reset_requested", f"Password reset asked for {user.email}", target=user)
        delivery = EmailDelivery(
            key=f"password-reset-{user.id}-{secrets.token_hex(8)}", kind=DeliveryKind.RESET, recipient_id=user.id,
            state=DeliveryState.PENDING, created_at=utcnow(),
        )
        db.session.add(delivery)
        send_after_commit(db.session, delivery)
    db.session.commit()


def reset_password(user: User, new_password: str) -> None:
    """A new password from a reset link: the link dies with the old password, and every session ends."""
    _set_password(user, new_password)
    record("auth.password_reset", f"Password reset for {user.email} through an emailed link", target=user, actor=user)
    end_sessions_of(user, "password reset")
    db.session.commit()
