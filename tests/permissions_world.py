"""The permission tests' world, built once per module.

Building the world (a partnership with a concern, intelligence, meetings and escalations) takes a
second or two; the permission tests open hundreds of pages against it. So each module builds it
once inside a transaction rolled back when the module is done, and each test runs inside a
savepoint of that transaction, rolled back after it (as ``tests/demo/conftest.py`` does for the
demo). The factories here make what the ``make_*`` fixtures of ``tests/conftest.py`` make, for a
world that outlives one test.

    world_connection, db_session, world = module_world(build_matrix_world)

in a test module gives its tests the usual ``db_session`` (so ``client`` and ``act_as`` work as
everywhere) on that world, and ``world``: the world's people, loaded in the test's own session,
and its objects' ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_sqlalchemy.session import _app_ctx_id

from portal.agencies.models import Agency, Area, Commissioning, Service
from portal.agreements.models import Agreement, AgreementCategory, AgreementParty
from portal.concerns.operations import AdultDetails, raise_concern
from portal.core.codes import (
    AbuseType,
    AgencyKind,
    ConsentToShare,
    ControllerArrangement,
    DataCategory,
    LawfulBasis,
    Role,
    ServiceType,
    SpecialCategoryCondition,
)
from portal.core.session import PlainPortalSession
from portal.extensions import db as _db
from portal.notifications.models import EmailDelivery
from portal.people.models import Membership, User

#: The world's roles, one person each, in the area's agencies.
ROLES = [
    "ADMINISTRATOR",
    "SAFEGUARDING_LEAD",
    "COMMISSIONER",
    "PROVIDER_STAFF",
    "PROVIDER_MANAGER",
    "INSPECTOR",
    "SAB_MEMBER",
    "SAB_CHAIR",
]


#: What a page answers: a status code, or "sign-in" for the redirect to the sign-in page.
OK, FORBIDDEN, MISSING, TO_SIGN_IN, REDIRECT = 200, 403, 404, "sign-in", 302


def status(response):
    """The response's status code, or TO_SIGN_IN when it sends the person to sign in first."""
    if response.status_code == 302 and "/sign-in" in response.headers["Location"] and "next=" in response.headers["Location"]:
        return TO_SIGN_IN
    return response.status_code


class _Ones(dict):
    """Fills every {placeholder} with 1, to match a pattern against the URL map."""

    def __missing__(self, key):
        return 1


def every_route_and_method(app) -> set[tuple[str, str]]:
    """Each (URL rule, method) the application answers, but the static files, HEAD and OPTIONS."""
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules() if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def rows_route_and_method(app, rows) -> set[tuple[str, str]]:
    """The (URL rule, method) each row of a table opens."""
    adapter = app.url_map.bind("localhost")
    covered = set()
    for method, pattern, *_ in rows:
        url = pattern.format_map(_Ones()).split("?", 1)[0]
        rule, _ = adapter.match(url, method=method, return_rule=True)
        covered.add((rule.rule, method))
    return covered


@dataclass
class World:
    #: Viewer name -> the person, loaded in the current test's session.
    users: dict
    #: Placeholder -> id, for URL patterns such as ``/concerns/{concern}``.
    ids: dict
    #: Viewer name -> the person's id (what the module-wide world keeps between tests).
    user_ids: dict = field(default_factory=dict)
    #: Name -> a string only that object shows (a concern's reference, say), to find it in a list.
    markers: dict = field(default_factory=dict)


class Factories:
    """What the ``make_*`` fixtures make, on a session that is not one test's."""

    def __init__(self, session, password_hash: str):
        self.session = session
        self.password_hash = password_hash
        self._numbers = iter(range(10_000))

    def _save(self, thing):
        self.session.add(thing)
        self.session.commit()
        return thing

    def area(self, name: str) -> Area:
        return self._save(Area(name=name))

    def agency(self, kind: AgencyKind, *, area: Area, name: str) -> Agency:
        return self._save(Agency(area=area, kind=kind, name=name))

    def service(self, provider: Agency, name: str | None = None) -> Service:
        number = next(self._numbers)
        return self._save(Service(
            provider=provider, name=name or f"Service {number} of {provider.name}",
            location_ref=f"1-{uuid.uuid4().int % 10**9:09d}", service_type=ServiceType.DOMICILIARY,
            address=f"{number} Test Street", postcode="NS1 4AB",
        ))

    def commissioning(self, service: Service, commissioner: Agency) -> Commissioning:
        return self._save(Commissioning(service=service, commissioner=commissioner, starts_on=date.today() - timedelta(days=30)))

    def user(self, role: Role, *, agency: Agency, email: str, name: str = "Test Person") -> User:
        user = User(email=email, name=name, password_hash=self.password_hash)
        self.session.add(user)
        self.session.add(Membership(user=user, agency=agency, role=role))
        self.session.commit()
        return user

    def agreement(self, parties: list[Agency], categories, title: str) -> Agreement:
        starts_on = date.today() - timedelta(days=100)
        agreement = Agreement(
            area_id=parties[0].area_id, title=title, purpose="Testing", controllers=ControllerArrangement.SEPARATE,
            lawful_basis=LawfulBasis.PUBLIC_TASK,
            special_category_condition=SpecialCategoryCondition.SUBSTANTIAL_PUBLIC_INTEREST
            if DataCategory.PERSONAL_SAFEGUARDING in categories else None,
            retention_months=12, starts_on=starts_on, review_on=starts_on + timedelta(days=300),
            ends_on=starts_on + timedelta(days=700),
        )
        agreement.category_links = [AgreementCategory(category=c) for c in categories]
        agreement.parties = [
            AgreementParty(agency=a, signatory_name="Signer", signed_on=starts_on - timedelta(days=1)) for a in parties
        ]
        return self._save(agreement)


def _bind(connection):
    """Point the portal's session at this connection (its commits become savepoints)."""
    original = _db.session
    _db.session = sa.orm.scoped_session(
        sa.orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint", class_=PlainPortalSession),
        scopefunc=_app_ctx_id,
    )
    return original


def module_world(build):
    """Fixtures for a test module: ``world_connection`` (the world, built once by ``build``),
    ``db_session`` (a savepoint of it per test) and ``world`` (its people and ids for one test)."""

    @pytest.fixture(scope="module")
    def world_connection(app, password_hash):
        with app.app_context():
            connection = _db.engine.connect()
            transaction = connection.begin()
            original = _bind(connection)
            try:
                built = build(Factories(_db.session, password_hash))
                built.user_ids = {name: user.id for name, user in built.users.items()}
                built.users = {}
                _db.session.remove()
                yield connection, built
            finally:
                _db.session.remove()
                _db.session = original
                if transaction.is_active:
                    transaction.rollback()
                connection.close()

    @pytest.fixture
    def db_session(app, world_connection):
        connection, _ = world_connection
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
    def world(db_session, world_connection):
        _, built = world_connection
        users = {name: db_session.get(User, user_id) for name, user_id in built.user_ids.items()}
        return World(users=users, ids=dict(built.ids), user_ids=built.user_ids, markers=dict(built.markers))

    return world_connection, db_session, world


def _acting(user: User) -> User:
    user.membership = user.active_memberships[0]
    return user


# The matrix world -----------------------------------------------------------------------------


def build_matrix_world(f: Factories) -> World:
    """One area ("Matrixshire") with one person per role, each in one agency; a concern raised
    by the provider's staff about its service, which the council commissions; the provider's
    intelligence; two meetings; two escalations. And another area with its own administrator."""
    area = f.area("Matrixshire")
    council = f.agency(AgencyKind.LOCAL_AUTHORITY, area=area, name="Council")
    icb = f.agency(AgencyKind.NHS_ICB, area=area, name="ICB")
    regulator = f.agency(AgencyKind.REGULATOR, area=area, name="Regulator")
    sab = f.agency(AgencyKind.SAB, area=area, name="Board")
    police = f.agency(AgencyKind.POLICE, area=area, name="Police")
    provider = f.agency(AgencyKind.CARE_PROVIDER, area=area, name="Provider One")
    service = f.service(provider, name="Matrix Service One")
    link = f.commissioning(service, council)
    agency_for = {
        "ADMINISTRATOR": council, "SAFEGUARDING_LEAD": council, "COMMISSIONER": icb,
        "PROVIDER_STAFF": provider, "PROVIDER_MANAGER": provider, "INSPECTOR": regulator,
        "SAB_MEMBER": police, "SAB_CHAIR": sab,
    }
    users = {role: f.user(Role[role], agency=agency_for[role], email=f"{role.lower()}@matrix.example") for role in ROLES}
    agreement = f.agreement([council, regulator, sab], {DataCategory.PROVIDER_INTELLIGENCE}, "Matrix agreement")
    spare = f.user(Role.PROVIDER_STAFF, agency=provider, email="spare@matrix.example")
    raiser = _acting(users["PROVIDER_STAFF"])
    concern = raise_concern(
        area=area, raised_by=raiser, service=service, what_happened="Matrix concern",
        abuse_types={AbuseType.NEGLECT}, adult=AdultDetails(name="Matrix Adult"),
    )
    raiser.membership = None

    # Provider intelligence: an open complaint, a confidential whistleblower, a visit with its plan,
    # an inspection and an import, recorded as their own roles would.
    intelligence = _record_intelligence(world_users=users, service=service, council=council, regulator=regulator)
    meetings = _record_meetings(world_users=users, provider=provider, concern=concern)
    escalations = _record_escalations(world_users=users, service=service, council=council, provider=provider, concern=concern)

    other_area = f.area("Elsewhere")
    other_council = f.agency(AgencyKind.LOCAL_AUTHORITY, area=other_area, name="Other council")
    users["OTHER_AREA_ADMIN"] = f.user(Role.ADMINISTRATOR, agency=other_council, email="admin@elsewhere.example")

    ids = {
        "area": area.id, "other_area": other_area.id,
        "agency": council.id, "provider": provider.id, "service": service.id, "commissioning": link.id,
        "person": spare.id, "membership": spare.memberships[0].id, "agreement": agreement.id,
        "party": agreement.parties[0].id, "concern": concern.id, "adult": concern.adult_id,
        **intelligence, **meetings, **escalations,
        # The email telling the area's safeguarding lead about the concern.
        "delivery": f.session.scalar(
            sa.select(EmailDelivery.id).where(EmailDelivery.recipient_id == users["SAFEGUARDING_LEAD"].id)
        ),
    }
    return World(users=users, ids=ids)


def _record_intelligence(*, world_users, service, council, regulator) -> dict:
    from portal.core.codes import KeyQuestion, Rating
    from portal.intelligence import operations as intel
    from portal.intelligence.models import ImportBatch, ImportKind, ImportStatus, QualityScore, Severity, SourceType

    lead = _acting(world_users["SAFEGUARDING_LEAD"])
    yesterday = date.today() - timedelta(days=1)
    complaint = intel.record_item(service, intel.ItemDetails(
        occurred_on=yesterday, source=SourceType.COMPLAINT, key_questions={KeyQuestion.CARING},
        severity=Severity.MODERATE, summary="Matrix complaint"), by=lead, supplied_by=council)
    whistle = intel.record_item(service, intel.ItemDetails(
        occurred_on=yesterday, source=SourceType.WHISTLEBLOWING, key_questions={KeyQuestion.SAFE},
        severity=Severity.HIGH, summary="Matrix whistleblower"), by=lead, supplied_by=council)
    standards = intel.ensure_default_standards(council.area_id)
    visit = intel.record_visit(service, intel.VisitDetails(
        visited_on=yesterday, officer_name="Matrix Officer", findings="Matrix findings",
        scores={standards[0].id: QualityScore.POOR},
        actions=[intel.ActionDetails(description="Matrix action", owner="Manager", due_on=yesterday + timedelta(days=14))],
    ), commissioner=council, by=lead)
    inspection = intel.record_inspection(service, intel.InspectionDetails(
        published_on=yesterday, overall=Rating.GOOD, ratings={q: Rating.GOOD for q in KeyQuestion}),
        by=None, supplied_by=regulator)
    inspector = world_users["INSPECTOR"]
    batch = ImportBatch(
        kind=ImportKind.REGULATOR_RATINGS, status=ImportStatus.READY, area_id=council.area_id, agency_id=regulator.id,
        uploaded_by_id=inspector.id, filename="ratings.csv", content=b"", content_sha256="0" * 64,
    )
    _db.session.add(batch)
    _db.session.commit()
    lead.membership = None
    return {
        "item": complaint.id, "secret_item": whistle.id, "visit": visit.id, "action": visit.actions[0].id,
        "inspection": inspection.id, "import": batch.id,
    }


def _record_meetings(*, world_users, provider, concern) -> dict:
    """A provider quality meeting the ICB's commissioner organises and chairs, with the council's
    lead taking minutes and the provider's manager and the Board's chair invited; an action for the
    provider's manager; and a safeguarding meeting about the concern's adult, organised by the
    lead, with the adult invited as a guest."""
    from portal.meetings.models import (
        AgendaItem,
        Attendee,
        GuestRelationship,
        Meeting,
        MeetingAction,
        MeetingKind,
        PlaceKind,
    )

    def member(role):
        return world_users[role].active_memberships[0]

    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    commissioner, lead = world_users["COMMISSIONER"], world_users["SAFEGUARDING_LEAD"]
    quality = Meeting(
        uid=f"{uuid.uuid4()}@matrix.test", kind=MeetingKind.PROVIDER_QUALITY, title="Matrix quality meeting",
        area_id=provider.area_id, starts_at=starts, ends_at=starts + timedelta(hours=2), place_kind=PlaceKind.ONLINE,
        online_link="https://meet.example/matrix", organiser_id=commissioner.id,
        organiser_agency_id=member("COMMISSIONER").agency_id, chair_id=commissioner.id, minute_taker_id=lead.id,
    )
    adult = Meeting(
        uid=f"{uuid.uuid4()}@matrix.test", kind=MeetingKind.ADULT_SAFEGUARDING, title="Matrix adult meeting",
        area_id=provider.area_id, starts_at=starts, ends_at=starts + timedelta(hours=1), place_kind=PlaceKind.ADDRESS,
        place="Matrix Health Centre", organiser_id=lead.id, organiser_agency_id=member("SAFEGUARDING_LEAD").agency_id,
        chair_id=lead.id, concern_id=concern.id,
    )
    _db.session.add_all([quality, adult])
    _db.session.flush()
    for role in ("COMMISSIONER", "SAFEGUARDING_LEAD", "PROVIDER_MANAGER", "SAB_CHAIR"):
        _db.session.add(Attendee(meeting_id=quality.id, user_id=world_users[role].id, membership_id=member(role).id))
    _db.session.add(Attendee(meeting_id=adult.id, user_id=lead.id, membership_id=member("SAFEGUARDING_LEAD").id))
    guest = Attendee(meeting_id=adult.id, guest_name="Matrix Adult", guest_email="adult@matrix.example",
                     guest_relationship=GuestRelationship.ADULT)
    item = AgendaItem(meeting_id=quality.id, position=1, title="Provider One", provider_id=provider.id)
    _db.session.add_all([guest, item, AgendaItem(meeting_id=adult.id, position=1, title="Jo's wishes")])
    _db.session.flush()
    action = MeetingAction(
        meeting_id=quality.id, agenda_item_id=item.id, description="Matrix meeting action",
        owner_id=world_users["PROVIDER_MANAGER"].id, owner_agency_id=provider.id,
        due_on=date.today() + timedelta(days=14), created_by_id=commissioner.id,
    )
    _db.session.add(action)
    _db.session.commit()
    return {
        "meeting": quality.id, "adult_meeting": adult.id, "meeting_item": item.id, "meeting_action": action.id,
        "guest": guest.id,
    }


def _record_escalations(*, world_users, service, council, provider, concern) -> dict:
    """Two escalations at their first stage: the council's lead escalates the service's quality to
    the provider (answered by its staff and manager); the provider's manager escalates the concern
    (raised by its staff) to the council (answered by its lead)."""
    from portal.escalations import operations as esc
    from portal.escalations.models import EscalationSubject

    lead, manager = _acting(world_users["SAFEGUARDING_LEAD"]), _acting(world_users["PROVIDER_MANAGER"])
    quality = esc.raise_escalation(esc.RaiseDetails(
        subject=EscalationSubject.SERVICE, receiving_agency=provider, service=service, harm_imminent=False,
        disagreement="Matrix disagreement about night staffing", wanted="Matrix review"), by=lead)
    about_concern = esc.raise_escalation(esc.RaiseDetails(
        subject=EscalationSubject.CONCERN, receiving_agency=council, concern=concern, harm_imminent=False,
        disagreement="We disagree with the triage decision", wanted="A second look at it"), by=manager)
    _db.session.commit()
    lead.membership = manager.membership = None
    return {"escalation": quality.id, "concern_escalation": about_concern.id}


# The relationship world -----------------------------------------------------------------------

#: People who differ from the matrix world's only in how they stand to its objects.
RELATIONSHIP_VIEWERS = [
    # The council itself: the concern's local authority, commissioning the service and party to
    # both agreements.
    "COUNCIL_COMMISSIONER",
    # Another agency with an agreement: the Partner ICB shares provider intelligence and personal
    # safeguarding data with the council, but commissions nothing here.
    "SHARING_COMMISSIONER",
    # Another agency commissioning the service jointly with the council, under that agreement...
    "JOINT_COMMISSIONER",
    # ... and one commissioning it too, without any agreement.
    "UNSHARED_COMMISSIONER",
    # No relationship in the same area: another provider's manager; the police's designated lead.
    "OTHER_PROVIDER_MANAGER",
    "POLICE_LEAD",
    # The same provider, but not the person who raised the concern.
    "OTHER_STAFF",
    # No relationship at all: the safeguarding lead of another area.
    "OTHER_AREA_LEAD",
]


def build_relationship_world(f: Factories) -> World:
    """The matrix world, and: the viewers above; an agreement (provider intelligence and personal
    safeguarding data) between the council, the Partner ICB and the Joint ICB; a second concern
    about the service, where the adult consented to sharing; a second provider with a service of
    its own; and in the other area a provider, a service and a concern from the public form."""
    world = build_matrix_world(f)
    session = f.session
    area = session.get(Area, world.ids["area"])
    other_area = session.get(Area, world.ids["other_area"])
    council = session.get(Agency, world.ids["agency"])
    provider = session.get(Agency, world.ids["provider"])
    service = session.get(Service, world.ids["service"])
    police = session.scalar(sa.select(Agency).where(Agency.area_id == area.id, Agency.kind == AgencyKind.POLICE))
    partner = f.agency(AgencyKind.NHS_ICB, area=area, name="Partner ICB")
    joint = f.agency(AgencyKind.NHS_ICB, area=area, name="Joint ICB")
    unshared = f.agency(AgencyKind.NHS_ICB, area=area, name="Unshared ICB")
    f.commissioning(service, joint)
    f.commissioning(service, unshared)
    sharing = f.agreement(
        [council, partner, joint], {DataCategory.PROVIDER_INTELLIGENCE, DataCategory.PERSONAL_SAFEGUARDING},
        "Partner agreement",
    )
    provider_two = f.agency(AgencyKind.CARE_PROVIDER, area=area, name="Provider Two")
    service_two = f.service(provider_two, name="Matrix Service Two")
    f.commissioning(service_two, council)
    far_council = session.scalar(sa.select(Agency).where(Agency.area_id == other_area.id))
    far_provider = f.agency(AgencyKind.CARE_PROVIDER, area=other_area, name="Far Provider")
    far_service = f.service(far_provider, name="Far Service")
    people = {
        "COUNCIL_COMMISSIONER": (Role.COMMISSIONER, council),
        "SHARING_COMMISSIONER": (Role.COMMISSIONER, partner),
        "JOINT_COMMISSIONER": (Role.COMMISSIONER, joint),
        "UNSHARED_COMMISSIONER": (Role.COMMISSIONER, unshared),
        "OTHER_PROVIDER_MANAGER": (Role.PROVIDER_MANAGER, provider_two),
        "POLICE_LEAD": (Role.SAFEGUARDING_LEAD, police),
        "OTHER_STAFF": (Role.PROVIDER_STAFF, provider),
        "OTHER_AREA_LEAD": (Role.SAFEGUARDING_LEAD, far_council),
    }
    for name, (role, agency) in people.items():
        world.users[name] = f.user(role, agency=agency, email=f"{name.lower()}@relationship.example")

    raiser = _acting(world.users["PROVIDER_STAFF"])
    consented = raise_concern(
        area=area, raised_by=raiser, service=service, what_happened="Consented concern",
        abuse_types={AbuseType.NEGLECT}, adult=AdultDetails(name="Consenting Adult"), consent=ConsentToShare.GIVEN,
    )
    raiser.membership = None
    far_concern = raise_concern(
        area=other_area, raised_by=None, service=None, what_happened="Far concern",
        abuse_types=set(), adult=AdultDetails(name="Far Adult"),
    )
    for other, name, supplier in ((service_two, "Service Two complaint", council), (far_service, "Far complaint", far_council)):
        _record_complaint(other, name, supplier)
    _db.session.commit()
    concern_reference = session.get(type(consented), world.ids["concern"]).reference
    world.ids.update({
        "partner_agreement": sharing.id, "consented_concern": consented.id, "provider_two": provider_two.id,
        "service_two": service_two.id, "far_provider": far_provider.id, "far_service": far_service.id,
        "far_concern": far_concern.id,
    })
    from portal.escalations.models import Escalation

    world.markers.update({
        "concern": concern_reference, "consented_concern": consented.reference, "far_concern": far_concern.reference,
        **{name: session.get(Escalation, world.ids[name]).reference for name in ("escalation", "concern_escalation")},
    })
    return world


def _record_complaint(service: Service, summary: str, supplier: Agency) -> None:
    """A complaint about the service (so that it has a risk signal, and a line on the register)."""
    from portal.core.codes import KeyQuestion
    from portal.intelligence import operations as intel
    from portal.intelligence.models import Severity, SourceType

    intel.record_item(service, intel.ItemDetails(
        occurred_on=date.today() - timedelta(days=1), source=SourceType.COMPLAINT, key_questions={KeyQuestion.CARING},
        severity=Severity.MODERATE, summary=summary), by=None, supplied_by=supplier)
