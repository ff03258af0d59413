"""Error pages: 400, 403, 404, 405, 429 and 500 all use the portal's layout."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError

from portal.extensions import db

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
        return render(429)

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render(500)
