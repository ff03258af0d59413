"""Rate limits on the forms an attacker would hammer: per address and per account, each audited once.

Each form is limited twice: by the address the request comes from (one machine trying many
accounts) and by the account it is aimed at (many machines trying one account). The counters live
in Redis when ``REDIS_URL`` is set, so every worker process shares them; otherwise in memory. A
person who is limited gets the "Too many attempts" page (``portal.core.errors``), which says
nothing about whether the account exists; the first refusal in each window is audited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import current_app, g, request, session
from flask_limiter import RequestLimit

from portal.extensions import limiter

Account = Callable[[], str | None]


def _setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def _audit_once_per_window(form: str, per: str) -> Callable[[RequestLimit], None]:
    """Record the first refusal of each window in the audit trail; later ones would only add noise."""

    def on_breach(breach: RequestLimit) -> None:
        from portal.audit.operations import record
        from portal.extensions import db

        marker = f"audited/{breach.key}/{breach.reset_at}"
        if limiter.storage.incr(marker, breach.limit.get_expiry()) != 1:
            return
        details = {"form": form, "per": per, "limit": str(breach.limit)}
        record("auth.rate_limited", f"Too many attempts at {form} from one {per}; refused until the window ends", details=details)
        db.session.commit()

    return on_breach


def per_address(setting: str, form: str):
    """Decorator: POSTs to the view limited per address by the limit in ``setting``."""
    return limiter.limit(_setting(setting), methods=["POST"], on_breach=_audit_once_per_window(form, "address"))


def per_account(setting: str, form: str, account: Account):
    """Decorator: POSTs limited per account (what ``account`` returns); none means no account limit."""
    return limiter.limit(
        _setting(setting), key_func=lambda: f"account:{account()}", methods=["POST"],
        exempt_when=lambda: not account(), on_breach=_audit_once_per_window(form, "account"),
    )


def _memo(name: str, work: Account) -> str | None:
    """Key functions run more than once per request (key and exemption); work it out once."""
    cache = g.setdefault("rate_limit_accounts", {})
    if name not in cache:
        cache[name] = work()
    return cache[name]


def posted_email() -> str | None:
    """The normalised email address posted (sign-in, password reset request)."""
    from portal.people.models import normalise_email

    return _memo("email", lambda: normalise_email(request.form.get("email", "")) or None)


def pending_person() -> str | None:
    """The person who has passed the password step and is entering their security code."""
    from portal.auth.operations import SESSION_PENDING_USER

    person = session.get(SESSION_PENDING_USER)
    return f"person-{person}" if person is not None else None


def reset_token_person() -> str | None:
    """The person a password reset link was made for (signature checked, expiry not)."""
    from portal.auth.password_reset import person_id_in

    def work():
        person = person_id_in((request.view_args or {}).get("token", ""))
        return f"person-{person}" if person is not None else None

    return _memo("reset", work)


def invited_person() -> str | None:
    """The person an invitation link was made for, while the link is usable."""
    from portal.people.operations import invitation_from_token

    def work():
        invitation = invitation_from_token((request.view_args or {}).get("token", ""))
        return f"person-{invitation.user_id}" if invitation is not None else None

    return _memo("invitation", work)


def reporter_email() -> str | None:
    """The email address a public reporter gave for contact, if they gave one (kept hashed)."""
    contact = (request.form.get("reporter_contact") or "").strip().lower()
    if "@" not in contact:
        return None
    return "reporter-" + hashlib.sha256(contact.encode()).hexdigest()[:32]
