"""Password reset links: signed, valid for an hour, and dead once used or once the password changes.

A link carries the person's id and a fingerprint of their current password hash, signed with the
secret key (no table needed): setting any new password changes the hash, so the link, and every
other link sent before, stops working. The email is written when it is sent, so it says what is
true then: a link, or why the person cannot reset a portal password.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, render_template
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.extensions import db
from portal.notifications.backends import OutgoingEmail
from portal.notifications.delivery import portal_link, register_renderer
from portal.notifications.models import DeliveryKind, EmailDelivery
from portal.people.models import User

RESET_SALT = "portal-password-reset"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _fingerprint(user: User) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, (user.password_hash or "no password").encode(), hashlib.sha256).hexdigest()[:32]


def reset_token(user: User) -> str:
    return _serializer().dumps({"p": user.id, "f": _fingerprint(user)})


def person_id_in(token: str) -> int | None:
    """The person a link names, if its signature holds (whether or not it has expired)."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    return data.get("p") if isinstance(data, dict) and isinstance(data.get("p"), int) else None


def may_reset(user: User) -> bool:
    """Whether the person may set a portal password through a link: active, and allowed local passwords."""
    from portal.policy import local_passwords_allowed

    return user.active and local_passwords_allowed(user)


def person_from_token(token: str) -> User | None:
    """The person a link stands for, while it is within its time, unused and they may still reset."""
    max_age = current_app.config["PASSWORD_RESET_VALID_MINUTES"] * 60
    try:
        data = _serializer().loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("p"), int) or not isinstance(data.get("f"), str):
        return None
    user = db.session.get(User, data["p"])
    if user is None or not hmac.compare_digest(_fingerprint(user), data["f"]) or not may_reset(user):
        return None
    return user


def reset_link(user: User) -> str:
    adapter = current_app.url_map.bind("localhost")
    return portal_link(adapter.build("auth.reset_password", {"token": reset_token(user)}))


def render_reset_email(delivery: EmailDelivery) -> OutgoingEmail:
    user = delivery.recipient
    service = current_app.config["SERVICE_NAME"]
    context = {
        "user": user, "service_name": service, "minutes": current_app.config["PASSWORD_RESET_VALID_MINUTES"],
        "link": reset_link(user) if may_reset(user) else None, "deactivated": not user.active,
    }
    return OutgoingEmail(
        to=user.email,
        subject=f"Resetting your password for the {service}",
        text=render_template("auth/email/password_reset.txt", **context),
        html=render_template("auth/email/password_reset.html", **context),
        key=delivery.key,
    )


register_renderer(DeliveryKind.RESET, render_reset_email)
