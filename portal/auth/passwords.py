"""Password hashing (Argon2id) and the rules a new password must meet."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters

#: A valid hash of a random password, verified when an email is unknown so timing says nothing.
_DUMMY_HASH = _hasher.hash("this is not anyone's password")

MAX_LENGTH = 256


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches; a missing hash is checked against a dummy to keep timing even."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """About 30,000 of the most used passwords, from the zxcvbn project's frequency lists."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, *, email: str | None = None, name: str | None = None) -> list[str]:
    """What is wrong with a proposed password, in words a person can act on."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    problems = []
    if len(password) < minimum:
        problems.append(f"Password must be {minimum} characters or more")
    if len(password) > MAX_LENGTH:
        problems.append(f"Password must be {MAX_LENGTH} characters or fewer")
    lowered = password.lower()
    if lowered in _common_passwords() or lowered.rstrip("0123456789!") in _common_passwords():
        problems.append("Password is too common: choose a password that is hard to guess, such as three random words")
    personal = [email.split("@")[0].lower()] if email else []
    personal += [part.lower() for part in (name or "").split() if len(part) > 2]
    if any(len(word) >= 4 and word in lowered for word in personal):
        problems.append("Password must not contain your name or email address")
    return problems
