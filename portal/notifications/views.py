"""A person's own in-app notifications: the list, and marking them all read."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from portal.core.forms import Form, SubmitField
from portal.core.pagination import paginate
from portal.extensions import db
from portal.notifications.models import Notification
from portal.notifications.operations import mark_read, unread_count


class MarkAllReadForm(Form):
    """A button only, so that CSRF protection covers it."""

    submit = SubmitField("Mark all as read")


@login_required
def list_notifications():
    query = (
        sa.select(Notification)
        .where(Notification.recipient_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return render_template(
        "notifications/list.html", page=paginate(query), unread=unread_count(current_user), mark_form=MarkAllReadForm()
    )


@login_required
def mark_all_read():
    if not MarkAllReadForm().validate_on_submit():
        abort(400)
    changed = mark_read(current_user)
    db.session.commit()
    flash(f"{changed} {'notification' if changed == 1 else 'notifications'} marked as read." if changed else "You had no unread notifications.", "success")
    return redirect(url_for("notifications.list_notifications"))
