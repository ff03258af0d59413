"""A year of provider intelligence for Northshire, and Meadowbank's story.

Every service gets its inspection history, contract-monitoring visits with scores and improvement
plans, complaints, incidents and statutory notifications, feedback and workforce figures, all
recorded through :mod:`portal.intelligence.operations`, so the audit trail, the timeline items and
the risk signals are the real ones. Dates are counted back from today and never in the future;
everything else comes from explicit lists or a seeded random generator, so every load is the same.

Meadowbank is the pattern the portal exists to catch: over four months contract monitoring,
complaints, workforce figures, a whistleblower and two safeguarding concerns all point at "safe"
and "well-led", and only then does the regulator publish an Inadequate rating. Its signal is Red
and converging on those two key questions, and its register entry is owned by the ICB.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from portal.agencies.models import Agency, Area, Service
from portal.concerns.models import Adult
from portal.core.codes import (
    RAG,
    AbuseType,
    ConcernStatus,
    ConsentToShare,
    KeyQuestion,
    PrimarySupportReason,
    Rating,
    RiskLocation,
    RiskSource,
    ServiceType,
    Sex,
    TriageDecision,
)
from portal.core.db import utcnow
from portal.core.workdays import london_today
from portal.demo.concerns import ICB, INSPECTOR, MANAGER, Person, Story, _Builder
from portal.extensions import db
from portal.intelligence import operations as intel
from portal.intelligence.models import QualityScore, Severity, SourceType
from portal.people.models import User

SEED = 2027

COUNCIL = "Northshire County Council"
ICB_AGENCY = "NHS Northshire Integrated Care Board"
REGULATOR = "Care Quality Commission (demo region)"
SAB = "Northshire Safeguarding Adults Board"

MEADOWBANK = "Meadowbank"
RIVERSIDE_HOUSE = "Riverside House"

Q = KeyQuestion
SAFE, EFFECTIVE, CARING, RESPONSIVE, WELL_LED = Q.SAFE, Q.EFFECTIVE, Q.CARING, Q.RESPONSIVE, Q.WELL_LED
OUT, GOOD, RI, INAD = Rating.OUTSTANDING, Rating.GOOD, Rating.REQUIRES_IMPROVEMENT, Rating.INADEQUATE
EXC, GD, RQI, POOR = QualityScore.EXCELLENT, QualityScore.GOOD, QualityScore.REQUIRES_IMPROVEMENT, QualityScore.POOR
POS, LOW, MOD, HIGH = Severity.POSITIVE, Severity.LOW, Severity.MODERATE, Severity.HIGH

COUNCIL_OFFICERS = ("Hannah Clarke, quality monitoring officer", "Tom Whitfield, contracts officer")
ICB_OFFICER = "Chris Patel, quality assurance officer"
CARE_HOMES = {ServiceType.CARE_HOME_NURSING, ServiceType.CARE_HOME_RESIDENTIAL}


# Inspections -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    days_ago: int
    overall: Rating
    #: Key questions rated differently from the overall rating.
    except_for: tuple[tuple[KeyQuestion, Rating], ...] = ()

    def details(self, today: date) -> intel.InspectionDetails:
        ratings = {question: self.overall for question in KeyQuestion} | dict(self.except_for)
        return intel.InspectionDetails(
            published_on=today - timedelta(days=self.days_ago), overall=self.overall, ratings=ratings,
            report_type="Comprehensive inspection",
        )


P = Publication

#: Each service's published ratings, oldest first. Day services are not registered with the regulator.
INSPECTIONS: dict[str, list[Publication]] = {
    "Riverside House": [P(790, GOOD), P(205, GOOD, ((SAFE, RI),))],
    "Riverside Lodge": [P(640, GOOD)],
    "Willow Court": [P(720, GOOD), P(150, RI, ((CARING, GOOD), (RESPONSIVE, GOOD)))],
    "Oakfield Manor": [P(830, GOOD), P(260, RI, ((CARING, GOOD), (EFFECTIVE, GOOD)))],
    "Oakfield Gardens": [P(560, RI, ((CARING, GOOD),)), P(120, GOOD)],
    "Oakfield Home Care": [P(480, GOOD)],
    "Harbour View": [P(600, OUT, ((SAFE, GOOD), (EFFECTIVE, GOOD))), P(95, GOOD, ((CARING, OUT),))],
    "Harbour View Nursing": [P(700, RI), P(180, GOOD, ((SAFE, RI),))],
    "Homecare North": [P(530, GOOD)],
    "Homecare South": [P(740, RI, ((CARING, GOOD),)), P(230, GOOD)],
    "Homecare Rapid Response": [P(410, GOOD)],
    "Brightpath Elm Street": [P(690, GOOD), P(70, OUT, ((SAFE, GOOD), (EFFECTIVE, GOOD)))],
    "Brightpath Ash Close": [P(580, GOOD), P(160, GOOD, ((WELL_LED, RI),))],
    "St Anne's House": [P(620, GOOD), P(300, GOOD, ((RESPONSIVE, OUT),))],
    "St Anne's Court": [P(450, GOOD)],
    "Meadowbank View": [P(800, GOOD), P(330, GOOD)],
    "Kindred Care Eastbrook": [P(760, GOOD), P(140, GOOD, ((CARING, OUT),))],
    "Kindred Care Saltby": [P(520, RI, ((CARING, GOOD), (SAFE, GOOD))), P(55, GOOD)],
    "Greenacres": [P(690, GOOD), P(210, RI, ((CARING, GOOD), (RESPONSIVE, GOOD)))],
    "Greenacres Annexe": [P(470, GOOD)],
    "Lantern House": [P(650, GOOD), P(110, GOOD)],
    "Lantern Flats": [P(430, GOOD)],
    "Cedar Lodge": [P(810, OUT, ((SAFE, GOOD),)), P(250, GOOD)],
    "Cedar Lodge Dementia Unit": [P(500, GOOD), P(40, GOOD, ((EFFECTIVE, OUT),))],
    "Hearth and Home Lowfield": [P(590, GOOD)],
    "Hearth and Home Fenby": [P(710, RI), P(190, GOOD)],
    "Summerfields": [P(640, GOOD), P(280, OUT, ((SAFE, GOOD), (EFFECTIVE, GOOD), (RESPONSIVE, GOOD)))],
    "Summerfields Extra Care": [P(420, GOOD)],
}

#: Meadowbank: Good three years ago and again fourteen months ago, then Inadequate ten days ago.
MEADOWBANK_INSPECTIONS = [
    P(1150, GOOD),
    P(425, GOOD),
    P(10, INAD, ((EFFECTIVE, RI), (CARING, GOOD), (RESPONSIVE, RI))),
]


# The items that make up ordinary services' year -------------------------------------------------

#: (summary, key questions, severity) for each source's everyday items.
COMPLAINTS = [
    ("A relative complained that a planned review was cancelled twice without notice.", (RESPONSIVE,), LOW),
    ("Complaint about lost laundry and clothes returned to the wrong room.", (CARING, RESPONSIVE), LOW),
    ("A son complained that he was not told about his mother's GP visit for three days.", (RESPONSIVE, WELL_LED), LOW),
    ("Complaint that call visits were regularly more than an hour late.", (RESPONSIVE, SAFE), MOD),
    ("Complaint about cold meals and too little choice at tea time.", (CARING,), LOW),
    ("A family complained that their complaint was not acknowledged for five weeks.", (WELL_LED, RESPONSIVE), MOD),
    ("Complaint about the attitude of one member of night staff.", (CARING,), LOW),
]
INCIDENTS = [
    ("Statutory notification: a resident fell and fractured a wrist; care plan reviewed.", (SAFE,), LOW),
    ("Statutory notification: the death of a person using the service (expected).", (SAFE,), LOW),
    ("Medicines error: an evening dose given twice; no harm, GP informed.", (SAFE,), LOW),
    ("Statutory notification: a Deprivation of Liberty Safeguards authorisation granted.", (EFFECTIVE,), LOW),
    ("Incident: a person left the building unnoticed and was found nearby after 20 minutes.", (SAFE,), MOD),
    ("Statutory notification: a grade 3 pressure ulcer found on admission from hospital.", (SAFE, EFFECTIVE), LOW),
]
FEEDBACK = [
    ("Relatives' survey: 94% would recommend the service to family and friends.", (CARING,), POS),
    ("Thank-you card from a family praising the end of life care their father had.", (CARING, RESPONSIVE), POS),
    ("Residents' meeting: people like the new activities programme and the garden.", (RESPONSIVE,), POS),
    ("Healthwatch enter and view visit: staff kind and patient; signage could be clearer.", (CARING, EFFECTIVE), POS),
    ("Feedback from a person using the service: carers are kind but often rushed.", (CARING,), LOW),
    ("Advocate's feedback: the person's wishes were listened to at a best interests meeting.", (EFFECTIVE, CARING), POS),
]
WORKFORCE = [
    ("Quarterly return: staff turnover 14% over 12 months (area average 27%).", (WELL_LED,), POS),
    ("Quarterly return: agency staff covered 6% of care hours.", (SAFE,), POS),
    ("Quarterly return: 96% of staff up to date with safeguarding training.", (EFFECTIVE, SAFE), POS),
    ("Quarterly return: agency staff covered 18% of care hours, up from 9%.", (SAFE, WELL_LED), LOW),
    ("Quarterly return: 78% of staff up to date with moving and handling training.", (SAFE, EFFECTIVE), LOW),
    ("Quarterly return: 11 vacancies for care workers, 15% of the establishment.", (SAFE,), LOW),
]

#: Improvement actions a score of Requires improvement leads to, by the standard's area.
ACTIONS = {
    SAFE: "Review risk assessments for everyone at risk of falls or pressure damage and audit them monthly.",
    EFFECTIVE: "Bring supervision and mandatory training up to date and send the training matrix to the council.",
    CARING: "Hold a residents' and relatives' meeting on dignity at mealtimes and act on what is said.",
    RESPONSIVE: "Rewrite care plans with the person and their family so they say what matters to them.",
    WELL_LED: "Complete the monthly quality audits and share the action log with the contracts team.",
}

#: Safeguarding Adults Review findings about demo services: (service, days ago, summary, questions, severity).
SAR_FINDINGS = [
    ("Harbour View Nursing", 150,
     "SAR 'Stanley': hydration charts were kept but nobody read them; the home should audit fluid intake daily.",
     (SAFE, EFFECTIVE), MOD),
    ("Oakfield Manor", 210,
     "SAR thematic review of falls: night checks were recorded but not carried out; learning shared with all homes.",
     (SAFE, WELL_LED), LOW),
]


# Meadowbank's story ----------------------------------------------------------------------------

#: Meadowbank's items, oldest first: (days ago, source, summary, questions, severity, supplier).
MEADOWBANK_ITEMS = [
    (300, SourceType.FEEDBACK, "Relatives' survey: 90% would recommend Meadowbank; praise for the activities team.",
     (CARING,), POS, COUNCIL),
    (180, SourceType.WORKFORCE, "Quarterly return: staff turnover 21% over 12 months; agency staff 8% of nursing hours.",
     (SAFE, WELL_LED), LOW, COUNCIL),
    (121, SourceType.WORKFORCE, "The registered manager has left; the deputy is acting up and there is no start date for a new manager.",
     (WELL_LED,), MOD, ICB_AGENCY),
    (100, SourceType.COMPLAINT, "A daughter complained that call bells went unanswered for more than 20 minutes at night, twice in a week.",
     (SAFE,), MOD, COUNCIL),
    (86, SourceType.WORKFORCE, "Quarterly return: agency nurses covered 38% of nursing hours last month, up from 8%.",
     (SAFE, WELL_LED), MOD, ICB_AGENCY),
    (72, SourceType.INCIDENT, "Statutory notification: a resident fell at night and fractured a hip; the sensor mat was not switched on.",
     (SAFE,), MOD, REGULATOR),
    (58, SourceType.COMPLAINT, "A family complained that their mother's medicines were given hours late and their complaint to the home was never answered.",
     (SAFE, WELL_LED), MOD, COUNCIL),
    (41, SourceType.WHISTLEBLOWING, "A nurse told the ICB that nights run with one nurse for 58 residents and that rotas are altered before visits.",
     (SAFE, WELL_LED), HIGH, ICB_AGENCY),
    (24, SourceType.FEEDBACK, "Residents' meeting: people say staff are kind but rushed and meals are often late.",
     (CARING,), LOW, COUNCIL),
    (17, SourceType.COMPLAINT, "A son found his father in soiled bedding at 11am, with his drink out of reach; the home had no record of checks since 6am.",
     (SAFE,), HIGH, COUNCIL),
]

#: The two concerns raised about Meadowbank while the pattern formed (the demo's concerns have two more).
MEADOWBANK_CONCERNS = [
    Story(
        "meadowbank-pressure", ConcernStatus.IN_PROGRESS, ICB, MEADOWBANK, (AbuseType.ORGANISATIONAL, AbuseType.NEGLECT),
        RiskLocation.CARE_HOME_NURSING, RiskSource.SERVICE_PROVIDER,
        "District nurses found two residents at Meadowbank with grade 3 pressure ulcers. Repositioning charts are blank "
        "overnight and staff say there are not enough of them to turn people at night.",
        ago=64, rag=RAG.AMBER, action="Tissue viability nurse visited the same day; ICB quality team informed.",
        adult=Person("Edna Whitworth", Sex.FEMALE, 4, PrimarySupportReason.PHYSICAL, "Meadowbank, Meadow Road, Hillcote",
                     "NS6 2KL", nhs=False),
        consent=ConsentToShare.NOT_POSSIBLE, decision=TriageDecision.S42_ENQUIRY,
        comments=((ICB, "The ICB and council will make an unannounced contract-monitoring visit to Meadowbank.", False),),
    ),
    Story(
        "meadowbank-mornings", ConcernStatus.IN_PROGRESS, INSPECTOR, MEADOWBANK, (AbuseType.ORGANISATIONAL, AbuseType.NEGLECT),
        RiskLocation.CARE_HOME_NURSING, RiskSource.SERVICE_PROVIDER,
        "Information of concern to the regulator: residents at Meadowbank are left in bed until midday and miss breakfast; "
        "the home has had no registered manager for three months.",
        ago=29, rag=RAG.AMBER, decision=TriageDecision.QUALITY_CONCERN,
        comments=((INSPECTOR, "The regulator has brought forward its inspection of Meadowbank.", False),),
    ),
]


class _Seeder:
    def __init__(self, area: Area, agencies: dict[str, Agency], users: dict[str, User]):
        self.area = area
        self.agencies = agencies
        self.users = users
        self.rng = random.Random(SEED)
        self.today = london_today()
        self.services = {
            service.name: service
            for service in db.session.scalars(
                sa.select(Service).join(Agency, Service.provider_id == Agency.id)
                .where(Agency.area_id == area.id).order_by(Service.id)
            )
        }
        self.standards = {standard.code: standard for standard in intel.ensure_default_standards(area.id)}
        self.concerns = _Builder(area, agencies, users)
        self.concerns.rng = random.Random(SEED)
        self.concerns.nhs_numbers.update(n for n in db.session.scalars(sa.select(Adult.nhs_number)) if n)

    def act(self, email: str) -> User:
        return self.concerns.act(email)

    def day(self, days_ago: int) -> date:
        return self.today - timedelta(days=days_ago)

    # Building blocks ------------------------------------------------------------------------

    def inspections(self, service: Service, publications: list[Publication]) -> None:
        inspector = self.act(INSPECTOR)
        for publication in publications:
            intel.record_inspection(service, publication.details(self.today), by=inspector,
                                    supplied_by=self.agencies[REGULATOR])

    def item(self, service: Service, days_ago: int, source: SourceType, summary: str, questions, severity: Severity,
             supplier: str, by: User | None = None) -> None:
        intel.record_item(
            service,
            intel.ItemDetails(occurred_on=self.day(days_ago), source=source, key_questions=set(questions),
                              severity=severity, summary=summary),
            by=by, supplied_by=self.agencies[supplier],
        )

    def visit(self, service: Service, days_ago: int, *, by_icb: bool, scores: dict[str, QualityScore], findings: str,
              actions: list[intel.ActionDetails] | None = None):
        """A visit scoring every standard Good unless ``scores`` says otherwise."""
        visited_on = self.day(days_ago)
        all_scores = {standard.id: scores.get(code, GD) for code, standard in self.standards.items()}
        if actions is None:
            actions = [
                intel.ActionDetails(ACTIONS[self.standards[code].quality_area.key_question], "Registered manager",
                                    visited_on + timedelta(days=42))
                for code, score in scores.items() if score in (RQI, POOR)
            ]
        officer = ICB_OFFICER if by_icb else self.rng.choice(COUNCIL_OFFICERS)
        return intel.record_visit(
            service, intel.VisitDetails(visited_on=visited_on, officer_name=officer, findings=findings,
                                        scores=all_scores, actions=actions),
            commissioner=self.agencies[ICB_AGENCY if by_icb else COUNCIL], by=self.act(ICB) if by_icb else None,
        )

    # Every service's year -------------------------------------------------------------------

    def ordinary_year(self, service: Service) -> None:
        rng = self.rng
        self.inspections(service, INSPECTIONS.get(service.name, []))
        codes = list(self.standards)
        for by_icb in (False, True) if service.service_type is ServiceType.CARE_HOME_NURSING else (False,):
            scores = {code: EXC for code in rng.sample(codes, rng.randint(0, 4))}
            weak = rng.sample(codes, rng.choice((0, 0, 1, 1, 2)))
            scores |= {code: RQI for code in weak}
            findings = ("A settled service; records were complete and people spoke well of the staff." if not weak else
                        "Mostly good care seen; the improvement plan covers the standards that need work.")
            self.visit(service, rng.randint(35, 340), by_icb=by_icb, scores=scores, findings=findings)
        home = service.service_type in CARE_HOMES
        for pool, source, count, supplier in (
            (COMPLAINTS, SourceType.COMPLAINT, rng.choice((0, 1, 1, 2)), COUNCIL),
            (INCIDENTS, SourceType.INCIDENT, rng.randint(1, 3) if home else rng.randint(0, 1), REGULATOR),
            (FEEDBACK, SourceType.FEEDBACK, rng.randint(1, 3), COUNCIL),
            (WORKFORCE, SourceType.WORKFORCE, 2, COUNCIL),
        ):
            for summary, questions, severity in rng.sample(pool, count):
                self.item(service, rng.randint(3, 360), source, summary, questions, severity, supplier)

    # The stories ----------------------------------------------------------------------------

    def meadowbank(self) -> None:
        """Contract monitoring, complaints, workforce figures, a whistleblower and concerns
        converge on safe and well-led before the regulator rates the home Inadequate."""
        service = self.services[MEADOWBANK]
        self.inspections(service, MEADOWBANK_INSPECTIONS[:2])
        self.visit(service, 330, by_icb=False, scores={"C1": EXC, "R3": EXC},
                   findings="A well-run home; the registered manager knows every resident.")
        self.visit(service, 112, by_icb=False, scores={"S2": RQI, "S3": RQI, "W2": RQI},
                   findings="Since the manager left, audits have lapsed and night staffing relies on agency nurses.")
        today = self.today
        self.visit(
            service, 48, by_icb=True,
            scores={"S1": POOR, "S2": POOR, "S3": POOR, "S4": RQI, "W1": POOR, "W2": POOR, "W3": RQI},
            findings="Unannounced visit with the council. One nurse on nights for 58 residents; repositioning and fluid "
                     "charts blank overnight; no registered manager; audits not done since the spring.",
            actions=[
                intel.ActionDetails("Staff nights to the assessed dependency: two nurses and six carers, from tonight.",
                                    "Acting manager", today - timedelta(days=41)),
                intel.ActionDetails("Send weekly rotas, actual against planned, to the ICB quality team.",
                                    "Acting manager", today - timedelta(days=20)),
                intel.ActionDetails("Appoint a registered manager and notify the regulator.", "Nominated individual",
                                    today + timedelta(days=30)),
                intel.ActionDetails("Audit every resident's pressure care and fluid charts weekly and act on gaps.",
                                    "Clinical lead", today + timedelta(days=14)),
            ],
        )
        for days_ago, source, summary, questions, severity, supplier in MEADOWBANK_ITEMS:
            by = self.act(ICB) if supplier == ICB_AGENCY else None
            self.item(service, days_ago, source, summary, questions, severity, supplier, by=by)
        for story in MEADOWBANK_CONCERNS:
            self.concerns.build(story, self.concerns.raised_at(story))
        self.inspections(service, MEADOWBANK_INSPECTIONS[2:])
        intel.set_register_entry(
            service, owner=self.users[ICB], review_on=today + timedelta(days=14), by=self.act(ICB),
            note="Joint ICB and council quality improvement process; provider risk meeting booked. Placements paused.",
        )

    def riverside_house(self) -> None:
        """The ICB's visits, one plan answered and closed, one open for the manager; a whistleblower."""
        service = self.services[RIVERSIDE_HOUSE]
        icb, manager = self.act(ICB), self.act(MANAGER)
        earlier = self.visit(service, 240, by_icb=True, scores={"C2": RQI, "R1": RQI},
                             findings="Care plans are generic and people were not asked what matters to them.")
        for action in earlier.actions:
            intel.respond_to_action(action, by=manager, response="Care plans rewritten with each resident and their "
                                    "family; the new template is in use for everyone.")
            intel.complete_action(action, by=icb)
            # The operations stamp now; the plan was answered and closed within weeks of the visit.
            action.responded_at = utcnow() - timedelta(days=205)
            action.completed_at = utcnow() - timedelta(days=196)
        today = self.today
        self.visit(
            service, 20, by_icb=True, scores={"S2": RQI, "S4": RQI, "E2": RQI},
            findings="A resident has lost 6kg in two months with food and fluid charts mostly blank. Medicines as "
                     "required (PRN) have no protocols.",
            actions=[
                intel.ActionDetails("Weigh every resident weekly and refer any loss of 5% or more to the dietitian.",
                                    "Registered manager", today + timedelta(days=10)),
                intel.ActionDetails("Write a protocol for every medicine given as required and audit them monthly.",
                                    "Clinical lead", today + timedelta(days=28)),
                intel.ActionDetails("Bring nutrition and hydration training up to date for all care staff.",
                                    "Registered manager", today + timedelta(days=45)),
            ],
        )
        self.item(service, 33, SourceType.WHISTLEBLOWING,
                  "An anonymous caller told the ICB that night staff at Riverside House sleep on shift and that "
                  "checks are signed for but not done.",
                  (SAFE, WELL_LED), MOD, ICB_AGENCY, by=icb)

    def sar_findings(self) -> None:
        for name, days_ago, summary, questions, severity in SAR_FINDINGS:
            self.item(self.services[name], days_ago, SourceType.SAR_FINDING, summary, questions, severity, SAB)


def seed_intelligence(area: Area, agencies: dict[str, Agency], users: dict[str, User]) -> None:
    """A year of intelligence about every demo service, and Meadowbank's story."""
    seeder = _Seeder(area, agencies, users)
    for name, service in seeder.services.items():
        if name != MEADOWBANK:
            seeder.ordinary_year(service)
    seeder.riverside_house()
    seeder.sar_findings()
    seeder.meadowbank()
    for user in users.values():
        user.membership = None
