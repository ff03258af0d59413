"""Pages kept ready for people who open them again, dropped the moment anything on them may change.

The risk register and the provider profiles are read far more often than their data changes, and
building them reads a great deal. A page is kept, per process, under a key made of everything it
depends on that is not in the database (the address, the person, the role they act in, their
session, the day and whether its working day has closed — escalation deadlines pass at 17:00 —,
their unread count) and the database's *change generation*: a counter that every
transaction changing anything a page may show moves on, in the same transaction (see
:func:`_count_changes`). A person therefore never gets a page older than the data they could read,
and never anyone else's page. Tables of delivery and audit machinery do not move the counter.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import wraps

import sqlalchemy as sa
from flask import current_app, g, make_response, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.core.workdays import after_close_of_day, london_today
from portal.extensions import db

COUNTER = "pages"

#: Tables whose rows never appear on a cached page: their writes leave the generation alone.
UNWATCHED_TABLES = frozenset({
    "audit_event", "audit_chain_head", "notification_intent", "notification", "email_delivery",
    "notification_preference", "reminder", "import_batch", "change_counter", "user_session",
})


class ChangeCounter(db.Model):
    """A counter moved on by every transaction that changes what cached pages show."""

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


_INFO_KEY = "pagecache_counted"


def _watched(instances) -> bool:
    return any(getattr(obj, "__tablename__", None) not in UNWATCHED_TABLES for obj in instances)


@event.listens_for(Session, "after_flush")
def _count_changes(session: Session, flush_context) -> None:
    """Move the generation on once per transaction, inside it, when a watched row changed."""
    if session.info.get(_INFO_KEY):
        return
    if not (_watched(session.new) or _watched(session.dirty) or _watched(session.deleted)):
        return
    connection = session.connection()
    table = ChangeCounter.__table__
    moved = connection.execute(
        table.update().where(table.c.name == COUNTER).values(value=table.c.value + 1)
    ).rowcount
    if not moved:
        connection.execute(table.insert().values(name=COUNTER, value=1))
    session.info[_INFO_KEY] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_soft_rollback")
def _end_of_transaction(session: Session, *args) -> None:
    session.info.pop(_INFO_KEY, None)


class PageStore:
    """A small least-recently-used store of page bodies, shared by the threads of one process."""

    def __init__(self) -> None:
        self._pages: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            body = self._pages.get(key)
            if body is not None:
                self._pages.move_to_end(key)
            return body

    def put(self, key: tuple, body: bytes, limit: int) -> None:
        with self._lock:
            self._pages[key] = body
            self._pages.move_to_end(key)
            while len(self._pages) > limit:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()

    def __len__(self) -> int:
        return len(self._pages)


store = PageStore()


def generation_and_unread_columns(user_id) -> tuple:
    """The change generation and a person's unread notifications, as columns to add to a query.

    ``user_id`` is an id or a bound parameter standing for one."""
    from portal.notifications.models import Notification

    unread = (
        sa.select(sa.func.count(Notification.id))
        .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
        .scalar_subquery()
    )
    counter = sa.select(ChangeCounter.value).where(ChangeCounter.name == COUNTER).scalar_subquery()
    return sa.func.coalesce(counter, 0), unread


def generation_and_unread(user) -> tuple[int, int]:
    """The two numbers, read with the person on each request (see ``auth.sessions.load_user``)."""
    if "page_generation" in g and "unread_notifications" in g:
        return g.page_generation, g.unread_notifications
    generation, unread = db.session.execute(sa.select(*generation_and_unread_columns(user.id))).one()
    g.page_generation, g.unread_notifications = int(generation), int(unread)
    return g.page_generation, g.unread_notifications


def cached_page(view):
    """Serve a GET page from the store when nothing it depends on has changed; otherwise build it."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        limit = current_app.config.get("PAGE_CACHE_ENTRIES", 0)
        if not limit or request.method != "GET" or not current_user.is_authenticated or "_flashes" in session:
            return view(*args, **kwargs)
        generation, unread = generation_and_unread(current_user)
        # The page shows the count its key was made with (see core.templating.layout_context).
        g.unread_on_page = unread
        membership = current_user.membership
        # The page carries the session's form token (the sign-out button): make sure there is one
        # before it goes into the key, so that no two sessions share a page.
        generate_csrf()
        key = (
            request.full_path, current_user.id, membership.id if membership is not None else None,
            session.get("csrf_token"), london_today(), after_close_of_day(), generation, unread,
        )
        body = store.get(key)
        if body is not None:
            return current_app.response_class(body, mimetype="text/html")
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200 and response.mimetype == "text/html" and "_flashes" not in session:
            store.put(key, response.get_data(), limit)
        return response

    return wrapped
