"""The database session: after each commit, hand the outbox's new intents to the workers.

Intents are rows written in the change's own transaction. Handing them over only after the
commit has succeeded means a rolled-back change sends nothing, and a committed one is delivered
even if the hand-over fails (the periodic sweep finds intents nobody took).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_sqlalchemy.session import Session as FlaskSession

OUTBOX = "notification_outbox"


class OutboxMixin:
    def commit(self) -> None:
        pending = self.info.get(OUTBOX)
        if pending:
            self.flush()
            ids = [intent.id for intent in pending]
        super().commit()
        if pending:
            del self.info[OUTBOX]
            from portal.notifications.dispatch import hand_over

            hand_over(ids)

    def rollback(self) -> None:
        self.info.pop(OUTBOX, None)
        super().rollback()

    def close(self) -> None:
        self.info.pop(OUTBOX, None)
        super().close()


class PortalSession(OutboxMixin, FlaskSession):
    """The session Flask-SQLAlchemy gives the application."""


class PlainPortalSession(OutboxMixin, sa.orm.Session):
    """The same behaviour on a plain SQLAlchemy session (tests bind one to their own connection)."""


def add_to_outbox(session, intent) -> None:
    session.info.setdefault(OUTBOX, []).append(intent)
