"""Error pages: 400, 403, 404, 405, 429 and 500 all use the portal's layout."""

from __future__ import annotations

import math
import time

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError

from portal.extensions import db, limiter

PAGES = {
    400: "There is a problem with the request",
    403: "You do not have permission to see this page",
    404: "Page not found",
    405: "Page not found",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
}


def register(app: Flask) -> None:
    def render(code: int, message: str | None = None):
        return (
            render_template("errors/error.html", code=code, title=PAGES[code], message=message),
            code,
        )

    for code in (400, 403, 404, 405):
        app.register_error_handler(code, lambda error, code=code: render(code))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render(
            400,
            "The form could not be sent because it had expired or did not come from this "
            "service. Go back, reload the page and try again.",
        )

    @app.errorhandler(429)
    def too_many(error):
        # The same page whether or not the account exists; Flask-Limiter adds Retry-After.
        limit = limiter.current_limit
        # Flask-Limiter rounds the window's end up by a second; a full window is "10 minutes", not 11.
        seconds = limit.reset_at - 1 - time.time() if limit is not None else 60
        minutes = max(1, math.ceil(seconds / 60))
        return render_template("errors/too_many_attempts.html", title=PAGES[429], minutes=minutes), 429

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render(500)
