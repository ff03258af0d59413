"""Meeting actions: bad input, the owner told and reminded (at 9am in England, across the clock
change), updates that finish them, carrying into the next meeting's agenda until done, and the
owner's and the chair's lists."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.core.concurrency import CONFLICT_MESSAGE
from portal.core.templating import format_date
from portal.extensions import db
from portal.meetings import minutes as ops
from portal.meetings.models import (
    ActionState,
    ActionUpdate,
    AgendaItem,
    MeetingAction,
    MeetingKind,
    MeetingSeries,
    MeetingStatus,
)
from portal.notifications.models import NotificationEvent, NotificationIntent, Reminder
from portal.notifications.reminders import fire_due_reminders
from tests.intelligence.pages import table_rows, visible_text


def _hours_from_now(hours: int) -> datetime:
    return datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(hours=hours)


def _date_fields(day: date) -> dict:
    return {"due_on": [str(day.day), str(day.month), str(day.year)]}


def _reminders(action) -> dict[str, Reminder]:
    rows = db.session.scalars(
        sa.select(Reminder).where(Reminder.key.like(f"meeting-action-{action.id}-%")).execution_options(populate_existing=True)
    ).all()
    return {row.key.rsplit("-", 1)[1]: row for row in rows}


def _intents(event):
    return db.session.scalars(sa.select(NotificationIntent).where(NotificationIntent.event == event)).all()


def test_a_bad_action_lists_every_problem_and_keeps_what_was_typed(make_meeting, intel_world, client, act_as, acting):
    users = intel_world.users
    meeting = make_meeting(providers=[intel_world.sunrise], minute_taker=users.lead, invite=[users.manager])
    url = f"/meetings/{meeting.id}/actions/new"
    act_as(users.lead)
    page = client.get(f"{url}?item={meeting.agenda[0].id}").text
    assert f"{users.manager.name} – Provider manager, Sunrise Care" in page
    assert f'<option value="{meeting.agenda[0].id}" selected' in page
    yesterday = date.today() - timedelta(days=1)
    response = client.post(url, data={"description": "", "owner": "", **_date_fields(yesterday)})
    assert response.status_code == 200
    text = visible_text(response.text)
    for message in ("Enter what must be done", "Choose who owns the action", "The due date must be today or in the future"):
        assert message in text.split("There is a problem", 1)[1]
    assert f'value="{yesterday.year}"' in response.text
    response = client.post(url, data={"description": "Send the staffing rotas", "owner": "", **_date_fields(yesterday)})
    assert "Send the staffing rotas" in response.text and "Choose who owns the action" in response.text
    assert db.session.scalar(sa.select(sa.func.count(MeetingAction.id))) == 0
    # The operation refuses the same, whoever calls it.
    with pytest.raises(ops.MinutesError) as refused:
        ops.add_action(meeting, description=" ", owner_membership=None, due_on=yesterday, by=acting(users.lead))
    assert {field for field, _ in refused.value.problems} == {"description", "owner", "due_on"}
    # Nobody but the recorders adds actions.
    act_as(users.manager)
    assert client.get(url).status_code == 403


def test_the_owner_is_told_and_reminded_at_9am_in_england_across_the_clock_change(
    make_meeting, adult_concern, intel_world, client, act_as, acting,
):
    users = intel_world.users
    with time_machine.travel(datetime(2026, 10, 19, 10, 0, tzinfo=UTC), tick=False):
        meeting = make_meeting(kind=MeetingKind.ADULT_SAFEGUARDING, title="Safeguarding meeting", organiser=users.lead,
                               concern=adult_concern, invite=[users.manager])
        act_as(users.lead)
        response = client.post(f"/meetings/{meeting.id}/actions/new", data={
            "description": "Jo Example's bank to be contacted", "owner": str(users.manager.active_memberships[0].id),
            **_date_fields(date(2026, 10, 27)),
        })
        assert response.status_code == 302
        action = db.session.scalar(sa.select(MeetingAction))
        assert (action.owner_id, action.owner_agency_id, action.state) == (users.manager.id, intel_world.sunrise.id, ActionState.OPEN)
        [told] = _intents(NotificationEvent.MEETING_ACTION_ASSIGNED)
        assert told.recipient_ids == [users.manager.id] and told.link == f"/meeting-actions/{action.id}"
        assert told.summary == "Action from Safeguarding meeting: due 27 October 2026"
        reminders = _reminders(action)
        # Friday 23 October is still summer time (9am is 08:00 UTC); Tuesday 27th is winter time.
        assert reminders["soon"].due_at == datetime(2026, 10, 23, 8, 0, tzinfo=UTC)
        assert reminders["due"].due_at == datetime(2026, 10, 27, 9, 0, tzinfo=UTC)
        assert {(r.recipient_id, r.event, r.subject_type, r.summary) for r in reminders.values()} == {
            (users.manager.id, NotificationEvent.MEETING_ACTION_DUE, "meeting_action", told.summary)}

        # Due in two days' time: the earlier reminder's moment has passed, so only the one on the day.
        soon = ops.add_action(meeting, description="Call back", owner_membership=users.manager.active_memberships[0],
                              due_on=date(2026, 10, 20), by=acting(users.lead))
        db.session.commit()
        assert set(_reminders(soon)) == {"due"} and _reminders(soon)["due"].due_at == datetime(2026, 10, 20, 8, 0, tzinfo=UTC)

    assert fire_due_reminders(now=datetime(2026, 10, 23, 7, 59, tzinfo=UTC)) == 1  # the call-back, due on the 20th
    assert fire_due_reminders(now=datetime(2026, 10, 23, 8, 0, tzinfo=UTC)) == 1
    due_soon = [i for i in _intents(NotificationEvent.MEETING_ACTION_DUE) if i.subject_id == action.id]
    assert [(i.recipient_ids, i.link, i.summary) for i in due_soon] == [
        ([users.manager.id], f"/meeting-actions/{action.id}", "Action from Safeguarding meeting: due 27 October 2026")]

    # Done: the reminder still to come is cancelled and never fires.
    with time_machine.travel(datetime(2026, 10, 24, 10, 0, tzinfo=UTC), tick=False):
        act_as(users.manager)
        response = client.post(f"/meeting-actions/{action.id}", data={
            "text": "The bank has been called.", "state": "DONE", "version": str(action.version)})
        assert response.status_code == 302
    db.session.refresh(action)
    assert action.state is ActionState.DONE and action.finished_at is not None
    assert _reminders(action)["due"].cancelled_at is not None
    assert fire_due_reminders(now=datetime(2026, 10, 27, 9, 0, tzinfo=UTC)) == 0


def test_reopening_or_moving_the_due_date_schedules_the_reminders_again(make_meeting, intel_world, acting):
    users = intel_world.users
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False):
        meeting = make_meeting(providers=[intel_world.sunrise], minute_taker=users.lead, invite=[users.manager])
        lead = acting(users.lead)
        action = ops.add_action(meeting, description="Audit falls", owner_membership=users.manager.active_memberships[0],
                                due_on=date(2026, 3, 20), by=lead)
        ops.update_action(action, text="Not needed after all", state=ActionState.DROPPED, by=lead, version=action.version)
        db.session.flush()
        assert db.session.scalar(sa.select(sa.func.count(Reminder.id)).where(Reminder.cancelled_at.is_not(None))) == 2
        # Reopened in the same transaction: the reminders are armed again all the same.
        ops.update_action(action, text="Needed again", state=ActionState.IN_PROGRESS, due_on=date(2026, 4, 7),
                          by=acting(users.manager), version=action.version)
        db.session.commit()
        reminders = _reminders(action)
        assert all(r.cancelled_at is None for r in reminders.values())
        # Easter Monday (6 April) and Good Friday (3 April) are bank holidays: two working days
        # before Tuesday 7 April is Wednesday 1 April, in summer time.
        assert reminders["soon"].due_at == datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
        assert reminders["due"].due_at == datetime(2026, 4, 7, 8, 0, tzinfo=UTC)
        assert action.finished_at is None
        assert [(u.text, u.state) for u in action.updates] == [
            ("Not needed after all", ActionState.DROPPED), ("Needed again", ActionState.IN_PROGRESS)]
        with pytest.raises(ops.MinutesError, match="today or in the future"):
            ops.update_action(action, text="Moved", due_on=date(2026, 3, 1), by=lead, version=action.version)


def test_the_action_page_shows_updates_and_takes_them_from_the_owner_and_the_recorders(
    make_meeting, intel_world, client, act_as, acting,
):
    users = intel_world.users
    meeting = make_meeting(providers=[intel_world.sunrise], minute_taker=users.lead, invite=[users.manager, users.sab_chair])
    action = ops.add_action(meeting, description="Send the rotas", owner_membership=users.manager.active_memberships[0],
                            due_on=date.today() + timedelta(days=30), agenda_item=meeting.agenda[0], by=acting(users.lead))
    db.session.commit()
    url = f"/meeting-actions/{action.id}"
    act_as(users.manager)
    response = client.post(url, data={"text": "", "state": "DONE", "version": str(action.version)})
    assert response.status_code == 200 and "Enter what has happened" in response.text
    assert client.post(url, data={"text": "Rotas drafted", "state": "IN_PROGRESS", "version": str(action.version)}).status_code == 302
    page = visible_text(client.get(url).text)
    assert f"{users.manager.name}: moved to in progress Rotas drafted" in page
    assert "Provider quality meeting" in page and "1. Sunrise Care" in page
    # A page opened before that update is refused, with what was typed kept.
    response = client.post(url, data={"text": "Stale words", "version": "1"})
    assert CONFLICT_MESSAGE in response.text and "Stale words" in response.text
    assert db.session.scalar(sa.select(sa.func.count(ActionUpdate.id))) == 1
    # Another invitee reads it but may not update it.
    act_as(users.sab_chair)
    assert client.get(url).status_code == 200
    assert client.post(url, data={"text": "Not mine", "version": str(action.version)}).status_code == 403


def test_unfinished_actions_carry_into_the_next_meeting_of_the_series_until_done(
    make_meeting, intel_world, client, act_as, acting,
):
    users = intel_world.users

    def series(title):
        return MeetingSeries(area_id=intel_world.area.id, kind=MeetingKind.PROVIDER_QUALITY, title=title,
                             rule="FREQ=MONTHLY;BYDAY=+2TU", created_by_id=users.council_commissioner.id)

    monthly, other = series("Monthly quality"), series("Another series")
    common = {"providers": [intel_world.sunrise], "minute_taker": users.lead, "invite": [users.manager]}
    first = make_meeting(series=monthly, status=MeetingStatus.HELD, starts_at=_hours_from_now(-24 * 30), **common)
    second = make_meeting(series=monthly, starts_at=_hours_from_now(24 * 7), **common)
    elsewhere = make_meeting(series=other, status=MeetingStatus.HELD, starts_at=_hours_from_now(-24 * 20), **common)
    lead, owner = acting(users.lead), users.manager.active_memberships[0]
    due = date.today() + timedelta(days=14)
    carried = ops.add_action(first, description="Share the rota audit", owner_membership=owner, due_on=due,
                             agenda_item=first.agenda[0], by=lead)
    done = ops.add_action(first, description="Already finished", owner_membership=owner, due_on=due, by=lead)
    ops.update_action(done, text="Done", state=ActionState.DONE, by=lead, version=done.version)
    ops.add_action(elsewhere, description="From another series", owner_membership=owner, due_on=due, by=lead)
    db.session.commit()

    assert ops.actions_carried_into(second) == [carried]
    assert ops.actions_carried_into(first) == []
    act_as(users.lead)
    page = client.get(f"/meetings/{second.id}/minutes").text
    rows = table_rows(page, "carried-actions-table")
    assert rows[1][:4] == ["Share the rota audit", f"Provider quality meeting, {format_date(first.starts_at)}",
                           users.manager.name, "Sunrise Care"]
    assert len(rows) == 2 and "From another series" not in page
    # With an agenda item for them, they are listed under it.
    db.session.add(AgendaItem(meeting_id=second.id, position=0, title="Actions from previous meetings"))
    db.session.commit()
    page = client.get(f"/meetings/{second.id}/minutes").text
    under_item = page.split("0. Actions from previous meetings", 1)[1].split("1. Sunrise Care", 1)[0]
    assert "Share the rota audit" in under_item

    ops.update_action(carried, text="Shared", state=ActionState.DONE, by=lead, version=carried.version)
    db.session.commit()
    assert ops.actions_carried_into(second) == []
    page = visible_text(client.get(f"/meetings/{second.id}/minutes").text)
    assert "Share the rota audit" not in page and "No actions from earlier meetings are still open." in page

    # Outside a series, meetings of the same kind with a provider in common follow on.
    adhoc = make_meeting(starts_at=_hours_from_now(24 * 8), providers=[intel_world.sunrise])
    moon_only = make_meeting(starts_at=_hours_from_now(24 * 9), providers=[intel_world.moonlight])
    assert [a.description for a in ops.actions_carried_into(adhoc)] == ["From another series"]
    assert ops.actions_carried_into(moon_only) == []


def test_the_owners_list_and_the_chairs_overdue_list(make_meeting, intel_world, client, act_as, acting):
    users = intel_world.users
    meeting = make_meeting(title="Quality meeting", status=MeetingStatus.HELD, starts_at=_hours_from_now(-24 * 40),
                           providers=[intel_world.sunrise], minute_taker=users.lead, invite=[users.manager])
    lead, owner = acting(users.lead), users.manager.active_memberships[0]
    later = ops.add_action(meeting, description="Due later", owner_membership=owner, due_on=date.today() + timedelta(days=9), by=lead)
    late = ops.add_action(meeting, description="Gone past", owner_membership=owner, due_on=date.today(), by=lead)
    finished = ops.add_action(meeting, description="All done", owner_membership=owner, due_on=date.today() + timedelta(days=3), by=lead)
    ops.update_action(finished, text="Done", state=ActionState.DONE, by=lead, version=finished.version)
    late.due_on = date.today() - timedelta(days=5)
    db.session.commit()

    assert ops.actions_owned_by(acting(users.manager)) == [late, later, finished]
    assert ops.overdue_actions_chaired_by(acting(users.council_commissioner)) == [late]
    assert ops.overdue_actions_chaired_by(lead) == []

    act_as(users.manager)
    page = client.get("/meeting-actions").text
    assert [row[0] for row in table_rows(page, "open-actions")[1:]] == ["Gone past", "Due later"]
    assert "Overdue" in table_rows(page, "open-actions")[1][4] and "Overdue" not in table_rows(page, "open-actions")[2][4]
    assert [row[0] for row in table_rows(page, "finished-actions")[1:]] == ["All done"]
    assert f'href="/meeting-actions/{later.id}"' in page
    assert "Overdue actions in meetings you chair" not in page

    act_as(users.council_commissioner)
    page = client.get("/meeting-actions").text
    assert "You have no actions to do." in page
    assert [row[:3] for row in table_rows(page, "overdue-actions")[1:]] == [
        ["Gone past", f"Quality meeting, {format_date(meeting.starts_at)}", users.manager.name]]
