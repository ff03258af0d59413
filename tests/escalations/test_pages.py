"""One escalation's page and its moves, the list of escalations, and the escalations shown on the
pages of what they are about.

Each move is made on its page by the side that may make it, and shows on the timeline with who and
when; the other side gets 403, people who may not see the escalation 404; the state machine's
refusals (escalating a closed escalation, resolving without an outcome, a stale page) show on the
page. The adult's view is shown to those who may see the adult's details and audited, never shown
to the Board. Time is frozen from ``MONDAY`` (09:30 on Monday 9 November 2026).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.audit.models import AuditEvent
from portal.core.concurrency import CONFLICT_MESSAGE
from portal.escalations import operations as ops
from portal.escalations.models import Escalation, EscalationState, EscalationSubject, ViewGivenBy
from portal.extensions import db
from portal.meetings.models import MeetingAction, MinuteEntry
from tests.escalations.conftest import MONDAY, as_acting
from tests.intelligence.pages import table_rows, text_of, visible_text


def _at(days: int = 0, hours: int = 0) -> datetime:
    return MONDAY + timedelta(days=days, hours=hours)


def _errors(page: str) -> list[str]:
    """The messages in the page's error summary."""
    found = re.search(r'<ul class="govuk-list govuk-error-summary__list">(.*?)</ul>', page, re.S)
    assert found, visible_text(page)[:1500]
    return [text_of(message) for message in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]


def _move(client, escalation, move: str, **data):
    """Post a move's form with the version the page would carry; follow a redirect."""
    db.session.refresh(escalation)
    response = client.post(f"/escalations/{escalation.id}/{move}", data={"version": str(escalation.version), **data})
    if response.status_code == 302:
        assert response.headers["Location"].endswith(f"/escalations/{escalation.id}")
        return client.get(response.headers["Location"])
    return response


def _timeline(page: str) -> list[list[str]]:
    return table_rows(page, "timeline-table")[1:]


def _summary(page: str) -> str:
    start = page.index('id="summary"')
    return text_of(page[start:page.index("</dl>", start)])


def _refreshed(escalation) -> Escalation:
    return db.session.scalars(
        sa.select(Escalation).where(Escalation.id == escalation.id).execution_options(populate_existing=True)
    ).one()


# The moves -------------------------------------------------------------------------------------


def test_each_move_is_made_on_its_page_by_its_side_and_lands_on_the_timeline(raise_about, intel_world, client, act_as):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        escalation = raise_about()
        act_as(users.staff)
        page = client.get(f"/escalations/{escalation.id}").text
        assert 'action="/escalations/%d/acknowledge"' % escalation.id in page
        shown = _move(client, escalation, "acknowledge")
        assert "You have acknowledged the escalation" in visible_text(shown.text)

    with time_machine.travel(_at(hours=1), tick=False):
        act_as(users.manager)
        form = client.get(f"/escalations/{escalation.id}/respond")
        assert form.status_code == 200 and "Respond to the escalation" in form.text
        shown = _move(client, escalation, "respond", response="We have added a second night carer from Monday.")
        assert "Your response has been sent" in visible_text(shown.text)
        assert "Responded at this stage" in _summary(shown.text)

    with time_machine.travel(_at(days=1), tick=False):
        act_as(users.council_commissioner)
        page = client.get(f"/escalations/{escalation.id}/escalate").text
        # Which stage it goes to, and who answers there.
        assert "It goes to stage 2: First-line managers" in visible_text(page)
        assert "a first-line manager in the other agency (Mo Manager)" in visible_text(page)
        shown = _move(client, escalation, "escalate", reason="One carer for thirty residents is still too few.")
        assert "Current stage Stage 2: First-line managers" in _summary(shown.text)
        assert "Response due by 5pm on Tuesday 17 November 2026" in _summary(shown.text)
        # The provider's staff acted at the first stage; managers answer at the second.
        act_as(users.staff)
        assert client.get(f"/escalations/{escalation.id}/respond").status_code == 403
        act_as(users.manager)
        _move(client, escalation, "acknowledge")
        _move(client, escalation, "respond", response="A third carer joins the night shift from December.")

    with time_machine.travel(_at(days=2), tick=False):
        act_as(users.council_commissioner)
        # Resolving without an outcome: the page says so, and keeps the learning typed.
        response = _move(client, escalation, "resolve", outcome=" ", learning="Agree staffing ratios in the contract.")
        assert response.status_code == 200
        assert _errors(response.text) == ["Enter the outcome both agencies agreed"]
        assert "Agree staffing ratios in the contract." in response.text
        assert _refreshed(escalation).state is EscalationState.RESPONDED
        shown = _move(client, escalation, "resolve", outcome="Three night carers from December.",
                      learning="Agree staffing ratios in the contract.")
        text = visible_text(shown.text)
        assert "Outcome What both agencies agreed Three night carers from December." in text
        assert "Learning Agree staffing ratios in the contract." in text
        # Escalating a closed escalation: the state machine's message, the reason kept.
        response = _move(client, escalation, "escalate", reason="Another try.")
        assert response.status_code == 200
        assert _errors(response.text) == ["This escalation is resolved, so it can no longer change"]
        assert "Another try." in response.text
        assert client.get(f"/escalations/{escalation.id}/withdraw").status_code == 200

    assert _timeline(shown.text) == [
        ["9 November 2026 at 9:30am", "Raised (stage 1)", "Cora Council, Intelshire Council",
         "The provider's falls policy is not being followed at night."],
        ["9 November 2026 at 9:30am", "Acknowledged (stage 1)", "Sid Staff, Sunrise Care", ""],
        ["9 November 2026 at 10:30am", "Responded (stage 1)", "Mo Manager, Sunrise Care",
         "We have added a second night carer from Monday."],
        ["10 November 2026 at 9:30am", "Escalated to the next stage (stage 1)", "Cora Council, Intelshire Council",
         "One carer for thirty residents is still too few."],
        ["10 November 2026 at 9:30am", "Acknowledged (stage 2)", "Mo Manager, Sunrise Care", ""],
        ["10 November 2026 at 9:30am", "Responded (stage 2)", "Mo Manager, Sunrise Care",
         "A third carer joins the night shift from December."],
        ["11 November 2026 at 9:30am", "Resolved (stage 2)", "Cora Council, Intelshire Council",
         "Outcome: Three night carers from December. Learning: Agree staffing ratios in the contract."],
    ]
    escalation = _refreshed(escalation)
    assert (escalation.state, escalation.stage) == (EscalationState.RESOLVED, 2)
    # The ladder: how each stage reached ended.
    ladder = visible_text(shown.text).split("The ladder", 1)[1]
    assert "Stage 1: Practitioner to practitioner" in ladder and "Ended Escalated to the next stage" in ladder
    assert "Acknowledged Sid Staff, 9 November 2026 at 9:30am" in ladder
    assert "Response Mo Manager, 9 November 2026 at 10:30am: We have added a second night carer from Monday." in ladder
    assert "Stage 3: Senior managers or designated safeguarding leads Not reached" in ladder


def test_the_wrong_side_gets_403_and_people_who_may_not_see_it_404(raise_about, intel_world, client, act_as):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        escalation = raise_about()
        url = f"/escalations/{escalation.id}"
        # The raiser does not answer their own escalation.
        act_as(users.council_commissioner)
        assert client.post(f"{url}/acknowledge").status_code == 403
        assert client.get(f"{url}/respond").status_code == 403
        assert client.post(f"{url}/respond", data={"response": "Fine."}).status_code == 403
        # The receiving side does not take it further nor withdraw it.
        act_as(users.manager)
        for move in ("escalate", "withdraw"):
            assert client.get(f"{url}/{move}").status_code == 403
            assert client.post(f"{url}/{move}", data={"reason": "No."}).status_code == 403
        # The Board sees it and mediates only at the last stage; it makes no move.
        for board in (users.sab_chair, users.sab_member):
            act_as(board)
            assert client.get(url).status_code == 200
            for move in ("respond", "resolve", "escalate", "withdraw", "mediation-note", "adult-view"):
                assert client.get(f"{url}/{move}").status_code == 403, move
            assert client.post(f"{url}/acknowledge").status_code == 403
            assert 'id="moves"' not in client.get(url).text
        # Not a party to it: 404 whatever the move.
        for outsider in (users.icb_commissioner, users.lead, users.other_manager, users.inspector):
            act_as(outsider)
            for move in ("", "/respond", "/resolve", "/escalate", "/withdraw", "/adult-view", "/mediation-note"):
                assert client.get(f"{url}{move}").status_code == 404, (outsider.name, move)
            assert client.post(f"{url}/acknowledge").status_code == 404
        act_as(users.admin)
        assert client.get(url).status_code == 403
    escalation = _refreshed(escalation)
    assert escalation.state is EscalationState.OPEN and len(escalation.events) == 1


def test_a_move_the_state_does_not_allow_is_explained_on_its_page(raise_about, intel_world, client, act_as):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        escalation = raise_about()
        act_as(users.manager)
        page = client.get(f"/escalations/{escalation.id}/respond")
        assert _errors(page.text) == ["Acknowledge the escalation before responding to it"]
        act_as(users.council_commissioner)
        page = client.get(f"/escalations/{escalation.id}/escalate")
        assert _errors(page.text) == ["You can escalate once the other agency has responded, or when its deadline has passed"]
        # Only the moves allowed now are offered on the escalation's page.
        page = client.get(f"/escalations/{escalation.id}").text
        assert f"/escalations/{escalation.id}/withdraw" in page
        assert f"/escalations/{escalation.id}/escalate" not in page and f"/escalations/{escalation.id}/resolve" not in page
        # Acknowledging twice: the message on the escalation's page.
        act_as(users.staff)
        _move(client, escalation, "acknowledge")
        shown = _move(client, escalation, "acknowledge")
        assert "Only an open escalation can be acknowledged; this one is acknowledged" in visible_text(shown.text)


def test_withdrawing_needs_a_reason_and_closes_the_escalation(raise_about, intel_world, client, act_as):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        escalation = raise_about()
        act_as(users.council_commissioner)
        response = _move(client, escalation, "withdraw", reason="")
        assert _errors(response.text) == ["Say why you are withdrawing the escalation"]
    with time_machine.travel(_at(hours=2), tick=False):
        act_as(users.council_commissioner)
        shown = _move(client, escalation, "withdraw", reason="The provider has replaced the night manager.")
    text = visible_text(shown.text)
    assert "Withdrawn Withdrawn by Intelshire Council on 9 November 2026 at 11:30am" in text
    assert "The provider has replaced the night manager." in text
    assert _timeline(shown.text)[-1] == [
        "9 November 2026 at 11:30am", "Withdrawn (stage 1)", "Cora Council, Intelshire Council",
        "The provider has replaced the night manager."]
    assert 'id="moves"' not in shown.text


def test_a_stale_page_keeps_what_was_typed_and_says_why(raise_about, adult_concern, intel_world, client, act_as, acting):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        escalation = raise_about(by=users.manager, subject=EscalationSubject.CONCERN, concern=adult_concern,
                                 to=intel_world.council, key_questions=())
        ops.acknowledge(escalation, by=acting(users.lead))
        db.session.commit()
        opened_at = escalation.version
        # While the lead writes a response, the raiser records the adult's view.
        ops.record_adult_view(escalation, "I want it looked at again.", ViewGivenBy.ADULT, by=acting(users.manager))
        db.session.commit()
        act_as(users.lead)
        response = client.post(f"/escalations/{escalation.id}/respond",
                               data={"version": str(opened_at), "response": "We will look at the triage again."})
        assert response.status_code == 200
        assert _errors(response.text) == [CONFLICT_MESSAGE]
        assert "We will look at the triage again." in response.text
    assert _refreshed(escalation).state is EscalationState.ACKNOWLEDGED


# The deadline and the portal's own moves -------------------------------------------------------


def test_a_breached_deadline_shows_how_long_ago_and_when_it_moves_up_by_itself(raise_about, intel_world, client, act_as):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        escalation = raise_about()
        act_as(users.council_commissioner)
        page = client.get(f"/escalations/{escalation.id}").text
        assert "Deadline passed" not in page
        assert "At 5pm on Wednesday 18 November 2026, to stage 2, if there is no response" in _summary(page)

    # The deadline's own evening: passed today.
    with time_machine.travel(datetime(2026, 11, 16, 18, 0, tzinfo=UTC), tick=False):
        act_as(users.council_commissioner)
        assert "Deadline passed today:" in visible_text(client.get(f"/escalations/{escalation.id}").text)

    # Tuesday 17th: the deadline (5pm on Monday 16th) passed one working day ago.
    with time_machine.travel(datetime(2026, 11, 17, 10, 0, tzinfo=UTC), tick=False):
        act_as(users.council_commissioner)
        page = client.get(f"/escalations/{escalation.id}").text
        assert "Deadline passed 1 working day ago: Sunrise Care has not responded at stage 1." in visible_text(page)
        assert "The portal moves it to stage 2 at 5pm on Wednesday 18 November 2026" in visible_text(page)
        assert "Response due by 5pm on Monday 16 November 2026 Deadline passed 1 working day ago" in _summary(page)
        # The raiser may now take it further without waiting for a response.
        assert f"/escalations/{escalation.id}/escalate" in page

    moved = ops.escalate_overdue(now=datetime(2026, 11, 18, 17, 0, tzinfo=UTC))
    assert moved == 1
    with time_machine.travel(datetime(2026, 11, 19, 9, 0, tzinfo=UTC), tick=False):
        act_as(users.manager)
        page = client.get(f"/escalations/{escalation.id}").text
    assert _timeline(page)[-1] == [
        "18 November 2026 at 5:00pm", "Escalated by the portal (stage 1)", "The portal",
        "No response by the deadline (5pm on Monday 16 November 2026), and the grace period of 2 working days has passed",
    ]
    ladder = visible_text(page).split("The ladder", 1)[1]
    assert "Ended Escalated by the portal: no response in time, 18 November 2026 at 5:00pm" in ladder
    assert "Deadline met No: the deadline passed without a response" in ladder
    assert "Current stage Stage 2: First-line managers" in _summary(page)


def test_a_deadline_missed_on_a_friday_is_less_than_a_working_day_old_at_the_weekend(
    raise_about, intel_world, client, act_as,
):
    friday = datetime(2026, 11, 13, 10, 0, tzinfo=UTC)
    escalation = raise_about(harm_imminent=True, now=friday)
    with time_machine.travel(datetime(2026, 11, 15, 12, 0, tzinfo=UTC), tick=False):
        act_as(intel_world.users.manager)
        page = client.get(f"/escalations/{escalation.id}").text
    assert ("Response due by 5pm on Friday 13 November 2026 Deadline passed less than a working day ago"
            in _summary(page))


# The adult's view and the Board's mediation ----------------------------------------------------


def _audited_views() -> list[int]:
    return list(db.session.scalars(
        sa.select(AuditEvent.actor_id).where(AuditEvent.action == "escalation.adult_view.view").order_by(AuditEvent.id)
    ))


def test_the_adults_view_is_shown_to_the_lead_and_audited_and_never_to_the_board(
    raise_about, adult_concern, intel_world, client, act_as,
):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        escalation = raise_about(by=users.manager, subject=EscalationSubject.CONCERN, concern=adult_concern,
                                 to=intel_world.council, key_questions=())
        url = f"/escalations/{escalation.id}"
        act_as(users.lead)
        page = client.get(url).text
        assert "has not been recorded" in page and f"{url}/adult-view" in page
        response = client.post(f"{url}/adult-view", data={"view": "", "given_by": ""})
        assert _errors(response.text) == [
            "Enter the adult's view on the disagreement, in their words where you can", "Say whose view this is"]
        assert _audited_views() == []
        shown = _move(client, escalation, "adult-view", view="I want to stay at Sunrise House with my friends.",
                      given_by="ADVOCATE")
        text = visible_text(shown.text)
        assert "Their advocate's view, recorded by Lena Lead on 9 November 2026 at 9:30am" in text
        assert "I want to stay at Sunrise House with my friends." in text
        # The timeline says that a view was recorded, never what it is.
        assert _timeline(shown.text)[-1] == [
            "9 November 2026 at 9:30am", "The adult's view recorded (stage 1)", "Lena Lead, Intelshire Council",
            "Their advocate's view was recorded"]
        assert _audited_views() == [users.lead.id]

        for board in (users.sab_chair, users.sab_member):
            act_as(board)
            page = client.get(url)
            assert page.status_code == 200
            assert "stay at Sunrise House" not in page.text and 'id="adult-view"' not in page.text
            assert client.get(f"{url}/adult-view").status_code == 403
        assert _audited_views() == [users.lead.id]

        # The raiser's agency raised the concern, so its manager sees the adult's details and the view.
        act_as(users.manager)
        assert "stay at Sunrise House" in client.get(url).text
        assert _audited_views() == [users.lead.id, users.manager.id]


def _to_the_last_stage(escalation, users):
    """Answer and escalate each stage in turn, through the operations, to stage 4."""
    for day in range(3):
        at = _at(days=day + 1)
        ops.acknowledge(escalation, by=as_acting(users.manager), now=at)
        ops.respond(escalation, f"Response {day + 1}.", by=as_acting(users.manager), now=at)
        ops.escalate(escalation, f"Not settled {day + 1}.", by=as_acting(users.council_commissioner), now=at)
        db.session.commit()


def test_the_boards_chair_adds_mediation_notes_at_the_last_stage_only(raise_about, intel_world, client, act_as):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        escalation = raise_about()
    _to_the_last_stage(escalation, users)
    assert escalation.stage == 4
    url = f"/escalations/{escalation.id}"
    with time_machine.travel(_at(days=5), tick=False):
        act_as(users.sab_chair)
        page = client.get(url).text
        assert "The Board mediates; decisions stay with the agencies." in visible_text(page)
        response = client.post(f"{url}/mediation-note", data={"note": ""})
        assert _errors(response.text) == ["Enter the note"]
        shown = _move(client, escalation, "mediation-note", note="Both agencies to share rota data before the meeting.")
        assert _timeline(shown.text)[-1] == [
            "14 November 2026 at 9:30am", "Note from the Board's mediation (stage 4)", "Cas Chair, Intelshire Board",
            "Both agencies to share rota data before the meeting."]
        # The chair mediates but does not decide; a member of the Board does not mediate.
        assert client.get(f"{url}/resolve").status_code == 403
        act_as(users.sab_member)
        assert client.get(f"{url}/mediation-note").status_code == 403
        assert "Add a note from the mediation" not in client.get(url).text
        # The last stage cannot be escalated further.
        act_as(users.council_commissioner)
        assert _errors(client.get(f"{url}/escalate").text) == [
            "This is the last stage: it cannot be escalated further. Resolve it at the meeting of all parties"]
        assert f"{url}/escalate" not in client.get(url).text


def test_the_escalate_page_names_the_boards_chair_before_the_last_stage(raise_about, intel_world, client, act_as):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        escalation = raise_about()
    for day in range(2):
        at = _at(days=day + 1)
        ops.acknowledge(escalation, by=as_acting(users.manager), now=at)
        ops.respond(escalation, "No change.", by=as_acting(users.manager), now=at)
        ops.escalate(escalation, "Not settled.", by=as_acting(users.council_commissioner), now=at)
    ops.acknowledge(escalation, by=as_acting(users.manager), now=_at(days=3))
    ops.respond(escalation, "Still no change.", by=as_acting(users.manager), now=_at(days=3))
    db.session.commit()
    with time_machine.travel(_at(days=4), tick=False):
        act_as(users.council_commissioner)
        text = visible_text(client.get(f"/escalations/{escalation.id}/escalate").text)
    assert "It goes to stage 4: Meeting of all parties, with the Board's mediation" in text
    assert "At this stage the Board's chair (Cas Chair) mediates. The Board mediates; decisions stay with the agencies." in text
    assert "within 10 working days" in text


# The list --------------------------------------------------------------------------------------


def _rows(page: str, section: str) -> list[list[str]]:
    if f'<table class="govuk-table" id="{section}"' not in page:
        return []
    return table_rows(page, section)[1:]


def _references(page: str, section: str) -> list[str]:
    return [row[0] for row in _rows(page, section)]


@pytest.fixture
def four_escalations(raise_about, intel_world, acting):
    """From the council's commissioner: one open to Sunrise Care, one it has responded to, one
    withdrawn, and one to the ICB (which Sunrise Care's people never see)."""
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        waiting = raise_about()
        answered = raise_about(harm_imminent=True)
        ops.acknowledge(answered, by=acting(users.manager))
        ops.respond(answered, "We have put a waking night carer on.", by=acting(users.manager))
        withdrawn = raise_about()
        ops.withdraw(withdrawn, "Sorted out on the phone.", by=acting(users.council_commissioner))
        elsewhere = raise_about(subject=EscalationSubject.DISAGREEMENT, to=intel_world.icb, service=None, key_questions=())
        db.session.commit()
    return waiting, answered, withdrawn, elsewhere


def test_the_list_puts_what_waits_for_the_persons_side_first(four_escalations, intel_world, client, act_as):
    waiting, answered, withdrawn, elsewhere = four_escalations
    users = intel_world.users
    with time_machine.travel(_at(hours=1), tick=False):
        act_as(users.manager)
        page = client.get("/escalations").text
        assert _rows(page, "waiting") == [[
            waiting.reference, "A service's quality", "Intelshire Council to Sunrise Care", "1: Practitioner to practitioner",
            "Open", "5pm on Monday 16 November 2026"]]
        assert _rows(page, "open") == [[
            answered.reference, "A service's quality", "Intelshire Council to Sunrise Care", "1: Practitioner to practitioner",
            "Responded", "Responded: waiting for the raiser"]]
        assert _rows(page, "closed") == [[
            withdrawn.reference, "A service's quality", "Intelshire Council to Sunrise Care", "1: Practitioner to practitioner",
            "Withdrawn", "Withdrawn on 9 November 2026"]]
        assert elsewhere.reference not in page
        assert 'href="/escalations/new"' in page

        act_as(users.council_commissioner)
        page = client.get("/escalations").text
        assert _references(page, "waiting") == [answered.reference]
        assert _references(page, "open") == [waiting.reference, elsewhere.reference]
        assert _references(page, "closed") == [withdrawn.reference]

        # The Board sees every escalation in the area, and none waits for it.
        act_as(users.sab_chair)
        page = client.get("/escalations").text
        assert _references(page, "waiting") == []
        assert sorted(_references(page, "open")) == sorted([waiting.reference, answered.reference, elsewhere.reference])

        # Someone in the area who is party to none of them sees none.
        act_as(users.inspector)
        page = client.get("/escalations").text
        assert "ESC-" not in page

    # Past the deadline, unanswered: it waits for the raiser too, and says the deadline passed.
    with time_machine.travel(datetime(2026, 11, 17, 10, 0, tzinfo=UTC), tick=False):
        act_as(users.council_commissioner)
        page = client.get("/escalations").text
        # Soonest deadline first: the imminent one (answered), then the two due on the 16th.
        assert _references(page, "waiting") == [answered.reference, waiting.reference, elsewhere.reference]
        assert [row[-1] for row in _rows(page, "waiting")] == [
            "Responded: waiting for the raiser", "5pm on Monday 16 November 2026 Deadline passed",
            "5pm on Monday 16 November 2026 Deadline passed"]


@contextmanager
def _counting_statements():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def test_the_list_takes_the_same_few_queries_however_many_rows(four_escalations, raise_about, intel_world, client, act_as, acting):
    users = intel_world.users
    with time_machine.travel(_at(hours=1), tick=False):
        act_as(users.council_commissioner)
        # Once before each count, so both find what the process remembers while the data stands (the
        # identity providers' origins for the Content-Security-Policy) in the same state.
        client.get("/escalations")
        # Each request starts from what the database holds, as a request of its own session would.
        db.session.expire_all()
        with _counting_statements() as few:
            assert client.get("/escalations").status_code == 200
        for agency in (intel_world.police, intel_world.regulator, intel_world.moonlight):
            for _ in range(2):
                raise_about(subject=EscalationSubject.DISAGREEMENT, to=agency, service=None, key_questions=())
                closed = raise_about(subject=EscalationSubject.DISAGREEMENT, to=intel_world.icb, service=None,
                                     key_questions=())
                ops.withdraw(closed, "Not needed.", by=acting(users.council_commissioner))
        db.session.commit()
        act_as(users.council_commissioner)
        client.get("/escalations")  # as before the first count
        db.session.expire_all()
        with _counting_statements() as many:
            page = client.get("/escalations").text
    assert len(_references(page, "open")) == 8 and len(_references(page, "closed")) == 7
    assert len(many) == len(few)


# On the pages of what they are about -----------------------------------------------------------


def test_a_concerns_page_lists_only_the_escalations_the_reader_may_open(raise_about, adult_concern, intel_world, client, act_as):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        escalation = raise_about(by=users.manager, subject=EscalationSubject.CONCERN, concern=adult_concern,
                                 to=intel_world.council, key_questions=())
        link = f'href="/escalations/{escalation.id}"'
        raise_link = f'href="/escalations/new?concern={adult_concern.id}"'
        for reader in (users.lead, users.manager):
            act_as(reader)
            page = client.get(f"/concerns/{adult_concern.id}").text
            assert link in page and raise_link in page
            assert _references(page, "escalations-table") == [escalation.reference]
        # The inspector sees the concern (it is about a service) but is party to no escalation of it.
        act_as(users.inspector)
        page = client.get(f"/concerns/{adult_concern.id}").text
        assert escalation.reference not in page and link not in page
        assert raise_link in page and "Escalate this concern" in page


def test_a_services_page_and_its_timeline_link_the_escalation_only_for_those_who_may_open_it(
    raise_about, intel_world, client, act_as,
):
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        escalation = raise_about()
        link = f'href="/escalations/{escalation.id}"'
        service_url, provider_url = f"/services/{intel_world.home.id}", f"/providers/{intel_world.sunrise.id}"
        for reader in (users.sab_chair, users.manager):
            act_as(reader)
            page = client.get(service_url).text
            assert _references(page, "escalations-table") == [escalation.reference]
            assert "Open the escalation" in page
            assert _references(client.get(provider_url).text, "escalations-table") == [escalation.reference]
        # The council's lead sees the service and the escalation's item on its timeline, but is not
        # party to the escalation at its first stage: no link to it.
        act_as(users.lead)
        page = client.get(service_url).text
        assert f"Escalation {escalation.reference} from Intelshire Council to Sunrise Care" in page
        assert link not in page and "Open the escalation" not in page
        assert f'href="/escalations/new?service={intel_world.home.id}"' in page
        assert link not in client.get(provider_url).text


@pytest.fixture
def quality_meeting(make_meeting, intel_world):
    """A held quality meeting about Sunrise Care, with approved minutes recording a decision, and an
    overdue action for Sunrise Care's manager; the council's lead and the manager invited."""
    users = intel_world.users
    meeting = make_meeting(providers=[intel_world.sunrise], invite=[users.manager, users.lead], title="Quality meeting",
                           starts_at=datetime(2026, 10, 26, 10, 0, tzinfo=UTC))
    decided, other = meeting.agenda
    db.session.add(MinuteEntry(agenda_item_id=decided.id, decisions="No further monitoring visits this year.",
                               written_by_id=users.council_commissioner.id))
    meeting.minutes_approved_at = datetime(2026, 10, 27, 10, 0, tzinfo=UTC)
    meeting.minutes_approved_by_id = users.council_commissioner.id
    action = MeetingAction(
        meeting_id=meeting.id, agenda_item_id=decided.id, description="Send the night staffing rotas",
        owner_id=users.manager.id, owner_agency_id=intel_world.sunrise.id, due_on=date(2026, 11, 2),
        created_by_id=users.council_commissioner.id,
    )
    db.session.add(action)
    db.session.commit()
    return meeting, decided, other, action


def test_an_action_and_the_minutes_list_their_escalations_for_those_who_may_open_them(
    quality_meeting, raise_about, intel_world, client, act_as,
):
    meeting, decided, other, action = quality_meeting
    users = intel_world.users
    with time_machine.travel(MONDAY, tick=False):
        about_action = raise_about(subject=EscalationSubject.MEETING_ACTION, meeting_action=action, service=None)
        about_decision = raise_about(subject=EscalationSubject.MEETING_DECISION, agenda_item=decided, service=None)
        action_url, minutes_url = f"/meeting-actions/{action.id}", f"/meetings/{meeting.id}/minutes"

        act_as(users.manager)
        page = client.get(action_url).text
        assert _references(page, "escalations-table") == [about_action.reference]
        assert f'href="/escalations/new?action={action.id}"' in page
        page = client.get(minutes_url).text
        assert _references(page, f"escalations-{decided.id}-table") == [about_decision.reference]
        assert f'href="/escalations/new?item={decided.id}"' in page
        # No decision under the other item: nothing to escalate there.
        assert f"escalations-{other.id}" not in page and f"?item={other.id}" not in page

        # The lead reads the minutes and the action, but is party to neither escalation.
        act_as(users.lead)
        page = client.get(action_url).text
        assert about_action.reference not in page and "Escalate this action" in page
        page = client.get(minutes_url).text
        assert about_decision.reference not in page and "Escalate this decision" in page

        # The Board sees both escalations, but neither the action's words nor the item's title (either
        # may name an adult): it was not at the meeting.
        act_as(users.sab_chair)
        summary = _summary(client.get(f"/escalations/{about_action.id}").text)
        assert "About An action from Quality meeting (due 2 November 2026, Sunrise Care)" in summary
        assert "night staffing rotas" not in summary
        summary = _summary(client.get(f"/escalations/{about_decision.id}").text)
        assert "About Quality meeting, 26 October 2026: item 1 Raised by" in summary
        act_as(users.manager)
        summary = _summary(client.get(f"/escalations/{about_decision.id}").text)
        assert "About Quality meeting, 26 October 2026: item 1, Sunrise Care Raised by" in summary

        # Once done, the action can no longer be escalated from its page.
        action.state = action.state.__class__.DONE
        db.session.commit()
        act_as(users.manager)
        page = client.get(action_url).text
        assert "Escalate this action" not in page and about_action.reference in page
