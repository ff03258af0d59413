"""The records behind a profile, made through their pages: items, inspections, contract-monitoring
visits with their improvement plans, and the quality standards visits are scored on."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.core.codes import DataCategory, KeyQuestion, Rating
from portal.core.concurrency import CONFLICT_MESSAGE
from portal.extensions import db
from portal.intelligence import operations as intel
from portal.intelligence.models import (
    ActionStatus,
    Inspection,
    IntelligenceItem,
    MonitoringVisit,
    QualityScore,
    QualityStandard,
    RiskSignal,
    SourceType,
)
from tests.intelligence.pages import visible_text


def _day(field: str, day: date) -> dict:
    return {field: [str(day.day), str(day.month), str(day.year)]}


def _item_form(**overrides) -> dict:
    data = {
        **_day("occurred_on", date.today() - timedelta(days=2)), "source": "WHISTLEBLOWING", "key_questions": ["SAFE", "WELL_LED"],
        "severity": "HIGH", "summary": "Night staff asleep on shift", "confidential": "usual", "sharing_category": "PROVIDER_INTELLIGENCE",
    }
    data.update(overrides)
    return data


def _items(service):
    return db.session.scalars(sa.select(IntelligenceItem).where(IntelligenceItem.service_id == service.id)).all()


# Items ------------------------------------------------------------------------------------------


def test_whistleblowing_is_confidential_unless_chosen_otherwise_and_the_page_says_why(intel_world, client, act_as):
    act_as(intel_world.users.council_commissioner)
    page = client.get(f"/services/{intel_world.home.id}/items/new").text
    assert "the provider never sees it, nor who raised it" in page
    assert "Inspection" not in visible_text(page.split('name="source"', 1)[1].split("</fieldset>")[0])
    response = client.post(f"/services/{intel_world.home.id}/items/new", data=_item_form())
    assert response.status_code == 302
    [item] = _items(intel_world.home)
    assert item.confidential and item.source is SourceType.WHISTLEBLOWING
    assert set(item.key_questions) == {KeyQuestion.SAFE, KeyQuestion.WELL_LED}
    assert item.supplied_by_id == intel_world.council.id and item.recorded_by_id == intel_world.users.council_commissioner.id
    client.post(f"/services/{intel_world.home.id}/items/new", data=_item_form(source="COMPLAINT", summary="A complaint"))
    client.post(f"/services/{intel_world.home.id}/items/new", data=_item_form(confidential="no", summary="Shared openly"))
    found = {item.summary: item.confidential for item in _items(intel_world.home)}
    assert found == {"Night staff asleep on shift": True, "A complaint": False, "Shared openly": False}


def test_an_item_updates_the_services_signal(intel_world, client, act_as):
    act_as(intel_world.users.inspector)
    client.post(f"/services/{intel_world.home.id}/items/new", data=_item_form(source="INCIDENT", severity="SERIOUS"))
    signal = db.session.scalar(sa.select(RiskSignal).where(RiskSignal.service_id == intel_world.home.id, RiskSignal.includes_confidential.is_(False)))
    assert signal is not None and signal.score > 0


def test_a_bad_item_lists_every_problem_and_keeps_what_was_typed(intel_world, client, act_as):
    act_as(intel_world.users.lead)
    response = client.post(f"/services/{intel_world.home.id}/items/new", data={
        **_day("occurred_on", date.today() + timedelta(days=3)), "source": "INSPECTION", "summary": "Kept words", "confidential": "usual",
        "sharing_category": "PROVIDER_INTELLIGENCE",
    })
    assert response.status_code == 200
    text = response.text
    assert "There is a problem" in text
    for message in ("The date must be today or in the past", "Select one of the options", "Select at least one key question it bears on",
                    "Select how serious it is"):
        assert message in text
    assert "Kept words" in text
    assert _items(intel_world.home) == []


@pytest.mark.parametrize(("who", "status"), [
    ("council_commissioner", 200), ("inspector", 200), ("lead", 200), ("icb_commissioner", 404),
    ("manager", 403), ("sab_member", 403), ("sab_chair", 403), ("staff", 404), ("admin", 404),
])
def test_who_may_add_an_item(intel_world, client, act_as, who, status):
    act_as(getattr(intel_world.users, who))
    assert client.get(f"/services/{intel_world.home.id}/items/new").status_code == status
    if status != 200:
        assert client.post(f"/services/{intel_world.home.id}/items/new", data=_item_form()).status_code == status
        assert _items(intel_world.home) == []


def test_changing_an_item_detects_a_concurrent_edit(intel_world, add_item, client, act_as):
    item = add_item(summary="First words", by=intel_world.users.lead)
    act_as(intel_world.users.lead)
    form = _item_form(source="COMPLAINT", summary="Second words", version=str(item.version))
    assert client.post(f"/items/{item.id}/edit", data=form).status_code == 302
    db.session.refresh(item)
    assert item.summary == "Second words"
    stale = client.post(f"/items/{item.id}/edit", data={**form, "summary": "Third words"})
    assert stale.status_code == 200 and CONFLICT_MESSAGE.split(",")[0] in stale.text and "Third words" in stale.text
    db.session.refresh(item)
    assert item.summary == "Second words"


def test_removing_an_item_needs_a_reason_and_takes_it_off_the_timeline(intel_world, add_item, client, act_as):
    item = add_item(summary="Recorded against the wrong home")
    act_as(intel_world.users.council_commissioner)
    refused = client.post(f"/items/{item.id}/remove", data={"reason": " ", "version": str(item.version)})
    assert "Enter why the item is being removed" in refused.text
    assert client.post(f"/items/{item.id}/remove", data={"reason": "Wrong home", "version": str(item.version)}).status_code == 302
    db.session.refresh(item)
    assert item.is_deleted and item.deleted_reason == "Wrong home"
    assert "Recorded against the wrong home" not in client.get(f"/services/{intel_world.home.id}").text
    assert client.get(f"/items/{item.id}/edit").status_code == 404


def test_items_from_other_records_cannot_be_changed_here(intel_world, client, act_as):
    intel.record_inspection(intel_world.home, intel.InspectionDetails(
        published_on=date.today(), overall=Rating.GOOD, ratings={}), by=None, supplied_by=None)
    db.session.commit()
    item = db.session.scalar(sa.select(IntelligenceItem).where(IntelligenceItem.source == SourceType.INSPECTION))
    act_as(intel_world.users.lead)
    assert client.get(f"/items/{item.id}/edit").status_code == 403
    assert client.get(f"/items/{item.id}/remove").status_code == 403


def test_confidential_and_personal_items_are_not_found_by_those_who_may_not_see_them(intel_world, add_item, client, act_as):
    secret = add_item(source=SourceType.WHISTLEBLOWING)
    act_as(intel_world.users.manager)
    assert client.get(f"/items/{secret.id}/edit").status_code == 404
    act_as(intel_world.users.inspector)
    client.post(f"/services/{intel_world.home.id}/items/new", data=_item_form(
        source="COMPLAINT", sharing_category=DataCategory.PERSONAL_SAFEGUARDING.name, summary="About one resident"))
    personal = db.session.scalar(sa.select(IntelligenceItem).where(IntelligenceItem.summary == "About one resident"))
    assert personal.sharing_category is DataCategory.PERSONAL_SAFEGUARDING
    # The regulator has no agreement with the council to share personal safeguarding data.
    assert "About one resident" not in client.get(f"/services/{intel_world.home.id}").text
    act_as(intel_world.users.lead)
    assert "About one resident" in client.get(f"/services/{intel_world.home.id}").text


# Inspections ------------------------------------------------------------------------------------


def _inspection_form(published_on: date, overall="GOOD", **ratings) -> dict:
    data = {**_day("published_on", published_on), "overall": overall}
    for question in ("safe", "effective", "caring", "responsive", "well_led"):
        data[question] = ratings.get(question, overall)
    return data


def test_inspector_records_ratings_and_the_history_is_kept(intel_world, client, act_as):
    act_as(intel_world.users.inspector)
    url = f"/services/{intel_world.home.id}/inspections/new"
    assert client.post(url, data=_inspection_form(date.today() - timedelta(days=400))).status_code == 302
    assert client.post(url, data=_inspection_form(date.today() - timedelta(days=5), "INADEQUATE", caring="GOOD")).status_code == 302
    again = client.post(url, data=_inspection_form(date.today() - timedelta(days=5), "INADEQUATE", caring="GOOD"))
    assert "already recorded" in again.text
    history = db.session.scalars(sa.select(Inspection).where(Inspection.service_id == intel_world.home.id).order_by(Inspection.published_on)).all()
    assert [(i.overall, i.caring) for i in history] == [(Rating.GOOD, Rating.GOOD), (Rating.INADEQUATE, Rating.GOOD)]
    assert "Down: was Good" in visible_text(client.get(f"/services/{intel_world.home.id}").text)


def test_bad_inspection_input_is_explained(intel_world, client, act_as):
    act_as(intel_world.users.inspector)
    url = f"/services/{intel_world.home.id}/inspections/new"
    empty = client.post(url, data={**_day("published_on", date.today()), "overall": "", "safe": "", "effective": "", "caring": "",
                                   "responsive": "", "well_led": ""})
    assert "Enter at least one rating" in empty.text
    wrong = client.post(url, data={**_inspection_form(date.today()), "overall": "Brilliant", "url": "not a link"})
    assert "Select one of the options" in wrong.text and "Enter a web address" in wrong.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inspection)) == 0


@pytest.mark.parametrize(("who", "status"), [
    ("inspector", 200), ("council_commissioner", 403), ("lead", 403), ("manager", 403), ("icb_commissioner", 404), ("staff", 404),
])
def test_only_inspectors_record_ratings_by_hand(intel_world, client, act_as, who, status):
    act_as(getattr(intel_world.users, who))
    assert client.get(f"/services/{intel_world.home.id}/inspections/new").status_code == status


# Contract-monitoring visits and their improvement plans -----------------------------------------


def _visit_form(standards, **overrides) -> dict:
    data = {
        **_day("visited_on", date.today() - timedelta(days=1)), "officer_name": "Olu Officer", "findings": "Medication records incomplete",
        f"score_{standards[0].id}": "POOR", f"score_{standards[1].id}": "GOOD",
        "action1_description": "Audit medication records weekly", "action1_owner": "Registered manager",
        **_day("action1_due_on", date.today() + timedelta(days=28)),
    }
    data.update(overrides)
    return data


def test_a_visit_is_recorded_with_scores_and_a_plan_the_provider_answers_and_the_commissioner_completes(intel_world, client, act_as):
    users = intel_world.users
    standards = intel.ensure_default_standards(intel_world.area.id)
    db.session.commit()
    act_as(users.council_commissioner)
    response = client.post(f"/services/{intel_world.home.id}/visits/new", data=_visit_form(standards))
    assert response.status_code == 302
    visit = db.session.scalar(sa.select(MonitoringVisit))
    assert {score.standard_id: score.score for score in visit.scores} == {standards[0].id: QualityScore.POOR, standards[1].id: QualityScore.GOOD}
    [action] = visit.actions
    page = visible_text(client.get(response.headers["Location"]).text)
    assert "Safe care and treatment" in page and "Poor" in page and "Medication records incomplete" in page
    assert "Not answered yet" in page
    assert "Contract-monitoring visit by Olu Officer" in client.get(f"/services/{intel_world.home.id}").text

    act_as(users.manager)
    assert client.post(f"/actions/{action.id}/complete", data={"version": action.version}).status_code == 403
    answered = client.post(f"/actions/{action.id}/respond", data={"response": "Weekly audit started", "version": str(action.version)})
    assert answered.status_code == 302
    db.session.refresh(action)
    assert action.status is ActionStatus.RESPONDED and action.responded_by_id == users.manager.id
    assert "Weekly audit started" in client.get(f"/visits/{visit.id}").text

    act_as(users.council_commissioner)
    assert client.get(f"/actions/{action.id}/respond").status_code == 403
    assert "Complete action 1" in client.get(f"/visits/{visit.id}").text
    assert client.post(f"/actions/{action.id}/complete", data={"version": str(action.version)}).status_code == 302
    db.session.refresh(action)
    assert action.status is ActionStatus.COMPLETED
    added = client.post(f"/visits/{visit.id}/actions/new", data={
        "description": "Refresher training", "owner": "Deputy manager", **_day("due_on", date.today() + timedelta(days=60))})
    assert added.status_code == 302 and len(visit.actions) == 2


def test_an_action_cannot_be_completed_before_the_provider_answers(intel_world, client, act_as):
    standards = intel.ensure_default_standards(intel_world.area.id)
    act_as(intel_world.users.council_commissioner)
    visit = intel.record_visit(intel_world.home, intel.VisitDetails(
        visited_on=date.today(), officer_name="Olu", findings="", scores={standards[0].id: QualityScore.GOOD},
        actions=[intel.ActionDetails("Fix the rota", "Manager", date.today() + timedelta(days=7))]),
        commissioner=intel_world.council, by=intel_world.users.council_commissioner)
    db.session.commit()
    action = visit.actions[0]
    response = client.post(f"/actions/{action.id}/complete", data={"version": str(action.version)}, follow_redirects=True)
    assert "once the provider has responded" in response.text
    db.session.refresh(action)
    assert action.status is ActionStatus.OPEN


def test_a_bad_visit_lists_every_problem_and_keeps_the_scores(intel_world, client, act_as):
    standards = intel.ensure_default_standards(intel_world.area.id)
    db.session.commit()
    act_as(intel_world.users.council_commissioner)
    response = client.post(f"/services/{intel_world.home.id}/visits/new", data=_visit_form(
        standards, officer_name="", action1_owner="", action1_due_on=["", "", ""],
    ))
    assert response.status_code == 200
    text = visible_text(response.text)
    for message in ("Enter the visiting officer's name", "Enter who owns the action", "Enter the due date"):
        assert message in text
    kept = re.search(rf'<input[^>]*name="score_{standards[0].id}"[^>]*value="POOR"[^>]*>', response.text)
    assert kept and "checked" in kept.group(0)
    nothing = client.post(f"/services/{intel_world.home.id}/visits/new", data={
        **_day("visited_on", date.today()), "officer_name": "Olu"})
    assert "Score at least one standard" in nothing.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MonitoringVisit)) == 0


@pytest.mark.parametrize(("who", "new_visit", "visit", "respond", "new_action"), [
    ("council_commissioner", 200, 200, 403, 200),
    ("icb_commissioner", 404, 404, 404, 404),
    ("inspector", 403, 200, 403, 403),
    ("lead", 403, 200, 403, 403),
    ("manager", 403, 200, 200, 403),
    ("other_manager", 404, 404, 404, 404),
    ("staff", 404, 404, 404, 404),
    ("sab_member", 403, 200, 403, 403),
])
def test_who_may_record_read_and_answer_visits(intel_world, client, act_as, who, new_visit, visit, respond, new_action):
    standards = intel.ensure_default_standards(intel_world.area.id)
    recorded = intel.record_visit(intel_world.home, intel.VisitDetails(
        visited_on=date.today(), officer_name="Olu", findings="", scores={standards[0].id: QualityScore.POOR},
        actions=[intel.ActionDetails("Fix the rota", "Manager", date.today() + timedelta(days=7))]),
        commissioner=intel_world.council, by=intel_world.users.council_commissioner)
    db.session.commit()
    act_as(getattr(intel_world.users, who))
    assert client.get(f"/services/{intel_world.home.id}/visits/new").status_code == new_visit
    assert client.get(f"/visits/{recorded.id}").status_code == visit
    assert client.get(f"/actions/{recorded.actions[0].id}/respond").status_code == respond
    assert client.get(f"/visits/{recorded.id}/actions/new").status_code == new_action


# Quality standards ------------------------------------------------------------------------------


def test_administrator_adds_rewords_retires_and_restores_standards(intel_world, client, act_as):
    users = intel_world.users
    act_as(users.admin)
    page = client.get("/admin/quality-standards").text
    assert "S4" in page and "Medicines are managed safely" in page and "Leadership and governance" in page
    standards = intel.standards_for(intel_world.area.id)
    safe_area = standards[0].quality_area

    added = client.post("/admin/quality-standards", data={"add-quality_area": str(safe_area.id), "add-code": "s5", "add-name": "Infection control"})
    assert added.status_code == 302
    duplicate = client.post("/admin/quality-standards", data={"add-quality_area": str(safe_area.id), "add-code": "S5", "add-name": "Again"})
    assert "There is already a standard with the code S5" in duplicate.text
    new = db.session.scalar(sa.select(QualityStandard).where(QualityStandard.code == "S5"))
    assert new.quality_area_id == safe_area.id and new.active

    reworded = client.post("/admin/quality-standards", data={"rename": str(new.id), "rename-name": "Infection is prevented and controlled"})
    assert reworded.status_code == 302
    assert client.post("/admin/quality-standards", data={"rename": str(new.id), "rename-name": ""}).status_code == 200

    # A visit scored S4 keeps it after S4 is retired; new visits no longer offer it.
    s4 = next(standard for standard in standards if standard.code == "S4")
    visit = intel.record_visit(intel_world.home, intel.VisitDetails(
        visited_on=date.today(), officer_name="Olu", findings="", scores={s4.id: QualityScore.POOR}, actions=[]),
        commissioner=intel_world.council, by=users.council_commissioner)
    db.session.commit()
    assert client.post("/admin/quality-standards", data={"standard_id": str(s4.id), "change": "retire"}).status_code == 302
    db.session.refresh(s4)
    assert not s4.active
    act_as(users.council_commissioner)
    form = client.get(f"/services/{intel_world.home.id}/visits/new").text
    assert "Medicines are managed safely" not in form and "Infection is prevented and controlled" in form
    assert "Medicines are managed safely (since retired)" in client.get(f"/visits/{visit.id}").text
    act_as(users.admin)
    client.post("/admin/quality-standards", data={"standard_id": str(s4.id), "change": "restore"})
    db.session.refresh(s4)
    assert s4.active


def test_standards_of_another_area_cannot_be_touched(intel_world, make_area, make_agency, make_user, client, act_as):
    from portal.core.codes import AgencyKind, Role

    elsewhere = make_area("Otherland")
    admin = make_user(Role.ADMINISTRATOR, agency=make_agency(AgencyKind.LOCAL_AUTHORITY, area=elsewhere), email="admin@other.example")
    theirs = intel.ensure_default_standards(intel_world.area.id)[0]
    db.session.commit()
    act_as(admin)
    assert client.post("/admin/quality-standards", data={"standard_id": str(theirs.id), "change": "retire"}).status_code == 404
    assert client.get(f"/admin/quality-standards?rename={theirs.id}").status_code == 404
    db.session.refresh(theirs)
    assert theirs.active


@pytest.mark.parametrize("who", ["council_commissioner", "lead", "inspector", "manager", "sab_chair"])
def test_only_administrators_configure_standards(intel_world, client, act_as, who):
    act_as(getattr(intel_world.users, who))
    assert client.get("/admin/quality-standards").status_code == 403
    assert client.post("/admin/quality-standards", data={"add-code": "X1", "add-name": "X"}).status_code == 403
