"""A fictional partnership area, Northshire, for demonstrations and browser tests.

Everything is built through the same operations the pages use, so the demo data obeys the same
rules and leaves the same audit trail. Running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from portal.agencies import operations as agency_ops
from portal.agencies.models import Area
from portal.agreements.models import Agreement, AgreementCategory, AgreementParty
from portal.agreements.sharing import london_today
from portal.audit.operations import record
from portal.auth.passwords import hash_password
from portal.core.codes import (
    AgencyKind,
    ControllerArrangement,
    DataCategory,
    LawfulBasis,
    Role,
    ServiceType,
    SpecialCategoryCondition,
)
from portal.core.db import utcnow
from portal.demo.concerns import ICB as ICB_COMMISSIONER
from portal.demo.concerns import seed_concerns, settle_demo_notifications
from portal.demo.escalations import seed_escalations, settle_escalation_notifications
from portal.demo.intelligence import seed_intelligence
from portal.demo.meetings import seed_meetings
from portal.demo.msp_year import seed_msp_year
from portal.demo.privacy import seed_privacy
from portal.demo.sign_on import seed_sign_on
from portal.extensions import db
from portal.notifications.models import NotificationEvent, NotificationPreference, PreferenceChoice
from portal.people.models import Membership, User

AREA_NAME = "Northshire"
#: Every demo account's password. Demo data is refused in production (see the CLI).
DEMO_PASSWORD = "northshire-demo-2026"

COUNCIL = "Northshire County Council"
ICB = "NHS Northshire Integrated Care Board"
REGULATOR = "Care Quality Commission (demo region)"
SAB = "Northshire Safeguarding Adults Board"
POLICE = "Northshire Police"
TRUST = "Northshire Community Health NHS Trust"
ADVOCACY = "Northshire Advocacy Hub"

PARTNERS = [
    (COUNCIL, AgencyKind.LOCAL_AUTHORITY),
    (ICB, AgencyKind.NHS_ICB),
    (REGULATOR, AgencyKind.REGULATOR),
    (SAB, AgencyKind.SAB),
    (POLICE, AgencyKind.POLICE),
    (TRUST, AgencyKind.NHS_TRUST),
    (ADVOCACY, AgencyKind.ADVOCACY),
]

H_NURSING, H_RES, DOM, SUPP, EXTRA, DAY = (
    ServiceType.CARE_HOME_NURSING,
    ServiceType.CARE_HOME_RESIDENTIAL,
    ServiceType.DOMICILIARY,
    ServiceType.SUPPORTED_LIVING,
    ServiceType.EXTRA_CARE_HOUSING,
    ServiceType.DAY_SERVICE,
)

#: Providers and their services: (service name, type, street, postcode, beds).
PROVIDERS = [
    ("Riverside Care Homes Ltd", [
        ("Riverside House", H_NURSING, "12 Mill Lane, Eastbrook", "NS1 4AB", 64),
        ("Riverside Lodge", H_RES, "14 Mill Lane, Eastbrook", "NS1 4AD", 38),
        ("Willow Court", H_NURSING, "3 Station Road, Kingsford", "NS3 2QP", 52),
    ]),
    ("Oakfield Healthcare", [
        ("Oakfield Manor", H_NURSING, "Oak Avenue, Westmere", "NS5 7HJ", 80),
        ("Oakfield Gardens", H_RES, "2 Garden Row, Westmere", "NS5 7HL", 29),
        ("Oakfield Home Care", DOM, "Unit 4, Westmere Business Park", "NS5 9TT", None),
    ]),
    ("Harbour View Care", [
        ("Harbour View", H_RES, "The Esplanade, Saltby", "NS9 1EZ", 24),
        ("Harbour View Nursing", H_NURSING, "1 Quay Street, Saltby", "NS9 1FA", 45),
    ]),
    ("Northshire Homecare Partnership", [
        ("Homecare North", DOM, "22 High Street, Kingsford", "NS3 1AA", None),
        ("Homecare South", DOM, "5 Market Place, Lowfield", "NS7 3BB", None),
        ("Homecare Rapid Response", DOM, "22 High Street, Kingsford", "NS3 1AB", None),
    ]),
    ("Brightpath Supported Living", [
        ("Brightpath Elm Street", SUPP, "8 Elm Street, Eastbrook", "NS1 6CD", None),
        ("Brightpath Ash Close", SUPP, "3 Ash Close, Lowfield", "NS7 5EF", None),
        ("Brightpath Day Opportunities", DAY, "Community Centre, Lowfield", "NS7 5EG", None),
    ]),
    ("St Anne's Care Trust", [
        ("St Anne's House", H_RES, "Church Lane, Ambridge", "NS4 8GH", 31),
        ("St Anne's Court", EXTRA, "Church Lane, Ambridge", "NS4 8GJ", None),
    ]),
    ("Meadowbank Care Group", [
        ("Meadowbank", H_NURSING, "Meadow Road, Hillcote", "NS6 2KL", 58),
        ("Meadowbank View", H_RES, "Meadow Road, Hillcote", "NS6 2KN", 40),
    ]),
    ("Kindred Care at Home", [
        ("Kindred Care Eastbrook", DOM, "40 King Street, Eastbrook", "NS1 2MN", None),
        ("Kindred Care Saltby", DOM, "9 Harbour Road, Saltby", "NS9 2PQ", None),
    ]),
    ("Greenacres Residential", [
        ("Greenacres", H_RES, "Greenacres Lane, Fenby", "NS8 4RS", 22),
        ("Greenacres Annexe", H_RES, "Greenacres Lane, Fenby", "NS8 4RT", 12),
    ]),
    ("Lantern Lifestyles", [
        ("Lantern House", SUPP, "17 Lantern Walk, Kingsford", "NS3 6UV", None),
        ("Lantern Flats", SUPP, "19 Lantern Walk, Kingsford", "NS3 6UW", None),
    ]),
    ("Cedar Lodge Nursing", [
        ("Cedar Lodge", H_NURSING, "Cedar Drive, Westmere", "NS5 3XY", 70),
        ("Cedar Lodge Dementia Unit", H_NURSING, "Cedar Drive, Westmere", "NS5 3XZ", 20),
    ]),
    ("Hearth and Home Care", [
        ("Hearth and Home Lowfield", DOM, "1 Bridge Street, Lowfield", "NS7 1AB", None),
        ("Hearth and Home Fenby", DOM, "6 Fen Road, Fenby", "NS8 2CD", None),
    ]),
    ("Summerfields Care", [
        ("Summerfields", H_RES, "Summer Lane, Ambridge", "NS4 1EF", 35),
        ("Summerfields Extra Care", EXTRA, "Summer Lane, Ambridge", "NS4 1EG", None),
    ]),
]


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    job_title: str
    agency: str
    role: Role


RIVERSIDE = PROVIDERS[0][0]

ACCOUNTS = [
    DemoAccount("admin@council.northshire.example", "Alex Morgan", "Partnership business manager", COUNCIL, Role.ADMINISTRATOR),
    DemoAccount("lead@council.northshire.example", "Sam Okafor", "Safeguarding adults lead", COUNCIL, Role.SAFEGUARDING_LEAD),
    DemoAccount("commissioner@icb.northshire.example", "Chris Patel", "Quality assurance officer", ICB, Role.COMMISSIONER),
    DemoAccount("staff@riverside.northshire.example", "Priya Shah", "Senior care worker", RIVERSIDE, Role.PROVIDER_STAFF),
    DemoAccount("manager@riverside.northshire.example", "Morgan Ellis", "Registered manager", RIVERSIDE, Role.PROVIDER_MANAGER),
    DemoAccount("inspector@regulator.northshire.example", "Ines Romero", "Inspector", REGULATOR, Role.INSPECTOR),
    DemoAccount("member@police.northshire.example", "Dev Kapoor", "Detective inspector, adult safeguarding", POLICE, Role.SAB_MEMBER),
    # The police's designated lead answers for the force in escalations (the Board's member does not).
    DemoAccount("lead@police.northshire.example", "Tamsin Reed", "Detective sergeant, designated safeguarding lead", POLICE, Role.SAFEGUARDING_LEAD),
    DemoAccount("chair@sab.northshire.example", "Charlie Osei", "Independent chair", SAB, Role.SAB_CHAIR),
]
#: A second role, so that switching agency can be seen: the ICB's commissioner also sits on the Board.
EXTRA_MEMBERSHIPS = [("commissioner@icb.northshire.example", SAB, Role.SAB_MEMBER)]


def demo_loaded() -> bool:
    return db.session.scalar(sa.select(Area.id).where(Area.name == AREA_NAME)) is not None


def seed_demo() -> bool:
    """Build the Northshire demo area; returns False (changing nothing) if it is already there."""
    if demo_loaded():
        return False
    area = Area(name=AREA_NAME)
    db.session.add(area)
    agencies = {}
    for name, kind in PARTNERS:
        agencies[name] = agency_ops.create_agency(area=area, name=name, kind=kind, provider_ref=None, require_two_factor=False)

    location = 100200300
    today = london_today()
    for number, (provider_name, services) in enumerate(PROVIDERS, start=1):
        provider = agency_ops.create_agency(
            area=area, name=provider_name, kind=AgencyKind.CARE_PROVIDER,
            provider_ref=f"1-{900100000 + number}", require_two_factor=False,
        )
        agencies[provider_name] = provider
        for service_name, service_type, street, postcode, beds in services:
            location += 7
            db.session.flush()
            service = agency_ops.add_service(
                provider, name=service_name, location_ref=f"1-{location}", service_type=service_type,
                address=street, postcode=postcode, registered_beds=beds,
            )
            agency_ops.add_commissioning(service, commissioner=agencies[COUNCIL], starts_on=today - timedelta(days=900), ends_on=None)
            if service_type is H_NURSING:
                agency_ops.add_commissioning(service, commissioner=agencies[ICB], starts_on=today - timedelta(days=600), ends_on=None)

    password_hash = hash_password(DEMO_PASSWORD)
    users = {}
    for account in ACCOUNTS:
        user = User(email=account.email, name=account.name, job_title=account.job_title, password_hash=password_hash, password_changed_at=utcnow())
        db.session.add(user)
        db.session.add(Membership(user=user, agency=agencies[account.agency], role=account.role))
        users[account.email] = user
    for email, agency_name, role in EXTRA_MEMBERSHIPS:
        db.session.add(Membership(user=users[email], agency=agencies[agency_name], role=role))
    db.session.flush()
    record("demo.people", f"{len(ACCOUNTS)} demo accounts created", details={"emails": [a.email for a in ACCOUNTS]})

    _agreement(
        area, agencies, today,
        title="Northshire provider quality intelligence sharing agreement",
        purpose="To share intelligence about the quality and safety of commissioned and regulated care services, so that partners can triangulate it, spot patterns early and act together.",
        parties=[COUNCIL, ICB, REGULATOR, SAB],
        categories={DataCategory.PROVIDER_INTELLIGENCE},
        lawful_basis=LawfulBasis.PUBLIC_TASK, condition=None,
        starts=-400, review=300, ends=700,
    )
    _agreement(
        area, agencies, today,
        title="Adult safeguarding information sharing agreement 2022 to 2025",
        purpose="To share personal information about adults at risk between the council, the NHS and the police for safeguarding enquiries under section 42 of the Care Act 2014.",
        parties=[COUNCIL, ICB, POLICE],
        categories={DataCategory.PERSONAL_SAFEGUARDING, DataCategory.PROVIDER_INTELLIGENCE},
        lawful_basis=LawfulBasis.PUBLIC_TASK, condition=SpecialCategoryCondition.SUBSTANTIAL_PUBLIC_INTEREST,
        starts=-1500, review=-700, ends=-400,
    )
    _agreement(
        area, agencies, today,
        title="Adult safeguarding information sharing agreement 2025 to 2028",
        purpose="To share personal information about adults at risk between the council, the NHS and the police for safeguarding enquiries under section 42 of the Care Act 2014, replacing the 2022 to 2025 agreement.",
        parties=[COUNCIL, ICB, POLICE],
        categories={DataCategory.PERSONAL_SAFEGUARDING, DataCategory.PROVIDER_INTELLIGENCE},
        lawful_basis=LawfulBasis.PUBLIC_TASK, condition=SpecialCategoryCondition.SUBSTANTIAL_PUBLIC_INTEREST,
        starts=-399, review=330, ends=700,
    )
    seed_sign_on(agencies[ICB])
    started = utcnow()
    # The ICB's commissioner reads comments and closures in one morning email.
    for event in (NotificationEvent.CONCERN_COMMENT, NotificationEvent.CONCERN_CLOSED):
        db.session.add(NotificationPreference(user=users[ICB_COMMISSIONER], event=event, choice=PreferenceChoice.DAILY_DIGEST))
    concerns = seed_concerns(area, agencies, users)
    seed_intelligence(area, agencies, users)
    seed_meetings(area, agencies, users, concerns)
    # Issue 7: a year of background concerns for the MSP report, and escalations at every stage
    # (after the meetings, whose overdue action and decision they escalate).
    seed_msp_year(area, agencies, users)
    seed_escalations(area, agencies, users, concerns)
    seed_privacy(area, agencies, users, concerns)
    db.session.commit()
    settle_demo_notifications(area, started)
    settle_escalation_notifications(area, started)
    return True


def _agreement(area, agencies, today, *, title, purpose, parties, categories, lawful_basis, condition, starts, review, ends):
    agreement = Agreement(
        area=area, title=title, purpose=purpose, controllers=ControllerArrangement.SEPARATE,
        lawful_basis=lawful_basis, special_category_condition=condition, retention_months=24,
        starts_on=today + timedelta(days=starts), review_on=today + timedelta(days=review), ends_on=today + timedelta(days=ends),
    )
    agreement.category_links = [AgreementCategory(category=c) for c in categories]
    agreement.parties = [
        AgreementParty(agency=agencies[name], signatory_name=f"Signatory for {name}", signatory_job_title="Caldicott guardian", signed_on=today + timedelta(days=starts - 14))
        for name in parties
    ]
    db.session.add(agreement)
    db.session.flush()
    record("agreement.create", f"Agreement {title} recorded", target=agreement, details={"parties": parties})
    return agreement
