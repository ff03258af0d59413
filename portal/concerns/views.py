"""Case work on one concern: the page everyone who may see it opens, and the actions on it."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required

from portal import policy
from portal.concerns import operations
from portal.concerns.presenters import present_concern


@login_required
def show_concern(concern_id: int):
    concern = policy.visible_concern_or_404(current_user, concern_id)
    view = present_concern(current_user, concern)
    return render_template(
        "concerns/show.html",
        concern=concern,
        view=view,
        allowed_moves=operations.allowed_moves(concern.status),
    )
