"""Who is told about what happens to a concern: the right people, never the actor, never the adult's name."""

import pytest
import sqlalchemy as sa

from portal import policy
from portal.concerns import operations
from portal.concerns.operations import AdultDetails
from portal.core.codes import ActionResult, ConcernStatus, MspAsked, RiskOutcome, Role, TriageDecision
from portal.notifications.models import Notification, NotificationEvent
from portal.people.models import User
from portal.people.operations import add_membership, end_membership

S = ConcernStatus
E = NotificationEvent


@pytest.fixture
def second_lead(make_user, partnership):
    user = make_user(Role.SAFEGUARDING_LEAD, agency=partnership.council, name="Sue Lead")
    user.membership = user.active_memberships[0]
    return user


def notified(db_session, concern, event) -> set[User]:
    query = (
        sa.select(User)
        .join(Notification, Notification.recipient_id == User.id)
        .where(Notification.concern_id == concern.id, Notification.event == event)
    )
    return set(db_session.scalars(query))


def audience(db_session, concern, **options) -> set[User]:
    return set(db_session.scalars(policy.concern_audience(concern, **options)))


def can_open(db_session, user, concern) -> bool:
    return concern in db_session.scalars(policy.concerns_visible_to(user)).all()


def people(partnership, *names) -> set[User]:
    return {partnership.people[name] for name in names}


# Raising --------------------------------------------------------------------------------------


def test_raising_tells_the_areas_safeguarding_leads_and_nobody_else(partnership, second_lead, make_concern, db_session):
    concern = make_concern(raised_by=partnership.staff_a)
    assert notified(db_session, concern, E.CONCERN_RAISED) == {partnership.council_lead, second_lead}


def test_a_safeguarding_lead_who_raises_a_concern_is_not_told_about_it(
    partnership, second_lead, make_concern, db_session
):
    concern = make_concern(raised_by=partnership.council_lead, service=partnership.service_b)
    assert notified(db_session, concern, E.CONCERN_RAISED) == {second_lead}


def test_a_concern_from_the_public_form_tells_the_areas_safeguarding_leads(
    partnership, second_lead, make_concern, db_session
):
    concern = make_concern(raised_by=None, service=None, abuse_types=set(), reporter_name="Nel Neighbour")
    assert notified(db_session, concern, E.CONCERN_RAISED) == {partnership.council_lead, second_lead}


# Triage, closing and reopening ----------------------------------------------------------------


def triage(concern, by):
    operations.triage_concern(concern, decision=TriageDecision.S42_ENQUIRY, reason=None, by=by)


def close(concern, by):
    operations.close_concern(
        concern,
        action_result=ActionResult.RISK_ACTION,
        risk_outcome=RiskOutcome.REMOVED,
        outcomes_achieved=None,
        adult_feedback=None,
        by=by,
    )


def reopen(concern, by):
    operations.reopen_concern(concern, reason="The adult has asked for help again", by=by)


CHANGES = {
    "triage": (S.SUBMITTED, triage, E.CONCERN_TRIAGED),
    "close": (S.IN_PROGRESS, close, E.CONCERN_CLOSED),
    "reopen": (S.CLOSED, reopen, E.CONCERN_REOPENED),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_tells_everyone_who_can_open_the_concern_except_whoever_made_it(
    change, partnership, second_lead, concern_at, db_session
):
    starts_at, do, event = CHANGES[change]
    concern = concern_at(starts_at, raised_by=partnership.staff_a, service=partnership.service_a)

    do(concern, partnership.council_lead)
    db_session.commit()

    told = notified(db_session, concern, event)
    assert told == people(
        partnership, "council_commissioner", "icb_commissioner", "inspector", "staff_a", "manager_a"
    ) | {second_lead}
    assert told == audience(db_session, concern) - {partnership.council_lead}
    for user in told:
        assert can_open(db_session, user, concern), user.name


@pytest.mark.parametrize("name", ["given", "refused", "public", "icb"])
def test_the_people_told_about_a_concern_are_exactly_those_who_can_open_it(
    name, partnership, partnership_concerns, db_session
):
    concern = partnership_concerns[name]
    everyone = set(partnership.people.values())

    assert audience(db_session, concern) & everyone == {
        user for user in everyone if can_open(db_session, user, concern)
    }


def test_provider_staff_who_move_to_another_provider_are_not_told_about_what_they_raised_at_the_old_one(
    partnership, partnership_concerns, db_session
):
    staff, concern = partnership.staff_a, partnership_concerns["given"]
    end_membership(staff.active_memberships[0])
    staff.membership = add_membership(staff, partnership.provider_b, Role.PROVIDER_STAFF)
    db_session.commit()

    triage(concern, partnership.council_lead)
    db_session.commit()

    assert staff not in notified(db_session, concern, E.CONCERN_TRIAGED)


# Comments -------------------------------------------------------------------------------------


def test_a_local_authority_only_comment_tells_only_local_authority_staff_who_can_open_the_concern(
    partnership, second_lead, partnership_concerns, db_session
):
    concern = partnership_concerns["given"]

    operations.add_comment(
        concern, body="Previous s42 about this provider", local_authority_only=True, by=partnership.council_lead
    )
    db_session.commit()

    assert notified(db_session, concern, E.CONCERN_COMMENT) == {partnership.council_commissioner, second_lead}


def test_a_comment_for_everyone_tells_everyone_who_can_open_the_concern_except_its_author(
    partnership, second_lead, partnership_concerns, db_session
):
    concern = partnership_concerns["given"]

    operations.add_comment(
        concern, body="We visited on Monday", local_authority_only=False, by=partnership.icb_commissioner
    )
    db_session.commit()

    assert notified(db_session, concern, E.CONCERN_COMMENT) == people(
        partnership, "council_lead", "council_commissioner", "inspector", "staff_a", "manager_a"
    ) | {second_lead}


# What a notification says ---------------------------------------------------------------------


def test_notifications_name_the_reference_but_never_the_adult(
    partnership, second_lead, make_concern, record_msp, db_session
):
    lead = partnership.council_lead
    concern = make_concern(
        raised_by=partnership.staff_a,
        adult=AdultDetails(name="Josephine Quigley", nhs_number="9434765919", address="4 Mill Lane"),
    )
    triage(concern, lead)
    operations.assign_concern(concern, lead=second_lead, by=lead)
    operations.start_work(concern, by=lead)
    operations.add_comment(concern, body="Spoke to Josephine Quigley today", local_authority_only=False, by=lead)
    record_msp(concern, by=lead, msp_asked=MspAsked.NO)
    close(concern, lead)
    reopen(concern, second_lead)
    db_session.commit()

    notes = list(db_session.scalars(sa.select(Notification).where(Notification.concern_id == concern.id)))
    concern_events = {event for event in NotificationEvent if event.name.startswith("CONCERN_")}
    assert {note.event for note in notes} == concern_events - {NotificationEvent.CONCERN_AWAITING_TRIAGE}
    for note in notes:
        assert concern.reference in note.summary
        for personal in ("Josephine", "Quigley", "9434765919", "Mill Lane", "Spoke to"):
            assert personal not in note.summary
