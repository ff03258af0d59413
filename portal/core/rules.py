"""Refusals raised by operations, and running an operation for a form."""

from __future__ import annotations

from collections.abc import Callable

from portal.core.concurrency import ConcurrentEditError, saving
from portal.extensions import db

#: A refusal about the whole record rather than one field.
WHOLE_RECORD = "__record__"


class RuleError(ValueError):
    """A change the rules do not allow.

    ``field`` names the form field the message belongs to (or :data:`WHOLE_RECORD`);
    ``problems`` holds every ``(field, message)`` found, this one first, so a form can show all.
    """

    def __init__(self, field: str, message: str, problems: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.field = field
        self.problems = problems or [(field, message)]


def save_form(form, change: Callable[[], object]) -> bool:
    """Run an operation and commit; on a refusal or a concurrent edit, put the message on the form.

    Nothing is saved when it returns False, and the form keeps what the person typed.
    """
    try:
        with saving():
            change()
    except RuleError as error:
        db.session.rollback()
        for field, message in error.problems:
            target = form._fields.get(field)
            (target.errors if target is not None else form.form_errors).append(message)
        return False
    except ConcurrentEditError as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        return False
    return True
