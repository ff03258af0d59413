"""Paging through long lists, the same way on every page."""

from __future__ import annotations

from flask import request

from portal.extensions import db

PER_PAGE = 25
#: Beyond this a page number is nonsense (and would overflow the database's OFFSET).
MAX_PAGE = 100_000


def page_number() -> int:
    try:
        return min(max(1, int(request.args.get("page", 1))), MAX_PAGE)
    except ValueError:
        return 1


def paginate(query, per_page: int = PER_PAGE):
    """A Flask-SQLAlchemy pagination of a scoped select; a page past the end is empty, not 404."""
    return db.paginate(query, page=page_number(), per_page=per_page, error_out=False, count=True)
