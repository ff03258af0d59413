"""The database session: after each commit, hand the outbox's new intents to the workers.

Intents are rows written in the change's own transaction. Handing them over only after the
commit has succeeded means a rolled-back change sends nothing, and a committed one is delivered
even if the hand-over fails (the periodic sweep finds intents nobody took).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_sqlalchemy.session import Session as FlaskSession

OUTBOX = "notification_outbox"
EMAILS = "email_outbox"


class OutboxMixin:
    def commit(self) -> None:
        intents, emails = self.info.get(OUTBOX), self.info.get(EMAILS)
        if intents or emails:
            self.flush()
            intent_ids = [intent.id for intent in intents or ()]
            email_ids = [email.id for email in emails or ()]
        super().commit()
        if intents or emails:
            self._forget()
            from portal.notifications.dispatch import hand_over, send_later

            hand_over(intent_ids)
            send_later(email_ids)

    def _forget(self) -> None:
        self.info.pop(OUTBOX, None)
        self.info.pop(EMAILS, None)

    def rollback(self) -> None:
        self._forget()
        super().rollback()

    def close(self) -> None:
        self._forget()
        super().close()


class PortalSession(OutboxMixin, FlaskSession):
    """The session Flask-SQLAlchemy gives the application."""


class PlainPortalSession(OutboxMixin, sa.orm.Session):
    """The same behaviour on a plain SQLAlchemy session (tests bind one to their own connection)."""


def add_to_outbox(session, intent) -> None:
    session.info.setdefault(OUTBOX, []).append(intent)


def send_after_commit(session, email) -> None:
    """An email row written in this transaction, to be handed to the workers once it commits."""
    session.info.setdefault(EMAILS, []).append(email)
