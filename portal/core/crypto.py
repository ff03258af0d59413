"""Secrets kept encrypted at rest: identity providers' client secrets and people's TOTP secrets.

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under keys from the settings
(``ENCRYPTION_KEYS``: the first encrypts, every one decrypts, so a key can be rotated by putting the
new one first and re-saving). A value read back under no known key raises, never returns rubbish.
"""

from __future__ import annotations

import base64

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

#: Marks a stored value as ciphertext, so plaintext left from before encryption is recognised.
PREFIX = "enc1:"


class DecryptionFailed(RuntimeError):
    """A stored secret could not be decrypted with any configured key."""


def derive_key(secret_key: str) -> str:
    """A Fernet key derived from the secret key: the development and test default only."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal data encryption").derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw).decode()


def _fernet() -> MultiFernet:
    keys = current_app.config["ENCRYPTION_KEYS"]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(plaintext: str) -> str:
    return PREFIX + _fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise DecryptionFailed("the stored value is not ciphertext")
    try:
        return _fernet().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise DecryptionFailed("no configured encryption key opens this value") from exc


class EncryptedText(sa.types.TypeDecorator):
    """A string column stored encrypted; Python code sees plaintext, the database never does."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)
