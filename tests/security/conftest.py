"""One world for the attack tests, built once for the package inside a transaction rolled back
when the package is done; each test runs inside a savepoint of it (as in tests/demo/conftest.py).

Two areas. In *Attackshire* a person of every role, and something of every kind the portal
keeps: a concern with its adult, comments, outcomes and a consent override; intelligence items,
an inspection, a monitoring visit with an answered improvement action, an import; a quality
meeting with minutes, an amendment and an action with an update; a meeting about the adult with
its summary; two escalations; an agreement. A provider there with nothing of its own (*Stranger
Care*), and a second area (*Elsewhere*) with a person of every role and nothing else: they are
the people who guess ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_sqlalchemy.session import _app_ctx_id

from portal.extensions import db as _db
from tests.conftest import PlainPortalSession

ROLES = [
    "ADMINISTRATOR", "SAFEGUARDING_LEAD", "COMMISSIONER", "PROVIDER_STAFF", "PROVIDER_MANAGER",
    "INSPECTOR", "SAB_MEMBER", "SAB_CHAIR",
]


@dataclass
class World:
    """Ids only: each test loads what it needs in its own session."""

    users: dict[str, int]
    #: People of another area (by role), and of a provider in this area that owns nothing here.
    strangers: dict[str, int]
    ids: dict[str, int]
    area_id: int
    other_area_id: int
    notes: dict = field(default_factory=dict)


def _bind(connection):
    original = _db.session
    _db.session = sa.orm.scoped_session(
        sa.orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint", class_=PlainPortalSession),
        scopefunc=_app_ctx_id,
    )
    return original


@pytest.fixture(scope="package")
def _world_connection(app):
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _bind(connection)
        try:
            world = _build_world()
            _db.session.commit()
            _db.session.remove()
            yield connection, world
        finally:
            _db.session.remove()
            _db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.fixture(scope="package")
def world(_world_connection) -> World:
    return _world_connection[1]


@pytest.fixture
def db_session(app, _world_connection):
    """The portal's session on the world, inside a savepoint rolled back after the test."""
    connection = _world_connection[0]
    with app.app_context():
        savepoint = connection.begin_nested()
        original = _bind(connection)
        try:
            yield _db.session
        finally:
            _db.session.remove()
            _db.session = original
            if savepoint.is_active:
                savepoint.rollback()


@pytest.fixture
def person(db_session):
    """The User with this id, loaded in the test's session."""
    from portal.people.models import User

    return lambda user_id: db_session.get(User, user_id)


@pytest.fixture
def sign_in_as(act_as, person):
    """Sign the test client in as the person with this id, acting in their first role."""
    return lambda user_id: act_as(person(user_id))


# Building the world ---------------------------------------------------------------------------


def _build_world() -> World:
    from portal.agencies.models import Agency, Area, Commissioning, Service
    from portal.agreements.models import Agreement, AgreementCategory, AgreementParty
    from portal.auth.passwords import hash_password
    from portal.core.codes import (
        AgencyKind,
        ControllerArrangement,
        DataCategory,
        LawfulBasis,
        Role,
        ServiceType,
    )
    from portal.people.models import Membership, User
    from tests.conftest import TEST_PASSWORD

    db = _db
    password_hash = hash_password(TEST_PASSWORD)
    today = date.today()

    def agency(area, kind, name):
        made = Agency(area=area, kind=kind, name=name)
        db.session.add(made)
        return made

    def user(role, at, email):
        made = User(email=email, name=f"{role.title().replace('_', ' ')} of {at.name}", password_hash=password_hash)
        db.session.add(made)
        db.session.add(Membership(user=made, agency=at, role=Role[role]))
        return made

    area = Area(name="Attackshire")
    db.session.add(area)
    council = agency(area, AgencyKind.LOCAL_AUTHORITY, "Attackshire Council")
    icb = agency(area, AgencyKind.NHS_ICB, "Attackshire ICB")
    regulator = agency(area, AgencyKind.REGULATOR, "Attackshire Regulator")
    board = agency(area, AgencyKind.SAB, "Attackshire Board")
    police = agency(area, AgencyKind.POLICE, "Attackshire Police")
    provider = agency(area, AgencyKind.CARE_PROVIDER, "Target Care")
    stranger_provider = agency(area, AgencyKind.CARE_PROVIDER, "Stranger Care")
    db.session.flush()
    service = Service(provider=provider, name="Target House", location_ref="1-700000001", service_type=ServiceType.CARE_HOME_RESIDENTIAL,
                      address="1 Target Street", postcode="NS1 4AB", registered_beds=20)
    db.session.add(service)
    db.session.flush()
    link = Commissioning(service=service, commissioner=council, starts_on=today - timedelta(days=60))
    icb_link = Commissioning(service=service, commissioner=icb, starts_on=today - timedelta(days=60))
    db.session.add_all([link, icb_link])
    # The council's commissioner records visits; the ICB's also commissions (and organises the meeting).
    agency_for = {
        "ADMINISTRATOR": council, "SAFEGUARDING_LEAD": council, "COMMISSIONER": icb,
        "PROVIDER_STAFF": provider, "PROVIDER_MANAGER": provider, "INSPECTOR": regulator,
        "SAB_MEMBER": police, "SAB_CHAIR": board,
    }
    users = {role: user(role, agency_for[role], f"{role.lower()}@attack.example") for role in ROLES}
    users["COUNCIL_COMMISSIONER"] = user("COMMISSIONER", council, "council-commissioner@attack.example")
    # The police's designated lead sees the area's concerns but not the adult's details: break glass is theirs.
    users["POLICE_LEAD"] = user("SAFEGUARDING_LEAD", police, "police-lead@attack.example")
    spare = user("PROVIDER_STAFF", provider, "spare@attack.example")
    agreement = Agreement(
        area=area, title="Attack agreement", purpose="Testing", controllers=ControllerArrangement.SEPARATE,
        lawful_basis=LawfulBasis.PUBLIC_TASK, retention_months=12, starts_on=today - timedelta(days=100),
        review_on=today + timedelta(days=200), ends_on=today + timedelta(days=600),
    )
    agreement.category_links = [AgreementCategory(category=DataCategory.PROVIDER_INTELLIGENCE)]
    agreement.parties = [
        AgreementParty(agency=a, signatory_name="Signer", signed_on=today - timedelta(days=101)) for a in (council, regulator, board)
    ]
    db.session.add(agreement)
    draft = Agreement(
        area=area, title="Draft agreement", purpose="Testing", controllers=ControllerArrangement.SEPARATE,
        lawful_basis=LawfulBasis.PUBLIC_TASK, retention_months=12, starts_on=today + timedelta(days=10),
        review_on=today + timedelta(days=200), ends_on=today + timedelta(days=600),
    )
    draft.category_links = [AgreementCategory(category=DataCategory.PROVIDER_INTELLIGENCE)]
    draft.parties = [AgreementParty(agency=a) for a in (council, regulator)]
    db.session.add(draft)

    other_area = Area(name="Elsewhere")
    db.session.add(other_area)
    other = {
        "ADMINISTRATOR": agency(other_area, AgencyKind.LOCAL_AUTHORITY, "Elsewhere Council"),
        "COMMISSIONER": agency(other_area, AgencyKind.NHS_ICB, "Elsewhere ICB"),
        "PROVIDER_MANAGER": agency(other_area, AgencyKind.CARE_PROVIDER, "Elsewhere Care"),
        "INSPECTOR": agency(other_area, AgencyKind.REGULATOR, "Elsewhere Regulator"),
        "SAB_MEMBER": agency(other_area, AgencyKind.POLICE, "Elsewhere Police"),
        "SAB_CHAIR": agency(other_area, AgencyKind.SAB, "Elsewhere Board"),
    }
    other["SAFEGUARDING_LEAD"] = other["ADMINISTRATOR"]
    other["PROVIDER_STAFF"] = other["PROVIDER_MANAGER"]
    strangers = {f"ELSEWHERE_{role}": user(role, other[role], f"{role.lower()}@elsewhere.example") for role in ROLES}
    strangers["STRANGER_MANAGER"] = user("PROVIDER_MANAGER", stranger_provider, "manager@stranger.example")
    strangers["STRANGER_STAFF"] = user("PROVIDER_STAFF", stranger_provider, "staff@stranger.example")
    db.session.commit()

    for person in users.values():
        person.membership = person.active_memberships[0]
    ids = {
        "area": area.id, "agency": council.id, "provider": provider.id, "service": service.id,
        "commissioning": link.id, "person": spare.id, "membership": spare.memberships[0].id,
        "agreement": agreement.id, "party": agreement.parties[0].id,
        "draft_agreement": draft.id, "draft_party": draft.parties[0].id,
    }
    ids.update(_record_case_work(users, area, service))
    ids.update(_record_intelligence(users, service, council, regulator))
    ids.update(_record_meetings(users, provider, ids["concern"]))
    ids.update(_record_escalations(users, service, council, provider, ids["concern"]))
    from portal.notifications.models import EmailDelivery
    from portal.people.operations import invitation_token, invite_person

    invitation = invite_person(email="invited@attack.example", name="Invited Person", job_title=None, agency=council,
                               role=Role.COMMISSIONER, invited_by=users["ADMINISTRATOR"])
    db.session.flush()
    from portal.auth.password_reset import reset_token
    from portal.concerns.models import Concern
    from portal.privacy.models import BreakGlassGrant

    concern = db.session.get(Concern, ids["concern"])
    lead = users["SAFEGUARDING_LEAD"]
    grant = BreakGlassGrant(concern_id=concern.id, user_id=lead.id, membership_id=lead.membership.id, agency_id=lead.membership.agency_id,
                            reason="An emergency", expires_at=datetime.now(UTC) + timedelta(hours=4))
    db.session.add(grant)
    db.session.flush()
    ids.update(import_kind="regulator-ratings", template_kind="items", invitation_token=invitation_token(invitation),
               reset_token=reset_token(spare), adult=concern.adult_id, grant=grant.id)
    ids["delivery"] = db.session.scalar(sa.select(sa.func.min(EmailDelivery.id)))
    db.session.commit()
    return World(
        users={role: person.id for role, person in users.items()},
        strangers={name: person.id for name, person in strangers.items()},
        ids=ids, area_id=area.id, other_area_id=other_area.id,
    )


def _record_case_work(users, area, service) -> dict:
    from portal.concerns import operations as concerns
    from portal.core.codes import AbuseType, ConsentToShare, TriageDecision

    raiser, lead = users["PROVIDER_STAFF"], users["SAFEGUARDING_LEAD"]
    concern = concerns.raise_concern(
        area=area, raised_by=raiser, service=service, what_happened="What happened to the adult",
        abuse_types={AbuseType.NEGLECT}, immediate_action="Called the GP",
        adult=concerns.AdultDetails(name="Adult Name", address="1 Adult Road", postcode="NS1 4AB",
                                    communication_needs="Large print", preferred_language="Welsh"),
        consent=ConsentToShare.GIVEN,
    )
    _db.session.flush()
    concerns.triage_concern(concern, decision=TriageDecision.S42_ENQUIRY, reason="Triage reason", by=lead, assign_to=lead)
    concerns.add_comment(concern, body="A comment on the concern", local_authority_only=False, by=lead)
    concerns.add_desired_outcome(concern, words="To feel safe at home", by=lead)
    _db.session.commit()
    return {"concern": concern.id}


def _record_intelligence(users, service, council, regulator) -> dict:
    from portal.core.codes import KeyQuestion, Rating
    from portal.intelligence import operations as intel
    from portal.intelligence.models import ImportBatch, ImportKind, ImportStatus, QualityScore, Severity, SourceType

    lead, commissioner = users["SAFEGUARDING_LEAD"], users["COUNCIL_COMMISSIONER"]
    yesterday = date.today() - timedelta(days=1)
    complaint = intel.record_item(service, intel.ItemDetails(
        occurred_on=yesterday, source=SourceType.COMPLAINT, key_questions={KeyQuestion.CARING},
        severity=Severity.MODERATE, summary="A complaint about the service"), by=lead, supplied_by=council)
    whistle = intel.record_item(service, intel.ItemDetails(
        occurred_on=yesterday, source=SourceType.WHISTLEBLOWING, key_questions={KeyQuestion.SAFE},
        severity=Severity.HIGH, summary="A whistleblower's account"), by=lead, supplied_by=council)
    standards = intel.ensure_default_standards(council.area_id)
    visit = intel.record_visit(service, intel.VisitDetails(
        visited_on=yesterday, officer_name="Visiting Officer", findings="What the visit found",
        scores={standards[0].id: QualityScore.POOR},
        actions=[intel.ActionDetails(description="An improvement action", owner="The manager", due_on=yesterday + timedelta(days=14))],
    ), commissioner=council, by=commissioner)
    _db.session.flush()
    manager = users["PROVIDER_MANAGER"]
    intel.respond_to_action(visit.actions[0], response="The provider's response", by=manager)
    inspection = intel.record_inspection(service, intel.InspectionDetails(
        published_on=yesterday, overall=Rating.GOOD, ratings={q: Rating.GOOD for q in KeyQuestion},
        url="https://example.org/report"), by=None, supplied_by=regulator)
    inspector = users["INSPECTOR"]
    batch = ImportBatch(
        kind=ImportKind.REGULATOR_RATINGS, status=ImportStatus.INVALID, area_id=council.area_id, agency_id=regulator.id,
        uploaded_by_id=inspector.id, filename="ratings.csv", content=b"", content_sha256="0" * 64, rows_total=2,
        errors=[[3, "The location Cell value is not known"]], error_count=1,
        preview={"unknown_locations": ["Unknown place"]}, problem="A problem with the whole file",
    )
    _db.session.add(batch)
    _db.session.commit()
    return {
        "item": complaint.id, "secret_item": whistle.id, "visit": visit.id, "improvement_action": visit.actions[0].id,
        "inspection": inspection.id, "import": batch.id,
    }


def _record_meetings(users, provider, concern_id) -> dict:
    from portal.meetings import minutes, summary
    from portal.meetings.models import (
        AgendaItem,
        Attendee,
        GuestRelationship,
        Meeting,
        MeetingAction,
        MeetingKind,
        MinuteAmendment,
        MinuteEntry,
        PlaceKind,
    )

    def member(role):
        return users[role].active_memberships[0]

    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    commissioner, lead = users["COMMISSIONER"], users["SAFEGUARDING_LEAD"]
    quality = Meeting(
        uid=f"{uuid.uuid4()}@attack.test", kind=MeetingKind.PROVIDER_QUALITY, title="Quality meeting title",
        purpose="The meeting's purpose", area_id=provider.area_id, starts_at=starts, ends_at=starts + timedelta(hours=2),
        place_kind=PlaceKind.ONLINE, online_link="https://meet.example/attack", organiser_id=commissioner.id,
        organiser_agency_id=member("COMMISSIONER").agency_id, chair_id=commissioner.id, minute_taker_id=lead.id,
    )
    adult = Meeting(
        uid=f"{uuid.uuid4()}@attack.test", kind=MeetingKind.ADULT_SAFEGUARDING, title="Adult meeting title",
        area_id=provider.area_id, starts_at=starts - timedelta(days=14), ends_at=starts - timedelta(days=14) + timedelta(hours=1),
        place_kind=PlaceKind.ADDRESS, place="The adult's chosen place", organiser_id=lead.id,
        organiser_agency_id=member("SAFEGUARDING_LEAD").agency_id, chair_id=lead.id, concern_id=concern_id,
    )
    _db.session.add_all([quality, adult])
    _db.session.flush()
    for role in ("COMMISSIONER", "SAFEGUARDING_LEAD", "PROVIDER_MANAGER", "SAB_CHAIR"):
        _db.session.add(Attendee(meeting_id=quality.id, user_id=users[role].id, membership_id=member(role).id, reply_note="A reply note"))
    _db.session.add(Attendee(meeting_id=adult.id, user_id=lead.id, membership_id=member("SAFEGUARDING_LEAD").id))
    guest = Attendee(meeting_id=adult.id, guest_name="Guest Name", guest_email="adult@attack.example",
                     guest_relationship=GuestRelationship.ADULT)
    item = AgendaItem(meeting_id=quality.id, position=1, title="Agenda item title", provider_id=provider.id)
    adult_item = AgendaItem(meeting_id=adult.id, position=1, title="The adult's wishes")
    _db.session.add_all([guest, item, adult_item])
    _db.session.flush()
    _db.session.add(MinuteEntry(agenda_item_id=item.id, discussion="What was discussed", decisions="What was decided", written_by_id=lead.id))
    _db.session.add(MinuteAmendment(agenda_item_id=item.id, text="An amendment", reason="Why amended", made_by_id=commissioner.id))
    action = MeetingAction(
        meeting_id=quality.id, agenda_item_id=item.id, description="A meeting action",
        owner_id=users["PROVIDER_MANAGER"].id, owner_agency_id=provider.id,
        due_on=date.today() + timedelta(days=14), created_by_id=commissioner.id,
    )
    _db.session.add(action)
    _db.session.flush()
    minutes.update_action(action, text="An update on the action", by=users["PROVIDER_MANAGER"], version=action.version)
    summary.save_summary(adult, text="What we talked about, for you", by=lead)
    _db.session.commit()
    return {
        "meeting": quality.id, "adult_meeting": adult.id, "meeting_item": item.id, "meeting_action": action.id,
        "guest": guest.id,
    }


def _record_escalations(users, service, council, provider, concern_id) -> dict:
    from portal.concerns.models import Concern
    from portal.escalations import operations as esc
    from portal.escalations.models import EscalationSubject

    lead, manager = users["SAFEGUARDING_LEAD"], users["PROVIDER_MANAGER"]
    quality = esc.raise_escalation(esc.RaiseDetails(
        subject=EscalationSubject.SERVICE, receiving_agency=provider, service=service, harm_imminent=False,
        disagreement="The disagreement", wanted="What is wanted"), by=lead)
    about_concern = esc.raise_escalation(esc.RaiseDetails(
        subject=EscalationSubject.CONCERN, receiving_agency=council, concern=_db.session.get(Concern, concern_id),
        harm_imminent=False, disagreement="We disagree with the triage", wanted="A second look"), by=manager)
    _db.session.flush()
    esc.acknowledge(quality, by=manager)
    esc.respond(quality, "The response to the escalation", by=manager)
    _db.session.commit()
    return {"escalation": quality.id, "concern_escalation": about_concern.id}
