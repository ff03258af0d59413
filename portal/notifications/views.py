"""A person's in-app notifications and how they hear about them; the administrators' email deliveries."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from portal import policy
from portal.core.forms import Form, SubmitField
from portal.core.pagination import paginate
from portal.extensions import db
from portal.notifications import health
from portal.notifications.delivery import can_resend, recipient_label, resend
from portal.notifications.dispatch import send_later
from portal.notifications.forms import ResendForm, choosable_events, field_name, preferences_form
from portal.notifications.models import (
    DeliveryKind,
    DeliveryState,
    EmailDelivery,
    Notification,
    NotificationEvent,
)
from portal.notifications.operations import mark_read, preferences_of, set_preferences
from portal.policy import Capability


class MarkAllReadForm(Form):
    """A button only, so that CSRF protection covers it."""

    submit = SubmitField("Mark all as read")


def notification_href(note: Notification) -> str | None:
    """Where a notification leads: its own link within the portal, or else its concern."""
    if note.link and note.link.startswith("/") and not note.link.startswith("//"):
        return request.script_root + note.link
    if note.concern_id:
        return url_for("concerns.show_concern", concern_id=note.concern_id)
    return None


@login_required
def list_notifications():
    query = (
        sa.select(Notification)
        .where(Notification.recipient_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return render_template(
        "notifications/list.html", page=paginate(query), mark_form=MarkAllReadForm(),
        href=notification_href,
    )


@login_required
def mark_all_read():
    if not MarkAllReadForm().validate_on_submit():
        abort(400)
    changed = mark_read(current_user)
    db.session.commit()
    flash(f"{changed} {'notification' if changed == 1 else 'notifications'} marked as read." if changed else "You had no unread notifications.", "success")
    return redirect(url_for("notifications.list_notifications"))


def _digest_time(hour: int) -> str:
    """When the daily summary goes out, as people say it: 7am (UK time) the next morning."""
    if hour % 24 == 0:
        said = "midnight"
    elif hour == 12:
        said = "midday"
    else:
        said = f"{hour % 12}{'am' if hour < 12 else 'pm'}"
    return f"{said} (UK time) the next {'morning' if hour < 12 else 'day'}"


@login_required
def preferences():
    current = preferences_of(current_user.id)
    form = preferences_form(current)
    if form.validate_on_submit():
        choices = form.choices()
        # Events that are always sent have no question on the page; a request that names one
        # anyway is refused by the operation, with its message shown like any other error.
        named = [event for event in NotificationEvent if event.mandatory and field_name(event) in request.form]
        choices.update({event: current[event] for event in named})
        try:
            changed = set_preferences(current_user, choices)
        except ValueError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash("Your choices have been saved." if changed else "Nothing changed: these were already your choices.", "success")
            return redirect(url_for("notifications.preferences"))
    return render_template(
        "notifications/preferences.html", form=form, mandatory=[event for event in NotificationEvent if event.mandatory],
        events=choosable_events(), field_name=field_name, digest_time=_digest_time(current_app.config["DIGEST_HOUR"]),
    )


# Operations -----------------------------------------------------------------------------------


def _state_filter() -> DeliveryState | None:
    """The state chosen in the query string; anything else shows every state."""
    return DeliveryState.__members__.get(request.args.get("state", ""))


def _operations_url() -> str:
    """The operations page as the administrator was looking at it: the same filter and page."""
    state = _state_filter()
    page = request.args.get("page", "")
    return url_for("notifications.operations", state=state.name if state else None, page=page if page.isdigit() else None)


@policy.require(Capability.OPERATE_NOTIFICATIONS)
def operations():
    visible = policy.deliveries_visible_to(current_user)
    counts = dict(
        db.session.execute(
            visible.with_only_columns(EmailDelivery.state, sa.func.count(EmailDelivery.id)).group_by(EmailDelivery.state)
        ).all()
    )
    state = _state_filter()
    query = visible if state is None else visible.where(EmailDelivery.state == state)
    query = query.options(selectinload(EmailDelivery.recipient), selectinload(EmailDelivery.intent)).order_by(
        EmailDelivery.created_at.desc(), EmailDelivery.id.desc()
    )
    page = paginate(query)
    digest_ids = [d.id for d in page.items if d.kind is DeliveryKind.DIGEST]
    digest_sizes = dict(
        db.session.execute(
            sa.select(EmailDelivery.digest_id, sa.func.count(EmailDelivery.id))
            .where(EmailDelivery.digest_id.in_(digest_ids))
            .group_by(EmailDelivery.digest_id)
        ).all()
    ) if digest_ids else {}
    return render_template(
        "notifications/operations.html", page=page, counts=counts, states=list(DeliveryState),
        state=state, digest_sizes=digest_sizes, resendable=can_resend, recipient_label=recipient_label, health=health.check(),
        invalid_state=bool(request.args.get("state")) and state is None,
    )


@policy.require(Capability.OPERATE_NOTIFICATIONS)
def resend_delivery(delivery_id: int):
    delivery = policy.visible_delivery_or_404(current_user, delivery_id)
    if not ResendForm().validate_on_submit():
        abort(400)
    back = _operations_url()
    try:
        target = resend(delivery, current_user)
    except ValueError as error:
        db.session.rollback()
        flash(str(error))
        return redirect(back)
    db.session.commit()
    send_later([target.id])
    what = "The email" if target is delivery else "A copy of the email"
    flash(f"{what} to {recipient_label(delivery)} has been handed over for sending.", "success")
    return redirect(back)
