"""Secrets are encrypted at rest: the database holds ciphertext, the code sees plaintext."""

import pyotp
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from portal.core import crypto
from portal.people.models import User


def _stored(db_session, user_id: int) -> str:
    return db_session.execute(sa.text("SELECT totp_secret FROM user_account WHERE id = :id"), {"id": user_id}).scalar_one()


def test_a_totp_secret_is_stored_encrypted_and_read_back_plain(db_session, make_user):
    secret = pyotp.random_base32()
    user = make_user(totp_secret=secret)
    stored = _stored(db_session, user.id)
    assert stored.startswith(crypto.PREFIX)
    assert secret not in stored
    db_session.expire_all()
    assert db_session.get(User, user.id).totp_secret == secret


def test_each_encryption_of_the_same_secret_differs(app):
    with app.app_context():
        assert crypto.encrypt("same") != crypto.encrypt("same")


def test_a_value_under_an_unknown_key_is_refused_not_returned(app):
    with app.app_context():
        foreign = crypto.PREFIX + Fernet(Fernet.generate_key()).encrypt(b"secret").decode()
        with pytest.raises(crypto.DecryptionFailed):
            crypto.decrypt(foreign)
        with pytest.raises(crypto.DecryptionFailed):
            crypto.decrypt("plain text left from before encryption")


def test_keys_rotate_new_key_first_old_values_still_open(app, monkeypatch):
    with app.app_context():
        old_value = crypto.encrypt("kept")
        new_key = Fernet.generate_key().decode()
        monkeypatch.setitem(app.config, "ENCRYPTION_KEYS", [new_key, *app.config["ENCRYPTION_KEYS"]])
        assert crypto.decrypt(old_value) == "kept"
        rotated = crypto.encrypt("kept")
        monkeypatch.setitem(app.config, "ENCRYPTION_KEYS", [new_key])
        assert crypto.decrypt(rotated) == "kept"
        with pytest.raises(crypto.DecryptionFailed):
            crypto.decrypt(old_value)
