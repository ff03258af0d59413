"""Inviting people, giving and ending roles, and accepting invitations."""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.agencies.models import Agency
from portal.audit.operations import record
from portal.auth.operations import end_sessions_of
from portal.auth.passwords import hash_password
from portal.core.changes import apply_changes
from portal.core.codes import ROLE_AGENCY_KINDS, Role
from portal.core.db import utcnow
from portal.core.rules import RuleError
from portal.extensions import db
from portal.people.models import Invitation, Membership, User, normalise_email

INVITATION_SALT = "portal-invitation"


class PeopleError(RuleError):
    """A change to a person or their roles that the rules do not allow."""


def role_fits_agency(role: Role, agency: Agency) -> bool:
    return agency.kind in ROLE_AGENCY_KINDS[role]


def role_problem(role: Role, agency: Agency) -> str | None:
    if role_fits_agency(role, agency):
        return None
    kinds = ", ".join(sorted(kind.label.lower() for kind in ROLE_AGENCY_KINDS[role]))
    article = "An" if role.label[0].lower() in "aeiou" else "A"
    return f"{article} {role.label.lower()} must belong to one of these kinds of agency: {kinds}"


def email_in_use(email: str, except_user_id: int | None = None) -> bool:
    query = sa.select(User.id).where(User.email == normalise_email(email))
    if except_user_id is not None:
        query = query.where(User.id != except_user_id)
    return db.session.scalar(query) is not None


def invite_person(*, email: str, name: str, job_title: str | None, agency: Agency, role: Role, invited_by: User | None) -> Invitation:
    """Create the person with their first role and an invitation; the caller commits and sends."""
    if email_in_use(email):
        raise PeopleError(
            "email",
            "A person with this email address already has an account. If they work in your area, add a role "
            "to them from their page; if not, ask their partnership's administrator",
        )
    problem = role_problem(role, agency)
    if problem:
        raise PeopleError("role", problem)
    user = User(email=email, name=name, job_title=job_title or None)
    db.session.add(user)
    membership = Membership(user=user, agency=agency, role=role)
    db.session.add(membership)
    db.session.flush()
    record(
        "person.invite",
        f"Invited {user.email} as {role.label} at {agency.name}",
        target=user,
        details={"agency_id": agency.id, "role": role, "name": name, "job_title": job_title},
    )
    return new_invitation(user, invited_by)


def new_invitation(user: User, invited_by: User | None) -> Invitation:
    """A fresh invitation for the person; any earlier unused one stops working."""
    now = utcnow()
    for old in db.session.scalars(
        sa.select(Invitation).where(Invitation.user_id == user.id, Invitation.accepted_at.is_(None), Invitation.withdrawn_at.is_(None))
    ):
        old.withdrawn_at = now
    invitation = Invitation(
        user=user,
        invited_by=invited_by,
        nonce=secrets.token_urlsafe(32),
        expires_at=now + timedelta(hours=current_app.config["INVITATION_VALID_HOURS"]),
    )
    db.session.add(invitation)
    db.session.flush()
    from portal.notifications.delivery import queue_invitation_email

    queue_invitation_email(invitation)
    record("person.invitation_sent", f"Invitation link issued for {user.email}", target=user, details={"invitation_id": invitation.id, "expires_at": invitation.expires_at})
    return invitation


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=INVITATION_SALT)


def invitation_token(invitation: Invitation) -> str:
    return _serializer().dumps({"i": invitation.id, "n": invitation.nonce})


def invitation_link(invitation: Invitation) -> str:
    """The full link for emails and the command line (no request needed)."""
    adapter = current_app.url_map.bind("localhost")
    path = adapter.build("auth.accept_invitation", {"token": invitation_token(invitation)})
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def invitation_from_token(token: str) -> Invitation | None:
    """The invitation a link stands for, if its signature holds and it is still usable."""
    max_age = current_app.config["INVITATION_VALID_HOURS"] * 3600
    try:
        data = _serializer().loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("i"), int) or not isinstance(data.get("n"), str):
        return None
    invitation = db.session.get(Invitation, data["i"])
    if invitation is None or not secrets.compare_digest(invitation.nonce, data["n"]):
        return None
    if not invitation.is_usable() or not invitation.user.active:
        return None
    return invitation


def accept_invitation(invitation: Invitation, password: str) -> None:
    user = invitation.user
    invitation.accepted_at = utcnow()
    user.password_hash = hash_password(password)
    user.password_changed_at = invitation.accepted_at
    user.failed_sign_ins = 0
    user.locked_until = None
    record("person.invitation_accepted", f"{user.email} accepted their invitation and set a password", target=user, actor=user)
    db.session.commit()


def add_membership(user: User, agency: Agency, role: Role) -> Membership:
    problem = role_problem(role, agency)
    if problem:
        raise PeopleError("role", problem)
    if any(m.agency_id == agency.id and m.role is role for m in user.active_memberships):
        raise PeopleError("role", f"{user.name} already holds this role at {agency.name}")
    membership = Membership(user=user, agency=agency, role=role)
    db.session.add(membership)
    record("person.role_added", f"{user.email} given the role {role.label} at {agency.name}", target=user, details={"agency_id": agency.id, "role": role})
    return membership


def end_membership(membership: Membership) -> None:
    membership.active = False
    membership.ended_at = utcnow()
    record(
        "person.role_ended",
        f"{membership.user.email} no longer {membership.role.label} at {membership.agency.name}",
        target=membership.user,
        details={"agency_id": membership.agency_id, "role": membership.role, "membership_id": membership.id},
    )


def update_person(user: User, *, name: str, email: str, job_title: str | None) -> None:
    if email_in_use(email, except_user_id=user.id):
        raise PeopleError("email", "A person with this email address already has an account")
    changed = apply_changes(user, name=name, email=normalise_email(email), job_title=job_title or None)
    if changed:
        record("person.update", f"Details changed for {user.email}", target=user, details={"changed": changed})


def set_active(user: User, active: bool) -> None:
    user.active = active
    record("person.reactivate" if active else "person.deactivate", f"{user.email} {'reactivated' if active else 'deactivated'}", target=user)
    if not active:
        end_sessions_of(user, "deactivated")
