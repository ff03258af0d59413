"""Sending one email at once through the configured backend (SMTP, GOV.UK Notify or the log)."""

from __future__ import annotations

from portal.notifications.backends import OutgoingEmail, open_connection


def send_email(to: str, subject: str, text: str, html: str | None = None, key: str | None = None) -> None:
    """Send now; a :class:`~portal.notifications.backends.DeliveryError` says why it could not."""
    with open_connection() as connection:
        connection.send(OutgoingEmail(to=to, subject=subject, text=text, html=html, key=key))
