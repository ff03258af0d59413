"""The ladder settings page: administrators set their partnership's stages, working days, roles,
the Board's mediation, the grace periods and the reminder; stages already running keep their
deadlines, stages started afterwards use the new settings."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.core.codes import Role
from portal.core.concurrency import CONFLICT_MESSAGE
from portal.escalations import operations as ops
from portal.escalations.ladder import DEFAULT_LADDER
from portal.escalations.models import LadderSettings
from portal.extensions import db
from tests.escalations.conftest import MONDAY, as_acting

SAVED = "The escalation ladder has been saved"


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def posted(**changes) -> dict:
    """The form as the page fills it in for the default ladder, with some answers changed."""
    data: dict = {"version": ""}
    for number, rule in enumerate(DEFAULT_LADDER.stages, start=1):
        data.update({
            f"stage{number}_name": rule.name, f"stage{number}_raising_side": rule.raising_side,
            f"stage{number}_receiving_side": rule.receiving_side, f"stage{number}_working_days": str(rule.working_days),
            f"stage{number}_roles": sorted(role.name for role in rule.roles),
        })
        if rule.board_mediates:
            data[f"stage{number}_board_mediates"] = "y"
    data.update(grace_working_days="2", imminent_grace_hours="2", reminder_working_days="1")
    data.update(changes)
    return data


def settings_of(area) -> LadderSettings | None:
    return db.session.scalar(sa.select(LadderSettings).where(LadderSettings.area_id == area.id))


@pytest.fixture
def admin(intel_world, act_as):
    act_as(intel_world.users.admin)
    return intel_world.users.admin


def test_only_administrators_set_the_ladder(intel_world, client, act_as):
    for name in ("lead", "council_commissioner", "manager", "staff", "inspector", "sab_member", "sab_chair"):
        act_as(getattr(intel_world.users, name))
        assert client.get("/escalations/ladder").status_code == 403, name
        assert client.post("/escalations/ladder", data=posted(grace_working_days="0")).status_code == 403, name
    assert settings_of(intel_world.area) is None
    act_as(intel_world.users.admin)
    home = client.get("/home").text
    assert 'href="/escalations/ladder"' in home  # in the administrator's navigation


def test_the_page_shows_the_ladder_in_force_and_that_running_stages_keep_their_deadlines(admin, client):
    page = client.get("/escalations/ladder")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "This partnership uses the portal's default ladder." in text
    assert "Escalations already at a stage keep the deadline and grace period worked out when that stage started" in text
    for number, rule in enumerate(DEFAULT_LADDER.stages, start=1):
        assert f'value="{rule.name}"' in text
        assert f'id="stage{number}_working_days" name="stage{number}_working_days" type="text" spellcheck="false" value="{rule.working_days}"' in text
    # Every role but the administrator's may be chosen for a stage.
    assert 'value="SAB_CHAIR"' in text and 'value="ADMINISTRATOR"' not in text
    assert 'name="stage4_board_mediates" type="checkbox" value="y" checked' in text
    assert 'name="stage3_board_mediates" type="checkbox" value="y" checked' not in text


def test_saving_the_ladder_stores_it_audited(admin, client, intel_world):
    response = client.post("/escalations/ladder", data=posted(
        stage1_name="Worker to worker", stage1_working_days="3", stage2_roles=["PROVIDER_MANAGER", "SAFEGUARDING_LEAD"],
        stage3_board_mediates="y", grace_working_days="4", imminent_grace_hours="6", reminder_working_days="2",
    ))
    assert response.status_code == 302 and response.headers["Location"].endswith("/escalations/ladder")

    settings = settings_of(intel_world.area)
    assert (settings.grace_working_days, settings.imminent_grace_hours, settings.reminder_working_days) == (4, 6, 2)
    assert settings.stages[0]["name"] == "Worker to worker" and settings.stages[0]["working_days"] == 3
    assert settings.stages[1]["roles"] == ["PROVIDER_MANAGER", "SAFEGUARDING_LEAD"]
    assert [stage["board_mediates"] for stage in settings.stages] == [False, False, True, True]
    assert settings.updated_by_id == admin.id
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "escalations.ladder.save"))
    assert event.actor_id == admin.id and event.object_id == str(settings.id)

    page = html.unescape(client.get("/escalations/ladder").text)
    assert SAVED in page and "by Ada Admin" in page and 'value="Worker to worker"' in page
    assert 'name="version" type="hidden" value="1"' in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"stage1_working_days": "0"}, "stage1_working_days",
         "Enter the working days to respond at stage 1 as a whole number from 1 to 30"),
        ({"stage2_working_days": "31"}, "stage2_working_days",
         "Enter the working days to respond at stage 2 as a whole number from 1 to 30"),
        ({"stage3_working_days": "five"}, "stage3_working_days",
         "Enter the working days to respond at stage 3 as a whole number from 1 to 30"),
        ({"stage4_working_days": ""}, "stage4_working_days",
         "Enter the working days to respond at stage 4 as a whole number from 1 to 30"),
        ({"grace_working_days": "21"}, "grace_working_days",
         "Enter the grace period as a whole number of working days from 0 to 20"),
        ({"grace_working_days": "-1"}, "grace_working_days",
         "Enter the grace period as a whole number of working days from 0 to 20"),
        ({"imminent_grace_hours": "0"}, "imminent_grace_hours",
         "Enter the grace period where harm is imminent as a whole number of hours from 1 to 24"),
        ({"imminent_grace_hours": "25"}, "imminent_grace_hours",
         "Enter the grace period where harm is imminent as a whole number of hours from 1 to 24"),
        ({"reminder_working_days": "11"}, "reminder_working_days",
         "Enter how many working days before the deadline the reminder goes, as a whole number from 0 to 10"),
        ({"stage2_roles": []}, "stage2_roles", "Choose at least one role that acts at stage 2"),
        ({"stage1_roles": ["ADMINISTRATOR", "PROVIDER_STAFF"]}, "stage1_roles",
         "Administrators take no part in escalations: choose other roles for stage 1"),
        ({"stage1_name": "   "}, "stage1_name", "Enter the name of stage 1"),
        ({"stage2_raising_side": ""}, "stage2_raising_side", "Say who answers for the agency that raised it at stage 2"),
        ({"stage3_receiving_side": "x" * 301}, "stage3_receiving_side",
         "Who answers for the other agency at stage 3 must be 300 characters or fewer"),
    ],
)
def test_bad_settings_are_refused_with_their_message_and_nothing_typed_is_lost(admin, client, intel_world, changes,
                                                                               field, message):
    data = posted(**changes)
    if "stage1_name" not in changes:
        data["stage1_name"] = "Typed but not saved"
    response = client.post("/escalations/ladder", data=data)
    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "There is a problem" in text and text.count(message) == 2  # in the summary and by the field
    assert f'<a href="#{field}">{message}</a>' in text
    if "stage1_name" not in changes:
        assert 'value="Typed but not saved"' in text
    typed = changes.get(field)
    if isinstance(typed, str) and typed.strip() and len(typed) < 50:
        assert f'value="{typed}"' in text
    assert settings_of(intel_world.area) is None


def test_every_problem_is_shown_at_once(admin, client):
    response = client.post("/escalations/ladder", data=posted(stage1_working_days="abc", grace_working_days="99",
                                                              stage4_roles=[]))
    summary = html.unescape(response.text).split('govuk-error-summary__list"')[1].split("</ul>")[0]
    assert summary.index("stage 1") < summary.index("stage 4") < summary.index("grace period")


def test_a_save_based_on_an_old_version_is_refused_and_keeps_what_was_typed(admin, client, intel_world):
    # Two administrators open the default ladder; the other one saves first.
    first = client.post("/escalations/ladder", data=posted(grace_working_days="3"))
    assert first.status_code == 302
    assert settings_of(intel_world.area).version == 1

    stale = client.post("/escalations/ladder", data=posted(stage1_name="My own wording", grace_working_days="5"))
    assert stale.status_code == 200
    text = html.unescape(stale.text)
    assert CONFLICT_MESSAGE in text
    assert 'value="My own wording"' in text and 'id="grace_working_days" name="grace_working_days" type="text" spellcheck="false" value="5"' in text
    assert settings_of(intel_world.area).grace_working_days == 3

    # Based on version 1, it saves; based on version 1 again (now 2), it is refused.
    assert client.post("/escalations/ladder", data=posted(version="1", grace_working_days="5")).status_code == 302
    assert CONFLICT_MESSAGE in html.unescape(client.post("/escalations/ladder", data=posted(version="1")).text)
    assert settings_of(intel_world.area).grace_working_days == 5


def test_new_stages_use_the_new_settings_and_running_ones_keep_their_deadlines(admin, client, intel_world, raise_about):
    before = raise_about(now=MONDAY)
    assert before.deadline_at == utc(2026, 11, 16, 17, 0)  # five working days

    response = client.post("/escalations/ladder", data=posted(
        stage1_working_days="2", stage2_working_days="10", grace_working_days="0"))
    assert response.status_code == 302

    after = raise_about(now=MONDAY)
    assert after.deadline_at == utc(2026, 11, 11, 17, 0)  # two working days
    assert after.auto_escalate_at == after.deadline_at  # no grace period now
    db.session.expire_all()
    assert (before.deadline_at, before.auto_escalate_at) == (utc(2026, 11, 16, 17, 0), utc(2026, 11, 18, 17, 0))
    assert before.current_stage.working_days == 5

    # The running escalation's next stage is a new stage: it uses the new settings.
    users = intel_world.users
    staff, raiser = as_acting(users.staff), as_acting(users.council_commissioner)
    tuesday = utc(2026, 11, 10, 10, 0)
    ops.acknowledge(before, by=staff, now=tuesday)
    ops.respond(before, "We will check.", by=staff, now=tuesday)
    ops.escalate(before, "Not enough.", by=raiser, now=tuesday)
    db.session.commit()
    assert before.current_stage.working_days == 10
    assert before.deadline_at == utc(2026, 11, 24, 17, 0)


def test_each_partnership_has_its_own_ladder(admin, client, intel_world, make_area, make_agency, make_user, act_as):
    elsewhere = make_area("Elsewhereshire")
    other_admin = make_user(Role.ADMINISTRATOR, agency=make_agency(area=elsewhere, name="Elsewhere Council"))
    act_as(other_admin)
    assert client.post("/escalations/ladder", data=posted(grace_working_days="7")).status_code == 302
    assert settings_of(elsewhere).grace_working_days == 7
    assert settings_of(intel_world.area) is None
    act_as(intel_world.users.admin)
    assert "This partnership uses the portal's default ladder." in html.unescape(client.get("/escalations/ladder").text)


def test_saving_through_the_operation_needs_an_administrator(intel_world):
    from portal.escalations.ladder_operations import details_from_ladder, save_ladder

    with pytest.raises(PermissionError):
        save_ladder(details_from_ladder(DEFAULT_LADDER), by=as_acting(intel_world.users.lead), version=None)
