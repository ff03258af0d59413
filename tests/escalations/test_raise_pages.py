"""Raising an escalation on its page: from a concern, a service, a provider, an overdue action, a
meeting's decision, or as a professional disagreement; the thing found only for those who may see
it (404 otherwise); every bad-input message on the page with nothing typed lost; and the deadline
shown once it is raised.

Time is frozen at ``MONDAY`` (09:30 on Monday 9 November 2026): five working days later is 5pm on
Monday 16 November; where harm is imminent, 5pm the same day.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from portal.core.codes import AbuseType, KeyQuestion
from portal.escalations.models import Escalation, EscalationState, EscalationSubject
from portal.escalations.operations import ADULT_NAME
from portal.extensions import db
from portal.meetings.models import ActionState, MeetingAction, MinuteEntry
from tests.escalations.conftest import MONDAY
from tests.intelligence.pages import text_of, visible_text

FIVE_WORKING_DAYS = "5pm on Monday 16 November 2026"
SAME_DAY = "5pm on Monday 9 November 2026"


def _form(to, *, disagreement="The provider's night staffing falls short of the agreed levels.",
          wanted="A staffing review within a month.", harm="no", **extra) -> dict:
    data = {"receiving_agency": str(to.id) if to is not None else "", "disagreement": disagreement, "wanted": wanted,
            "harm_imminent": harm}
    data.update(extra)
    return data


def _only_escalation() -> Escalation:
    return db.session.scalars(sa.select(Escalation)).one()


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Escalation.id)))


def _errors(page: str) -> list[str]:
    """The messages in the page's error summary."""
    found = re.search(r'<ul class="govuk-list govuk-error-summary__list">(.*?)</ul>', page, re.S)
    assert found, visible_text(page)[:1500]
    return [text_of(message) for message in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def _raise(client, url: str, data: dict):
    """Post the raise form; follow to the escalation's page."""
    response = client.post(url, data=data)
    assert response.status_code == 302, visible_text(response.text)[:1500]
    return client.get(response.headers["Location"])


@pytest.fixture
def overdue_action(make_meeting, intel_world):
    """An action from a provider quality meeting the council's commissioner organised, owned by
    Sunrise Care's manager and due the Monday before ``MONDAY``."""
    users = intel_world.users
    meeting = make_meeting(providers=[intel_world.sunrise], invite=[users.manager],
                           starts_at=datetime(2026, 10, 26, 10, 0, tzinfo=UTC))
    action = MeetingAction(
        meeting_id=meeting.id, agenda_item_id=meeting.agenda[0].id, description="Send the night staffing rotas",
        owner_id=users.manager.id, owner_agency_id=intel_world.sunrise.id, due_on=date(2026, 11, 2),
        created_by_id=users.council_commissioner.id,
    )
    db.session.add(action)
    db.session.commit()
    return action


@pytest.fixture
def decision_item(make_meeting, intel_world):
    """A provider quality meeting's item about Sunrise Care, with a recorded decision (the minutes
    are still a draft, so only their recorders read them)."""
    users = intel_world.users
    meeting = make_meeting(providers=[intel_world.sunrise], invite=[users.manager], title="Quality meeting",
                           starts_at=datetime(2026, 11, 2, 10, 0, tzinfo=UTC))
    item = meeting.agenda[0]
    db.session.add(MinuteEntry(agenda_item_id=item.id, discussion="Night staffing.",
                               decisions="No further monitoring visits this year.",
                               written_by_id=users.council_commissioner.id))
    db.session.commit()
    return item


def test_raising_about_a_concern_shows_its_reference_and_the_deadline(adult_concern, intel_world, client, act_as):
    users = intel_world.users
    url = f"/escalations/new?concern={adult_concern.id}"
    with time_machine.travel(MONDAY, tick=False):
        act_as(users.manager)
        page = client.get(url)
        assert page.status_code == 200
        text = visible_text(page.text)
        assert "Escalate a concern" in text and f"Concern {adult_concern.reference}" in text
        # Never the adult's details: the concern by its reference only.
        assert "Jo Example" not in page.text
        # The council is the usual agency for a concern; the concern's type of abuse is ticked.
        assert f'<option value="{intel_world.council.id}" selected' in page.text
        assert 'value="FINANCIAL" checked' in page.text
        # Key questions are about services, not concerns.
        assert 'name="key_questions"' not in page.text

        shown = _raise(client, url, _form(intel_world.council, abuse_types=["FINANCIAL", "NEGLECT"]))
        escalation = _only_escalation()
        assert (escalation.subject, escalation.concern_id, escalation.receiving_agency_id) == (
            EscalationSubject.CONCERN, adult_concern.id, intel_world.council.id)
        assert set(escalation.abuse_types) == {AbuseType.FINANCIAL, AbuseType.NEGLECT}
        text = visible_text(shown.text)
        assert f"Escalation {escalation.reference} has been raised. Intelshire Council has been told: they must respond by {FIVE_WORKING_DAYS}." in text
        assert f"Response due by {FIVE_WORKING_DAYS}" in text
        assert "Current stage Stage 1: Practitioner to practitioner" in text
        assert f"About Concern {adult_concern.reference}" in text
        assert f'href="/concerns/{adult_concern.id}"' in shown.text

        # The same address, for people who may not see the concern: 404, and nothing raised.
        for outsider in (users.sab_chair, users.icb_commissioner, users.other_manager):
            act_as(outsider)
            assert client.get(url).status_code == 404
            assert client.post(url, data=_form(intel_world.council)).status_code == 404
    assert _count() == 1


def test_raising_about_a_service_or_a_provider_asks_for_key_questions(intel_world, client, act_as):
    users = intel_world.users
    home, sunrise = intel_world.home, intel_world.sunrise
    with time_machine.travel(MONDAY, tick=False):
        act_as(users.council_commissioner)
        page = client.get(f"/escalations/new?service={home.id}")
        text = visible_text(page.text)
        assert "Escalate a service's quality" in text and "Sunrise House, Sunrise Care" in text
        assert f'<option value="{sunrise.id}" selected' in page.text
        # Only other agencies of the area, never one's own or the Board.
        assert f'<option value="{intel_world.council.id}"' not in page.text
        assert f'<option value="{intel_world.board.id}"' not in page.text
        shown = _raise(client, f"/escalations/new?service={home.id}",
                       _form(sunrise, key_questions=["SAFE", "WELL_LED"]))
        escalation = _only_escalation()
        assert (escalation.subject, escalation.service_id, escalation.provider_id) == (
            EscalationSubject.SERVICE, home.id, sunrise.id)
        assert escalation.key_questions == [KeyQuestion.SAFE, KeyQuestion.WELL_LED]
        text = visible_text(shown.text)
        assert "About Sunrise House, Sunrise Care" in text and "Key questions Safe, Well-led" in text
        assert f"Response due by {FIVE_WORKING_DAYS}" in text

        page = client.get(f"/escalations/new?provider={sunrise.id}")
        assert "Escalate a provider's quality" in visible_text(page.text)
        shown = _raise(client, f"/escalations/new?provider={sunrise.id}", _form(sunrise, key_questions=["CARING"]))
        assert "About Sunrise Care" in visible_text(shown.text)
        assert f'href="/providers/{sunrise.id}"' in shown.text

        # The ICB's commissioner neither commissions Sunrise House nor shares its intelligence;
        # provider staff see no intelligence at all.
        for outsider in (users.icb_commissioner, users.staff):
            act_as(outsider)
            assert client.get(f"/escalations/new?service={home.id}").status_code == 404
            assert client.get(f"/escalations/new?provider={sunrise.id}").status_code == 404
            assert client.post(f"/escalations/new?service={home.id}", data=_form(sunrise)).status_code == 404
    assert _count() == 2


def test_raising_about_an_overdue_action_and_refusing_one_not_overdue(overdue_action, intel_world, client, act_as):
    users = intel_world.users
    url = f"/escalations/new?action={overdue_action.id}"
    with time_machine.travel(MONDAY, tick=False):
        act_as(users.council_commissioner)
        page = client.get(url)
        text = visible_text(page.text)
        assert "Escalate an overdue action" in text and "Send the night staffing rotas" in text
        # The action's owner's agency is whom it is usually escalated to.
        assert f'<option value="{intel_world.sunrise.id}" selected' in page.text
        shown = _raise(client, url, _form(intel_world.sunrise))
        escalation = _only_escalation()
        assert (escalation.subject, escalation.meeting_action_id) == (EscalationSubject.MEETING_ACTION, overdue_action.id)
        assert f"Response due by {FIVE_WORKING_DAYS}" in visible_text(shown.text)
        assert f'href="/meeting-actions/{overdue_action.id}"' in shown.text

        act_as(users.icb_commissioner)
        assert client.get(url).status_code == 404

        # Done, or not yet due: the operation's message, what was typed kept, nothing raised.
        act_as(users.council_commissioner)
        for state, due_on in ((ActionState.DONE, date(2026, 11, 2)), (ActionState.OPEN, date(2026, 11, 9))):
            overdue_action.state, overdue_action.due_on = state, due_on
            db.session.commit()
            response = client.post(url, data=_form(intel_world.sunrise, wanted="The rotas by Friday."))
            assert response.status_code == 200
            assert "Only an unfinished action past its due date can be escalated" in _errors(response.text)
            assert "The rotas by Friday." in response.text
    assert _count() == 1


def test_raising_about_a_meeting_decision_needs_the_minutes_and_a_decision(decision_item, intel_world, client, act_as):
    users = intel_world.users
    url = f"/escalations/new?item={decision_item.id}"
    with time_machine.travel(MONDAY, tick=False):
        # The minutes are a draft: the manager was invited but does not read them yet.
        act_as(users.manager)
        assert client.get(url).status_code == 404
        act_as(users.icb_commissioner)
        assert client.get(url).status_code == 404

        act_as(users.council_commissioner)
        page = client.get(url)
        text = visible_text(page.text)
        assert "Escalate a meeting's decision" in text
        assert "Quality meeting, 2 November 2026: item 1, Sunrise Care" in text
        shown = _raise(client, url, _form(intel_world.sunrise))
        escalation = _only_escalation()
        assert (escalation.subject, escalation.agenda_item_id) == (EscalationSubject.MEETING_DECISION, decision_item.id)
        assert f"Response due by {FIVE_WORKING_DAYS}" in visible_text(shown.text)
        assert f'/meetings/{decision_item.meeting_id}/minutes#item-{decision_item.id}' in shown.text

        # An item without a recorded decision: the operation's message.
        decision_item.minute.decisions = "  "
        db.session.commit()
        response = client.post(url, data=_form(intel_world.sunrise))
        assert response.status_code == 200
        assert "No decision is recorded for this agenda item yet" in _errors(response.text)
    assert _count() == 1


def test_a_professional_disagreement_with_imminent_harm_is_due_the_same_day(intel_world, client, act_as):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        act_as(users.sab_member)
        page = client.get("/escalations/new")
        text = visible_text(page.text)
        assert "Raise a professional disagreement" in text
        assert "answered by 5pm the same working day" in text
        assert 'name="key_questions"' not in page.text
        shown = _raise(client, "/escalations/new", _form(intel_world.council, harm="yes"))
        escalation = _only_escalation()
        assert (escalation.subject, escalation.harm_imminent, escalation.raising_agency_id) == (
            EscalationSubject.DISAGREEMENT, True, intel_world.police.id)
        text = visible_text(shown.text)
        assert f"they must respond by {SAME_DAY}" in text and f"Response due by {SAME_DAY}" in text
        assert "Harm is imminent: every stage must be answered by 5pm the same working day" in text
        assert "About A decision of Intelshire Council: see what is disputed, below" in text


def test_every_bad_input_is_listed_on_the_page_and_nothing_typed_is_lost(adult_concern, intel_world, client, act_as):
    users = intel_world.users
    url = f"/escalations/new?concern={adult_concern.id}"
    with time_machine.travel(MONDAY, tick=False):
        act_as(users.manager)
        response = client.post(url, data={"receiving_agency": "", "disagreement": "  ", "wanted": ""})
        assert response.status_code == 200
        assert _errors(response.text) == [
            "Choose the agency you are escalating to", "Say what you disagree with", "Say what you want to happen",
            "Say whether harm is imminent",
        ]

        # The escalating agency's own: refused with its message.
        response = client.post(url, data=_form(intel_world.sunrise, wanted="A second look at the triage."))
        assert "Choose another agency in your area, not your own" in _errors(response.text)
        assert "A second look at the triage." in response.text

        # The adult's name, in full or in part, in what others will read.
        response = client.post(url, data=_form(intel_world.council, disagreement="Jo was not visited after the theft.",
                                               wanted="A visit to Example this week."))
        assert _errors(response.text) == [ADULT_NAME, ADULT_NAME]
        assert "Jo was not visited after the theft." in response.text

        # Too long: the form says so before the operation is asked.
        response = client.post(url, data=_form(intel_world.council, disagreement="x" * 5001))
        assert "What you disagree with must be 5,000 characters or fewer" in _errors(response.text)
        # Someone else's area, or no agency at all: the same message as one's own.
        response = client.post(url, data=_form(None, receiving_agency="2147483647"))
        assert "Choose the agency you are escalating to" in _errors(response.text)
    assert _count() == 0


def test_the_address_names_one_thing_at_most_and_administrators_raise_nothing(adult_concern, intel_world, client, act_as):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        act_as(users.lead)
        for query in (f"?concern={adult_concern.id}&service={intel_world.home.id}", "?concern=abc", "?service=0",
                      "?provider=99999999999", "?item=424242", "?action=424242"):
            assert client.get(f"/escalations/new{query}").status_code == 404, query
        act_as(users.admin)
        assert client.get("/escalations/new").status_code == 403
        assert client.post("/escalations/new", data=_form(intel_world.sunrise)).status_code == 403
    assert _count() == 0


def test_a_raised_escalation_starts_open_at_stage_one(intel_world, client, act_as):
    with time_machine.travel(MONDAY, tick=False):
        act_as(intel_world.users.council_commissioner)
        shown = _raise(client, f"/escalations/new?service={intel_world.home.id}", _form(intel_world.sunrise))
    escalation = _only_escalation()
    assert (escalation.state, escalation.stage) == (EscalationState.OPEN, 1)
    text = visible_text(shown.text)
    assert "Raised by Cora Council, Intelshire Council, 9 November 2026 at 9:30am" in text
    assert "Escalated to Sunrise Care" in text
