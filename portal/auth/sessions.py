"""Loading the signed-in person for each request and enforcing the session rules."""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import flash, g, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from portal.auth import operations
from portal.auth.models import UserSession
from portal.core import pagecache
from portal.core.db import utcnow
from portal.extensions import db, login_manager
from portal.people.models import Membership, User

#: Pages a signed-in person can reach before choosing an agency or setting up two-factor sign-in.
OPEN_ENDPOINTS = {
    "static",
    "auth.sign_out",
    "auth.choose_agency",
    "auth.two_factor_setup",
    "auth.account",
    "glossary.index",
    "pages.start",
    "pages.accessibility",
    "pages.privacy",
}


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        wanted = int(user_id)
    except ValueError:
        return None
    session_id = session.get(operations.SESSION_ID)
    if not session_id:
        return _signed_out()
    # One round trip, on every request, for the person, their roles and agencies, whether their
    # session is still live, and the two numbers every page needs: their unread notifications and
    # the change generation (the page store's check, portal/core/pagecache.py).
    row = db.session.execute(
        _person_query(), {"person": wanted, "session": operations.session_id_hash(session_id)}
    ).unique().first()
    if row is None:
        return _signed_out()
    user, g.page_generation, g.unread_notifications, live = row
    if user is None or not user.active or not live:
        return _signed_out()
    user.membership = operations.resolve_membership(user)
    return user


def _signed_out() -> None:
    """A session signed out elsewhere, ended or unknown: forget it, as signing out would."""
    session.clear()
    flash("You have been signed out. Sign in again to continue.")
    return None


@cache
def _person_query():
    """Built once: the statement is the same on every request, only the person differs."""
    person = sa.bindparam("person", type_=sa.Integer)
    live = sa.exists().where(
        UserSession.token_hash == sa.bindparam("session", type_=sa.String),
        UserSession.user_id == person, UserSession.ended_at.is_(None),
    )
    return (
        sa.select(User, *pagecache.generation_and_unread_columns(person), live.label("live")).where(User.id == person)
        .options(joinedload(User.memberships).joinedload(Membership.agency))
    )


def safe_next(target: str | None) -> str | None:
    """A ``next`` address only if it stays on this site (a path, not another host)."""
    if not target:
        return None
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in target):
        # A line break would end the Location header (Werkzeug refuses it with a 500); tabs and
        # the like are ignored by browsers, so "/\t/evil.example" would leave the site.
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def enforce_session_rules():
    """Before each request: end stale sessions, then make sure the person has what they need."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    now = utcnow()
    reason = operations.session_expired(now)
    if reason:
        operations.end_session(current_user._get_current_object(), reason)
        flash(f"You have been {reason}. Sign in again to continue.")
        return redirect(url_for("auth.sign_in", next=request.full_path if request.method == "GET" else None))
    operations.touch_session(now)

    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_user.two_factor_required and not current_user.two_factor_enabled:
        flash("Your agency requires two-factor sign-in. Set it up to continue.")
        return redirect(url_for("auth.two_factor_setup"))
    if current_user.membership is None and current_user.active_memberships:
        return redirect(url_for("auth.choose_agency", next=request.full_path if request.method == "GET" else None))
    return None
