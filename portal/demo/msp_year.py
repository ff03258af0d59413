"""A year of background concerns for Northshire, so that the MSP and outcome report has figures.

The demo's stories (concerns.py) are told through the operations, one by one; sixty of them are
far too few for the national return's tables, where every age band, sex, primary support reason,
type, location and source of risk, action and result, capacity and MSP answer wants a figure. These
are the statistics behind the stories: about 260 concerns over the past twelve months, drawn from a
seeded ``random.Random`` (so every load is the same), in realistic proportions — about half become
enquiries (most of them section 42), most enquiries are closed, the recent ones are still in
progress, and the rest were triaged as no further action or signposted. None is left submitted, so
the safeguarding lead's triage queue holds only the stories'.

They are written straight to the tables with a handful of bulk inserts (through the operations
they would take many seconds to seed): the adult, the concern with every field the return counts,
its types of abuse, its timeline (raised, triaged, assigned, the MSP record, the desired outcome,
the advocate, work started, closed, in the words the operations use), and its desired outcome. Their
references come from the same yearly counter as every other concern, claimed in one block per year,
so they follow the stories' and the Meadowbank concerns' numbers, as an import of past concerns
would. The audit trail says, truthfully, that they were written by the demo seed.

They are **not** about any service or provider: a concern about a service is intelligence about it,
and these would change the demo's risk signals, its risk register and Meadowbank's story. Nor do
they record notifications: nobody is told about statistics.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from portal.agencies.models import Agency, Area
from portal.agreements.sharing import london_today
from portal.audit.operations import record
from portal.concerns.models import Adult, Concern, ConcernAbuseType, ConcernEvent, DesiredOutcome, ReferenceCounter
from portal.concerns.operations import RISK_FOUND
from portal.core.codes import (
    RAG,
    AbuseType,
    ActionResult,
    ConcernStatus,
    ConsentToShare,
    MentalCapacity,
    MspAsked,
    OutcomesAchieved,
    PrimarySupportReason,
    RaisedVia,
    RiskLocation,
    RiskOutcome,
    RiskSource,
    Role,
    Sex,
    TriageDecision,
)
from portal.core.db import utcnow
from portal.demo.concerns import ADVOCACY_HUB, AGE_BANDS, LEAD
from portal.extensions import db
from portal.people.models import User

SEED = 2028
#: Concerns written besides the ones every table needs (see ``_covering``).
RANDOM_CONCERNS = 238

#: Who raises them, by email: the demo's partner accounts (public reporters have none).
RAISERS = (
    "lead@council.northshire.example",
    "commissioner@icb.northshire.example",
    "inspector@regulator.northshire.example",
    "lead@police.northshire.example",
)

A, L, SRC, AR, RO, MC, ASK, OA, PSR = (
    AbuseType, RiskLocation, RiskSource, ActionResult, RiskOutcome, MentalCapacity, MspAsked, OutcomesAchieved,
    PrimarySupportReason,
)

#: What happened, by the first type of abuse. These exact sentences mark a concern as background.
WHAT_HAPPENED = {
    A.PHYSICAL: "Unexplained bruising found during personal care; the adult could not say how it happened.",
    A.SEXUAL: "The adult disclosed unwanted sexual touching by someone they know.",
    A.PSYCHOLOGICAL: "The adult is being shouted at, threatened and belittled by someone close to them.",
    A.FINANCIAL: "Money is going missing from the adult's account and a relative controls their bank card.",
    A.DISCRIMINATORY: "The adult is being harassed and called names because of their race and religion.",
    A.ORGANISATIONAL: "Care routines are run for staff convenience: people are got up at 5am and left waiting for help.",
    A.NEGLECT: "Care and support the adult relies on is not being given: missed meals, medication and personal care.",
    A.DOMESTIC: "The adult's partner controls where they go and who they see, and has hit them before.",
    A.SEXUAL_EXPLOITATION: "The adult is being given alcohol and gifts by older men who then ask them for sex.",
    A.MODERN_SLAVERY: "The adult is working long hours for no pay and lives where their employer tells them to.",
    A.SELF_NEGLECT: "The adult is not eating, their home is unheated and they refuse all help.",
}

#: Reasons for triage decisions that need one.
NO_ENQUIRY_REASONS = {
    TriageDecision.NO_FURTHER_ACTION: (
        "No care and support needs; the adult has capacity and is managing the risk themselves.",
        "Already resolved by the provider with the adult's agreement; no further safeguarding action needed.",
        "Information only: the risk is being managed through the adult's existing care plan review.",
    ),
    TriageDecision.SIGNPOSTED: (
        "Signposted to the housing association and the community safety team.",
        "Signposted to the GP's social prescriber and the carers' centre.",
        "Signposted to the police fraud advice line and the bank's vulnerable customer team.",
    ),
}

VIEWS = (
    "They want to stay where they live and feel safe there.",
    "They want it to stop, without the police being involved.",
    "They want to be kept informed and to decide for themselves.",
    "They want their money back in their own hands.",
)
OUTCOME_WORDS = (
    "I want to feel safe at home.",
    "I want it to stop.",
    "I want to be in charge of my own money.",
    "I want to be listened to.",
    "I want to stay where I am.",
)
BEST_INTERESTS = "Best-interests decision agreed with the family: stay at home with a revised care and support plan."
ADVOCATES = ("Mared Lloyd", "Kieran Doyle", "Femi Adebayo", "Laura Finch", "Owen Kettering")
RELATIONSHIPS = ("Neighbour", "Daughter", "Son", "Friend", "Niece", "Husband", "Wife")

FIRST_NAMES = {
    Sex.FEMALE: ("Ada", "Beatrice", "Constance", "Doreen", "Eileen", "Freda", "Gwen", "Hazel", "Ivy", "Joyce", "Kath",
                 "Lorna", "Maud", "Nellie", "Pearl", "Rita", "Sheila", "Thelma", "Vera", "Wendy", "Amira", "Grace", "Sian"),
    Sex.MALE: ("Alf", "Bernard", "Cecil", "Derek", "Eric", "Fred", "Gordon", "Harry", "Idris", "Jack", "Ken", "Len",
               "Malcolm", "Neville", "Percy", "Ray", "Stan", "Trevor", "Vernon", "Wilf", "Kwame", "Tomasz", "Gethin"),
    Sex.NOT_KNOWN: ("Alex", "Robin", "Sam", "Jordan", "Charlie", "Frankie"),
}
SURNAMES = ("Abbott", "Blackwood", "Carrow", "Dinsdale", "Entwistle", "Farrow", "Gledhill", "Hepworth", "Illingworth",
            "Jessop", "Kershaw", "Lumb", "Mottram", "Nuttall", "Oldroyd", "Pickles", "Quinton", "Ramsbottom",
            "Sutcliffe", "Thwaite", "Uttley", "Varley", "Whiteley", "Yeadon", "Mensah", "Nowak", "Ahmed")


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# Realistic proportions (roughly the shape of recent national returns).
DECISIONS = {TriageDecision.S42_ENQUIRY: 36, TriageDecision.OTHER_ENQUIRY: 12, TriageDecision.NO_FURTHER_ACTION: 34,
             TriageDecision.SIGNPOSTED: 18}
BANDS = {0: 24, 1: 12, 2: 25, 3: 30, 4: 9}
SEXES = {Sex.FEMALE: 58, Sex.MALE: 40, Sex.NOT_KNOWN: 2}
SUPPORT = {PSR.PHYSICAL: 48, PSR.MEMORY_COGNITION: 15, PSR.LEARNING_DISABILITY: 9, PSR.MENTAL_HEALTH: 11,
           PSR.SENSORY: 3, PSR.SOCIAL: 5, PSR.NONE: 5, PSR.NOT_KNOWN: 4}
TYPES = {A.NEGLECT: 32, A.PHYSICAL: 20, A.FINANCIAL: 15, A.PSYCHOLOGICAL: 13, A.SELF_NEGLECT: 7, A.ORGANISATIONAL: 4,
         A.DOMESTIC: 5, A.SEXUAL: 3, A.DISCRIMINATORY: 1, A.SEXUAL_EXPLOITATION: 1, A.MODERN_SLAVERY: 1}
LOCATIONS = {L.OWN_HOME: 45, L.CARE_HOME_RESIDENTIAL: 16, L.CARE_HOME_NURSING: 12, L.COMMUNITY: 7,
             L.COMMUNITY_SERVICE: 5, L.HOSPITAL_ACUTE: 5, L.HOSPITAL_MENTAL_HEALTH: 3, L.HOSPITAL_COMMUNITY: 3, L.OTHER: 4}
SOURCES = {SRC.KNOWN: 60, SRC.SERVICE_PROVIDER: 30, SRC.UNKNOWN: 10}
ACTIONS = {AR.RISK_ACTION: 56, AR.RISK_NO_ACTION: 3, AR.INCONCLUSIVE_ACTION: 12, AR.INCONCLUSIVE_NO_ACTION: 4,
           AR.NO_RISK_ACTION: 8, AR.NO_RISK_NO_ACTION: 9, AR.CEASED: 8}
RISK_OUTCOMES = {RO.REDUCED: 56, RO.REMOVED: 34, RO.REMAINED: 10}
CAPACITY = {MC.NOT_LACKED: 60, MC.LACKED: 26, MC.DONT_KNOW: 9, MC.NOT_RECORDED: 5}
ASKED = {ASK.ASKED_EXPRESSED: 74, ASK.ASKED_NOT_EXPRESSED: 9, ASK.NO: 8, ASK.DONT_KNOW: 3, ASK.NOT_RECORDED: 6}
ACHIEVED = {OA.FULLY: 64, OA.PARTIALLY: 29, OA.NOT: 7}


@dataclass
class _Plan:
    """One background concern, before it is written."""

    decision: TriageDecision
    band: int
    sex: Sex
    support: PrimarySupportReason
    types: list[AbuseType]
    location: RiskLocation
    source: RiskSource
    raised_days_ago: float
    #: For enquiries: days from raising to closing (None: still in progress).
    duration: float | None = None
    action: ActionResult | None = None
    risk: RiskOutcome | None = None
    capacity: MentalCapacity | None = None
    #: For "lacked capacity": "advocate", "family" (an appropriate person) or None (no support).
    support_by: str | None = None
    asked: MspAsked | None = None
    achieved: OutcomesAchieved | None = None


def _risk_without_one(action: ActionResult) -> RiskOutcome:
    """Where no risk was found the closing form still asks; the stories answer as a lead would:
    nothing remains when there was no risk, and a risk stays when the adult stopped the enquiry."""
    return RO.REMAINED if action is AR.CEASED else RO.REMOVED


def _covering() -> list[_Plan]:
    """Concerns that give every cell of every table a figure, for both kinds of enquiry.

    Eleven closed enquiries of each kind, cycling through the code lists together: each type of
    risk; location, source and action in turn; the five capacity answers (lacked with and without
    support among them) and the five MSP answers; each risk outcome among those where a risk was
    found; each "outcomes achieved" answer among those who expressed outcomes; and the eight
    primary support reasons, five age bands and three sexes among them, so that concerns and
    enquiries started have every breakdown too.
    """
    plans = []
    capacities = [(MC.LACKED, "advocate"), (MC.LACKED, None), (MC.NOT_LACKED, None), (MC.DONT_KNOW, None),
                  (MC.NOT_RECORDED, None), (MC.LACKED, "family")]
    for decision in (TriageDecision.S42_ENQUIRY, TriageDecision.OTHER_ENQUIRY):
        risks = iter(list(RiskOutcome) * 4)
        achieved = iter(list(OutcomesAchieved) * 4)
        for j, abuse_type in enumerate(AbuseType):
            action = list(ActionResult)[j % len(ActionResult)]
            asked = list(MspAsked)[j % len(MspAsked)]
            capacity, support_by = capacities[j % len(capacities)]
            plans.append(_Plan(
                decision=decision, band=j % len(AGE_BANDS), sex=list(Sex)[j % len(Sex)],
                support=list(PrimarySupportReason)[j % len(PrimarySupportReason)], types=[abuse_type],
                location=list(RiskLocation)[j % len(RiskLocation)], source=list(RiskSource)[j % len(RiskSource)],
                raised_days_ago=330 - 22 * j, duration=25 + 3 * j, action=action,
                risk=next(risks) if action in RISK_FOUND else _risk_without_one(action), capacity=capacity, support_by=support_by,
                asked=asked, achieved=next(achieved) if asked is ASK.ASKED_EXPRESSED else None,
            ))
    return plans


def _random_plan(rng: random.Random) -> _Plan:
    decision = _weighted(rng, DECISIONS)
    first = _weighted(rng, TYPES)
    types = [first]
    if rng.random() < 0.25:
        second = _weighted(rng, TYPES)
        if second is not first:
            types.append(second)
    plan = _Plan(
        decision=decision, band=_weighted(rng, BANDS), sex=_weighted(rng, SEXES), support=_weighted(rng, SUPPORT),
        types=types, location=_weighted(rng, LOCATIONS), source=_weighted(rng, SOURCES),
        raised_days_ago=rng.uniform(4, 360),
    )
    if decision in (TriageDecision.S42_ENQUIRY, TriageDecision.OTHER_ENQUIRY):
        duration = rng.uniform(14, 110)
        plan.duration = duration if duration < plan.raised_days_ago - 1 else None
        plan.capacity = _weighted(rng, CAPACITY)
        if plan.capacity is MC.LACKED:
            plan.support_by = rng.choices(["family", "advocate", None], weights=[50, 35, 15])[0]
        plan.asked = _weighted(rng, ASKED)
        if plan.duration is not None:
            plan.action = _weighted(rng, ACTIONS)
            plan.risk = _weighted(rng, RISK_OUTCOMES) if plan.action in RISK_FOUND else _risk_without_one(plan.action)
            plan.achieved = _weighted(rng, ACHIEVED) if plan.asked is ASK.ASKED_EXPRESSED else None
    return plan


# Writing ----------------------------------------------------------------------------------------


def _partner_membership(user: User):
    """The agency a person raises concerns for (not the Board, where the ICB's commissioner also sits)."""
    return next(m for m in user.memberships if m.role is not Role.SAB_MEMBER)


class _Writer:
    def __init__(self, area: Area, users: dict[str, User]):
        self.area = area
        self.rng = random.Random(SEED + 1)
        self.now = utcnow()
        self.today = london_today()
        self.lead = users[LEAD]
        self.council_id = _partner_membership(self.lead).agency_id
        self.raisers = [(users[email], _partner_membership(users[email]).agency) for email in RAISERS]
        self.nhs_numbers = set(db.session.scalars(sa.select(Adult.nhs_number).where(Adult.nhs_number.is_not(None))))

    def moment(self, days_ago: float) -> datetime:
        """A time in office hours (UTC) on the day ``days_ago`` before today, never in the future."""
        day = self.today - timedelta(days=int(days_ago))
        at = datetime.combine(day, time(8, 30), tzinfo=UTC) + timedelta(minutes=self.rng.randint(0, 8 * 60))
        return min(at, self.now - timedelta(hours=2))

    def nhs_number(self) -> str:
        """A valid NHS number in the 999 range kept for testing, unique among the adults on record."""
        while True:
            digits = "999" + "".join(str(self.rng.randint(0, 9)) for _ in range(6))
            total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True))
            check = (11 - total % 11) % 11
            number = digits + str(check)
            if check != 10 and number not in self.nhs_numbers:
                self.nhs_numbers.add(number)
                return number

    def date_of_birth(self, band: int) -> date:
        """Inside the band now and throughout the past year (as the stories' adults are)."""
        youngest, oldest = AGE_BANDS[band]
        return self.today - timedelta(days=int(self.rng.uniform(youngest + 1.05, oldest + 0.9) * 365.2425))

    def rows(self, plans: list[_Plan]) -> list[dict]:
        """Every row each concern needs, in the order the concerns were raised."""
        planned = []
        for plan in plans:
            raised_at = self.moment(plan.raised_days_ago)
            planned.append((raised_at, plan))
        planned.sort(key=lambda pair: pair[0])
        return [self.concern(raised_at, plan) for raised_at, plan in planned]

    def concern(self, raised_at: datetime, plan: _Plan) -> dict:
        rng = self.rng
        enquiry = plan.decision in (TriageDecision.S42_ENQUIRY, TriageDecision.OTHER_ENQUIRY)
        public = rng.random() < 0.2
        raiser, agency = (None, None) if public else rng.choice(self.raisers)
        triaged_at = raised_at + timedelta(hours=rng.uniform(1.5, 70))
        triaged_at = min(triaged_at, self.now - timedelta(hours=1))
        lead = self.lead
        sex = plan.sex
        name = f"{rng.choice(FIRST_NAMES[sex])} {rng.choice(SURNAMES)}"
        adult = {
            "area_id": self.area.id, "name": name, "date_of_birth": self.date_of_birth(plan.band),
            "nhs_number": self.nhs_number() if rng.random() < 0.85 else None, "sex": sex,
            "primary_support_reason": plan.support, "version": 1, "created_at": raised_at, "updated_at": raised_at,
        }
        lacked = plan.capacity is MC.LACKED
        consent = ConsentToShare.NOT_POSSIBLE if lacked else rng.choices(
            [ConsentToShare.GIVEN, ConsentToShare.REFUSED, None], weights=[80, 8, 12])[0]
        concern = {
            "area_id": self.area.id, "raised_via": RaisedVia.PUBLIC if public else RaisedVia.PARTNER, "raised_at": raised_at,
            "raised_by_id": raiser.id if raiser else None, "raising_agency_id": agency.id if agency else None,
            "reporter_relationship": rng.choice(RELATIONSHIPS) if public else None,
            "what_happened": WHAT_HAPPENED[plan.types[0]], "happened_on": (raised_at - timedelta(days=rng.randint(0, 4))).date(),
            "risk_location": plan.location, "risk_source": plan.source,
            "immediate_risk": rng.choices([RAG.RED, RAG.AMBER, RAG.GREEN, None], weights=[8, 30, 37, 25])[0],
            "triage_decision": plan.decision, "triaged_at": triaged_at, "triaged_by_id": lead.id,
            "triage_reason": rng.choice(NO_ENQUIRY_REASONS[plan.decision]) if plan.decision.needs_reason else None,
            "assigned_to_id": lead.id if enquiry else None, "consent": consent,
            "consent_recorded_at": raised_at if consent is not None else None,
            "status": ConcernStatus.TRIAGED, "version": 1, "created_at": raised_at,
        }
        events = [
            ("raised", raised_at, raiser, agency.id if agency else None,
             "Raised by the public form" if public else f"Raised by {raiser.name}, {agency.name}"),
            ("triaged", triaged_at, lead, self.council_id, f"Triaged: {plan.decision.label}"
             + (f" – {concern['triage_reason']}" if concern["triage_reason"] else "")),
        ]
        outcome = None
        if enquiry:
            events.append(("assigned", triaged_at, lead, self.council_id, f"Assigned to {lead.name}"))
            ends = raised_at + timedelta(days=plan.duration) if plan.duration is not None else None
            last = ends or self.now - timedelta(hours=1)
            msp_at = triaged_at + (last - triaged_at) * 0.2
            started_at = triaged_at + (last - triaged_at) * 0.3
            support = plan.support_by
            concern.update({
                "status": ConcernStatus.IN_PROGRESS, "msp_asked": plan.asked, "mental_capacity": plan.capacity,
                "adult_views": rng.choice(VIEWS) if plan.asked is ASK.ASKED_EXPRESSED else None,
                "best_interests_decision": BEST_INTERESTS if lacked else None,
                "substantial_difficulty": True if support in ("advocate", "family") else None,
                "appropriate_person": {"advocate": False, "family": True}.get(support),
            })
            events.append(("msp", msp_at, lead, self.council_id, "Making Safeguarding Personal record updated: "
                           "asked about outcomes, mental capacity"))
            if plan.asked is ASK.ASKED_EXPRESSED:
                outcome = {"words": rng.choice(OUTCOME_WORDS), "recorded_at": msp_at, "recorded_by_id": lead.id}
                events.append(("outcome", msp_at, lead, self.council_id, "Desired outcome added"))
            if support == "advocate":
                advocate = rng.choice(ADVOCATES)
                concern.update({"advocate_name": advocate, "advocate_organisation": ADVOCACY_HUB,
                                "advocate_arranged_on": msp_at.date()})
                events.append(("advocate", msp_at + timedelta(minutes=20), lead, self.council_id,
                               f"Independent advocate recorded: {advocate}"))
            events.append(("started", started_at, lead, self.council_id, "Work started"))
            if ends is not None:
                concern.update({
                    "status": ConcernStatus.CLOSED, "closed_at": ends, "action_result": plan.action,
                    "risk_outcome": plan.risk, "outcomes_achieved": plan.achieved,
                })
                summary = f"Closed: {plan.action.label}" + (f"; {plan.risk.label}" if plan.risk else "")
                if plan.achieved:
                    summary += f"; outcomes {plan.achieved.label.lower()}"
                events.append(("closed", ends, lead, self.council_id, summary))
        concern["updated_at"] = events[-1][1]
        return {"adult": adult, "concern": concern, "types": plan.types, "events": events, "outcome": outcome}


def _claim_references(raised: list[datetime]) -> list[str]:
    """References from the yearly counter the operations use, one block per year, in raising order."""
    by_year: dict[int, list[int]] = defaultdict(list)
    for index, moment in enumerate(raised):
        by_year[moment.year].append(index)
    references = [""] * len(raised)
    for year, indexes in sorted(by_year.items()):
        last = db.session.execute(
            sa.update(ReferenceCounter).where(ReferenceCounter.year == year)
            .values(last=ReferenceCounter.last + len(indexes)).returning(ReferenceCounter.last)
        ).scalar_one_or_none()
        if last is None:
            db.session.add(ReferenceCounter(year=year, last=len(indexes)))
            db.session.flush()
            last = len(indexes)
        for offset, index in enumerate(indexes):
            references[index] = f"C-{year}-{last - len(indexes) + offset + 1:06d}"
    return references


def _insert_returning_ids(table: sa.Table, rows: list[dict]) -> list[int]:
    statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, rows))


def seed_msp_year(area: Area, agencies: dict[str, Agency], users: dict[str, User]) -> int:
    """Write the year of background concerns (raised by the partners' demo accounts, or through the
    public form); returns how many. ``agencies`` is taken like the other seeders' but not needed."""
    db.session.flush()
    rng = random.Random(SEED)
    plans = _covering() + [_random_plan(rng) for _ in range(RANDOM_CONCERNS)]
    writer = _Writer(area, users)
    built = writer.rows(plans)

    adult_ids = _insert_returning_ids(Adult.__table__, [row["adult"] for row in built])
    references = _claim_references([row["concern"]["raised_at"] for row in built])
    concern_rows = [
        {**row["concern"], "adult_id": adult_id, "reference": reference}
        for row, adult_id, reference in zip(built, adult_ids, references, strict=True)
    ]
    # Every row must carry the same keys for one executemany.
    keys = set().union(*(row.keys() for row in concern_rows))
    concern_ids = _insert_returning_ids(Concern.__table__, [{key: row.get(key) for key in keys} for row in concern_rows])

    db.session.execute(sa.insert(ConcernAbuseType.__table__), [
        {"concern_id": concern_id, "abuse_type": abuse_type}
        for row, concern_id in zip(built, concern_ids, strict=True) for abuse_type in row["types"]
    ])
    db.session.execute(sa.insert(ConcernEvent.__table__), [
        {"concern_id": concern_id, "kind": kind, "occurred_at": at, "actor_id": actor.id if actor else None,
         "agency_id": agency_id, "summary": summary}
        for row, concern_id in zip(built, concern_ids, strict=True)
        for kind, at, actor, agency_id, summary in sorted(row["events"], key=lambda event: event[1])
    ])
    outcomes = [{**row["outcome"], "concern_id": concern_id}
                for row, concern_id in zip(built, concern_ids, strict=True) if row["outcome"]]
    if outcomes:
        db.session.execute(sa.insert(DesiredOutcome.__table__), outcomes)
    record("demo.background_concerns", f"{len(built)} background concerns written for the MSP and outcome figures",
           details={"count": len(built), "area_id": area.id})
    return len(built)
